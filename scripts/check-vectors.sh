#!/usr/bin/env bash
# The vendored upstream vectors (tests/vectors) are what tests/vectors/README.md
# says they are: every file listed there with its sha256, no file unlisted.
# When ../shared/vectors (the copy they came from) is beside the repository,
# the two folders must also hold the same files, byte for byte, in both
# directions (its README.md is README.upstream.md here). Run by `make check`
# and .ci/run.
#   scripts/check-vectors.sh [--vendored DIR] [--shared DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vendored=$root/tests/vectors
shared=$root/../shared/vectors
while [ $# -gt 0 ]; do
    case $1 in
    --vendored) vendored=${2:?}; shift 2 ;;
    --shared) shared=${2:?}; shift 2 ;;
    *) echo "usage: check-vectors.sh [--vendored DIR] [--shared DIR]" >&2; exit 2 ;;
    esac
done
fail=0
bad() { echo "check-vectors: $*" >&2; fail=1; }

# 1. The sha256 table of the README: "| `name` | `64 hex` |" rows.
readme=$vendored/README.md
[ -f "$readme" ] || { echo "check-vectors: $readme is missing" >&2; exit 1; }
declare -A listed=()
while IFS=' ' read -r name sum; do
    listed[$name]=1
    if [ ! -f "$vendored/$name" ]; then
        bad "$name is listed in README.md but missing"
    elif [ "$(sha256sum "$vendored/$name" | cut -d' ' -f1)" != "$sum" ]; then
        bad "$name: sha256 differs from README.md"
    fi
done < <(sed -nE 's/^\| *`?([A-Za-z0-9._-]+)`? *\| *`?([0-9a-f]{64})`? *\|.*/\1 \2/p' "$readme")
[ "${#listed[@]}" -gt 0 ] || bad "README.md lists no sha256"
for f in "$vendored"/* "$vendored"/.[!.]*; do
    [ -e "$f" ] || continue
    name=${f##*/}
    [ "$name" = README.md ] && continue
    [ -f "$f" ] || { bad "$name is not a plain file"; continue; }
    [ -n "${listed[$name]:-}" ] || bad "$name is not listed in README.md"
done

# 2. Byte-identical to the copy received, when it is here.
if [ -d "$shared" ]; then
    for f in "$shared"/* "$shared"/.[!.]*; do
        [ -e "$f" ] || continue
        name=${f##*/}
        mine=$name
        [ "$name" = README.md ] && mine=README.upstream.md
        if [ ! -f "$vendored/$mine" ]; then
            bad "$shared/$name has no vendored copy ($mine)"
        elif ! cmp -s "$f" "$vendored/$mine"; then
            bad "$mine differs from $shared/$name"
        fi
    done
    for f in "$vendored"/* "$vendored"/.[!.]*; do
        [ -e "$f" ] || continue
        name=${f##*/}
        theirs=$name
        [ "$name" = README.md ] && continue
        [ "$name" = README.upstream.md ] && theirs=README.md
        [ -e "$shared/$theirs" ] || bad "$name is not in $shared"
    done
    compared="identical to $shared"
else
    compared="$shared not present, comparison not run"
fi
[ "$fail" = 0 ] || exit 1
echo "check-vectors: ${#listed[@]} files match README.md; $compared"
