#!/usr/bin/env bash
# Fail when the shared library exports a symbol that does not start with chio_.
set -euo pipefail
lib=${1:?usage: check-symbols.sh LIB}
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}' | grep -v '^chio_' || true)
if [ -n "$bad" ]; then
    echo "check-symbols: $lib exports non-chio_ symbols:" >&2
    echo "$bad" >&2
    exit 1
fi
echo "check-symbols: $(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/' | wc -l) exported symbols, all chio_"
