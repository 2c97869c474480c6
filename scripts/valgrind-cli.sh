#!/usr/bin/env bash
# valgrind memcheck over the CLI on the upstream vectors (the copy vendored
# in tests/vectors) and the project's scenarios: any memory error or
# definite/indirect leak fails the run, and so do missing vectors.
#   scripts/valgrind-cli.sh [path/to/chio] [vectors dir]
set -euo pipefail
CHIO=${1:-build/chio}
VEC=${2:-${CHIO_VECTORS_DIR:-$(dirname "$0")/../tests/vectors}}
if [ ! -d "$VEC" ]; then
    echo "valgrind-cli: no vectors at $VEC" >&2
    exit 1
fi
command -v valgrind >/dev/null || { echo "valgrind-cli: valgrind is not installed" >&2; exit 1; }
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # description, then the command; exit status 99 is a valgrind finding
    local what=$1
    shift
    set +e
    "${VG[@]}" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    set -e
    if [ "$rc" = 99 ] || grep '^==[0-9]*==' "$tmp/err" | grep -qv 'Warning: unimplemented'; then
        echo "valgrind-cli: FAIL $what" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
    echo "valgrind-cli: ok   $what (exit $rc)"
}
run "canon of the canonical vectors" "$CHIO" canon <"$VEC/chio-canonical-v1.json"
run "receipt verify of the receipt vectors" "$CHIO" receipt verify "$VEC/chio-receipt-v1.json"
run "capability verify of the capability vectors" "$CHIO" capability verify --at 1710000300 \
    "$VEC/chio-capability-v1.json"
# Real receipts and tokens: signed here, then verified, under valgrind.
printf '%s\n' 0707070707070707070707070707070707070707070707070707070707070707 >"$tmp/k.seed"
chmod 600 "$tmp/k.seed"
printf '%s' '{"timestamp":1710000200,"capability_id":"cap-1","tool_server":"srv","tool_name":"t","action":{"parameters":{"path":"/a"}},"decision":{"verdict":"allow"},"policy_hash":"p"}' >"$tmp/body.json"
run "receipt sign" "$CHIO" receipt sign --seed-file "$tmp/k.seed" <"$tmp/body.json"
cp "$tmp/out" "$tmp/receipt.json"
run "receipt verify of a signed receipt" "$CHIO" receipt verify \
    --trusted-key ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c "$tmp/receipt.json"
run "capability issue" "$CHIO" capability issue --seed-file "$tmp/k.seed" --ttl 60 --now 1710000000 \
    --subject 66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a \
    --scope '{"grants":[{"server_id":"*","tool_name":"*","operations":["invoke"]}]}'
cp "$tmp/out" "$tmp/cap.json"
run "capability verify of an issued token" "$CHIO" capability verify --at 1710000010 "$tmp/cap.json"
printf '{"bad": \n' >"$tmp/bad.json"
run "receipt verify of malformed input" "$CHIO" receipt verify "$tmp/bad.json"
for s in scenarios/*.json; do
    run "scenario run $s" "$CHIO" scenario run "$s"
done
