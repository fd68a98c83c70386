#!/bin/bash
# cli_bench_envs.sh — `cemrl bench envs` runs, replays the env trajectory bit for bit in its bare
# loop, and rejects bad options. Usage: bash cli_bench_envs.sh /path/to/cemrl
set -u
CEMRL=${1:?usage: cli_bench_envs.sh /path/to/cemrl}
fail() { echo "FAIL: $*"; exit 1; }

out=$("$CEMRL" bench envs --seconds 0.05 --rounds 1 --threads 2 --tasks HalfCheetah-v4,Reacher-v4 \
      </dev/null 2>&1) || fail "bench envs exited $?: $out"
for t in HalfCheetah-v4 Reacher-v4; do
  echo "$out" | grep -q "^$t " || fail "no row for $t in: $out"
done
echo "$out" | grep -q "differs" && fail "bare loop did not replay the env trajectory: $out"
echo "$out" | grep -q "ovh NT" || fail "no parallel columns: $out"

"$CEMRL" bench envs --rounds 99 </dev/null >/dev/null 2>&1
[ $? -eq 2 ] || fail "--rounds 99 should be a usage error (exit 2)"
"$CEMRL" bench envs --bogus 1 </dev/null >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown option should exit 2"
msg=$("$CEMRL" bench envs --seconds 0.05 --rounds 1 --threads 1 --tasks NoSuchTask-v9 </dev/null 2>&1)
[ $? -ne 0 ] || fail "unknown task should fail"
echo "$msg" | grep -q "NoSuchTask-v9" || fail "message should name the task: $msg"
"$CEMRL" bench envs --help </dev/null | grep -q -- "--threads" || fail "--help lists the options"
echo "ok"
