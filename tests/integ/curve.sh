#!/bin/sh
# curve.sh BUILD_DIR - CURVE, the allow-lists and the exec policy, through
# the real programs (gorod, goro, goro-worker) on loopback.
#
#   1. goro keygen writes PATH and PATH_secret (mode 0600).
#   2. A listed client key is served; an unlisted key, a plain (NULL)
#      client and a client that expects another server key are refused.
#   3. A client key cannot register as a worker; a worker key cannot use
#      the clients socket; gorod's own pool needs no keys.
#   4. A certificate file added to the allow-list counts for the next
#      connection, without a restart.
#   5. Fail closed: a secret certificate readable by others is refused
#      (gorod and goro exit 2), and so is a non-loopback bind without CURVE.
#   6. The exec policy reaches the pool's commands: a scrubbed environment
#      and resource limits.
#
# A refused connection looks like an absent gorod to the client, so each
# refusal is checked twice: the client fails, and gorod's stats count it.
# Waits are bounded polls.
set -eu

BUILD=${1:?usage: curve.sh BUILD_DIR}
BIN=$(cd "$BUILD/bin" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/goro-curve.XXXXXX")
GOROD_PID=""
WORKER_PID=""
cleanup() {
    for pid in $WORKER_PID $GOROD_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

fail() {
    echo "curve: FAIL: $*" >&2
    [ -f "$TMP/gorod.log" ] && tail -n 20 "$TMP/gorod.log" >&2
    exit 1
}

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
    n=$(($1 * 10))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

cd "$TMP"
mkdir -p keys/clients keys/workers

# 1. keygen
"$BIN/goro" keygen keys/server >/dev/null || fail "keygen"
for k in alice bob w1 eve; do
    "$BIN/goro" keygen "keys/$k" >/dev/null || fail "keygen $k"
done
[ -f keys/server ] && [ -f keys/server_secret ] || fail "keygen did not write both files"
mode=$(stat -c %a keys/server_secret)
[ "$mode" = 600 ] || fail "secret certificate has mode $mode, not 600"
cp keys/alice keys/clients/
cp keys/w1 keys/workers/

cat >goro.yaml <<EOF
listen: { clients: "tcp://127.0.0.1:*", workers: "tcp://127.0.0.1:*" }
pools: [ { name: default, processes: 1 } ]
heartbeat: { interval: 200ms, liveness: 5 }
journal: { path: $TMP/goro.journal }
jobs:
  exec:
    env: [PATH, HOME]
    limits: { files: 33 }
security:
  curve: { cert: keys/server_secret, clients: keys/clients, workers: keys/workers }
EOF
"$BIN/gorod" -c goro.yaml --endpoints endpoints 2>gorod.log &
GOROD_PID=$!
wait_for 10 test -s endpoints || fail "gorod did not start"
CLIENTS=$(sed -n 1p endpoints)
WORKERS=$(sed -n 2p endpoints)

as() {  # as KEY goro-args...: the CLI with KEY's certificate
    key=$1
    shift
    "$BIN/goro" -e "$CLIENTS" --cert "keys/${key}_secret" \
        --server-cert keys/server "$@"
}
stat_of() { as alice stats | awk -v k="$1" '$1 == k { print $2 }'; }

# 2. who gets in
as alice ping --timeout 2s >/dev/null || fail "a listed client key was refused"
refused0=$(stat_of auth_refused)
as bob ping --timeout 1s >/dev/null 2>&1 && fail "an unlisted key was let in"
"$BIN/goro" -e "$CLIENTS" ping --timeout 1s >/dev/null 2>&1 \
    && fail "a NULL (plain) client was let in"
"$BIN/goro" -e "$CLIENTS" --cert keys/alice_secret --server-cert keys/eve \
    ping --timeout 1s >/dev/null 2>&1 && fail "a client expecting another server key got in"
refused1=$(stat_of auth_refused)
[ "$refused1" -gt "$refused0" ] || fail "gorod counted no refusal ($refused0 -> $refused1)"

# 3. roles: the pool joined by itself; a client key cannot be a worker; a
# worker key cannot use the clients socket
pool_joined() { [ "$(stat_of workers)" = 1 ]; }
wait_for 10 pool_joined || fail "the local pool did not join (it needs no keys)"
as alice run -- true || fail "a job on the pool did not run"
GORO_CERT=keys/alice_secret GORO_SERVER_CERT=keys/server \
    "$BIN/goro-worker" --connect "$WORKERS" --name intruder 2>/dev/null &
WORKER_PID=$!
sleep_until_refused() { [ "$(stat_of auth_refused)" -gt "$refused1" ]; }
wait_for 10 sleep_until_refused || fail "a client key as worker was not refused"
as alice workers | grep -q intruder && fail "a client key registered as a worker"
kill -TERM "$WORKER_PID" 2>/dev/null || true
wait "$WORKER_PID" 2>/dev/null || true
WORKER_PID=""
as w1 ping --timeout 1s >/dev/null 2>&1 && fail "a worker key used the clients socket"
GORO_CERT=keys/w1_secret GORO_SERVER_CERT=keys/server \
    "$BIN/goro-worker" --connect "$WORKERS" --name w1 2>/dev/null &
WORKER_PID=$!
w1_joined() { as alice workers | grep -q '^w1 '; }
wait_for 10 w1_joined || fail "a listed worker key did not join"

# 4. a certificate added now counts for the next connection
cp keys/bob keys/clients/
as bob ping --timeout 2s >/dev/null || fail "a key added to clients/ was still refused"
rm keys/clients/bob
as bob ping --timeout 1s >/dev/null 2>&1 && fail "a key removed from clients/ still got in"

# 6. the exec policy, on the pool's worker: PATH and HOME only (plus
# goro's own variables), at most 33 open files
out=$(SECRET=1 as alice run -- sh -c 'echo "${SECRET:-none} $(ulimit -n)"') \
    || fail "the policy job failed"
[ "$out" = "none 33" ] || fail "exec policy not applied: got \"$out\""

# 5. fail closed
cp keys/alice_secret keys/open_secret
chmod 644 keys/open_secret
rc=0
"$BIN/goro" -e "$CLIENTS" --cert keys/open_secret --server-cert keys/server \
    ping >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "goro used a world-readable secret (exit $rc, wanted 2)"
sed 's|cert: keys/server_secret|cert: keys/open_secret|' goro.yaml >open.yaml
rc=0
"$BIN/gorod" -c open.yaml 2>open.log || rc=$?
[ "$rc" = 2 ] || fail "gorod used a world-readable secret (exit $rc, wanted 2)"
grep -q "chmod 600" open.log || fail "gorod did not say how to fix the secret's mode"
printf 'listen: { clients: "tcp://0.0.0.0:*" }\npools: []\n' >plain.yaml
rc=0
"$BIN/gorod" -c plain.yaml 2>plain.log || rc=$?
[ "$rc" = 2 ] || fail "gorod bound 0.0.0.0 without CURVE (exit $rc, wanted 2)"
grep -q "security.insecure" plain.log || fail "gorod did not say how to allow it"

# clean stop (under ASan: no leaks)
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || fail "goro-worker did not stop cleanly"
WORKER_PID=""
kill -TERM "$GOROD_PID"
wait "$GOROD_PID" || fail "gorod did not stop cleanly"
GOROD_PID=""
echo "curve: ok"
