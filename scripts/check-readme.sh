#!/usr/bin/env bash
# Checks the README and the pages under docs/ (make integration-check):
#   - README.md is at most 300 lines and states no performance figures
#     (those live in docs/performance.md, each with its command and date);
#   - the README's tour runs as written after the demo (scripts/demo.sh in
#     a scratch directory under build/, beside links to the checkout), and
#     prints what the README says it shows;
#   - every relative link in README.md and docs/*.md names a file that
#     exists and, with a #fragment, a heading of that file;
#   - every `make TARGET` the pages mention is a target of the Makefile,
#     and `make` alone builds (the default goal is `all`, as the README says);
#   - no heading appears twice across the pages, and no page uses the
#     internal phrases of issue threads ("the issue's ...").
# docs/embedding.md's programs and recipes are run by scripts/check-docs.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
readme=README.md
build=${BUILD:-build}
work=$root/$build/readme-check
pages=("$readme" docs/*.md)
# Pages other work in progress adds; a link to one is reported, not failed,
# while it is missing (none now).
pending=""

fail() {
    echo "check-readme: $*" >&2
    exit 1
}

# 1. Length and figures.
lines=$(wc -l <"$readme")
[ "$lines" -le 300 ] || fail "$readme has $lines lines (at most 300)"
figures=$(awk '/^```/ { code = !code; next } !code' "$readme" |
    grep -nE '[0-9][0-9,.]* ?(ns|us|ms|µs|/s|calls/s|KiB|MiB|GiB|KB|MB|GB)\b|[0-9]x\b' || true)
[ -z "$figures" ] || fail "$readme states figures (move them to docs/performance.md): $figures"

# `make` alone: the README says it builds the library and the CLI (a target
# moved to the top of the Makefile once made it run a test suite instead).
goal=$(make -pn -f Makefile 2>/dev/null | sed -n 's/^\.DEFAULT_GOAL := //p' | head -1)
[ "$goal" = all ] || fail "make alone runs '$goal', not all (set .DEFAULT_GOAL in the Makefile)"

# 2. The tour, after the demo.
tour=$(awk '$0 == "<!-- check: tour -->" { armed = 1; next }
    armed && !on && /^```/ { on = 1; next }
    on && /^```$/ { exit }
    on { print }' "$readme")
[ -n "$tour" ] || fail "$readme has no tour block (<!-- check: tour -->)"
rm -rf "$work"
mkdir -p "$work"
for d in build include examples scenarios; do
    ln -s "$root/$([ $d = build ] && echo "$build" || echo $d)" "$work/$d"
done
printf '%s\n' "$tour" >"$work/tour.sh"
(cd "$work" && "$root/scripts/demo.sh" "$root/$build") >"$work/demo.log" 2>&1 ||
    { cat "$work/demo.log" >&2; fail "the demo failed"; }
(cd "$work" && bash -e tour.sh) >"$work/tour.log" 2>&1 ||
    { cat "$work/tour.log" >&2; fail "the tour failed as written (script $work/tour.sh)"; }
expect() { # PATTERN WHAT
    grep -qE "$1" "$work/tour.log" || { cat "$work/tour.log" >&2; fail "the tour did not show $2"; }
}
expect '^\{"action".*"decision":\{[^}]*"verdict":"deny"' "a deny receipt"
expect '"gaps":0,"invalid":0,.*"log_problems":0' "a clean audit"
expect '"ok":true,"signature_valid":true' "a valid capability"
expect '^\{"ok":true,"op":"open_session","step":0\}' "the scenario's steps"
expect '^allow none$' "the C example's decision"
echo "check-readme: the tour ran as written after the demo"

# 3. Links.
# slug HEADING: the fragment GitHub gives a heading.
slugs() {
    awk '/^```/ { code = !code; next } !code && /^#+ / {
        sub(/^#+ /, ""); s = tolower($0); gsub(/[^a-z0-9 _-]/, "", s); gsub(/ /, "-", s); print s }' "$1"
}
for page in "${pages[@]}"; do
    dir=$(dirname "$page")
    links=$(awk '/^```/ { code = !code; next } !code' "$page" |
        grep -oE '\]\([^)]+\)' | sed 's/^](//; s/)$//' | grep -vE '^(https?|mailto):' || true)
    for link in $links; do
        file=${link%%#*}
        frag=
        [ "$file" = "$link" ] || frag=${link#*#}
        target=$page
        [ -z "$file" ] || target=$(realpath -m --relative-to="$root" "$dir/$file")
        if [ ! -e "$target" ]; then
            case " $pending " in
            *" $target "*)
                echo "check-readme: note: $page links to $target, which is not written yet"
                continue
                ;;
            esac
            fail "$page links to $link: no such file"
        fi
        if [ -n "$frag" ]; then
            slugs "$target" | grep -qx -- "$frag" || fail "$page links to $link: no such heading"
        fi
    done
done
echo "check-readme: every link in $readme and docs/ resolves"

# 4. make targets.
targets=$(grep -oE '^[a-z][a-z0-9-]*:' Makefile | tr -d ':')
for t in $(cat "${pages[@]}" | grep -oE '(^|`)(sudo )?make( -C [a-z]+)? [a-z][a-z-]*' | awk '{ print $NF }' | sort -u); do
    grep -qx -- "$t" <<<"$targets" || fail "the pages mention 'make $t', which is not a Makefile target"
done
echo "check-readme: every make target the pages mention exists"

# 5. Headings and phrases.
dups=$(for page in "${pages[@]}"; do
    awk '/^```/ { code = !code; next } !code && /^##+ /' "$page"
done | sort | uniq -d)
[ -z "$dups" ] || fail "headings used twice across README.md and docs/: $dups"
if grep -nE "the issue'?s|\(issue [0-9]+\)" "${pages[@]}"; then
    fail "internal phrases in the pages above"
fi
echo "check-readme: $readme is $lines lines; no heading is repeated, no internal phrase"
