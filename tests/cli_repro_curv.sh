#!/usr/bin/env bash
# cli_repro_curv.sh — `cemrl repro nghf|abs --quick`: the curvature reproductions show their
# phenomenon at small scale, and the commands reject bad options.
#   NGHF: every CG solve lowers its quadratic; with F = G (softmax CE) NGHF's first CG direction is
#         Newton's; HF, NG and NGHF lower the expected-error criterion more than tuned SGD.
#   ABS:  ABS / ABSA need at most half of BL's updates, the large fixed batch falls >= 1.5 % behind
#         BL, and the eigenvalue rule (not only the duration rule) grows the batch.
# Usage: bash cli_repro_curv.sh /path/to/cemrl
set -u
CEMRL=${1:?usage: cli_repro_curv.sh /path/to/cemrl}
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

. "$(dirname "$0")/lib_cli_repro.sh"

# option handling (no data needed)
for n in nghf abs; do
  check "repro $n --help" 0 "$CEMRL" repro $n --help && need "$n help" "--quick"
  check "repro $n: unknown option" 2 "$CEMRL" repro $n --bogus &&
    need "$n message" "unknown or incomplete option '--bogus'"
  check "repro $n: bad --seeds" 2 "$CEMRL" repro $n --seeds 0 && need "$n seeds" "--seeds 0"
done
check "repro list" 0 "$CEMRL" repro --help && need "list nghf" "^  nghf " && need "list abs" "^  abs "

# the data: Debian's dataset-fashion-mnist (or $CEMRL_FASHION_MNIST_DIR)
dir=${CEMRL_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$dir/train-images-idx3-ubyte.gz" ]; then
  echo "skipped the --quick runs: no Fashion-MNIST in $dir (apt install dataset-fashion-mnist)"
  exit $fail
fi

if check "repro nghf --quick" 0 "$CEMRL" repro nghf --quick; then
  need "nghf 1a" "^  1a .* rises beyond rounding .*PASS$"
  need "nghf 1b" "^  1b .*Newton step\) = 1\.0000|^  1b .*= 0\.9999[0-9]* .*PASS"
  need "nghf 2" "^  2  .*need each < SGD  PASS$"
  need "nghf verdict" "^ALL PASS"
fi

if check "repro abs --quick" 0 "$CEMRL" repro abs --quick; then
  need "abs updates ABS" "^  1  ABS  updates 0\.[0-4][0-9]* x BL .*PASS;"
  need "abs updates ABSA" "^  1  ABSA updates 0\.[0-4][0-9]* x BL .*PASS;"
  need "abs LB" "^  2  LB .*PASS$"
  need "abs eigen rule" "^  4  .*PASS$"
  need "abs eigen decision logged" "^ +[0-9]+ +[0-9.]+ +eigen "
  need "abs verdict" "^ALL PASS"
fi

[ "$fail" = 0 ] && echo "cli_repro_curv: all passed"
exit $fail
