#!/usr/bin/env bash
# valgrind memcheck over the CLI on the upstream vectors (the copy vendored
# in tests/vectors) and the project's scenarios: any memory error or
# definite/indirect leak fails the run, and so do missing vectors and an
# exit status other than the one each command should give.
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
# run ID EXPECTED DESCRIPTION COMMAND...: stdin from $tmp/ID.in when that
# exists (else /dev/null), stdout and stderr into $tmp/ID.out and
# $tmp/ID.err. Fails on a valgrind finding (exit status 99, or any valgrind
# line) and on an exit status other than EXPECTED.
run() {
    local id=$1 want=$2 what=$3 in=/dev/null
    shift 3
    [ ! -f "$tmp/$id.in" ] || in=$tmp/$id.in
    set +e
    "${VG[@]}" "$@" <"$in" >"$tmp/$id.out" 2>"$tmp/$id.err"
    local rc=$?
    set -e
    if [ "$rc" = 99 ] || grep '^==[0-9]*==' "$tmp/$id.err" | grep -qv 'Warning: unimplemented'; then
        echo "valgrind-cli: FAIL $what" >&2
        cat "$tmp/$id.err" >&2
        return 1
    fi
    if [ "$rc" != "$want" ]; then
        echo "valgrind-cli: FAIL $what: exit $rc, expected $want" >&2
        cat "$tmp/$id.err" >&2
        return 1
    fi
    echo "valgrind-cli: ok   $what (exit $rc)"
}
# Independent runs go side by side, one per CPU (each valgrind run is one
# CPU's work): spawn ID DESCRIPTION COMMAND... starts one, waiting for the
# oldest while all slots are taken; finish waits for the rest. Any failed
# run fails the script once all have ended.
jobs_max=$(nproc 2>/dev/null || echo 1)
pids=()
failed=0
spawn() {
    run "$@" &
    pids+=("$!")
    if [ "${#pids[@]}" -ge "$jobs_max" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
}
finish() {
    local p
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    pids=()
    [ "$failed" = 0 ] || { echo "valgrind-cli: failed (see above)" >&2; exit 1; }
}
# The vector files hold cases that must fail, so verifying them exits 2.
cp "$VEC/chio-canonical-v1.json" "$tmp/canon.in"
spawn canon 0 "canon of the canonical vectors" "$CHIO" canon
spawn rvec 2 "receipt verify of the receipt vectors" "$CHIO" receipt verify "$VEC/chio-receipt-v1.json"
spawn cvec 2 "capability verify of the capability vectors" "$CHIO" capability verify --at 1710000300 \
    "$VEC/chio-capability-v1.json"
printf '{"bad": \n' >"$tmp/bad.json"
spawn bad 2 "receipt verify of malformed input" "$CHIO" receipt verify "$tmp/bad.json"
# Real receipts and tokens: signed here, then verified, under valgrind.
printf '%s\n' 0707070707070707070707070707070707070707070707070707070707070707 >"$tmp/k.seed"
chmod 600 "$tmp/k.seed"
printf '%s' '{"timestamp":1710000200,"capability_id":"cap-1","tool_server":"srv","tool_name":"t","action":{"parameters":{"path":"/a"}},"decision":{"verdict":"allow"},"policy_hash":"p"}' >"$tmp/sign.in"
spawn sign 0 "receipt sign" "$CHIO" receipt sign --seed-file "$tmp/k.seed"
spawn issue 0 "capability issue" "$CHIO" capability issue --seed-file "$tmp/k.seed" --ttl 60 --now 1710000000 \
    --subject 66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a \
    --scope '{"grants":[{"server_id":"*","tool_name":"*","operations":["invoke"]}]}'
n=0
for s in scenarios/*.json; do
    n=$((n + 1))
    spawn "scenario$n" 0 "scenario run $s" "$CHIO" scenario run "$s"
done
finish
spawn rverify 0 "receipt verify of a signed receipt" "$CHIO" receipt verify \
    --trusted-key ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c "$tmp/sign.out"
spawn cverify 0 "capability verify of an issued token" "$CHIO" capability verify --at 1710000010 "$tmp/issue.out"
finish
