# lib_cli.sh — pass/fail bookkeeping shared by the CLI tests that count results (cli_train.sh,
# cli_sup.sh). Source it; the caller sets `fails=0; passes=0` and ends with `[ "$fails" = 0 ]`.
ok() { passes=$((passes + 1)); echo "ok: $1"; }
bad() { fails=$((fails + 1)); echo "FAIL: $1"; }
# expect STATUS SUBSTRING -- command...: exit status and a message substring on stderr
expect() {
  local want="$1" sub="$2"; shift 3
  "$@" > out.txt 2> err.txt < /dev/null; local got=$?
  if [ "$got" = "$want" ] && grep -qF -- "$sub" err.txt; then ok "$* -> $got"
  else bad "$* -> status $got (want $want), stderr: $(head -c 400 err.txt)"; fi
}
