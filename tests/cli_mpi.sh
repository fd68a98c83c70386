#!/bin/bash
# cli_mpi.sh — `cemrl train` under mpirun: a population spread over MPI processes gives the same
# numbers as one process (any process and thread count), a SIGUSR1 forwarded by mpirun stops with
# a checkpoint that resumes to the uninterrupted result, and methods or commands that cannot
# spread are refused. Skipped (77) only when the binary was built without MPI or mpirun is absent.
set -u
CEMRL="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
CFG="$HERE/../configs/tiny"
if ! "$CEMRL" --version | grep -q "^MPI Open MPI" || ! command -v mpirun > /dev/null; then
  echo "skip: cemrl built without MPI, or no mpirun"; exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$HERE/lib_cli.sh"
cd "$T"
fails=0; passes=0
# shared memory only, no CPU binding (the pool's threads need the cores), root allowed (CI)
MPIRUN=(mpirun --oversubscribe --bind-to none --mca btl self,vader
        --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
if ! "${MPIRUN[@]}" -np 2 true > mpirun.txt 2>&1; then  # the machine, not cemrl: say so and skip
  echo "skip: mpirun cannot start 2 processes here:"; head -20 mpirun.txt; exit 77
fi
# Open MPI leaves allocations of its dlclose'd components behind at MPI_Finalize; LeakSanitizer
# cannot name their module, so no suppression matches: no leak check in processes mpirun starts
# (AddressSanitizer and UBSan stay on; cluster.c's buffers are freed before MPI_Finalize)
MPIRUN+=(-x "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
# CEM-TD3 with small nets: the learner's updates run, and the sanitizer build stays quick
SMALL="--set net.hidden1=16 --set net.hidden2=16 --set td3.batch_size=32"
curve() { cut -d, -f1,3- "$1/progress.csv"; }
same_run() {  # same_run A B what: identical learning curve and final policy
  if cmp -s "$1/policy.ckpt" "$2/policy.ckpt" && [ "$(curve "$1")" = "$(curve "$2")" ]; then ok "$3"
  else bad "$3: $1 and $2 differ"; fi
}

# CEM: 2 processes, one thread each, against one process; 25 evaluation episodes of the mean
# actor go out in chunks of the population size (10, 10, 5), also split over the processes
"$CEMRL" train "$CFG/cem_pendulum.json" --steps 6000 --set eval_episodes=25 --threads 1 --out one --name cem --quiet > /dev/null 2> err.txt ||
  bad "cem, one process: $(cat err.txt)"
"${MPIRUN[@]}" -np 2 "$CEMRL" train "$CFG/cem_pendulum.json" --steps 6000 --set eval_episodes=25 --threads 1 --out mpi \
  --name cem --quiet > out.txt 2>&1 || bad "cem over 2 processes: $(tail -5 out.txt)"
same_run one/cem mpi/cem "CEM: 2 MPI processes = 1 process"
# rank 0's closing line: episodes per process; each one must have taken a share
line=$(grep "episodes evaluated by each of the 2 MPI processes" out.txt)
if [ -n "$line" ] && ! echo "$line" | awk -F: '{print $NF}' | tr ' ' '\n' | grep -qx 0; then
  ok "work spread: $line"
else bad "no share for some process: '$line'"; fi
grep -q '"mpi_processes": 2' mpi/cem/meta.json && ok "meta.json records 2 processes" ||
  bad "meta.json: $(grep mpi mpi/cem/meta.json)"

# CEM-TD3 with noisy episodes: 3 processes x 2 threads (shares of 4, 3, 3) against 1 x 1
A=("$CFG/cemtd3_pendulum.json" --steps 4000 --set td3.start_steps=1000 --set cemrl.n_noisy=2 $SMALL
   --set eval_period=1000 --quiet --name td)
"$CEMRL" train "${A[@]}" --threads 1 --out one > /dev/null 2> err.txt || bad "cemtd3, one process: $(cat err.txt)"
"${MPIRUN[@]}" -np 3 "$CEMRL" train "${A[@]}" --threads 2 --out mpi > out.txt 2>&1 ||
  bad "cemtd3 over 3 processes: $(tail -5 out.txt)"
same_run one/td mpi/td "CEM-TD3 (noisy episodes): 3 MPI processes x 2 threads = 1 process"

# InvertedPendulum episodes end early and at different lengths: variable-size transfers
C=("$CFG/cemtd3_pendulum.json" --set env=InvertedPendulum-v4 --steps 3000 --set td3.start_steps=500
   --set eval_period=1000 $SMALL --quiet --name ip)
"$CEMRL" train "${C[@]}" --threads 1 --out one > /dev/null 2> err.txt || bad "cemtd3 ip, one: $(cat err.txt)"
"${MPIRUN[@]}" -np 2 "$CEMRL" train "${C[@]}" --threads 1 --out mpi > out.txt 2>&1 ||
  bad "cemtd3 ip over 2 processes: $(tail -5 out.txt)"
same_run one/ip mpi/ip "CEM-TD3 on InvertedPendulum (early ends): 2 MPI processes = 1 process"

# a serving process that fails (here: its config is missing, as on a machine without the file)
# ends the job with its message; rank 0 must not wait for it forever
timeout 120 "${MPIRUN[@]}" -np 1 "$CEMRL" train "$CFG/cem_pendulum.json" --steps 400000 --out mpi \
  --name fail --quiet : -np 1 "$CEMRL" train "$T/nowhere.json" --quiet > out.txt 2>&1 < /dev/null
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "nowhere.json" out.txt; then
  ok "a failing serving process ends the job (status $rc)"
else bad "failing serving process: status $rc (124: hung), $(head -c 300 out.txt)"; fi

# SIGUSR1 to mpirun reaches rank 0, which checkpoints; resuming over MPI ends where one process does
B=("$CFG/cemtd3_pendulum.json" --set td3.start_steps=1000 --set eval_period=1000 $SMALL --quiet --name us
   --threads 1)
"${MPIRUN[@]}" -np 2 "$CEMRL" train "${B[@]}" --steps 400000 --out mpi > usr1.txt 2>&1 &
pid=$!
for _ in $(seq 100); do  # until the gradient phase has started
  [ "$(tail -n +2 mpi/us/progress.csv 2> /dev/null | wc -l)" -ge 3 ] && break; sleep 0.1
done
kill -USR1 $pid; wait $pid; rc=$?
[ "$rc" = 130 ] && grep -q "interrupted at step" usr1.txt && ok "SIGUSR1 via mpirun: checkpoint, exit 130" ||
  bad "SIGUSR1 via mpirun: status $rc, $(head -c 300 usr1.txt)"
at=$(tail -1 mpi/us/progress.csv | cut -d, -f1)
"${MPIRUN[@]}" -np 2 "$CEMRL" train --resume mpi/us --steps $((at + 2000)) --quiet > out.txt 2>&1 ||
  bad "resume over MPI: $(tail -5 out.txt)"
"$CEMRL" train "${B[@]}" --steps $((at + 2000)) --out one > /dev/null 2> err.txt || bad "one process: $(cat err.txt)"
same_run one/us mpi/us "interrupted at step $at over MPI and resumed = uninterrupted"

# what cannot spread is refused, by every process, with the reason
expect_mpi() {  # expect_mpi SUBSTRING -- command: non-zero exit, substring in the output
  local sub="$1"; shift 2
  "${MPIRUN[@]}" -np 2 "$@" > out.txt 2>&1 < /dev/null; local got=$?
  if [ "$got" != 0 ] && grep -qF -- "$sub" out.txt; then ok "mpirun -np 2 ${*: -3} -> refused"
  else bad "mpirun -np 2 $* -> status $got, output: $(head -c 400 out.txt)"; fi
}
expect_mpi 'method "td3" evaluates no population' -- "$CEMRL" train "$CFG/td3_pendulum.json" --quiet
expect_mpi "only \`cemrl train\` spreads over MPI" -- "$CEMRL" eval one/cem
[ ! -e runs ] && ok "refused run made no run directory" || bad "refused run left a directory"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
