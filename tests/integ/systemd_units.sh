#!/bin/sh
# systemd_units.sh SOURCE_DIR BUILD_DIR - the units in config/systemd:
#
#   1. They stop the way gorod and goro-worker drain: KillMode=mixed (SIGTERM
#      to the main process alone; test_jobs' test_sigterm_graceful shows
#      gorod then finishes running jobs), and a config or usage error
#      (exit 2) is not restarted forever (RestartPreventExitStatus=2).
#   2. systemd itself accepts them (systemd-analyze verify, with ExecStart=
#      pointed at the built programs) and rates their exposure at most 3.0
#      (systemd-analyze security --offline), where systemd-analyze is there.
set -eu

SRC=${1:?usage: systemd_units.sh SOURCE_DIR BUILD_DIR}
BUILD=${2:?usage: systemd_units.sh SOURCE_DIR BUILD_DIR}
BIN=$(cd "$BUILD/bin" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/goro-units.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# systemd-analyze rates exposure 0..100 (shown as 0.0..10.0).
MAX_EXPOSURE=30

fail() { echo "systemd_units: $*" >&2; exit 1; }

for unit in gorod goro-worker; do
    file=$SRC/config/systemd/$unit.service
    for line in KillMode=mixed RestartPreventExitStatus=2 \
                NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes; do
        grep -qx "$line" "$file" || fail "$unit.service lacks $line"
    done
done

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd_units: no systemd-analyze, static checks only"
    exit 0
fi
for unit in gorod goro-worker; do
    sed "s|/usr/local/bin/|$BIN/|" "$SRC/config/systemd/$unit.service" \
        > "$TMP/$unit.service"
done
systemd-analyze verify "$TMP/gorod.service" "$TMP/goro-worker.service" \
    || fail "systemd-analyze verify refused the units"
for unit in gorod goro-worker; do
    systemd-analyze security --offline=true --threshold=$MAX_EXPOSURE \
        "$TMP/$unit.service" > "$TMP/$unit.security" 2>&1 \
        || { cat "$TMP/$unit.security" >&2
             fail "$unit.service is rated above $MAX_EXPOSURE/100"; }
    grep 'Overall exposure' "$TMP/$unit.security"
done
