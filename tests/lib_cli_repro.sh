# lib_cli_repro.sh — the checks shared by the cli_repro_*.sh tests. Source it after setting
# `out` (a scratch file) and `fail=0`; the caller ends with `exit $fail`.

check() {  # check NAME EXIT-WANTED command...: run it, compare its exit status
  local name=$1 want=$2
  shift 2
  "$@" >"$out" 2>&1
  local rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $name: exit $rc, wanted $want"
    sed 's/^/    /' "$out"
    fail=1
    return 1
  fi
  echo "ok: $name"
  return 0
}

need() {  # need NAME REGEX: the last output has a line matching REGEX
  grep -qE -- "$2" "$out" || { echo "FAIL: $1: no line matching /$2/"; sed 's/^/    /' "$out"; fail=1; }
}
