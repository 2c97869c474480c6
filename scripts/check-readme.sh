#!/usr/bin/env bash
# The README's C embedding example must be examples/embed.c verbatim (that
# file is compiled and run by `make test`, so the README's code works).
set -euo pipefail
readme=${1:-README.md}
example=${2:-examples/embed.c}
block=$(awk '/^<!-- begin examples\/embed.c -->$/{getline; on=1; next} /^<!-- end examples\/embed.c -->$/{on=0} on' "$readme" | sed '$d')
if [ "$block" != "$(cat "$example")" ]; then
    echo "check-readme: the C example in $readme differs from $example:" >&2
    diff <(printf '%s\n' "$block") "$example" >&2 || true
    exit 1
fi
echo "check-readme: the README's C example is $example"
