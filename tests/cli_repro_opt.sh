#!/usr/bin/env bash
# cli_repro_opt.sh — `cemrl repro fdr|vmf|a2grad --quick`: each reduced reproduction shows its
# phenomenon at small scale (every criterion PASS, exit 0), and the commands reject bad options.
#   FDR:    Ō_L/Ō_R → 1 at fixed lr (μ = 0 and 0.5), the negative control without (1+μ) stays
#           near 1.5, the FDR schedule cuts only at |ratio − 1| < X and the loss goes down.
#   vMF:    κ̂ of gradient directions falls well below its value at init, stays above the
#           uniform floor, and GS tracks κ̂ (Spearman) better than GNS.
#   A2Grad: uni/inc end below Adam/AMSGrad at 1e-3, no epoch-to-epoch rise > 1%, golden trajectory.
# Usage: bash cli_repro_opt.sh /path/to/cemrl
set -u
CEMRL=${1:?usage: cli_repro_opt.sh /path/to/cemrl}
fail=0
out=$(mktemp)
fdr_out=$(mktemp)
trap 'rm -f "$out" "$fdr_out"' EXIT

. "$(dirname "$0")/lib_cli_repro.sh"

# option handling (no data needed)
check "repro fdr --help" 0 "$CEMRL" repro fdr --help &&
  { grep -q -- "--quick" "$out" || { echo "FAIL: no --quick in the help"; fail=1; }; }
check "repro vmf: unknown option" 2 "$CEMRL" repro vmf --bogus &&
  { grep -q "unknown option '--bogus'" "$out" || { echo "FAIL: message"; fail=1; }; }
check "repro a2grad: bad seed" 2 "$CEMRL" repro a2grad --seed -3 &&
  { grep -q "not a non-negative integer" "$out" || { echo "FAIL: message"; fail=1; }; }
check "repro list" 0 "$CEMRL" repro --help
for n in fdr vmf a2grad; do
  grep -q "^  $n " "$out" || { echo "FAIL: '$n' missing from cemrl repro --help"; fail=1; }
done

# the data: Debian's dataset-fashion-mnist (or $CEMRL_FASHION_MNIST_DIR)
dir=${CEMRL_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$dir/train-images-idx3-ubyte.gz" ]; then
  echo "skipped the --quick runs: no Fashion-MNIST in $dir (apt install dataset-fashion-mnist)"
  exit $fail
fi

# each quick reproduction: exit 0, every criterion PASS, the closing line
for spec in "fdr 8" "vmf 4" "a2grad 9"; do
  set -- $spec
  name=$1 ncrit=$2
  if check "repro $name --quick" 0 "$CEMRL" repro "$name" --quick; then
    npass=$(grep -c '^  \[PASS\]' "$out")
    if [ "$npass" != "$ncrit" ] || grep -q '\[FAIL\]' "$out" ||
       ! grep -q "repro $name: all $ncrit criteria passed" "$out"; then
      echo "FAIL: repro $name --quick: $npass of $ncrit criteria reported PASS"
      sed 's/^/    /' "$out"
      fail=1
    fi
    [ "$name" = fdr ] && cp "$out" "$fdr_out"
  fi
done

# the negative control really is off by about (1 + μ) = 1.5
if ! grep -E -q "3\. negative control.*ratio at epoch [0-9]+: 1\.[3-7]" "$fdr_out"; then
  echo "FAIL: repro fdr --quick: the negative control's ratio is not near 1.5"
  fail=1
fi
exit $fail
