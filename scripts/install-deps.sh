#!/usr/bin/env bash
# Install what libchio needs to build and test, with apt, only when missing.
# Idempotent: a machine that has everything gets no apt call at all.
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --check  exit 1 (and list them) when something is missing
#   scripts/install-deps.sh --soak   also what `make soak` needs (gnuplot-nox), opt-in:
#                                    CI and the default list never install it
set -euo pipefail

CHECK=0
SOAK=0
for a in "$@"; do
    case "$a" in
    --check) CHECK=1 ;;
    --soak) SOAK=1 ;;
    *)
        echo "usage: scripts/install-deps.sh [--check] [--soak]" >&2
        exit 2
        ;;
    esac
done

# Build and test dependencies (see third_party/README.md for why each is here).
PKGS=(
    build-essential   # gcc, make
    pkg-config        # how the Makefile finds every library below
    libssl-dev        # OpenSSL libcrypto: Ed25519, SHA-256, RNG
    libck-dev         # Concurrency Kit: the MPMC signing ring (kernel)
    librocksdb-dev    # RocksDB C API: the receipt store (kernel)
    libcriterion-dev  # Criterion: the test suite
    valgrind          # memcheck over the CLI (make test, make valgrind)
    clang             # libFuzzer for the fuzz targets (make fuzz, .ci/run's smoke run)
    libmicrohttpd-dev # HTTP server of `chio serve` (src/serve/) and `chio mcp serve-http` (src/mcp/http.c)
    libnats-dev       # NATS C client: `chio export` and `chio fleet` (src/export/nats.c, nats_read.c)
    nats-server       # the JetStream cluster of the fleet tests (scripts/nats-cluster.sh)
    locales           # /usr/share/i18n/charmaps: a test builds a decimal-comma locale with localedef
)
# `make soak` draws its plot with gnuplot (only with --soak).
if [ "$SOAK" = 1 ]; then
    PKGS+=(gnuplot-nox)
fi
# The Rust binding's tests need cargo and rustc (any 1.63+; rustup's or Debian's).
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
    PKGS+=(cargo rustc)
fi

# The MCP gateway's tests (tests/mcp, `make mcp-check`) run the official MCP
# SDK and server-everything under Node.js: nodejs and npm from apt when
# node is missing; the packages with `npm ci` from tests/mcp's lockfile
# when node_modules is missing or older than the lockfile.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PKGS+=(nodejs npm)
fi
mcp_node_packages() {
    local d
    d=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/mcp
    # A node_modules that is a symbolic link is another checkout's install:
    # npm ci would empty the directory it points to. Leave it alone.
    if [ -L "$d/node_modules" ]; then
        return 0
    fi
    if [ -f "$d/node_modules/.package-lock.json" ] &&
        [ ! "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
        return 0
    fi
    if [ "$CHECK" = 1 ]; then
        echo "missing: tests/mcp/node_modules (npm ci)" >&2
        return 1
    fi
    echo "install-deps: npm ci in tests/mcp" >&2
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    mcp_node_packages
    exit 0
fi
if [ "$CHECK" = 1 ]; then
    echo "missing packages: ${missing[*]}" >&2
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: need root to install: ${missing[*]}" >&2
        echo "  run: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
mcp_node_packages
