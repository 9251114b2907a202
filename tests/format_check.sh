#!/bin/sh
# format_check.sh SOURCE_DIR - checks the C sources against .clang-format
# (the house style of STYLE.md): daemon/ client/ proto/ tests/ bench/
# examples/ and any *.c *.h at the top. Prints each file clang-format
# would change, with the number of lines its diff has (removed + added),
# and the total; exits 1 if any file would change.
#
# Versions of clang-format format differently, and .clang-format is tuned
# for 14 (Debian 12): another major version (or none) skips the check
# (exit 77). CLANG_FORMAT names the program; default: clang-format.
set -eu

SRC=${1:?usage: format_check.sh SOURCE_DIR}
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
WANT_MAJOR=14

if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
    echo "format_check: $CLANG_FORMAT not found; skipped" >&2
    exit 77
fi
major=$("$CLANG_FORMAT" --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
if [ "$major" != "$WANT_MAJOR" ]; then
    echo "format_check: $CLANG_FORMAT is version ${major:-?}, not" \
         "$WANT_MAJOR; skipped" >&2
    exit 77
fi

cd "$SRC"
total=0
files=0
changed=0
# Not what a build directory holds (bench/run's bench/.build has CMake's
# own probe sources).
for f in $(find daemon client proto tests bench examples \
               -name '.build' -prune -o -name '*.[ch]' -print \
               | sort) $(ls ./*.c ./*.h 2>/dev/null || true); do
    files=$((files + 1))
    lines=$("$CLANG_FORMAT" --style=file "$f" | diff "$f" - \
            | grep -c '^[<>]' || true)
    if [ "$lines" -gt 0 ]; then
        echo "$f: $lines line(s)"
        total=$((total + lines))
        changed=$((changed + 1))
    fi
done
echo "format_check: $changed of $files file(s) would change, $total diff" \
     "line(s); see: $CLANG_FORMAT --style=file --dry-run FILE"
[ "$changed" -eq 0 ]
