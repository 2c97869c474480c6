#!/usr/bin/env bash
# Runs docs/embedding.md's recipes verbatim (make integration-check).
#
# Every fenced block after a `<!-- check: NAME -->` line is extracted.
# Blocks named like files are written to a scratch directory,
# build/docs-check/, beside a `libchio` link to this checkout; the
# other names are shell recipes, each name's blocks concatenated in page
# order and run there with `bash -e`, exactly as written. Nothing outside
# build/ is touched: the PREFIX recipe runs with HOME in the scratch
# directory, and the system-install recipe as a staged install (DESTDIR a
# scratch root, `sudo` running its command unchanged, `ldconfig` a no-op,
# PKG_CONFIG_PATH + PKG_CONFIG_SYSROOT_DIR pointing pkg-config at the
# staged /usr/local, LD_LIBRARY_PATH standing in for the loader cache).
set -euo pipefail
cd "$(dirname "$0")/.."
# Run the recipes as a user's shell would, not as part of the calling make.
unset MAKEFLAGS MFLAGS MAKELEVEL
root=$PWD
doc=${1:-docs/embedding.md}
work=$root/build/docs-check
version=$(sed -n 's/^#define CHIO_VERSION_STRING "\(.*\)"/\1/p' include/chio/export.h)
major=${version%%.*}
# The SONAME's version (Makefile SOVER): major.minor before 1.0.
if [ "$major" = 0 ]; then
    minor=${version#*.}
    major=0.${minor%%.*}
fi

fail() {
    echo "check-docs: $*" >&2
    exit 1
}

# block NAME [FILE]: the blocks after `<!-- check: NAME -->` in FILE
# (default: the embedding page), fences dropped.
block() {
    awk -v want="<!-- check: $1 -->" '
        $0 == want { armed = 1; next }
        armed && !on && /^```/ { on = 1; next }
        on && /^```$/ { on = 0; armed = 0; next }
        on { print }' "${2:-$doc}"
}

rm -rf "$work"
mkdir -p "$work/bin" "$work/home" "$work/agent/src"
ln -s "$root" "$work/libchio"
for f in app.c app.cpp agent/Cargo.toml agent/src/main.rs; do
    block "$f" >"$work/$f"
    [ -s "$work/$f" ] || fail "no block named $f in $doc"
done
if ! diff -u examples/embed.c "$work/app.c" >&2; then
    fail "the C program in $doc differs from examples/embed.c"
fi
grep -q "libchio.so.$version" "$doc" || fail "$doc does not name libchio.so.$version"

# run NAME [env...]: run NAME's recipe in the scratch directory; its
# output in $work/NAME.log.
run() {
    local name=$1 script
    shift
    script=$(block "$name")
    [ -n "$script" ] || fail "no recipe named $name in $doc"
    printf '%s\n' "$script" >"$work/$name.sh"
    echo "check-docs: running $doc's $name recipe"
    if ! (cd "$work" && env "$@" bash -e "$name.sh") >"$work/$name.log" 2>&1; then
        cat "$work/$name.log" >&2
        fail "the $name recipe failed (script $work/$name.sh)"
    fi
}

# expect_runs NAME N LINE: the recipe's programs printed LINE N times.
expect_runs() {
    local n
    n=$(grep -cx "$3" "$work/$1.log" || true)
    [ "$n" = "$2" ] || { cat "$work/$1.log" >&2; fail "$1: expected '$3' $2 time(s), got $n"; }
}

# libchio_from PROGRAM DIR [env...]: PROGRAM loads libchio.so.MAJOR from DIR.
libchio_from() {
    local prog=$1 dir=$2 line
    shift 2
    line=$(env "$@" ldd "$prog" | grep "libchio.so.$major" || true)
    case "$line" in
    *"=> $dir/libchio.so.$major "*) ;;
    *) fail "$prog loads libchio from '${line:-nowhere}', expected $dir" ;;
    esac
}

# 0. docs/configuration.md: every field of chio_kernel_config and
# chio_retention_config has a row, and the default shown is what
# chio_kernel_config_init() sets.
confdoc=docs/configuration.md
cat >"$work/defaults.c" <<'END'
#include <chio/chio.h>
#include <inttypes.h>
#include <stdio.h>
#define P(f) printf(#f " %s\n", cfg.f ? "?" : "NULL")
#define U(f) printf(#f " %" PRIu64 "\n", (uint64_t)cfg.f)
int main(void)
{
    chio_kernel_config cfg;
    chio_kernel_config_init(&cfg);
    P(keypair), P(ca_public_keys), U(n_ca_public_keys), U(max_delegation_depth), P(policy_hash);
    U(allow_sampling), U(allow_sampling_tool_use), U(allow_elicitation);
    U(max_stream_duration_secs), U(max_stream_total_bytes), U(require_web3_evidence);
    U(checkpoint_batch_size), P(receipt_store_path), U(ephemeral_store), U(signer_threads);
    U(ring_capacity), U(max_batch), U(durability), P(clock), P(clock_ctx), P(log), P(log_ctx);
    U(log_level), U(lock_key_memory), U(max_argument_bytes), U(signer_priority), U(signer_realtime);
    U(retention_config.enabled), U(retention_config.retention_days);
    U(retention_config.max_size_bytes), P(retention_config.archive_path);
    return 0;
}
END
cc -std=c11 -Iinclude -o "$work/defaults" "$work/defaults.c" build/libchio.a \
    $(pkg-config --libs libcrypto ck rocksdb) -lpthread
