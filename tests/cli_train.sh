#!/bin/bash
# cli_train.sh — `cemrl train` / `cemrl eval` end to end on tiny configs: bad input is exit 2 with
# the file and field named; resume equals an uninterrupted run; thread count changes nothing.
set -u
CEMRL="$1"
DATA="${CEMRL_TEST_DATA:?}/train"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib_cli.sh"
cd "$T"
fails=0; passes=0
# curve: progress.csv without the wall_time column (timing differs between runs, nothing else may)
curve() { cut -d, -f1,3- "$1/progress.csv"; }

expect 2 "missing.json" -- "$CEMRL" train missing.json --quiet
expect 2 'td3.batch_sise: unknown key; did you mean "batch_size"' -- "$CEMRL" train "$DATA/typo_key.json" --quiet
expect 2 "did you mean 'HalfCheetah-v4'" -- "$CEMRL" train "$DATA/bad_env.json" --quiet
expect 2 "--steps: 'abc' is not an integer" -- "$CEMRL" train --steps abc
expect 2 "unknown option '--bogus'" -- "$CEMRL" train --bogus
expect 2 "cem.pop_size" -- "$CEMRL" train --set cem.pop_size=1 --quiet
expect 2 "cemrl.n_noisy: noisy episodes only feed the replay buffer" -- "$CEMRL" train --set method=cem --set cemrl.n_noisy=2 --quiet
expect 2 "cemrl.noise.kind" -- "$CEMRL" train --set cemrl.noise.kind=pink --quiet
expect 2 "cemrl.importance_mixing: mixes CEM populations" -- "$CEMRL" train --set method=td3 --set cemrl.importance_mixing=true --quiet
expect 2 "not a resumable run directory" -- "$CEMRL" train --resume "$T" --quiet
echo "garbage" > notackpt.ckpt
expect 2 "notackpt.ckpt" -- "$CEMRL" eval notackpt.ckpt
[ ! -e runs ] && ok "bad input created no run directory" || bad "bad input left a run directory"
"$CEMRL" train --help | grep -q "td3.batch_size" && ok "train --help lists settings" || bad "train --help"

for cfg in tiny_td3 tiny_cemtd3; do
  "$CEMRL" train "$DATA/$cfg.json" --quiet --out r --name full > /dev/null 2>&1 \
    && ok "$cfg: uninterrupted run" || bad "$cfg: uninterrupted run failed"
  "$CEMRL" train "$DATA/$cfg.json" --quiet --out r --name part --stop-after-evals 2 > /dev/null 2> err.txt
  [ $? = 130 ] && grep -q "resume" err.txt && ok "$cfg: stop writes a checkpoint, exit 130" \
    || bad "$cfg: stop-after-evals: $(cat err.txt)"
  started=$(grep '"started_at"' r/part/meta.json)
  "$CEMRL" train --resume r/part --quiet > /dev/null 2>&1 && ok "$cfg: resume" || bad "$cfg: resume failed"
  if [ -n "$started" ] && [ "$(grep '"started_at"' r/part/meta.json)" = "$started" ] \
     && grep -q '"resumed_at": \["20' r/part/meta.json; then ok "$cfg: meta.json keeps started_at, adds resumed_at"
  else bad "$cfg: meta.json after resume: $(cat r/part/meta.json)"; fi
  if [ "$(curve r/full)" = "$(curve r/part)" ] && cmp -s r/full/policy.ckpt r/part/policy.ckpt; then
    ok "$cfg: resumed run equals the uninterrupted one (curve and final policy)"
  else bad "$cfg: resumed run differs"; diff <(curve r/full) <(curve r/part) | head -5; fi
  rows=$(($(wc -l < r/full/progress.csv) - 1))
  [ "$rows" -ge 4 ] && ok "$cfg: $rows evaluation rows" || bad "$cfg: only $rows rows"
  "$CEMRL" eval r/full --episodes 3 > out.txt 2>&1 && grep -q "3 episodes" out.txt \
    && ok "$cfg: eval of the run" || bad "$cfg: eval: $(cat out.txt)"
  rm -rf r
done

"$CEMRL" train "$DATA/tiny_cemtd3.json" --quiet --out r --name t1 --threads 1 > /dev/null 2>&1
"$CEMRL" train "$DATA/tiny_cemtd3.json" --quiet --out r --name t2 --threads 2 > /dev/null 2>&1
if [ -s r/t1/progress.csv ] && [ "$(curve r/t1)" = "$(curve r/t2)" ] && cmp -s r/t1/policy.ckpt r/t2/policy.ckpt; then
  ok "cemtd3: 1 and 2 threads give identical results"
else bad "cemtd3: thread count changed the results"; fi

# a real SIGINT mid-run: checkpoint, exit 130, and the run resumes to completion
cat > long.json <<JSON
{ "env": "Pendulum-v1", "method": "td3", "total_steps": 200000, "eval_period": 400, "eval_episodes": 1,
  "net": { "hidden1": 16, "hidden2": 16 }, "td3": { "start_steps": 400, "buffer_size": 5000, "batch_size": 32 } }
JSON
"$CEMRL" train long.json --quiet --out r --name sig > /dev/null 2> err.txt &
pid=$!
for _ in $(seq 100); do [ -s r/sig/progress.csv ] && [ "$(wc -l < r/sig/progress.csv)" -ge 3 ] && break; sleep 0.1; done
kill -INT $pid; wait $pid; st=$?
if [ $st = 130 ] && [ -s r/sig/checkpoint.ckpt ] && grep -q "interrupted at step" err.txt; then
  ok "SIGINT writes a checkpoint and exits 130"
else bad "SIGINT: status $st, $(cat err.txt)"; fi
# resume to a budget past wherever the interrupt landed (timing decides the step)
at=$(sed -n 's/.*interrupted at step \([0-9]*\).*/\1/p' err.txt)
budget=$(( ${at:-0} + 1200 ))
"$CEMRL" train --resume r/sig --steps "$budget" --quiet > /dev/null 2>&1 \
  && [ "$(tail -1 r/sig/progress.csv | cut -d, -f1)" = "$budget" ] \
  && ok "the interrupted run (step $at) resumes to the budget $budget" || bad "resume after SIGINT (step '$at')"

# a resume the checkpoint refuses (damaged bytes) exits 2 and leaves the run directory as it was
cp -r r/sig r/bad && cp r/bad/meta.json meta.before && cp r/bad/config.resolved.json cfg.before
size=$(stat -c %s r/bad/checkpoint.ckpt)
printf '\377\377\377\377\377\377\377\377' | dd of=r/bad/checkpoint.ckpt bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
expect 2 "checkpoint.ckpt" -- "$CEMRL" train --resume r/bad --steps 99999 --quiet
cmp -s meta.before r/bad/meta.json && cmp -s cfg.before r/bad/config.resolved.json \
  && ok "a refused resume leaves meta.json and config.resolved.json unchanged" \
  || bad "a refused resume changed meta.json or config.resolved.json"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
