#!/bin/sh
# structure_check.sh SOURCE_DIR [CORE_LIB] [-v]
#
# The layering of gorod and the codec, which the compiler alone does not
# keep:
#   - nothing under daemon/ or proto/ includes a client/ header, proto/
#     includes nothing of daemon/, and their CMakeLists.txt do not put
#     client/ on the include path;
#   - the include graph of daemon/ and proto/ has no circle, with X.c and
#     X.h taken as one module X: gorod.c (main, the top) with a gorod.h
#     that every header includes is a circle;
#   - with CORE_LIB (libgorod_core.a), the call graph between its object
#     files has no circle either: who calls whom, from nm's defined and
#     undefined symbols. Calls through function pointers are not seen.
# -v prints both graphs as "from -> to" lines.
set -eu

SOURCE=$1
CORE=${2:-}
VERBOSE=${3:-}
if [ "$CORE" = "-v" ]; then
    CORE=
    VERBOSE=-v
fi
status=0

fail() {
    echo "structure_check: FAIL: $*" >&2
    status=1
}

# "FROMDIR FROM TO TODIR FILE" per quoted include, modules by name. The
# name is looked up as the build does, in the including file's folder,
# then daemon/, proto/; then client/, which only a wrong include reaches.
# Names found nowhere are left out.
include_edges() {
    for f in "$SOURCE"/daemon/*.[ch] "$SOURCE"/proto/*.[ch]; do
        fromdir=$(basename "$(dirname "$f")")
        from=$(basename "$f" | sed 's/\.[ch]$//')
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
        while read -r name; do
            todir=
            for d in "$fromdir" daemon proto client; do
                if [ -e "$SOURCE/$d/$name" ]; then
                    todir=$d
                    break
                fi
            done
            [ -n "$todir" ] || continue
            to=$(echo "$name" | sed 's/\.[ch]$//')
            [ "$from" = "$to" ] || echo "$fromdir $from $to $todir $f"
        done
    done | sort -u
}

# "from to" lines between the object files of CORE (libgorod_core.a).
call_edges() {
    nm "$CORE" | awk '
        /:$/ { obj = $0; sub(/:$/, "", obj); sub(/\.c\.o$/, "", obj);
               sub(/\.o$/, "", obj); next }
        $2 == "T" || $2 == "D" || $2 == "B" || $2 == "R" { def[$3] = obj }
        $1 == "U" { n++; user[n] = obj; sym[n] = $2 }
        END {
            for (i = 1; i <= n; i++)
                if ((sym[i] in def) && def[sym[i]] != user[i])
                    print user[i], def[sym[i]]
        }' | sort -u
}

# Reads "from to" lines; prints one circle ("a -> b -> a") if there is
# one. Kahn: strip modules nothing of the rest depends on, until none is
# left (no circle) or every one left has an edge inside the rest.
find_circle() {
    awk '
        { if ($1 != $2) { key = $1 SUBSEP $2; if (!(key in e)) { e[key] = 1;
              out[$1]++; nodes[$1] = 1; nodes[$2] = 1 } } }
        END {
            do {
                removed = 0
                for (v in nodes) if (!out[v]) {
                    delete nodes[v]; removed = 1
                    for (k in e) { split(k, p, SUBSEP)
                        if (p[2] == v) { out[p[1]]--; delete e[k] } }
                }
            } while (removed)
            for (v in nodes) { start = v; break }
            if (start == "") exit
            # Walk edges inside the rest until a module comes again.
            v = start; path = v; seen[v] = 1
            for (;;) {
                for (k in e) { split(k, p, SUBSEP)
                    if (p[1] == v && (p[2] in nodes)) { v = p[2]; break } }
                path = path " -> " v
                if (v in seen) break
                seen[v] = 1
            }
            sub("^.* " v " -> ", v " -> ", path)
            print path
        }'
}

edges=$(include_edges)
bad=$(echo "$edges" | awk '$4 == "client" || ($1 == "proto" && $4 != "proto") {
    print $5 " includes " $4 "/" $3 ".h" }')
[ -z "$bad" ] || fail "$bad"
for cm in "$SOURCE/daemon/CMakeLists.txt" "$SOURCE/proto/CMakeLists.txt"; do
    if grep -v '^[[:space:]]*#' "$cm" | grep -qE '/client|client/'; then
        fail "$cm names client/ (its include path must not)"
    fi
done

module_edges=$(echo "$edges" | awk '$4 != "client" { print $2, $3 }' | sort -u)
[ "$VERBOSE" = -v ] && echo "$module_edges" | awk '{ print "include: " $1 " -> " $2 }'
circle=$(echo "$module_edges" | find_circle)
[ -z "$circle" ] || fail "include circle: $circle"

if [ -n "$CORE" ]; then
    [ -r "$CORE" ] || { fail "cannot read $CORE"; exit 1; }
    calls=$(call_edges)
    [ "$VERBOSE" = -v ] && echo "$calls" | awk '{ print "call: " $1 " -> " $2 }'
    circle=$(echo "$calls" | find_circle)
    [ -z "$circle" ] || fail "call circle: $circle"
fi

[ "$status" -eq 0 ] && echo "structure_check: ok"
exit "$status"
