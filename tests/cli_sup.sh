#!/bin/bash
# cli_sup.sh — supervised tasks from the command line: `cemrl train` on supervised configs writes
# per-epoch losses, accuracies and diagnostics to progress.csv; the quick reproductions of Du et
# al. and Ji & Telgarsky pass; the supervised envs are listed and described; bad data folders
# and unknown tasks are clear errors.
set -u
CEMRL="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CFG="$ROOT/configs"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib_cli.sh"
cd "$T"
fails=0; passes=0
# check WHAT COMMAND...: ok if the command succeeds
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# col FILE NAME: the values of a progress.csv column, one per line
col() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                        { print $c }' "$1"
}
# passes FILE: a reproduction's output says PASS overall and has no failed criterion
passed() { grep -q "PASS: every criterion holds" "$1" && ! grep -q "\[FAIL\]" "$1"; }
# lt A B: the number A is smaller than B
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
# same_curve A B: two runs' progress.csv agree except for the wall time
same_curve() {
  [ -s "$1/progress.csv" ] && [ -s "$2/progress.csv" ] &&
    cmp -s <(cut -d, -f1,3- "$1/progress.csv") <(cut -d, -f1,3- "$2/progress.csv")
}

# --- the reduced reproductions, quick versions
"$CEMRL" repro ji-telgarsky --quick > ji.txt 2>&1
check "repro ji-telgarsky --quick passes (exit 0)" test $? = 0
check "repro ji-telgarsky --quick: every criterion PASS" passed ji.txt
check "ji-telgarsky prints its criteria" grep -q "cos(w_prod, u_bar) >= 0.999" ji.txt
"$CEMRL" repro du --quick > du.txt 2>&1
check "repro du --quick passes (exit 0)" test $? = 0
check "repro du --quick: every criterion PASS" passed du.txt
check "du prints lambda0 and its criteria" grep -q "slope within 10%" du.txt
[ "$fails" = 0 ] || { echo "--- ji.txt"; cat ji.txt; echo "--- du.txt"; cat du.txt; }
expect 2 "unknown option '--bogus'" -- "$CEMRL" repro du --bogus
"$CEMRL" repro --help > help.txt 2>&1
check "repro --help lists ji-telgarsky and du" grep -q "ji-telgarsky" help.txt

# --- supervised envs in the registry
"$CEMRL" envs > envs.txt 2>&1
for e in Sup-Regress-v0 SupFit-FashionMNIST-v0 Sup-JiTelgarsky-v0; do
  check "envs lists $e" grep -q "$e" envs.txt
done
"$CEMRL" envs info SupFit-Regress-v0 > info.txt 2>&1
check "envs info describes the fitness mode" grep -q "return = -(mean batch loss)" info.txt
check "envs check Sup-Regress-v0" "$CEMRL" envs check Sup-Regress-v0 > /dev/null 2>&1

# --- cemrl train on supervised configs: one row per epoch, losses and accuracies
check "train sup_regress" \
  "$CEMRL" train "$CFG/sup_regress.json" --quiet --out r --name reg --steps 30000 > /dev/null 2>&1
rows=$(($(wc -l < r/reg/progress.csv) - 1))
check "one row per epoch, plus the initial one ($rows)" test "$rows" = 4
check "loss and accuracy columns" grep -q "train_loss,train_acc,test_loss,test_acc" r/reg/progress.csv
first=$(col r/reg/progress.csv test_loss | head -1)
last=$(col r/reg/progress.csv test_loss | tail -1)
check "test loss falls ($first -> $last)" lt "$last" "$(awk -v a="$first" 'BEGIN { print a / 5 }')"
ev=$(col r/reg/progress.csv eval_mean | tail -1)
check "eval_mean = -(test loss)" awk -v a="$ev" -v b="$last" 'BEGIN { exit !(a == -b) }'
"$CEMRL" eval r/reg --episodes 3 > evalout.txt 2>&1
tl=$(sed -n 's/^test split: 2000 examples, loss \([0-9.e+-]*\).*/\1/p' evalout.txt)
check "cemrl eval reports the test-split loss of the run ($tl vs $last)" \
  awk -v a="$tl" -v b="$last" 'BEGIN { exit !(a != "" && (a - b) ^ 2 <= (1e-5 * b) ^ 2) }'
"$CEMRL" train "$CFG/sup_regress.json" --quiet --out r --name reg2 --steps 30000 > /dev/null 2>&1
check "same config, same numbers" same_curve r/reg r/reg2
"$CEMRL" train "$CFG/sup_regress.json" --quiet --out r --name part --steps 30000 \
  --stop-after-evals 2 > /dev/null 2>&1
check "resume a supervised run" "$CEMRL" train --resume r/part --quiet > /dev/null 2>&1
check "resumed curve equals the uninterrupted one" same_curve r/reg r/part
# Fashion-MNIST with the vMF diagnostic, a short run on a subset
check "train sup_vmf on a subset" "$CEMRL" train "$CFG/sup_vmf.json" --quiet --out r --name vmf \
  --steps 4000 --set sup.n_train=2000 --set sup.n_test=1000 --set eval_period=2000 > /dev/null 2>&1
acc=$(col r/vmf/progress.csv test_acc | tail -1)
kappa=$(col r/vmf/progress.csv vmf_kappa | tail -1)
check "fashion test accuracy $acc > 0.6" lt 0.6 "$acc"
check "vmf_kappa $kappa logged" lt 0 "$kappa"

# --- errors
expect 2 "dataset-fashion-mnist" -- "$CEMRL" train "$CFG/sup_fashion_logreg.json" --quiet \
  --set sup.data_dir=/nonexistent/fm
expect 2 "Sup-FashionMNIST-v0" -- "$CEMRL" train --set method=supervised --set env=Pendulum-v1 \
  --quiet
expect 2 "sup.fdr" -- "$CEMRL" train "$CFG/sup_regress.json" --set sup.fdr=true --quiet
expect 2 "did you mean" -- "$CEMRL" train --set env=Sup-Regres-v0 --quiet

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
