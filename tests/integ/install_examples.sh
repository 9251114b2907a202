#!/bin/sh
# install_examples.sh BUILD_DIR SOURCE_DIR LIBDIR [SANITIZER]
#
# What a user of an installed goro does: `cmake --install` the build into
# a temp prefix, build examples/ against it with pkg-config and with
# CMake's find_package(goro), start the installed gorod, run the
# pkg-config-built sum_worker and both sum_clients, expect "10".
#
# LIBDIR is the build's CMAKE_INSTALL_LIBDIR (lib, lib64 or
# lib/x86_64-linux-gnu). SANITIZER is GORO_SANITIZER: an ASan-built
# libgoro needs its examples built with the same flags.
#
# Every wait is bounded; a trap kills what we started and removes the
# temp dir.
set -eu

BUILD=$1
SOURCE=$2
LIBDIR=$3
SANITIZER=${4:-}

case $SANITIZER in
    address) SANFLAGS="-fsanitize=address,undefined" ;;
    undefined) SANFLAGS="-fsanitize=undefined" ;;
    thread) SANFLAGS="-fsanitize=thread" ;;
    *) SANFLAGS="" ;;
esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/goro-install-XXXXXX")
PREFIX=$TMP/prefix
GOROD_PID=
WORKER_PID=

cleanup() {
    status=$?
    for pid in $WORKER_PID $GOROD_PID; do
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        for log in "$TMP"/*.log; do
            [ -f "$log" ] || continue
            echo "---- $log" >&2
            cat "$log" >&2
        done
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "install_examples: FAIL: $*" >&2
    exit 1
}

# Polls (every 50 ms, at most SECONDS s) until COMMAND succeeds.
wait_for() {
    limit=$(( $1 * 20 ))
    shift
    n=0
    until "$@"; do
        n=$((n + 1))
        [ "$n" -lt "$limit" ] || return 1
        sleep 0.05
    done
}

# ---- install --------------------------------------------------------------
cmake --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log" 2>&1 \
    || fail "cmake --install failed (see install.log)"

for f in bin/gorod bin/goro bin/goro-worker include/goro.h include/goro_defs.h \
         "$LIBDIR/libgoro.a" "$LIBDIR/pkgconfig/goro.pc" \
         "$LIBDIR/cmake/goro/goroConfig.cmake"; do
    [ -e "$PREFIX/$f" ] || fail "not installed: PREFIX/$f"
done
ls "$PREFIX/$LIBDIR"/libgoro.so* >/dev/null 2>&1 \
    || fail "not installed: PREFIX/$LIBDIR/libgoro.so"

# ---- pkg-config -------------------------------------------------------------
export PKG_CONFIG_PATH="$PREFIX/$LIBDIR/pkgconfig"
# A directory pkg-config names, as a canonical path ("" if it is not one).
pc_dir() {
    dir=$(pkg-config --variable="$1" goro) || return 1
    (cd "$dir" 2>/dev/null && pwd -P) || echo "$dir (no such directory)"
}
pc_prefix=$(pc_dir prefix) || fail "pkg-config cannot read goro.pc"
pc_libdir=$(pc_dir libdir)
pc_includedir=$(pc_dir includedir)
PREFIX=$(cd "$PREFIX" && pwd -P)
# The .pc must describe where it was installed, not the configure-time
# CMAKE_INSTALL_PREFIX: else pkg-config builds use another goro, or none.
[ "$pc_prefix" = "$PREFIX" ] \
    || fail "goro.pc says prefix=$pc_prefix, but it was installed to" \
            "$PREFIX ($PREFIX/$LIBDIR/pkgconfig/goro.pc)"
[ "$pc_libdir" = "$PREFIX/$LIBDIR" ] \
    || fail "goro.pc says libdir=$pc_libdir, expected $PREFIX/$LIBDIR"
[ "$pc_includedir" = "$PREFIX/include" ] \
    || fail "goro.pc says includedir=$pc_includedir, expected $PREFIX/include"

mkdir "$TMP/pc"
for ex in sum_worker sum_client; do
    # shellcheck disable=SC2046 # word splitting of pkg-config is the point
    cc $SANFLAGS "$SOURCE/examples/$ex.c" -o "$TMP/pc/$ex" \
        $(pkg-config --cflags --libs goro) >"$TMP/cc-$ex.log" 2>&1 \
        || fail "cc $ex.c \$(pkg-config --cflags --libs goro) failed" \
                "(see cc-$ex.log)"
done

# ---- CMake find_package -------------------------------------------------------
cmake -S "$SOURCE/examples" -B "$TMP/cm" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_C_FLAGS="$SANFLAGS" >"$TMP/cmake-configure.log" 2>&1 \
    || fail "cmake -S examples -DCMAKE_PREFIX_PATH=PREFIX failed" \
            "(see cmake-configure.log)"
cmake --build "$TMP/cm" >"$TMP/cmake-build.log" 2>&1 \
    || fail "building examples with find_package(goro) failed" \
            "(see cmake-build.log)"

# ---- run: the installed gorod, the examples ---------------------------------------
cat >"$TMP/goro.yaml" <<EOF
listen:
  clients: "tcp://127.0.0.1:*"
  workers: "tcp://127.0.0.1:*"
pools: []
heartbeat: { interval: 100ms, liveness: 3 }
EOF
(cd "$TMP" && exec "$PREFIX/bin/gorod" -c "$TMP/goro.yaml" \
    --endpoints "$TMP/endpoints" </dev/null >"$TMP/gorod.log" 2>&1) &
GOROD_PID=$!
wait_for 10 test -s "$TMP/endpoints" || fail "gorod wrote no endpoints file"
CLIENTS=$(sed -n 1p "$TMP/endpoints")
WORKERS=$(sed -n 2p "$TMP/endpoints")
"$PREFIX/bin/goro" -e "$CLIENTS" ping >/dev/null \
    || fail "the installed goro cannot ping the installed gorod"

export LD_LIBRARY_PATH="$PREFIX/$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$TMP/pc/sum_worker" "$WORKERS" </dev/null >"$TMP/sum_worker.log" 2>&1 &
WORKER_PID=$!
workers_joined() {
    "$PREFIX/bin/goro" -e "$CLIENTS" stats --json 2>/dev/null \
        | grep -q '"workers":1[,}]'
}
wait_for 10 workers_joined || fail "sum_worker (pkg-config) did not join"

for client in "$TMP/pc/sum_client" "$TMP/cm/sum_client"; do
    out=$(timeout 30 "$client" "$CLIENTS" </dev/null) \
        || fail "$client exited $?"
    [ "$out" = "10" ] || fail "$client printed '$out', expected 10"
done
# the CMake-built worker works too
kill "$WORKER_PID"
wait "$WORKER_PID" || fail "sum_worker did not stop cleanly on SIGTERM"
WORKER_PID=
"$TMP/cm/sum_worker" "$WORKERS" </dev/null >"$TMP/sum_worker_cm.log" 2>&1 &
WORKER_PID=$!
out=$(timeout 30 "$TMP/pc/sum_client" "$CLIENTS" 5 6 </dev/null) \
    || fail "sum_client against the CMake-built worker exited $?"
[ "$out" = "11" ] || fail "sum_client printed '$out', expected 11"

kill "$GOROD_PID"
wait "$GOROD_PID" || fail "the installed gorod exited $? on SIGTERM"
GOROD_PID=
echo "install_examples: ok (prefix layout: $LIBDIR)"
