# libchio build. `make` builds build/libchio.a, build/libchio.so (SONAME
# libchio.so.$(SOVER)) and build/chio; `make test` runs the Criterion suite;
# `make asan` runs it again under AddressSanitizer + UBSan in build-asan/.
# Dependencies are found with pkg-config (see third_party/README.md).

VERSION := $(shell sed -n 's/^\#define CHIO_VERSION_STRING "\(.*\)"/\1/p' include/chio/export.h)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
MINOR   := $(word 2,$(subst ., ,$(VERSION)))
# The SONAME's version: the major from 1.0 on; before 1.0 every minor
# release may change the ABI (0.2.0 grew the public structs' reserved
# tails), so it is major.minor and a program built against 0.1 never loads
# 0.2 by accident.
SOVER   := $(if $(filter 0,$(MAJOR)),$(MAJOR).$(MINOR),$(MAJOR))

SHELL   := /bin/bash
CC      ?= cc
# The targets that run suites (test, asan, tsan, ubsan, demo, soak, bench)
# build through a sub-make with one job per CPU unless the command line
# already chose (`make -j1 test` stays serial; `make -j8 test` shares its
# jobserver). Only the builds run in parallel: a recipe's lines, the
# suites among them, still run one after the other.
NPROC   := $(shell nproc 2>/dev/null || echo 2)
PAR      = $(if $(filter -j% --jobserver%,$(MAKEFLAGS)),,-j$(NPROC))
# Tests at once: two per CPU for the plain suite, whose tests wait on
# disks, timers and child processes (on 2 vCPUs it took 5.5 min with four
# at once against 9 with two, the CPUs about 1.3 of 2 busy); Criterion's
# default, one per CPU, under a sanitizer, whose suite keeps the CPUs
# busy already (ASan: 17 min with four at once against about 15 with
# two). Two per CPU once made two tests' servers meet on one port (a NATS
# node restarted on a port another test had taken); scripts/nats-cluster.sh
# now holds a cluster's ports until it stops
# (tests/export/test_nats_cluster.c). `make test TEST_ARGS=` for one per CPU.
TEST_ARGS ?= $(if $(SAN),,-j$(shell echo $$(( $(NPROC) * 2 ))))
# make OTEL=1: OpenTelemetry spans compiled in (chio/otel.h), built apart.
ifeq ($(OTEL),1)
BUILD   ?= build-otel
OTEL_CFLAGS := -DCHIO_OTEL
endif
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
PKG_CONFIG ?= pkg-config

DEP_PKGS  := libcrypto ck rocksdb
TEST_PKGS := criterion

DEP_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(DEP_PKGS))
DEP_LIBS    := $(shell $(PKG_CONFIG) --libs $(DEP_PKGS)) -lpthread
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Wvla
# Layers, lowest first (../shared/spec/architecture.md): each sees its own
# private headers and those of the layers below, never one above; the CLI
# sees include/ alone. Tests, reliability helpers and benchmarks see every
# layer. scripts/check-layers.sh checks what the compiler actually read.
LAYERS      := core model store kernel
LAYER_INC_core   := -Isrc/core
LAYER_INC_model  := $(LAYER_INC_core) -Isrc/model
LAYER_INC_store  := $(LAYER_INC_model) -Isrc/store
LAYER_INC_kernel := $(LAYER_INC_store) -Isrc/kernel
PRIVATE_INC := $(LAYER_INC_kernel)
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(SAN) $(OTEL_CFLAGS) -fPIC -fvisibility=hidden \
           -Iinclude
CFLAGS_ALL = $(CFLAGS_BASE) $(PRIVATE_INC) $(DEP_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)

LIB_SRCS  := $(sort $(wildcard src/core/*.c src/model/*.c src/store/*.c src/kernel/*.c))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
# tests/otel, tests/fuzz and tests/reliability hold standalone programs.
TEST_SRCS := $(sort $(filter-out tests/kernel/tsan_main.c tests/otel/% tests/fuzz/% \
                 tests/reliability/%,$(wildcard tests/*/*.c)))
