#!/usr/bin/env bash
# The shared library exports the public API and nothing else: every defined
# dynamic symbol must be a chio_ name that include/chio/*.h declares with
# CHIO_EXTERN. A chio__ internal, a chio_ name no header declares or any
# other symbol (a dependency's, a stray global) fails the check, each one
# named. `--self-test` builds a small library with one symbol of each kind
# and checks that exactly the bad ones are reported (make check runs both).
#   scripts/check-symbols.sh LIB [HEADER_DIR]
#   scripts/check-symbols.sh --self-test
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# The names declared with CHIO_EXTERN in the headers of $1, one per line.
declared() {
    perl -0777 -ne 'while (/CHIO_EXTERN\s+[^;{]*?\b(chio_\w+)\s*[(\[;=]/g) { print "$1\n" }' \
        "$1"/*.h | sort -u
}

# Defined dynamic symbols of $1 (version suffixes dropped), one per line.
exported() {
    local out
    out=$(nm -D --defined-only "$1") || return 1
    awk 'NF >= 3 && $2 != "A" {sub(/@.*/, "", $3); print $3}' <<<"$out" | sort -u
}

if [ "${1:-}" = --self-test ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir "$tmp/inc"
    printf '%s\n' '#define CHIO_EXTERN __attribute__((visibility("default")))' \
        'CHIO_EXTERN int chio_good(void);' 'CHIO_EXTERN const char *' \
        '    chio_good_wrapped(int a,' '                      int b);' >"$tmp/inc/api.h"
    printf '%s\n' '#define E __attribute__((visibility("default")))' \
        'E int chio_good(void) { return 0; }' \
        'E const char *chio_good_wrapped(int a, int b) { return a + b ? "" : 0; }' \
        'E int chio__internal(void) { return 1; }' 'E int chio_undeclared(void) { return 2; }' \
        'E int stray_global = 3;' >"$tmp/lib.c"
    ${CC:-cc} -shared -fPIC -fvisibility=hidden -o "$tmp/lib.so" "$tmp/lib.c"
    if "$0" "$tmp/lib.so" "$tmp/inc" >"$tmp/out" 2>&1; then
        echo "check-symbols: self-test: a library with bad symbols passed" >&2
        exit 1
    fi
    got=$(grep '^  ' "$tmp/out" | tr -d ' ' | sort | tr '\n' ' ')
    if [ "$got" != "chio__internal chio_undeclared stray_global " ]; then
        echo "check-symbols: self-test: reported '$got'" >&2
        cat "$tmp/out" >&2
        exit 1
    fi
    echo "check-symbols: self-test ok (chio__, undeclared chio_ and foreign symbols refused)"
    exit 0
fi

lib=${1:?usage: check-symbols.sh LIB [HEADER_DIR] | --self-test}
hdrs=${2:-$here/../include/chio}
api=$(declared "$hdrs")
[ -n "$api" ] || { echo "check-symbols: no CHIO_EXTERN declarations in $hdrs" >&2; exit 1; }
syms=$(exported "$lib")
[ -n "$syms" ] || { echo "check-symbols: $lib exports nothing" >&2; exit 1; }
# In the library but not declared in a header (chio__ names never are).
bad=$(comm -23 <(echo "$syms") <(echo "$api"))
if [ -n "$bad" ]; then
    echo "check-symbols: $lib exports symbols that are not public API (include/chio/*.h):" >&2
    sed 's/^/  /' <<<"$bad" >&2
    exit 1
fi
echo "check-symbols: $(wc -l <<<"$syms") exported symbols, each a chio_ name declared in include/chio/*.h"
