#!/usr/bin/env bash
# Include layering, checked on what the compiler actually read: the -MMD
# dependency files of every library and CLI object list each header a
# source pulled in, directly or through another header, whatever path
# spelled it ("../kernel/x.h" included). The layers, lowest first, are
# core, model, store, kernel (../shared/spec/architecture.md): a layer may
# read its own private headers and those of the layers below; the CLI
# reads include/ and src/cli/ only. The Makefile gives each layer only
# those -I paths; this catches what include paths cannot. Run by
# `make check` after the build.
#   scripts/check-layers.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
layers=(core model store kernel)
serve_layers=(serve export) # above the library, on include/ only; the CLI reads them
rank() { # the rank of layer $1, or -1 for one that is not a library layer
    local i
    for i in "${!layers[@]}"; do
        [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }
    done
    echo -1
}
bad=0
n=0
for d in "$build"/obj/src/*/*.d; do
    [ -e "$d" ] || continue
    n=$((n + 1))
    layer=$(basename "$(dirname "$d")")
    own=$(rank "$layer")
    src=src/$layer/$(basename "${d%.d}").c
    # Every path in the file, one per line; headers only.
    while IFS= read -r dep; do
        case $dep in *.h) ;; *) continue ;; esac
        case $dep in /*) abs=$dep ;; *) abs=$root/$dep ;; esac
        rel=$(realpath -m --relative-to="$root" "$abs")
        case $rel in
        src/*/*) ;;
        *) continue ;; # include/, system and dependency headers
        esac
        hl=${rel#src/}
        hl=${hl%%/*}
        # src/svc: shared by the programs above the public API (the CLI,
        # src/serve, src/mcp), reading include/ only itself.
        if [ "$hl" = svc ] && [[ " cli serve mcp svc " == *" $layer "* ]]; then
            continue
        fi
        # src/mcp (the MCP gateway): above the public API like the CLI; it
        # reads its own headers, and the CLI (cmd_mcp.c) reads them too.
        if [ "$hl" = mcp ] && { [ "$layer" = mcp ] || [ "$layer" = cli ]; }; then
            continue
        fi
        if [ "$layer" = cli ] || [ "$hl" = cli ]; then
            [ "$hl" = "$layer" ] && continue
            # The CLI may read the layers above the library (serve_layers).
            [ "$layer" = cli ] && [[ " ${serve_layers[*]} " == *" $hl "* ]] && continue
        elif [[ " ${serve_layers[*]} " == *" $layer "* || " ${serve_layers[*]} " == *" $hl "* ]]; then
            # Layers above the library (src/serve/): include/ and their own headers.
            [ "$hl" = "$layer" ] && continue
        else
            hr=$(rank "$hl")
            [ "$hr" -ge 0 ] && [ "$hr" -le "$own" ] && continue
        fi
        echo "check-layers: $src ($layer) includes $rel ($hl)" >&2
        bad=1
    done < <(sed -e 's/\\$//' -e 's/^[^:]*://' "$d" | tr ' ' '\n' | sed '/^$/d' | sort -u)
done
if [ "$n" = 0 ]; then
    echo "check-layers: no dependency files under $build/obj/src (build first)" >&2
    exit 1
fi
[ "$bad" = 0 ] || exit 1
echo "check-layers: $n objects, no upward include (core < model < store < kernel; cli: include/ only)"
