#!/bin/sh
# soak_recovery.sh - the longer crash-recovery soak, not run by ctest.
#
#   tests/integ/soak_recovery.sh BUILD_DIR [ROUNDS]
#
# Runs the chaos test of test_recovery.c (kill -9 of gorod again and again
# during a run of jobs and channel sends, then the total-queue checker)
# ROUNDS times (default 5) with a bigger load than the ctest run, then the
# worker-kill loop and the restart measurement once each. Every run
# prints its MEASURE lines; the script stops at the first failure and
# keeps that run's temp dirs (gorod's log, the journal, what the clients
# recorded) for a look.
#
# The load can be tuned through the environment:
#   GORO_SOAK_JOBS (20000), GORO_SOAK_VALUES (10000), GORO_SOAK_KILLS (30),
#   GORO_SOAK_BUDGET_MS (600000).
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [ROUNDS]" >&2
    exit 2
fi
build=$1
rounds=${2:-5}
test_bin=$build/tests/integ_test_recovery
if [ ! -x "$test_bin" ]; then
    echo "$0: $test_bin not found; build first (cmake --build $build)" >&2
    exit 2
fi

GORO_SOAK_JOBS=${GORO_SOAK_JOBS:-20000}
GORO_SOAK_VALUES=${GORO_SOAK_VALUES:-10000}
GORO_SOAK_KILLS=${GORO_SOAK_KILLS:-30}
GORO_SOAK_BUDGET_MS=${GORO_SOAK_BUDGET_MS:-600000}
export GORO_SOAK_JOBS GORO_SOAK_VALUES GORO_SOAK_KILLS GORO_SOAK_BUDGET_MS

log=$(mktemp "${TMPDIR:-/tmp}/goro-soak-XXXXXX.log")
echo "soak: $rounds round(s) of $GORO_SOAK_JOBS jobs," \
     "$GORO_SOAK_VALUES values, $GORO_SOAK_KILLS kill -9 of gorod;" \
     "output in $log"

# Each run gets its own TMPDIR: removed when it passed, kept when not.
run() {
    filter=$1
    dir=$(mktemp -d "${TMPDIR:-/tmp}/goro-soak-run-XXXXXX")
    if ! TMPDIR=$dir GORO_INTEG_KEEP=1 T_FILTER=$filter "$test_bin" \
            </dev/null >>"$log" 2>&1; then
        echo "soak: $filter FAILED; see $log and the files in $dir"
        grep -E "MEASURE|ERROR|LOST|FAILED" "$log" | tail -20
        exit 1
    fi
    rm -rf "$dir"
}

start=$(date +%s)
i=1
while [ "$i" -le "$rounds" ]; do
    before=$(wc -l <"$log")
    run test_chaos_kill9_during_run
    tail -n +"$((before + 1))" "$log" | grep MEASURE | sed "s/^/round $i: /"
    i=$((i + 1))
done
before=$(wc -l <"$log")
run test_kill_workers_in_a_loop
run test_measure_restart_100k
tail -n +"$((before + 1))" "$log" | grep MEASURE
echo "soak: $rounds round(s) passed in $(( $(date +%s) - start )) s"
rm -f "$log"