PERF_SRCS := $(sort $(wildcard perf/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)

# What the programs above the public API share (src/svc/: the text buffer
# of the CLI, the sidecar and the MCP gateway): linked into the CLI and
# the tests, never into libchio.
SVC_SRCS  := $(sort $(wildcard src/svc/*.c))
CLI_SRCS  += $(SVC_SRCS)
CLI_OBJS  += $(SVC_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS += $(SVC_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/src/svc/%.o: PRIVATE_INC :=

# The MCP gateway layer (src/mcp/, `chio mcp`): public API only, like the
# CLI, which links it; its own headers on its include path.
MCP_SRCS  := $(sort $(wildcard src/mcp/*.c))
CLI_SRCS  += $(MCP_SRCS)
CLI_OBJS  += $(MCP_SRCS:%.c=$(BUILD)/obj/%.o)
# serve-http is built on libmicrohttpd (linked into the CLI and the tests).
MHD_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS   := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null)
$(BUILD)/obj/src/mcp/%.o: PRIVATE_INC := -Isrc/mcp $(MHD_CFLAGS)
$(BUILD)/chio $(BUILD)/test-chio: DEP_LIBS += $(MHD_LIBS)
# tests/mcp/test_mcp.c (in the Criterion suite) calls the layer directly.
TEST_OBJS += $(MCP_SRCS:%.c=$(BUILD)/obj/%.o)
# tests/mcp: the official MCP SDK's client drives `chio mcp serve` wrapping
# the reference server-everything (node --test; packages pinned by
# tests/mcp/package-lock.json, installed by scripts/install-deps.sh).
.DEFAULT_GOAL := all

mcp-check: $(CLI)
	cd tests/mcp && CHIO_CLI=$(abspath $(CLI)) node --test --test-concurrency=1 gateway.test.mjs

# tests/interop: an independent Node implementation of the wire formats
# (tests/interop/chio-wire.mjs, node:crypto only, no packages) holds the CLI,
# a real kernel and its RocksDB store to the spec: docs/testing.md.
interop-check: $(CLI)
	CHIO_CLI=$(abspath $(CLI)) node --test --test-concurrency=1 tests/interop/interop.test.mjs

# tests/serve/sidecar-contract.test.mjs: an outside client (node:http and
# node:crypto, no packages) holds `chio serve` to the sidecar contract
# (wire-format.md 6, docs/sidecar.md), verifying every receipt itself.
sidecar-check: $(CLI)
	CHIO_CLI=$(abspath $(CLI)) node --test --test-concurrency=1 tests/serve/sidecar-contract.test.mjs

STATIC  := $(BUILD)/libchio.a
SHARED  := $(BUILD)/libchio.so.$(VERSION)
CLI     := $(BUILD)/chio
TESTBIN := $(BUILD)/test-chio
EXAMPLES := $(BUILD)/examples/host-service $(BUILD)/examples/agent-client $(BUILD)/examples/embed
# Helper programs the reliability tests start as separate processes.
RELIABILITY := $(patsubst tests/reliability/%.c,$(BUILD)/reliability/%,$(wildcard tests/reliability/*.c))
# Examples are what users write: public headers only, no private include dirs.
EXAMPLE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(SAN) $(OTEL_CFLAGS) -Iinclude

.PHONY: all lib deps test check asan tsan tsan-check demo clean format format-check bench symbols \
        install uninstall install-check otel-check integration-check interop-check sidecar-check bindings-check ubsan \
        valgrind stress fuzz fuzz-smoke soak

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

all: $(STATIC) $(SHARED) $(CLI) $(EXAMPLES)
lib: $(STATIC) $(SHARED)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(foreach l,$(LAYERS),$(eval $(BUILD)/obj/src/$(l)/%.o: PRIVATE_INC := $(LAYER_INC_$(l))))
$(BUILD)/obj/src/cli/%.o: PRIVATE_INC :=

# The serve layer (src/serve/, `chio serve`, docs/sidecar.md): above the
# library like the CLI, on include/ alone; linked into the CLI only, with
# libmicrohttpd (found with pkg-config, installed by scripts/install-deps.sh).
SERVE_SRCS := $(sort $(wildcard src/serve/*.c))
SERVE_OBJS := $(SERVE_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/src/serve/%.o: PRIVATE_INC :=
$(BUILD)/obj/src/serve/%.o: DEP_CFLAGS += $(MHD_CFLAGS)
CLI_OBJS += $(SERVE_OBJS)
CLI_SRCS += $(SERVE_SRCS)
# tests/serve/test_rev27_bounded.c (in the Criterion suite) calls the layer directly.
TEST_OBJS += $(SERVE_OBJS)

# The fleet layer (src/export/: `chio export`, `chio fleet verify|witness`,
# docs/fleet.md): public API only, like the CLI, which links it, on the NATS
# C client (libnats, found with pkg-config; nats-server runs the tests'
# cluster, scripts/nats-cluster.sh). tests/export drives both for real;
# `make fleet-check` runs its big run at full size (CHIO_FLEET_RECEIPTS).
NATS_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnats 2>/dev/null)
NATS_LIBS   := $(shell $(PKG_CONFIG) --libs libnats 2>/dev/null)
EXPORT_SRCS := $(sort $(wildcard src/export/*.c))
CLI_SRCS    += $(EXPORT_SRCS)
CLI_OBJS    += $(EXPORT_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS   += $(EXPORT_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/src/export/%.o: PRIVATE_INC :=
$(BUILD)/obj/src/export/%.o: DEP_CFLAGS += $(NATS_CFLAGS)
$(BUILD)/chio $(BUILD)/test-chio: DEP_LIBS += $(NATS_LIBS)
.PHONY: fleet-check
fleet-check: $(CLI) $(TESTBIN)
	CHIO_FLEET_RECEIPTS=$${CHIO_FLEET_RECEIPTS:-20000} $(TESTBIN) --filter 'fleet/*'

# The in-host exporter (include/chio/export_nats.h, docs/fleet.md): the
# fleet layer as its own static library, so that a host that exports links
# build/libchio_export.a, libchio and libnats, and one that does not links
# no NATS code (`make install` puts it beside libchio.a, the header with the
# others). host-service links it for --export-nats. perf/export-bench.sh
# measures the exporter against a kernel at its full sync rate.
EXPORT_LIB := $(BUILD)/libchio_export.a
$(EXPORT_LIB): $(EXPORT_SRCS:%.c=$(BUILD)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
all: $(EXPORT_LIB)
install: install-export
uninstall: uninstall-export
.PHONY: install-export uninstall-export
install-export: $(EXPORT_LIB)
	install -d $(DESTDIR)$(LIBDIR)
	install -m 644 $(EXPORT_LIB) $(DESTDIR)$(LIBDIR)/libchio_export.a
uninstall-export:
	rm -f $(DESTDIR)$(LIBDIR)/libchio_export.a
# host-service links the library for --export-nats and for its start-up
# witness (--witness-nats: src/export's check, its one header on the path),
# and two of the services' text helpers (src/svc/, public API only): the
# walk that finds a token object's bytes as written, and the one-line-a-
# second limit on the log lines a client can cause (review 19).
HOST_SVC_OBJS := $(BUILD)/obj/src/svc/svc_json_span.o $(BUILD)/obj/src/svc/svc_log.o
$(BUILD)/examples/host-service: examples/host-service.c $(HOST_SVC_OBJS) $(EXPORT_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) -Isrc/export -Isrc/svc -o $@ $< $(HOST_SVC_OBJS) $(EXPORT_LIB) \
	    $(STATIC) $(LDFLAGS_ALL) $(DEP_LIBS) $(NATS_LIBS)
$(BUILD)/perf/export-bench: perf/export_bench.c $(EXPORT_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc -o $@ perf/export_bench.c $(EXPORT_LIB) $(STATIC) $(DEP_LIBS) $(NATS_LIBS)
.PHONY: export-bench
export-bench: $(CLI) $(BUILD)/perf/export-bench
	perf/export-bench.sh

# Tests see private headers of every layer and know where the CLI lives.
$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc -Itests $(TEST_CFLAGS) -DCHIO_TEST_CLI='"$(abspath $(CLI))"' \
	    -DCHIO_SCENARIOS_DIR='"$(abspath scenarios)"' \
	    -DCHIO_EXAMPLES_DIR='"$(abspath $(BUILD)/examples)"' \
	    -DCHIO_RELIABILITY_DIR='"$(abspath $(BUILD)/reliability)"' \
	    -DCHIO_VECTORS_DIR_DEFAULT='"$(abspath tests/vectors)"' \
	    -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Bound at load (-z now): no lazy binding, whose trampoline saves the
# vector registers (bytes of a seed among them) on the stack
# (docs/security.md, "The signing key and core dumps").
BIND_NOW := -Wl,-z,relro,-z,now

$(SHARED): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libchio.so.$(SOVER) -Wl,--no-undefined $(BIND_NOW) $(LDFLAGS_ALL) \
	    -o $@ $^ $(DEP_LIBS)
	ln -sf libchio.so.$(VERSION) $(BUILD)/libchio.so.$(SOVER)
	ln -sf libchio.so.$(SOVER) $(BUILD)/libchio.so

$(CLI): $(CLI_OBJS) $(STATIC)
	$(CC) $(BIND_NOW) $(LDFLAGS_ALL) -o $@ $(CLI_OBJS) $(STATIC) $(DEP_LIBS)

$(BUILD)/reliability/%: tests/reliability/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc -Itests -o $@ $< $(STATIC) $(LDFLAGS_ALL) $(DEP_LIBS)

$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS_ALL) $(DEP_LIBS)

$(TESTBIN): $(TEST_OBJS) $(STATIC)
	$(CC) $(LDFLAGS_ALL) -o $@ $(TEST_OBJS) $(STATIC) $(TEST_LIBS) $(DEP_LIBS)

# pkg-config files, written at install time so that they carry the PREFIX
# (and LIBDIR, INCLUDEDIR) of that install and never DESTDIR. chio.pc links
# libchio.so (its dependencies are Requires.private: `pkg-config --static`
# lists them); chio-static.pc links libchio.a itself (-l:libchio.a), its
# dependencies shared. Cflags carry -DCHIO_OTEL in an OTEL=1 build, so
# consumers see chio/otel.h exactly when it exists. Recipes: docs/embedding.md.
PC_COMMON = 'prefix=$(PREFIX)' 'exec_prefix=$${prefix}' 'libdir=$(LIBDIR)' \
    'includedir=$(INCLUDEDIR)' '' 'Version: $(VERSION)' 'Requires.private: $(DEP_PKGS)' \
    'Cflags: -I$${includedir} $(OTEL_CFLAGS)'
define write_pc
	printf '%s\n' $(PC_COMMON) 'Name: chio' \
	    'Description: libchio, a security kernel for AI agents (shared library)' \
	    'Libs: -L$${libdir} -lchio' 'Libs.private: -lpthread' > $(1)/chio.pc
	printf '%s\n' $(PC_COMMON) 'Name: chio-static' \
	    'Description: libchio linked statically (libchio.a); dependencies shared' \
	    'Libs: -L$${libdir} -l:libchio.a -lpthread' > $(1)/chio-static.pc
endef

# The headers installed under $(INCLUDEDIR)/chio: the C API and the
# header-only C++ binding (bindings/cpp/chio.hpp as <chio/chio.hpp>).
INSTALL_HEADERS := $(wildcard include/chio/*.h) bindings/cpp/chio.hpp

install: all
	install -d $(DESTDIR)$(INCLUDEDIR)/chio $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/chio/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libchio.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libchio.so.$(VERSION)
	ln -sf libchio.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libchio.so.$(SOVER)
	ln -sf libchio.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libchio.so
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/chio
	$(call write_pc,$(DESTDIR)$(PKGCONFIGDIR))

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/chio/,$(notdir $(INSTALL_HEADERS)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/chio 2>/dev/null
	rm -f $(DESTDIR)$(LIBDIR)/libchio.a $(DESTDIR)$(LIBDIR)/libchio.so \
	    $(DESTDIR)$(LIBDIR)/libchio.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libchio.so.$(VERSION) \
	    $(DESTDIR)$(BINDIR)/chio $(DESTDIR)$(PKGCONFIGDIR)/chio.pc \
	    $(DESTDIR)$(PKGCONFIGDIR)/chio-static.pc

# Install into a staging tree (DESTDIR, PREFIX=/usr/local), check the SONAME
# links, the exported symbols, the installed CLI and that no staging path
# reached the .pc files, then uninstall and check nothing is left. The
# consumer side (building programs through pkg-config, shared and static)
# is docs/embedding.md's recipes, run verbatim by scripts/check-docs.sh.
STAGE := $(abspath $(BUILD)/stage)
install-check: all
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr/local
	test "$$(readlink $(STAGE)/usr/local/lib/libchio.so)" = libchio.so.$(SOVER)
	test "$$(readlink $(STAGE)/usr/local/lib/libchio.so.$(SOVER))" = libchio.so.$(VERSION)
	./scripts/check-symbols.sh $(STAGE)/usr/local/lib/libchio.so.$(VERSION)
	test "$$($(STAGE)/usr/local/bin/chio --version)" = "chio $(VERSION)"
	test -f $(STAGE)/usr/local/include/chio/chio.hpp
	grep -qx 'prefix=/usr/local' $(STAGE)/usr/local/lib/pkgconfig/chio.pc
	grep -qx 'prefix=/usr/local' $(STAGE)/usr/local/lib/pkgconfig/chio-static.pc
	! grep -q '$(STAGE)' $(STAGE)/usr/local/lib/pkgconfig/*.pc
	$(MAKE) --no-print-directory uninstall DESTDIR=$(STAGE) PREFIX=/usr/local
	test -z "$$(find $(STAGE) -type f -o -type l)"
	@echo "install-check: installed (DESTDIR kept out of the .pc files), uninstalled cleanly"

# OTEL=1 in its own build tree: the span test, and no OpenTelemetry symbol
# in the default library.
otel-check:
	@$(MAKE) --no-print-directory OTEL=1 BUILD=build-otel lib
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -DCHIO_OTEL -Iinclude -o build-otel/otel-test \
	    $(wildcard tests/otel/*.c) build-otel/libchio.a $(DEP_LIBS)
	build-otel/otel-test
	@! nm -D $(SHARED) | grep -qi otel || (echo "otel symbols in a default build" >&2; false)

# Missing packages are installed first (scripts/install-deps.sh is a no-op
# when everything is there); the real work runs in a fresh make so that the
# pkg-config lookups above see the newly installed libraries.
deps:
	@./scripts/install-deps.sh

# The whole suite. Criterion forks each test; the CLI tests run $(BUILD)/chio.
test: deps
	@$(MAKE) --no-print-directory $(PAR) check
	@$(MAKE) --no-print-directory $(PAR) integration-check

# Beyond the Criterion suite: the README and docs checks (docs/embedding.md's
# recipes run verbatim: C, Rust, C++, installs shared and static), install +
# uninstall, the OTEL=1 build, the Rust and C++ bindings and the header checks.
integration-check: all
	./scripts/check-readme.sh
	./scripts/check-docs.sh
	./scripts/valgrind-cli.sh $(CLI)
	@$(MAKE) --no-print-directory mcp-check
	@$(MAKE) --no-print-directory interop-check
	@$(MAKE) --no-print-directory sidecar-check
	@$(MAKE) --no-print-directory install-check
	@$(MAKE) --no-print-directory otel-check
	@$(MAKE) --no-print-directory bindings-check

# cargo from PATH, else rustup's default location.
CARGO ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
CXX   ?= g++
# The Rust crate's tests (its README example runs as a doc test), the C++
# binding's tests, the C++ README's example built and run, the C headers.
bindings-check: $(STATIC)
	@test "$$(sed -n 's/^version = "\(.*\)"/\1/p' bindings/rust/Cargo.toml)" = "$(VERSION)" || \
	    (echo "bindings/rust/Cargo.toml version differs from include/chio/export.h" >&2; false)
	cd bindings/rust && CHIO_LIB_DIR=$(abspath $(BUILD)) $(CARGO) test --offline --quiet
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp \
	    bindings/cpp/test_chio.cpp $(STATIC) $(DEP_LIBS) -o $(BUILD)/test-chio-cpp
	$(BUILD)/test-chio-cpp
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp \
	    bindings/cpp/test_rev28_bindings2.cpp $(STATIC) $(DEP_LIBS) -o $(BUILD)/test-rev28-bindings2-cpp
	$(BUILD)/test-rev28-bindings2-cpp
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp \
	    bindings/cpp/test_rev30_bindings.cpp $(STATIC) $(DEP_LIBS) -o $(BUILD)/test-rev30-bindings-cpp
	$(BUILD)/test-rev30-bindings-cpp
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp \
	    bindings/cpp/test_rev31_bindings.cpp $(STATIC) $(DEP_LIBS) -o $(BUILD)/test-rev31-bindings-cpp
	$(BUILD)/test-rev31-bindings-cpp
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp \
	    bindings/cpp/test_rev46_bindings.cpp $(STATIC) $(DEP_LIBS) -o $(BUILD)/test-rev46-bindings-cpp
	$(BUILD)/test-rev46-bindings-cpp
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp \
	    bindings/cpp/test_rev55_bindings.cpp $(STATIC) $(DEP_LIBS) -o $(BUILD)/test-rev55-bindings-cpp
	$(BUILD)/test-rev55-bindings-cpp
	awk '/^```cpp$$/ { on = 1; next } on && /^```$$/ { exit } on' bindings/cpp/README.md \
	    > $(BUILD)/cpp-readme-example.cpp
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp \
	    $(BUILD)/cpp-readme-example.cpp $(STATIC) $(DEP_LIBS) -o $(BUILD)/cpp-readme-example
	$(BUILD)/cpp-readme-example > $(BUILD)/cpp-readme-example.out 2>/dev/null
	grep -q '^receipt [0-9a-f]\{64\} ok=1$$' $(BUILD)/cpp-readme-example.out
	$(CC) -std=c99 -pedantic -Werror -Wall -Wextra -Iinclude -c bindings/cpp/test_c_headers.c \
	    -o $(BUILD)/test_c_headers.o
	$(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude bindings/cpp/test_c_headers.cpp \
	    $(STATIC) $(DEP_LIBS) -o $(BUILD)/test-c-headers-cpp
	$(BUILD)/test-c-headers-cpp

# Sanitizer reports fail the run even when the test that caused them passed
# (Criterion's forked children report leaks after their verdict is in).
# A failed run repeats its failure lines last, so that a log's tail (all
# that some CI views keep) names the failing test.
check: $(TESTBIN) $(CLI) $(SHARED) $(EXAMPLES) $(RELIABILITY)
	./scripts/check-vectors.sh
	./scripts/check-layers.sh $(BUILD)
	./scripts/check-symbols.sh --self-test
	./scripts/check-symbols.sh $(SHARED)
	@set -o pipefail; echo "$(TESTBIN) $(TEST_ARGS)"; \
	if ! $(TESTBIN) $(TEST_ARGS) 2>&1 | tee $(BUILD)/test.log; then \
	    echo "make: the failures in $(BUILD)/test.log, again:" >&2; \
	    grep -E '^\[(----|FAIL)\]' $(BUILD)/test.log \
	        | tail -n 60 >&2; exit 1; fi
	@if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' $(BUILD)/test.log; then \
	    echo "make: sanitizer reports in $(BUILD)/test.log" >&2; exit 1; fi

# UndefinedBehaviorSanitizer alone (asan runs it together with ASan too).
ubsan: deps
	@$(MAKE) --no-print-directory $(PAR) BUILD=build-ubsan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=undefined -fno-sanitize-recover=all" check

# valgrind memcheck over the CLI on the vectors and scenarios (also in make test).
valgrind: all
	./scripts/valgrind-cli.sh $(CLI)

# libFuzzer targets in tests/fuzz/ (clang only), built apart in build-fuzz/;
# see tests/fuzz/README.md. .ci/run runs the smoke run.
FUZZ_SECONDS ?= 60
fuzz:
	./scripts/fuzz.sh $(FUZZ_SECONDS)
fuzz-smoke:
	./scripts/fuzz.sh 30

# Longer runs of the crash-durability and concurrency tests: 200 SIGKILLs
# instead of 20, and the 64-thread pipeline test (stress/*) at 2000 calls
# per thread (128,000) instead of the suite's 400 (25,600). Each test says
# what it did on stderr ("crash: 200 SIGKILLs ...", "stress: 128000
# receipts from 64 threads ...").
stress: all $(TESTBIN) $(RELIABILITY)
	CHIO_CRASH_ITERATIONS=$${CHIO_CRASH_ITERATIONS:-200} $(TESTBIN) --filter 'crash/*'
	CHIO_STRESS_CALLS=$${CHIO_STRESS_CALLS:-2000} $(TESTBIN) --filter 'stress/*'
	$(TESTBIN) --filter 'evaluate/budget_race*'

asan: deps
	@$(MAKE) --no-print-directory $(PAR) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" check

# ThreadSanitizer over the whole suite. ck_ring's inline-assembly fences are
# invisible to TSan; scripts/tsan.supp names the ring internals it may
# flag (our own hand-off through the ring is a release/acquire pair TSan sees).
# Criterion's sandbox cannot run under TSan (Criterion issue #274), so the
# kernel's concurrency scenarios, the same code the suite runs, are driven
# by a plain binary here.
TSAN_OBJS := $(BUILD)/obj/tests/kernel/scenarios.o $(BUILD)/obj/tests/kernel/med_scenarios.o \
             $(BUILD)/obj/tests/kernel/race_scenarios.o $(BUILD)/obj/tests/kernel/tokens.o \
             $(BUILD)/obj/tests/kernel/rev28_race_scenarios.o $(BUILD)/obj/tests/kernel/tsan_main.o

$(BUILD)/tsan-scenarios: $(TSAN_OBJS) $(STATIC)
	$(CC) $(LDFLAGS_ALL) -o $@ $(TSAN_OBJS) $(STATIC) $(DEP_LIBS)

tsan-check: $(BUILD)/tsan-scenarios
	set -o pipefail; TSAN_OPTIONS="suppressions=$(abspath scripts/tsan.supp) halt_on_error=1 \
	    second_deadlock_stack=1 $(TSAN_OPTIONS)" $(BUILD)/tsan-scenarios 2>&1 | tee $(BUILD)/tsan.log
	@if grep -q 'WARNING: ThreadSanitizer' $(BUILD)/tsan.log; then \
	    echo "make: ThreadSanitizer reports in $(BUILD)/tsan.log" >&2; exit 1; fi

tsan: deps
	@$(MAKE) --no-print-directory $(PAR) BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread" tsan-check

symbols: $(SHARED)
	./scripts/check-symbols.sh $(SHARED)

# The demo: examples/host-service serving examples/agent-client over a Unix
# socket, receipts in ./state/receipts, development keys under ./state.
demo: deps
	@$(MAKE) --no-print-directory $(PAR) all
	@./scripts/demo.sh $(BUILD)

# The soak (not run by CI): host-service under mixed client load with
# revocations and SIGTERM restarts for SOAK_MINUTES (10), its RSS, fds and
# threads sampled into $(BUILD)/soak/samples.csv and plotted in
# $(BUILD)/soak/soak.png; fails on growth or a store that does not audit.
soak: deps
	@$(MAKE) --no-print-directory $(PAR) all
	./scripts/soak.sh $(BUILD)

$(BUILD)/perf/bench-core: perf/bench_core.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ perf/bench_core.c $(STATIC) $(DEP_LIBS)

$(BUILD)/perf/bench-authz: perf/bench_authz.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ perf/bench_authz.c $(STATIC) $(DEP_LIBS)

# perf/alloc_count.c interposes malloc: linked into this benchmark only, as
# are perf/bench_kernel_load.c, its loads, and perf/bench_check.c, its
# regression check (perf/bench_kernel.h).
$(BUILD)/perf/bench-kernel: perf/bench_kernel.c perf/bench_kernel_load.c perf/bench_check.c \
                            perf/bench_kernel.h perf/alloc_count.c perf/alloc_count.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ perf/bench_kernel.c perf/bench_kernel_load.c perf/bench_check.c \
	    perf/alloc_count.c $(STATIC) $(DEP_LIBS) -lm

$(BUILD)/perf/bench-tables: perf/bench_tables.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ perf/bench_tables.c $(STATIC) $(DEP_LIBS)

# The full benchmark suite; the JSON with every figure lands in build/bench.json.
bench: deps
	@$(MAKE) --no-print-directory $(PAR) $(BUILD)/perf/bench-core $(BUILD)/perf/bench-authz \
	    $(BUILD)/perf/bench-kernel $(BUILD)/perf/bench-tables
	$(BUILD)/perf/bench-core $(BENCH_ARGS)
	$(BUILD)/perf/bench-authz $(BENCH_ARGS)
	$(BUILD)/perf/bench-kernel --json $(BUILD)/bench.json $(BENCH_ARGS)
	$(BUILD)/perf/bench-tables --json $(BUILD)/bench-tables.json $(BENCH_ARGS)

format:
	clang-format -i $(LIB_SRCS) $(CLI_SRCS) $(TEST_SRCS) $(PERF_SRCS) $(wildcard examples/*.c tests/otel/*.c) $(wildcard include/chio/*.h src/*/*.h tests/*/*.h perf/*.h)

format-check:
	clang-format --dry-run -Werror $(LIB_SRCS) $(CLI_SRCS) $(TEST_SRCS) $(PERF_SRCS) $(wildcard examples/*.c tests/otel/*.c) $(wildcard include/chio/*.h src/*/*.h tests/*/*.h perf/*.h)

clean:
	rm -rf build build-asan build-tsan build-ubsan build-otel build-fuzz

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d)
