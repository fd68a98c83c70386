#!/usr/bin/env bash
# cli_envs.sh — `cemrl envs` end to end: list, info, rollout (CSV shape, actions files and their
# errors), check, unknown names. Usage: bash cli_envs.sh /path/to/cemrl
set -u
BIN=${1:?usage: cli_envs.sh /path/to/cemrl}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# run CMD...: stdout to $TMP/out, stderr to $TMP/err, status in $RC
run() { "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; }

expect_rc() {  # expect_rc WANT WHAT
  [ "$RC" -eq "$1" ] || fail "$2: exit $RC, expected $1 (stderr: $(head -c 400 "$TMP/err"))"
}
expect_in() {  # expect_in FILE TEXT WHAT
  grep -qF -- "$2" "$1" || fail "$3: '$2' not in $(basename "$1"): $(head -c 400 "$1")"
}

# ---------------------------------------------------------------- list and help
run "$BIN" envs
expect_rc 0 "envs"
expect_in "$TMP/out" "Pendulum-v1" "envs lists Pendulum"
grep -qE '^Pendulum-v1 +3 +1 +200 +0\.05 ' "$TMP/out" ||
  fail "envs: Pendulum row sizes: $(grep Pendulum "$TMP/out")"
grep -qE '^PointMassLQR-v0 +2 +1 +100 ' "$TMP/out" || fail "envs: LQR row"
grep -qE '^Bandit1D-v0 +1 +1 +1 ' "$TMP/out" || fail "envs: Bandit row"

for sub in "" info rollout check; do
  run "$BIN" envs $sub --help
  expect_rc 0 "envs $sub --help"
  expect_in "$TMP/out" "usage: cemrl envs" "envs $sub --help"
done
run "$BIN" --help
expect_in "$TMP/out" "envs" "cemrl --help lists envs"

run "$BIN" envs frobnicate
expect_rc 2 "unknown subcommand"
expect_in "$TMP/err" "unknown subcommand 'frobnicate'" "unknown subcommand message"

# ---------------------------------------------------------------- info
run "$BIN" envs info Pendulum-v1
expect_rc 0 "info Pendulum"
expect_in "$TMP/out" "time limit     200 steps" "info Pendulum limit"
expect_in "$TMP/out" "action bounds  [-2, 2] for all 1" "info Pendulum bounds"
expect_in "$TMP/out" "max_torque     2" "info Pendulum constants"
run "$BIN" envs info PointMassLQR-v0
expect_rc 0 "info LQR"
expect_in "$TMP/out" "optimal_return -3.94926979" "info LQR closed form"
if "$BIN" envs | grep -q '^HalfCheetah-v4 '; then
  run "$BIN" envs info HalfCheetah-v4
  expect_rc 0 "info HalfCheetah"
  expect_in "$TMP/out" "nq nv nu       9 9 6" "info HalfCheetah dims"
  expect_in "$TMP/out" "frame_skip     5" "info HalfCheetah frame skip"
  expect_in "$TMP/out" "timestep       0.01" "info HalfCheetah timestep"
  grep -qE '^  torso +6\.250' "$TMP/out" || fail "info HalfCheetah torso mass"
fi
run "$BIN" envs info
expect_rc 2 "info without a name"

# ---------------------------------------------------------------- unknown names
run "$BIN" envs info Pendulm-v1
expect_rc 2 "unknown env (info)"
expect_in "$TMP/err" \
  "unknown environment 'Pendulm-v1'; did you mean 'Pendulum-v1'? (\`cemrl envs\` lists them)" \
  "suggestion"
run "$BIN" envs rollout Pendulm-v1 --seed 1
expect_rc 2 "unknown env (rollout)"
expect_in "$TMP/err" "did you mean 'Pendulum-v1'?" "suggestion (rollout)"
run "$BIN" envs check HalfCheeta-v4
expect_rc 2 "unknown env (check)"
if "$BIN" envs | grep -q '^HalfCheetah-v4 '; then
  expect_in "$TMP/err" "unknown environment 'HalfCheeta-v4'; did you mean 'HalfCheetah-v4'?" \
    "suggestion (check)"
fi

# ---------------------------------------------------------------- rollout: CSV shape
run "$BIN" envs rollout Pendulum-v1 --seed 3 --policy random
expect_rc 0 "rollout Pendulum random"
[ "$(head -1 "$TMP/out")" = "step,obs_0,obs_1,obs_2,act_0,reward,terminated,truncated" ] ||
  fail "rollout header: $(head -1 "$TMP/out")"
[ "$(wc -l <"$TMP/out")" -eq 201 ] || fail "rollout Pendulum: $(wc -l <"$TMP/out") lines, not 201"
awk -F, '{ if (NF != 8) { bad = 1 } } END { exit bad }' "$TMP/out" ||
  fail "rollout: a row without 8 columns"
[ "$(sed -n 2p "$TMP/out" | cut -d, -f1)" = "0" ] || fail "rollout: first step is not 0"
[ "$(tail -1 "$TMP/out" | cut -d, -f1,7,8)" = "199,0,1" ] ||
  fail "rollout: last row $(tail -1 "$TMP/out")"
[ "$(sed -n 200p "$TMP/out" | cut -d, -f8)" = "0" ] || fail "rollout: truncated before the limit"
cp "$TMP/out" "$TMP/first.csv"
run "$BIN" envs rollout Pendulum-v1 --seed 3 --policy random
cmp -s "$TMP/out" "$TMP/first.csv" || fail "rollout: same seed, different output"
run "$BIN" envs rollout Pendulum-v1 --seed 4 --policy random
cmp -s "$TMP/out" "$TMP/first.csv" && fail "rollout: another seed, same output"

run "$BIN" envs rollout Pendulum-v1 --seed 3 --steps 10
expect_rc 0 "rollout --steps"
[ "$(wc -l <"$TMP/out")" -eq 11 ] || fail "rollout --steps 10: $(wc -l <"$TMP/out") lines"
[ "$(sed -n 2p "$TMP/out" | cut -d, -f5)" = "0" ] || fail "rollout: zero policy is the default"

run "$BIN" envs rollout Bandit1D-v0 --seed 1
expect_rc 0 "rollout Bandit"
[ "$(wc -l <"$TMP/out")" -eq 2 ] || fail "rollout Bandit: one step"
[ "$(tail -1 "$TMP/out" | cut -d, -f5,6)" = "1,0" ] ||
  fail "rollout Bandit: terminated, not truncated"

run "$BIN" envs rollout Pendulum-v1
expect_rc 2 "rollout without --seed"
expect_in "$TMP/err" "--seed" "rollout without --seed message"
run "$BIN" envs rollout Pendulum-v1 --seed -1
expect_rc 2 "rollout negative seed"
run "$BIN" envs rollout Pendulum-v1 --seed 1 --policy greedy
expect_rc 2 "rollout bad policy"
run "$BIN" envs rollout Pendulum-v1 --seed 1 --steps 0
expect_rc 2 "rollout --steps 0"

# ---------------------------------------------------------------- rollout: actions files
printf 'torque\n0.5\n-1.25\n# a comment\n\n3\n' >"$TMP/good.csv"
run "$BIN" envs rollout Pendulum-v1 --seed 2 --actions "$TMP/good.csv" --steps 3
expect_rc 0 "rollout --actions"
[ "$(cut -d, -f5 "$TMP/out" | tail -3 | tr '\n' ' ')" = "0.5 -1.25 3 " ] ||
  fail "rollout --actions: actions column $(cut -d, -f5 "$TMP/out" | tr '\n' ' ')"
run "$BIN" envs rollout Pendulum-v1 --seed 2 --actions "$TMP/good.csv" --steps 3 --policy zero
expect_rc 2 "--actions with --policy"

# too few rows: the episode (200 steps) needs more; error names the file and line, no CSV
run "$BIN" envs rollout Pendulum-v1 --seed 2 --actions "$TMP/good.csv"
expect_rc 2 "rollout: too few rows"
expect_in "$TMP/err" "good.csv:7: no action row for step 3" "too few rows message"
[ -s "$TMP/out" ] && fail "too few rows: CSV printed anyway"

printf '0.5\n1,2\n' >"$TMP/cols.csv"
run "$BIN" envs rollout Pendulum-v1 --seed 2 --actions "$TMP/cols.csv" --steps 2
expect_rc 2 "rollout: wrong column count"
expect_in "$TMP/err" "cols.csv:2: 2 columns, but the action has 1" "column count message"

printf '0.5\n0.25\nabc\n' >"$TMP/nan.csv"
run "$BIN" envs rollout Pendulum-v1 --seed 2 --actions "$TMP/nan.csv" --steps 3
expect_rc 2 "rollout: non-numeric"
expect_in "$TMP/err" "nan.csv:3: column 1 is not a finite number" "non-numeric message"

printf '0.5\nnan\n' >"$TMP/nan2.csv"
run "$BIN" envs rollout Pendulum-v1 --seed 2 --actions "$TMP/nan2.csv" --steps 2
expect_rc 2 "rollout: nan in actions"
expect_in "$TMP/err" "nan2.csv:2: column 1" "nan message"

: >"$TMP/empty.csv"
run "$BIN" envs rollout Pendulum-v1 --seed 2 --actions "$TMP/empty.csv"
expect_rc 2 "rollout: empty actions file"
expect_in "$TMP/err" "empty.csv:1: no action rows" "empty file message"

run "$BIN" envs rollout Pendulum-v1 --seed 2 --actions "$TMP/missing.csv"
expect_rc 2 "rollout: missing actions file"
expect_in "$TMP/err" "missing.csv: cannot open" "missing file message"

# a Bandit episode ends after one row: extra rows are ignored
printf '0.1\n0.2\n' >"$TMP/bandit.csv"
run "$BIN" envs rollout Bandit1D-v0 --seed 2 --actions "$TMP/bandit.csv"
expect_rc 0 "rollout Bandit with extra rows"

# ---------------------------------------------------------------- check
run "$BIN" envs check Pendulum-v1
expect_rc 0 "check Pendulum"
[ "$(grep -c '^PASS ' "$TMP/out")" -eq 11 ] ||
  fail "check Pendulum: $(grep -c '^PASS ' "$TMP/out") PASS lines"
expect_in "$TMP/out" "Pendulum-v1: 11 checks, 0 failed, 0 skipped" "check summary"
run "$BIN" envs check PointMassLQR-v0 --seed 7
expect_rc 0 "check LQR"
run "$BIN" envs check Pendulum-v1 --seed x
expect_rc 2 "check bad seed"

if [ "$FAILS" -ne 0 ]; then
  echo "cli_envs: $FAILS failure(s)"
  exit 1
fi
echo "cli_envs: all passed"
