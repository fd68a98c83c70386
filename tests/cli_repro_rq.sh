#!/usr/bin/env bash
# cli_repro_rq.sh — `cemrl repro rq`: help, option errors, a missing data folder, and the quick
# reproduction on Fashion-MNIST (every criterion printed and passing, exit 0).
# Usage: bash cli_repro_rq.sh /path/to/cemrl
set -u
BIN=${1:?usage: cli_repro_rq.sh /path/to/cemrl}
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
  grep -qF -- "$2" "$1" || fail "$3: '$2' not in $(basename "$1"): $(head -c 600 "$1")"
}

# ---------------------------------------------------------------- help and errors
run "$BIN" repro --help
expect_rc 0 "repro --help"
expect_in "$TMP/out" "rq" "repro --help lists rq"
run "$BIN" repro rq --help
expect_rc 0 "repro rq --help"
expect_in "$TMP/out" "usage: cemrl repro rq" "repro rq --help"
expect_in "$TMP/out" "--quick" "repro rq --help names --quick"

run "$BIN" repro rq --frobnicate
expect_rc 2 "unknown option"
expect_in "$TMP/err" "--frobnicate" "unknown option named"
run "$BIN" repro rq --seed x
expect_rc 2 "bad seed"
expect_in "$TMP/err" "--seed" "bad seed named"
run "$BIN" repro rq --scale-lr -1
expect_rc 2 "bad scale lr"
run "$BIN" repro rq --ft-epochs 0
expect_rc 2 "bad epochs"
run "$BIN" repro rq --quick --data "$TMP/no-such-folder"
expect_rc 2 "missing data folder"
expect_in "$TMP/err" "no-such-folder" "missing data folder named"

# ---------------------------------------------------------------- the quick reproduction
run "$BIN" repro rq --quick
expect_rc 0 "repro rq --quick"
expect_in "$TMP/out" "result: PASS" "quick result"
expect_in "$TMP/out" "FP32: " "quick prints the FP32 error"
expect_in "$TMP/out" "PTQ" "quick prints PTQ"
n_crit=$(grep -cE ' (PASS|FAIL)$' "$TMP/out")
[ "$n_crit" -ge 6 ] || fail "quick: $n_crit criterion lines, expected at least 6"
if grep -qE ' FAIL$' "$TMP/out"; then
  fail "quick: a criterion failed: $(grep -E ' FAIL$' "$TMP/out")"
fi

if [ "$FAILS" -ne 0 ]; then
  echo "cli_repro_rq: $FAILS failure(s)"
  exit 1
fi
echo "cli_repro_rq: all passed"
