#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] - build libchio with clang + libFuzzer +
# AddressSanitizer/UBSan in build-fuzz/ and run each fuzz target in
# tests/fuzz/ for SECONDS (default: $FUZZ_SECONDS, else 60), as many at
# once as there are CPUs. Seeds come from tests/fuzz/corpus/<target>
# (read-only); new inputs go to build-fuzz/corpus-new/<target>. Exit status
# 1 when any target found a crash, leak, UB report or timeout (the
# reproducer path is printed), 2 on a build or usage error. See
# tests/fuzz/README.md.
#
# Environment: FUZZ_SECONDS (duration when no argument), FUZZ_TARGETS
# (space-separated subset, e.g. "fuzz_json fuzz_receipt"), FUZZ_JOBS
# (targets run at once; default: the CPU count, 1 runs them in turn), CC
# (default clang), FUZZ_ARGS (extra libFuzzer flags), FUZZ_CFLAGS (extra
# CFLAGS for the library build; default keeps clang's -Wformat-nonliteral
# a warning, see tests/fuzz/README.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-60}}
if ! [[ $SECONDS_PER_TARGET =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS]   (a positive whole number, got '$SECONDS_PER_TARGET')" >&2
    exit 2
fi
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
if ! [[ $JOBS =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: FUZZ_JOBS must be a positive whole number, got '$JOBS'" >&2
    exit 2
fi

CC=${CC:-clang}
# `make` passes CC=cc by default; we want clang whatever the environment says
# unless CC names another clang explicitly.
case "$(basename "$CC")" in clang*) ;; *) CC=clang ;; esac
BUILD=build-fuzz
FUZZ_CFLAGS=${FUZZ_CFLAGS:--Wno-error=format-nonliteral}
ALL_TARGETS="fuzz_json fuzz_capability fuzz_receipt fuzz_scenario fuzz_normalize fuzz_regex fuzz_serve fuzz_mcp fuzz_guard"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (libFuzzer's convention): the
# library skips its scan for copies of a new key (src/core/key_memory.c),
# which reads every sanitizer mapping and takes seconds per key; fuzz_mcp
# makes a kernel, and so a key, again after every input that used one.
SAN_COMPILE="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
SAN_LINK="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

for t in $TARGETS; do
    [[ -f tests/fuzz/$t.c ]] || { echo "fuzz.sh: no tests/fuzz/$t.c" >&2; exit 2; }
done
command -v "$CC" >/dev/null || { echo "fuzz.sh: $CC not found (clang with libFuzzer is needed)" >&2; exit 2; }

# ---- build -------------------------------------------------------------------------------------
# fuzz_mcp links the MCP gateway layer (src/mcp/) built with the library.
MCP_OBJS=()
for f in src/mcp/*.c; do MCP_OBJS+=("$BUILD/obj/${f%.c}.o"); done
# Under `make fuzz` the outer make's flags and command-line variables would
# leak into the library build; this build is configured here alone.
unset MAKEFLAGS MFLAGS MAKELEVEL
echo "fuzz.sh: building libchio with $CC into $BUILD/"
make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" CC="$CC" BUILD="$BUILD" OPT="-O1 -g" \
    SAN="$SAN_COMPILE" CFLAGS="$FUZZ_CFLAGS" \
    "$BUILD/libchio.a" "$BUILD/obj/src/cli/scenario_read.o" "$BUILD/obj/src/cli/scenario_args.o" \
    "$BUILD/obj/src/cli/scenario_path.o" "$BUILD/obj/src/cli/util.o" "$BUILD/obj/src/cli/redact_args.o" \
    "$BUILD/obj/src/serve/handler.o" "$BUILD/obj/src/serve/state.o" "${MCP_OBJS[@]}" \
    "$BUILD/obj/src/svc/svc_buf.o" "$BUILD/obj/src/svc/svc_conn.o" "$BUILD/obj/src/svc/svc_host.o" \
    "$BUILD/obj/src/svc/svc_log.o" "$BUILD/obj/src/svc/svc_json_span.o" "$BUILD/obj/src/svc/svc_gate.o" \
    "$BUILD/obj/src/svc/svc_nul.o" "$BUILD/obj/src/svc/svc_b64.o" ||
    { echo "fuzz.sh: library build failed" >&2; exit 2; }

DEP_CFLAGS=$(pkg-config --cflags libcrypto ck rocksdb)
DEP_LIBS="$(pkg-config --libs libcrypto ck rocksdb) -lpthread -lstdc++"
TGT_CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
-Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla -O1 -g -Iinclude $DEP_CFLAGS"

mkdir -p "$BUILD/fuzz"
for t in $TARGETS; do
    extra_src=() extra_inc=() extra_libs=""
    if [[ $t == fuzz_scenario ]]; then
        extra_src=("$BUILD/obj/src/cli/scenario_read.o" "$BUILD/obj/src/cli/scenario_args.o"
            "$BUILD/obj/src/cli/scenario_path.o" "$BUILD/obj/src/cli/util.o"
            "$BUILD/obj/src/cli/redact_args.o" "$BUILD/obj/src/svc/svc_buf.o"
            "$BUILD/obj/src/svc/svc_json_span.o")
        extra_inc=(-Isrc/cli)
    fi
    [[ $t == fuzz_normalize ]] && extra_inc=(-Isrc/core -Isrc/kernel) # internal: normalize.h, shell_braces.h
    [[ $t == fuzz_regex ]] && extra_inc=(-Isrc/kernel -Isrc/core) # internal: kernel/regex_nfa.h
    # internal: the guard a kernel registered (kernel_internal.h and the layers it includes)
    [[ $t == fuzz_guard ]] && extra_inc=(-Isrc/core -Isrc/model -Isrc/store -Isrc/kernel)
    if [[ $t == fuzz_serve ]]; then # the sidecar's request handler, no sockets
        extra_src=("$BUILD/obj/src/serve/handler.o" "$BUILD/obj/src/serve/state.o" "$BUILD/obj/src/svc/svc_buf.o"
            "$BUILD/obj/src/svc/svc_json_span.o" "$BUILD/obj/src/svc/svc_b64.o")
        extra_inc=(-Isrc/serve)
    elif [[ $t == fuzz_mcp ]]; then
        extra_src=("${MCP_OBJS[@]}" "$BUILD/obj/src/svc/svc_buf.o" "$BUILD/obj/src/svc/svc_conn.o"
                   "$BUILD/obj/src/svc/svc_host.o" "$BUILD/obj/src/svc/svc_log.o"
                   "$BUILD/obj/src/svc/svc_gate.o" "$BUILD/obj/src/svc/svc_nul.o")
        extra_inc=(-Isrc/mcp)
        extra_libs=$(pkg-config --libs libmicrohttpd)
    fi
    bin=$BUILD/fuzz/$t
    stale=0
    [[ ! -x $bin || tests/fuzz/$t.c -nt $bin || $BUILD/libchio.a -nt $bin ]] && stale=1
    for o in "${extra_src[@]}"; do [[ $o -nt $bin ]] && stale=1; done
    if ((stale)); then
        echo "fuzz.sh: linking $bin"
        # shellcheck disable=SC2086  # flag lists are meant to split
        $CC $TGT_CFLAGS $SAN_LINK "${extra_inc[@]}" -o "$bin" "tests/fuzz/$t.c" \
            "${extra_src[@]}" "$BUILD/libchio.a" $DEP_LIBS $extra_libs ||
            { echo "fuzz.sh: linking $t failed" >&2; exit 2; }
    fi
done

# ---- run ---------------------------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
# Allocations of live kernel threads (tests/fuzz/lsan.supp says why).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One libFuzzer run; its exit status goes to $BUILD/fuzz-T.rc (the function
# itself always succeeds, so `wait -n` under set -e never stops the script).
run_target() { # TARGET
    local t=$1 rc=0
    local seeds=tests/fuzz/corpus/$t new=$BUILD/corpus-new/$t art=$BUILD/artifacts/$t/
    local log=$BUILD/fuzz-$t.log
    mkdir -p "$new" "$art"
    local seed_dirs=()
    [[ -d $seeds ]] && seed_dirs=("$seeds")
    # The first corpus directory is where libFuzzer writes new inputs, so
    # the scratch directory goes first and the checked-in seeds stay read-only.
    # shellcheck disable=SC2086
    "$BUILD/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" ${FUZZ_ARGS:-} \
        "$new" "${seed_dirs[@]}" >"$log" 2>&1 || rc=$?
    echo "$rc" >"$BUILD/fuzz-$t.rc"
    return 0
}

# Targets run side by side, FUZZ_JOBS at a time (default: one per CPU);
# each libFuzzer process is one thread, so on an idle machine each target
# gets the same time on a CPU as it would alone. An interrupted run takes
# its fuzzers down with it.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
running=0
for t in $TARGETS; do
    rm -f "$BUILD/fuzz-$t.rc"
    echo "fuzz.sh: running $t for ${SECONDS_PER_TARGET}s (log: $BUILD/fuzz-$t.log)"
    run_target "$t" &
    running=$((running + 1))
    if ((running >= JOBS)); then
        wait -n
        running=$((running - 1))
    fi
done
wait

status=0
summary=()
crashes=()
for t in $TARGETS; do
    log=$BUILD/fuzz-$t.log
    rc=$(cat "$BUILD/fuzz-$t.rc" 2>/dev/null || echo "?")
    [[ $rc =~ ^[0-9]+$ ]] || rc=255 # the run itself did not finish
    runs=$(grep -aoE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
    last=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | sed 's/corp: //' || true)
    [[ -n $runs ]] || runs=$(grep -oE '^#[0-9]+' <<<"$last" | tr -d '#' || true)
    line=$(printf '%-16s runs=%-10s cov=%-6s ft=%-6s corpus=%-12s' "$t" "${runs:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}")
    if [[ $rc -ne 0 ]]; then
        status=1
        found=$(grep -aoE "(Test unit written to|artifact_prefix='[^']*'; Test unit written to) [^ ]+" "$log" |
                    awk '{print $NF}' | tail -1 || true)
        kind=$(grep -aoE 'ERROR: [A-Za-z]+Sanitizer: [a-z-]+|runtime error: .*|ERROR: libFuzzer: [a-z-]+|invariant violated: .*' "$log" |
                   head -1 || true)
        line="$line FAILED rc=$rc ${kind:-see log} ${found:+reproducer: $found}"
        crashes+=("$t: ${found:-no reproducer written} (log: $log)")
        echo "fuzz.sh: $t FAILED: ${kind:-rc=$rc}" >&2
        grep -aE '^ +#[0-9]+ 0x' "$log" | head -12 >&2 || true
        [[ -n $found ]] && echo "fuzz.sh: reproducer: $found" >&2
    else
        line="$line ok"
    fi
    summary+=("$line")
done

echo
echo "fuzz.sh: summary (${SECONDS_PER_TARGET}s per target)"
printf '  %s\n' "${summary[@]}"
if [[ $status -ne 0 ]]; then
    echo "fuzz.sh: findings:" >&2
    printf '  %s\n' "${crashes[@]}" >&2
    echo "fuzz.sh: reproduce with: $BUILD/fuzz/<target> <reproducer file>" >&2
fi
exit $status
