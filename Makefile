# libchio build. `make` builds build/libchio.a, build/libchio.so (SONAME
# libchio.so.$(MAJOR)) and build/chio; `make test` runs the Criterion suite;
# `make asan` runs it again under AddressSanitizer + UBSan in build-asan/.
# Dependencies are found with pkg-config (see third_party/README.md).

VERSION := $(shell sed -n 's/^\#define CHIO_VERSION_STRING "\(.*\)"/\1/p' include/chio/export.h)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))

SHELL   := /bin/bash
CC      ?= cc
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
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(SAN) -fPIC -fvisibility=hidden \
           -Iinclude -Isrc/core -Isrc/model -Isrc/store -Isrc/kernel $(DEP_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)

LIB_SRCS  := $(sort $(wildcard src/core/*.c src/model/*.c src/store/*.c src/kernel/*.c))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
TEST_SRCS := $(sort $(filter-out tests/kernel/tsan_main.c,$(wildcard tests/*/*.c)))
PERF_SRCS := $(sort $(wildcard perf/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)

STATIC  := $(BUILD)/libchio.a
SHARED  := $(BUILD)/libchio.so.$(VERSION)
CLI     := $(BUILD)/chio
TESTBIN := $(BUILD)/test-chio

.PHONY: all lib deps test check asan tsan tsan-check demo clean format format-check bench symbols

all: $(STATIC) $(SHARED) $(CLI)
lib: $(STATIC) $(SHARED)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# Tests see private headers of every layer and know where the CLI lives.
$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc -Itests $(TEST_CFLAGS) -DCHIO_TEST_CLI='"$(abspath $(CLI))"' \
	    -DCHIO_SCENARIOS_DIR='"$(abspath scenarios)"' \
	    -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libchio.so.$(MAJOR) -Wl,--no-undefined $(LDFLAGS_ALL) \
	    -o $@ $^ $(DEP_LIBS)
	ln -sf libchio.so.$(VERSION) $(BUILD)/libchio.so.$(MAJOR)
	ln -sf libchio.so.$(MAJOR) $(BUILD)/libchio.so

$(CLI): $(CLI_OBJS) $(STATIC)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJS) $(STATIC) $(DEP_LIBS)

$(TESTBIN): $(TEST_OBJS) $(STATIC)
	$(CC) $(LDFLAGS_ALL) -o $@ $(TEST_OBJS) $(STATIC) $(TEST_LIBS) $(DEP_LIBS)

# Missing packages are installed first (scripts/install-deps.sh is a no-op
# when everything is there); the real work runs in a fresh make so that the
# pkg-config lookups above see the newly installed libraries.
deps:
	@./scripts/install-deps.sh

# The whole suite. Criterion forks each test; the CLI tests run $(BUILD)/chio.
test: deps
	@$(MAKE) --no-print-directory check

# Sanitizer reports fail the run even when the test that caused them passed
# (Criterion's forked children report leaks after their verdict is in).
check: $(TESTBIN) $(CLI) $(SHARED)
	./scripts/check-symbols.sh $(SHARED)
	set -o pipefail; $(TESTBIN) $(TEST_ARGS) 2>&1 | tee $(BUILD)/test.log
	@if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' $(BUILD)/test.log; then \
	    echo "make: sanitizer reports in $(BUILD)/test.log" >&2; exit 1; fi

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" check

# ThreadSanitizer over the whole suite. ck_ring's inline-assembly fences are
# invisible to TSan; scripts/tsan.supp names the ring internals it may
# flag (our own hand-off through the ring is a release/acquire pair TSan sees).
# Criterion's sandbox cannot run under TSan (Criterion issue #274), so the
# kernel's concurrency scenarios, the same code the suite runs, are driven
# by a plain binary here.
TSAN_OBJS := $(BUILD)/obj/tests/kernel/scenarios.o $(BUILD)/obj/tests/kernel/med_scenarios.o \
             $(BUILD)/obj/tests/kernel/tokens.o $(BUILD)/obj/tests/kernel/tsan_main.o

$(BUILD)/tsan-scenarios: $(TSAN_OBJS) $(STATIC)
	$(CC) $(LDFLAGS_ALL) -o $@ $(TSAN_OBJS) $(STATIC) $(DEP_LIBS)

tsan-check: $(BUILD)/tsan-scenarios
	set -o pipefail; TSAN_OPTIONS="suppressions=$(abspath scripts/tsan.supp) halt_on_error=1 \
	    second_deadlock_stack=1 $(TSAN_OPTIONS)" $(BUILD)/tsan-scenarios 2>&1 | tee $(BUILD)/tsan.log
	@if grep -q 'WARNING: ThreadSanitizer' $(BUILD)/tsan.log; then \
	    echo "make: ThreadSanitizer reports in $(BUILD)/tsan.log" >&2; exit 1; fi

tsan: deps
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread" tsan-check

symbols: $(SHARED)
	./scripts/check-symbols.sh $(SHARED)

# Until the kernel lands, the demo signs and verifies receipts and tokens
# with the CLI, keeping its development key under ./state.
demo: deps
	@$(MAKE) --no-print-directory all
	@./scripts/demo.sh $(CLI)

$(BUILD)/perf/bench-core: perf/bench_core.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ perf/bench_core.c $(STATIC) $(DEP_LIBS)

$(BUILD)/perf/bench-authz: perf/bench_authz.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ perf/bench_authz.c $(STATIC) $(DEP_LIBS)

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/perf/bench-core $(BUILD)/perf/bench-authz
	$(BUILD)/perf/bench-core $(BENCH_ARGS)
	$(BUILD)/perf/bench-authz $(BENCH_ARGS)

format:
	clang-format -i $(LIB_SRCS) $(CLI_SRCS) $(TEST_SRCS) $(PERF_SRCS) $(wildcard include/chio/*.h src/*/*.h tests/*/*.h)

format-check:
	clang-format --dry-run -Werror $(LIB_SRCS) $(CLI_SRCS) $(TEST_SRCS) $(PERF_SRCS) $(wildcard include/chio/*.h src/*/*.h tests/*/*.h)

clean:
	rm -rf build build-asan build-tsan

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d)
