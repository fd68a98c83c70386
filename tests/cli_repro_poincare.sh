#!/usr/bin/env bash
# cli_repro_poincare.sh — `cemrl repro poincare --quick`: the Poincaré-embedding reproduction
# (spec papers.md part 2 §4) shows its phenomena at small scale, and the command rejects bad
# options and missing data with clear messages.
#   data:     the WordNet mammal closure has 1,180 nodes and 6,540 edges;
#   geometry: exp_x(0) = x, d(x, exp_x(u)) = |u|_x, transport keeps norms, dd/du = finite
#             differences, RADAM on R^n = Adam with one v per row;
#   N&K:      60 epochs of RSGD in the 5-D ball reach MR <= 6 / MAP >= 0.75 while the
#             Euclidean embedding stays at MR >= 20 / MAP <= 0.35;
#   B&G:      at epoch 10 without burn-in the best adaptive method's loss is <= 0.92 x RSGD's.
# Needs Debian's wordnet-base (scripts/install-deps.sh). Usage: bash cli_repro_poincare.sh BIN
set -u
CEMRL=${1:?usage: cli_repro_poincare.sh /path/to/cemrl}
fail=0
out=$(mktemp)
empty=$(mktemp -d)
trap 'rm -f "$out"; rm -rf "$empty"' EXIT

. "$(dirname "$0")/lib_cli_repro.sh"

# options and missing data
check "repro poincare --help" 0 "$CEMRL" repro poincare --help && need "help" "--quick"
check "repro lists poincare" 0 "$CEMRL" repro --help && need "list" "^  poincare "
check "unknown option" 2 "$CEMRL" repro poincare --bogus && need "message" "unknown option '--bogus'"
check "bad seed" 2 "$CEMRL" repro poincare --seed -3 && need "seed message" "--seed"
check "missing data" 2 "$CEMRL" repro poincare --quick --wordnet-dir "$empty" &&
  need "missing data message" "cannot open $empty/data.noun.*wordnet-base"
CEMRL_WORDNET_DIR="$empty" check "missing data (env)" 2 "$CEMRL" repro poincare --quick &&
  need "env message" "$empty/data.noun"

# the quick reproduction: every criterion passes
if check "repro poincare --quick" 0 "$CEMRL" repro poincare --quick; then
  need "data counts" "^  \[PASS\] mammal closure .*: 1180 nodes, 6540 edges"
  need "exp at zero" "^  \[PASS\] exp_x\(0\) = x"
  need "distance of exp" "^  \[PASS\] d\(x, exp_x\(u\)\)"
  need "transport" "^  \[PASS\] transport keeps the norm"
  need "fd gradient" "^  \[PASS\] analytic dd/du"
  need "radam = adam" "^  \[PASS\] RADAM on R\^n"
  need "poincare recon" "^  \[PASS\] Poincaré RSGD lr 0.3"
  need "euclid recon" "^  \[PASS\] Euclidean squared distance"
  need "early phase" "^  \[PASS\] best adaptive"
  need "summary" "^ALL PASS"
  if grep -q "FAIL" "$out"; then echo "FAIL: a criterion failed"; fail=1; fi
fi

# the environment: listed, and its description names the data
check "envs info PoincareMammal-v0" 0 "$CEMRL" envs info PoincareMammal-v0 &&
  need "env info" "1180 nodes, 6540 edges"
CEMRL_WORDNET_DIR="$empty" check "env without data" 2 "$CEMRL" envs info PoincareMammal-v0 &&
  need "env message" "PoincareMammal-v0: cannot open"

exit $fail
