#!/bin/sh
# multihost.sh [BUILD_DIR]      (or $GORO_BUILD_DIR; ctest passes the build dir)
#
# goro across three "hosts": network namespaces on one bridge.
#
#   host A  gorod, the client (goro)       10.77.0.1   bridge + two veth ports
#   host B  goro-worker --name b-PID       10.77.0.2   eth0 <-> port on A's bridge
#   host C  goro-worker --name c-PID       10.77.0.3   eth0 <-> port on A's bridge
#
# gorod binds tcp://10.77.0.1 (not loopback, so CURVE is required) with
# `pools: []`, heartbeat 200ms x 3; every peer has its own `goro keygen`
# certificate in the allow-lists. A job learns which host it runs on from
# `ip netns identify`. Checks:
#
#   1. 20 jobs spread over B and C; `goro workers` lists both.
#   2. While B runs jobs (they run for up to 60 s), B's bridge port goes
#      down: gorod loses B after liveness x interval and its jobs run again
#      on C (succeeded, C's output, attempts 2). The link stays down until
#      they have ended there.
#   3. The link comes back: B rejoins (`goro workers` lists 2 again) and
#      claims its attempt-1 jobs; gorod answers KILL for each (logs "no
#      longer its own"), B's job processes are gone well before their
#      60 s, gorod fences their DONEs (logs "stale DONE") and the jobs keep
#      C's result. New jobs run on B again. Last, workers and gorod stop
#      cleanly on SIGTERM (exit 0: under ASan, no leaks).
#
# Needs root and `ip netns`; otherwise it prints "SKIP: ..." and exits 77
# (ctest's SKIP_RETURN_CODE). Namespace and interface names carry our pid,
# so parallel runs do not collide; the 10.77.0.0/24 addresses exist only
# inside our namespaces. Every wait is a bounded poll; a trap kills what we
# started and deletes the namespaces, and a watchdog makes sure the trap
# runs before ctest's timeout would kill us. MULTIHOST_KEEP=1 keeps the
# temp dir (logs, keys, config) for a look afterwards.
set -eu

BUILD=${1:-${GORO_BUILD_DIR:-}}
if [ -z "$BUILD" ]; then
    echo "usage: multihost.sh BUILD_DIR (or set GORO_BUILD_DIR)" >&2
    exit 2
fi
BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || {
    echo "multihost: FAIL: no $BUILD/bin" >&2
    exit 1
}
for prog in gorod goro goro-worker; do
    [ -x "$BIN/$prog" ] || { echo "multihost: FAIL: no $BIN/$prog" >&2; exit 1; }
done

SKIP=77
skip() {
    echo "multihost: SKIP: $*"
    exit "$SKIP"
}

[ "$(id -u)" -eq 0 ] || skip "needs root for ip netns and veth (CI runs as root)"
IP=$(command -v ip) || skip "ip(8) from iproute2 is not installed"

ID=$$
NSA=goro-mh$ID-a
NSB=goro-mh$ID-b
NSC=goro-mh$ID-c
BR=mhbr$ID              # A's bridge
PORTB=mhb$ID            # A's end of the link to B: the one we take down
PORTC=mhc$ID
ADDR_A=10.77.0.1
CLIENTS=tcp://$ADDR_A:7700
WORKERS=tcp://$ADDR_A:7701
NAMEB=b-$ID             # worker labels for `goro workers`
NAMEC=c-$ID
HB_INTERVAL_MS=200
HB_LIVENESS=3

TMP=$(mktemp -d "${TMPDIR:-/tmp}/goro-multihost-XXXXXX")
chmod 755 "$TMP"        # jobs write their marker files here
NETNS_MADE=
GOROD_PID=
WORKERB_PID=
WORKERC_PID=
WATCHDOG_PID=

log() {
    echo "multihost: $*"
}

fail() {
    echo "multihost: FAIL: $*" >&2
    exit 1
}