"$work/defaults" >"$work/defaults.txt"
# table MARKER PREFIX: "PREFIXfield default" for the fields of each row of
# the table after MARKER (backticked words of columns 1 and 2, in order).
table() {
    awk -v m="<!-- $1 -->" -v pre="$2" '
        function ticks(s, out,   n) {
            n = 0
            while (match(s, /`[^`]*`/)) {
                out[++n] = substr(s, RSTART + 1, RLENGTH - 2)
                s = substr(s, RSTART + RLENGTH)
            }
            return n
        }
        $0 == m { on = 1; next }
        on && /^\|/ {
            split($0, col, "|")
            nf = ticks(col[2], f)
            nv = ticks(col[3], v)
            for (i = 1; i <= nf; i++) print pre f[i], (i <= nv ? v[i] : "-")
            next
        }
        on { on = 0 }' "$confdoc"
}
{
    table config-table ""
    table retention-table retention_config.
} >"$work/documented.txt"
# fields STRUCT: the members of STRUCT in include/chio/kernel.h.
fields() {
    awk -v s="typedef struct $1 {" '
        $0 == s { on = 1; next }
        on && /^}/ { on = 0 }
        on && /^    [a-z]/ { sub(/\/\*.*/, ""); gsub(/[;*]/, ""); sub(/\[[0-9]+\]/, ""); print $NF }' \
        include/chio/kernel.h
}
for f in $(fields chio_kernel_config) $(fields chio_retention_config | sed 's/^/retention_config./'); do
    grep -q "^$f " "$work/documented.txt" || fail "$confdoc has no row for $f (include/chio/kernel.h)"
    case $f in reserved* | retention_config) continue ;; esac
    want=$(awk -v f="$f" '$1 == f { print $2 }' "$work/defaults.txt")
    [ -n "$want" ] || fail "scripts/check-docs.sh does not print the default of $f: add it"
    got=$(awk -v f="$f" '$1 == f { print $2 }' "$work/documented.txt")
    [ "$got" = "$want" ] || fail "$confdoc: default of $f is '$got', chio_kernel_config_init() sets '$want'"
done
echo "check-docs: $confdoc lists every configuration field with its default"

# 0a. docs/operations.md: the metrics table is what
# chio_kernel_metrics_prometheus() renders (name and type), and the log
# events table is every event the library logs.
opsdoc=docs/operations.md
cat >"$work/prom.c" <<'END'
#include <chio/chio.h>
#include <stdio.h>
int main(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    char *text;
    size_t len;
    chio_kernel_config_init(&cfg);
    cfg.policy_hash = "p";
    cfg.ephemeral_store = 1;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_keypair_generate(&cfg.keypair, NULL) != 0 || chio_kernel_new(&cfg, &k, NULL) != 0 ||
        chio_kernel_metrics_prometheus(k, &text, &len) != 0)
        return 1;
    fwrite(text, 1, len, stdout);
    chio_free(text);
    chio_kernel_free(k);
    return 0;
}
END
cc -std=c11 -Iinclude -o "$work/prom" "$work/prom.c" build/libchio.a \
    $(pkg-config --libs libcrypto ck rocksdb) -lpthread
"$work/prom" | awk '$1 == "#" && $2 == "TYPE" { print $3, $4 }' | sort >"$work/metrics.got"
# rows MARKER FILE: the first two columns of the table after MARKER, ticks dropped.
rows() {
    awk -v m="<!-- $1 -->" -F'|' '
        $0 == m { on = 1; next }
        on && /^\|/ { print $2, $3; next }
        on { on = 0 }' "$2" | tr -d '`' | awk 'NR > 2 { print $1, $2 }'
}
rows metrics-table "$opsdoc" | sort >"$work/metrics.want"
diff -u "$work/metrics.want" "$work/metrics.got" >&2 ||
    fail "$opsdoc: the metrics table differs from chio_kernel_metrics_prometheus()"
grep -rhoE 'chio__log\([^"]*"[a-z_]+"' src | grep -oE '"[a-z_]+"$' | tr -d '"' | sort -u \
    >"$work/events.got"
awk -v m="<!-- events-table -->" -F'|' '
    $0 == m { on = 1; next }
    on && /^\|/ { print $2; next }
    on { on = 0 }' "$opsdoc" | tail -n +3 | grep -oE '`[a-z_]+`' | tr -d '`' | sort -u \
    >"$work/events.want"
diff -u "$work/events.want" "$work/events.got" >&2 ||
    fail "$opsdoc: the log events table differs from the events in src/"
echo "check-docs: $opsdoc's metrics and log events are the library's"

# 0c. docs/performance.md: every table of figures sits under a
# "Recorded DATE (commit C) with `COMMAND`" line of its own section.
perfdoc=docs/performance.md
awk '
    /^#/ { recorded = 0 }
    /^Recorded [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] \(commit [0-9a-f]+\) with `[^`]+`/ { recorded = 1 }
    /^\|/ && !intable && !recorded { printf "line %d: a table with no Recorded line\n", NR; bad = 1 }
    { intable = /^\|/ }
    END { exit bad }' "$perfdoc" >&2 || fail "$perfdoc: every table of figures needs its Recorded line"
echo "check-docs: every table in $perfdoc names the command and date that produced it"

# 0b. docs/scenarios.md: its example runs and prints what the page shows
# (each receipt, which holds a random session id, shown as {...}).
scdoc=docs/scenarios.md
block scenario.json "$scdoc" >"$work/scenario.json"
block scenario.out "$scdoc" >"$work/scenario.want"
[ -s "$work/scenario.json" ] && [ -s "$work/scenario.want" ] || fail "$scdoc lost its example"
build/chio scenario run "$work/scenario.json" |
    sed 's/"receipt":{.*},"step"/"receipt":{...},"step"/' >"$work/scenario.got"
diff -u "$work/scenario.want" "$work/scenario.got" >&2 ||
    fail "$scdoc: the example's output differs from what the page shows"
echo "check-docs: $scdoc's example prints what the page shows"

# 1. Against the build tree.
run build-tree
expect_runs build-tree 1 'allow none'

# 2. System install, staged.
sysroot=$work/sysroot
printf '#!/bin/sh\nexec "$@"\n' >"$work/bin/sudo"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/ldconfig"
chmod +x "$work/bin/sudo" "$work/bin/ldconfig"
run install-system PATH="$work/bin:$PATH" DESTDIR="$sysroot" \
    PKG_CONFIG_PATH="$sysroot/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$sysroot" \
    LD_LIBRARY_PATH="$sysroot/usr/local/lib"
expect_runs install-system 1 'allow none'
libchio_from "$work/app" "$sysroot/usr/local/lib" LD_LIBRARY_PATH="$sysroot/usr/local/lib"
for pc in chio chio-static; do
    grep -qx 'prefix=/usr/local' "$sysroot/usr/local/lib/pkgconfig/$pc.pc" ||
        fail "$pc.pc of the system install does not say prefix=/usr/local"
    ! grep -q "$sysroot" "$sysroot/usr/local/lib/pkgconfig/$pc.pc" ||
        fail "DESTDIR leaked into $pc.pc"
done
make --no-print-directory -C "$root" uninstall DESTDIR="$sysroot" >/dev/null
[ -z "$(find "$sysroot" -type f -o -type l)" ] || fail "uninstall left files in $sysroot"

# 3. Private PREFIX install, shared and static, C and C++.
rm -f "$work/app"
run install-prefix -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH -u PKG_CONFIG_SYSROOT_DIR \
    HOME="$work/home"
expect_runs install-prefix 2 'allow none'
expect_runs install-prefix 1 'deny guard_denied'
prefix=$work/home/opt/chio
grep -qx "prefix=$prefix" "$prefix/lib/pkgconfig/chio.pc" || fail "chio.pc does not carry PREFIX"
test -f "$prefix/include/chio/chio.hpp" || fail "chio.hpp was not installed"
libchio_from "$work/app" "$prefix/lib" -u LD_LIBRARY_PATH
libchio_from "$work/app-cpp" "$prefix/lib" -u LD_LIBRARY_PATH
if ldd "$work/app-static" | grep -q libchio; then
    fail "app-static needs a shared libchio: $(ldd "$work/app-static" | grep libchio)"
fi
make --no-print-directory -C "$root" uninstall PREFIX="$prefix" >/dev/null
[ -z "$(find "$prefix" -type f -o -type l)" ] || fail "uninstall left files in $prefix"

# 4. Rust (cargo from PATH, else rustup's default location).
PATH=$PATH:${HOME:-/root}/.cargo/bin
command -v cargo >/dev/null || fail "cargo not found (scripts/install-deps.sh installs it)"
run rust -u CHIO_LIB_DIR PATH="$PATH"
grep -q '"verdict":"allow"' "$work/rust.log" || fail "the Rust program printed no allowed receipt"

echo "check-docs: $doc's programs and recipes (build tree, system install, PREFIX install," \
    "static, C++, Rust) ran as written"