# Sends SIGKILL to every process left in namespace $1: our own gorod,
# workers and their jobs, since nothing else runs in namespaces we made.
kill_netns_pids() {
    for pid in $("$IP" netns pids "$1" 2>/dev/null); do
        kill -9 "$pid" 2>/dev/null || true
    done
}

cleanup() {
    status=$?
    trap - EXIT INT TERM
    [ -z "$WATCHDOG_PID" ] || kill "$WATCHDOG_PID" 2>/dev/null || true
    for pid in $WORKERB_PID $WORKERC_PID $GOROD_PID; do
        kill -9 "$pid" 2>/dev/null || true
    done
    for ns in $NETNS_MADE; do
        kill_netns_pids "$ns"
    done
    for pid in $WORKERB_PID $WORKERC_PID $GOROD_PID $WATCHDOG_PID; do
        wait "$pid" 2>/dev/null || true
    done
    for ns in $NETNS_MADE; do
        "$IP" netns delete "$ns" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ] && [ "$status" -ne "$SKIP" ]; then
        for f in "$TMP"/*.log; do
            [ -f "$f" ] || continue
            echo "---- $f (last 60 lines)" >&2
            tail -n 60 "$f" >&2
        done
    fi
    if [ -n "${MULTIHOST_KEEP:-}" ]; then
        echo "multihost: kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The test takes ~10-20 s; give up well before ctest's TIMEOUT (120 s) so
# that the trap, not ctest's SIGKILL, ends it.
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep 90 &
    nap=$!
    wait "$nap"
    echo "multihost: FAIL: watchdog: still running after 90 s" >&2
    kill -TERM "$ID"
) </dev/null 2>&1 >/dev/null &
WATCHDOG_PID=$!

now_ms() {
    echo $(( $(date +%s%N) / 1000000 ))
}

# wait_for SECONDS COMMAND...: polls COMMAND every 100 ms until it
# succeeds; fails (returns 1) after SECONDS.
wait_for() {
    deadline=$(( $(now_ms) + $1 * 1000 ))
    shift
    until "$@"; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# ---- the network ---------------------------------------------------------
"$IP" netns add "$NSA" 2>"$TMP/netns.err" \
    || skip "cannot create a network namespace ($(cat "$TMP/netns.err"))"
NETNS_MADE=$NSA
"$IP" netns add "$NSB" && NETNS_MADE="$NETNS_MADE $NSB"
"$IP" netns add "$NSC" && NETNS_MADE="$NETNS_MADE $NSC"
"$IP" netns exec "$NSA" true 2>"$TMP/netns.err" \
    || skip "cannot enter a network namespace ($(cat "$TMP/netns.err"))"

net_setup() {
    "$IP" -n "$NSA" link add "$BR" type bridge || return 1
    "$IP" -n "$NSA" link add "$PORTB" type veth peer name eth0 netns "$NSB" \
        || return 1
    "$IP" -n "$NSA" link add "$PORTC" type veth peer name eth0 netns "$NSC" \
        || return 1
    "$IP" -n "$NSA" link set "$PORTB" master "$BR" up || return 1
    "$IP" -n "$NSA" link set "$PORTC" master "$BR" up || return 1
    "$IP" -n "$NSA" addr add "$ADDR_A/24" dev "$BR" || return 1
    "$IP" -n "$NSA" link set "$BR" up || return 1
    "$IP" -n "$NSB" addr add 10.77.0.2/24 dev eth0 || return 1
    "$IP" -n "$NSC" addr add 10.77.0.3/24 dev eth0 || return 1
    for ns in $NSA $NSB $NSC; do
        "$IP" -n "$ns" link set lo up || return 1
    done
    "$IP" -n "$NSB" link set eth0 up || return 1
    "$IP" -n "$NSC" link set eth0 up || return 1
}
net_setup 2>"$TMP/net.err" \
    || skip "cannot build the bridge and veth links ($(cat "$TMP/net.err"))"

# B and C reach A over the bridge (the ports need a moment to come up).
reachable() {
    "$IP" netns exec "$1" ping -c1 -W1 "$ADDR_A" >/dev/null 2>&1
}
if command -v ping >/dev/null 2>&1; then
    wait_for 10 reachable "$NSB" || fail "host B cannot reach $ADDR_A"
    wait_for 10 reachable "$NSC" || fail "host C cannot reach $ADDR_A"
fi

# ---- keys and config -------------------------------------------------------
KEYS=$TMP/keys
mkdir -p "$KEYS/clients" "$KEYS/workers"
for who in server client hostb hostc; do
    "$BIN/goro" keygen "$KEYS/$who" >"$TMP/keygen.log" 2>&1 \
        || fail "goro keygen $KEYS/$who failed: $(cat "$TMP/keygen.log")"
done
cp "$KEYS/client" "$KEYS/clients/"
cp "$KEYS/hostb" "$KEYS/hostc" "$KEYS/workers/"

cat >"$TMP/goro.yaml" <<EOF
listen:
  clients: $CLIENTS
  workers: $WORKERS
pools: []
heartbeat: { interval: ${HB_INTERVAL_MS}ms, liveness: $HB_LIVENESS }
jobs: { max_attempts: 3 }
journal: { path: $TMP/goro.journal, fsync: never }
log: { level: debug }
security:
  curve:
    cert: $KEYS/server_secret
    clients: $KEYS/clients
    workers: $KEYS/workers
EOF

# ---- host A: gorod --------------------------------------------------------------
(cd "$TMP" && exec "$IP" netns exec "$NSA" "$BIN/gorod" -c "$TMP/goro.yaml" \
    --endpoints "$TMP/endpoints") </dev/null >"$TMP/gorod.log" 2>&1 &
GOROD_PID=$!
wait_for 15 test -s "$TMP/endpoints" \
    || fail "gorod wrote no endpoints file (see gorod.log)"

# The client, on host A, with its own certificate.
goro() {
    "$IP" netns exec "$NSA" "$BIN/goro" -e "$CLIENTS" \
        --cert "$KEYS/client_secret" --server-cert "$KEYS/server" "$@"
}
goro ping >/dev/null || fail "goro ping over CURVE failed"

# ---- hosts B and C: goro-worker ---------------------------------------------------
# start_worker NS LABEL KEY LOG: prints nothing; sets LAST_PID.
start_worker() {
    (cd "$TMP" && export GORO_CERT="$KEYS/$3_secret" \
        GORO_SERVER_CERT="$KEYS/server" && exec "$IP" netns exec "$1" \
        "$BIN/goro-worker" -v --connect "$WORKERS" --concurrency 4 --name "$2") \
        </dev/null >"$TMP/$4" 2>&1 &
    LAST_PID=$!
}
start_worker "$NSB" "$NAMEB" hostb worker-b.log
WORKERB_PID=$LAST_PID
start_worker "$NSC" "$NAMEC" hostc worker-c.log
WORKERC_PID=$LAST_PID

# workers_are NAME...: `goro workers` lists exactly these names.
workers_are() {
    goro workers --json >"$TMP/workers.json" 2>/dev/null || return 1
    [ "$(grep -o '"name":' "$TMP/workers.json" | wc -l)" -eq $# ] || return 1
    for name in "$@"; do
        grep -q "\"name\":\"$name\"" "$TMP/workers.json" || return 1
    done
}
wait_for 20 workers_are "$NAMEB" "$NAMEC" \
    || fail "workers B and C did not both join: $(cat "$TMP/workers.json")"
goro workers >"$TMP/workers.txt"
log "both workers joined over CURVE:"
sed 's/^/    /' "$TMP/workers.txt"

# ---- jobs -----------------------------------------------------------------------
# A job prints the host it ran on: b or c (from ip netns identify). The
# job scripts are single-quoted on purpose: the job's shell expands them.
# shellcheck disable=SC2016
HOST_OF='ns=$('"$IP"' netns identify); h=${ns##*-}'

# submit SCRIPT: an exec job `/bin/sh -c SCRIPT`; prints its id.
submit() {
    id=$(goro go -- /bin/sh -c "$1") || fail "goro go failed"
    case $id in
        '' | *[!0-9]*) fail "goro go printed '$id', not a job id" ;;
    esac
    echo "$id"
}

# result ID: the job's stdout; fails unless it succeeded.
result() {
    goro result "$1" --timeout 30s 2>"$TMP/result.err" \
        || fail "job $1 did not succeed (exit $?): $(cat "$TMP/result.err")"
}

# field ID NAME: NAME (state, attempts) from `goro status ID --json`.
field() {
    goro status "$1" --json \
        | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# ---- 1. jobs spread over both hosts ----------------------------------------
IDS=
for _ in $(seq 20); do
    IDS="$IDS $(submit "sleep 0.1; $HOST_OF; echo \$h")"
done
on_b=0
on_c=0
for id in $IDS; do
    case $(result "$id") in
        b) on_b=$((on_b + 1)) ;;
        c) on_c=$((on_c + 1)) ;;
        *) fail "job $id ran neither on host B nor on host C" ;;
    esac
done
log "1. 20 jobs: $on_b ran on host B, $on_c on host C"
if [ "$on_b" -eq 0 ] || [ "$on_c" -eq 0 ]; then
    fail "jobs did not spread over both hosts (B $on_b, C $on_c)"
fi
goro workers --json >"$TMP/workers.json"
for name in "$NAMEB" "$NAMEC"; do
    grep -q "{\"name\":\"$name\",[^}]*\"finished\":[1-9]" "$TMP/workers.json" \
        || fail "goro workers shows no finished job for $name:" \
                "$(cat "$TMP/workers.json")"
done

# ---- 2. B's link goes down while B runs jobs -----------------------------------
# On B a job writes its pid, marks that it started, then runs for 60 s and
# marks its end; on C it ends at once. Either way it prints its host.
# shellcheck disable=SC2016
JOB2="$HOST_OF"'; echo $$ >'"$TMP"'/pid.$GORO_JOB_ID.$h
: >'"$TMP"'/start.$GORO_JOB_ID.$GORO_ATTEMPT.$h
if [ "$h" = b ]; then
    n=0
    while [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
    : >'"$TMP"'/late.$GORO_JOB_ID
fi
echo $h'
IDS2=
for _ in $(seq 8); do
    IDS2="$IDS2 $(submit "$JOB2")"
done

# started_or_done: every job either ended or started on B (round robin over
# two free workers puts about half of them on B).
ON_B=
started_or_done() {
    ON_B=
    for id in $IDS2; do
        if [ -e "$TMP/start.$id.1.b" ]; then
            ON_B="$ON_B $id"
        else
            [ "$(field "$id" state)" = succeeded ] || return 1
        fi
    done
}
wait_for 20 started_or_done || fail "phase 2 jobs neither started on B nor ended"
[ -n "$ON_B" ] || fail "no phase 2 job went to host B"
log "2. jobs running on host B:$ON_B; taking B's link down"

"$IP" -n "$NSA" link set "$PORTB" down
down_at=$(now_ms)
wait_for 20 workers_are "$NAMEC" \
    || fail "gorod did not drop worker B: $(cat "$TMP/workers.json")"
lost_ms=$(( $(now_ms) - down_at ))

all_succeeded() {
    for id in $IDS2; do
        [ "$(field "$id" state)" = succeeded ] || return 1
    done
}
wait_for 20 all_succeeded || fail "B's jobs did not end on C while B was cut off"
# gorod counts liveness from B's last heartbeat, so it may drop B a beat
# before liveness x interval after the cut. Keep the link down for twice
# that, so B also hears nothing from gorod for longer than its liveness and
# must reconnect: the length of the outage is a timed wait by nature.
rest_ms=$(( 2 * HB_LIVENESS * HB_INTERVAL_MS - ($(now_ms) - down_at) ))
if [ "$rest_ms" -gt 0 ]; then
    sleep "$(printf '%d.%03d' $((rest_ms / 1000)) $((rest_ms % 1000)))"
fi
down_ms=$(( $(now_ms) - down_at ))
for id in $ON_B; do
    [ "$(result "$id")" = c ] || fail "job $id (was on B) did not end with C's output"
    [ "$(field "$id" attempts)" = 2 ] \
        || fail "job $id (was on B) has $(field "$id" attempts) attempts, expected 2"
    [ -e "$TMP/start.$id.2.c" ] || fail "job $id: no attempt 2 on host C"
done
log "   gorod dropped B $lost_ms ms after the cut (silence limit" \
    "$((HB_LIVENESS * HB_INTERVAL_MS)) ms); B's jobs ended on C with" \
    "attempts 2; link down for $down_ms ms"

# ---- 3. the link comes back: B rejoins; its old attempts are killed -----------------
# exited PID: gone or a zombie (kill -0 still succeeds on a zombie).
exited() {
    [ ! -e "/proc/$1" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}
"$IP" -n "$NSA" link set "$PORTB" up
up_at=$(now_ms)
wait_for 30 workers_are "$NAMEB" "$NAMEC" \
    || fail "worker B did not rejoin: $(cat "$TMP/workers.json")"
log "3. link up; B rejoined after $(( $(now_ms) - up_at )) ms"
goro workers | sed 's/^/    /'

# killed_and_fenced: each of B's attempt-1 processes is gone, gorod said
# KILL for it, and its DONE (status 143, SIGTERM) was ignored.
killed_and_fenced() {
    for id in $ON_B; do
        exited "$(cat "$TMP/pid.$id.b")" || return 1
        grep -q "still runs job $id attempt 1, which is no longer its own" \
            "$TMP/gorod.log" || return 1
        grep -q "stale DONE for job $id attempt 1 " "$TMP/gorod.log" || return 1
    done
}
wait_for 20 killed_and_fenced \
    || fail "B's attempt-1 jobs were not killed and fenced after it rejoined" \
            "(a process of$ON_B still runs, or gorod's log lacks its KILL" \
            "or 'stale DONE' line)"
for id in $ON_B; do
    [ ! -e "$TMP/late.$id" ] || fail "job $id on B ran to its end"
done
log "   B's attempt-1 processes were killed $(( $(now_ms) - up_at )) ms" \
    "after the link came back"
for id in $IDS2; do
    [ "$(field "$id" state)" = succeeded ] || fail "job $id is no longer succeeded"
    [ "$(result "$id")" = c ] || fail "job $id lost C's result to B's late DONE"
done
for id in $ON_B; do
    [ "$(field "$id" attempts)" = 2 ] || fail "job $id: attempts changed"
done
log "   B's DONEs were ignored: the jobs kept C's result"

# New jobs run on B again.
IDS3=
for _ in $(seq 8); do
    IDS3="$IDS3 $(submit "sleep 0.2; $HOST_OF; echo \$h")"
done
on_b=0
on_c=0
for id in $IDS3; do
    case $(result "$id") in
        b) on_b=$((on_b + 1)) ;;
        c) on_c=$((on_c + 1)) ;;
        *) fail "job $id ran neither on host B nor on host C" ;;
    esac
done
log "   8 new jobs: $on_b ran on host B, $on_c on host C"
[ "$on_b" -gt 0 ] || fail "no new job ran on the rejoined host B"
workers_are "$NAMEB" "$NAMEC" || fail "goro workers does not list both hosts"

# ---- clean stop ------------------------------------------------------------------------
# stop PID WHAT: SIGTERM, a bounded wait, and exit status 0.
stop() {
    kill -TERM "$1"
    wait_for 15 exited "$1" || fail "$2 did not stop within 15 s of SIGTERM"
    rc=0
    wait "$1" || rc=$?
    [ "$rc" -eq 0 ] || fail "$2 exited $rc on SIGTERM"
}
stop "$WORKERB_PID" "goro-worker on B"
WORKERB_PID=
stop "$WORKERC_PID" "goro-worker on C"
WORKERC_PID=
stop "$GOROD_PID" gorod
GOROD_PID=
log "ok"
