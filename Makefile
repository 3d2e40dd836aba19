# podwall: one non-recursive Makefile.
#
#   make              build the library, the programs and the tests
#   make demo         build, then run the demo on examples/shop
#   make test         build, then run every test (under ASan and UBSan) and
#                     a short run of every fuzz target
#   make bench        the benchmarks in bench/
#   make fuzz         build the libFuzzer targets (clang)
#   make format       clang-format every C file
#
#   SANITIZE=address,undefined   build with sanitizers (into build-san/)
#   FUZZ=1                       build with -fsanitize=fuzzer-no-link (clang)
#   V=1                          show the commands
#
# Debian packages that are missing are installed first (as root), so that
# `make demo` and `make test` work on a fresh Debian 12 machine.

SHARED ?= ../shared
V ?= 0

# Every CPU compiles: `make test` builds three trees (plain, sanitized,
# fuzz), which take minutes one file at a time. Set at the top level only:
# the recursive makes share its job slots (jobserver).
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
SANITIZE ?=
FUZZ ?=

ifeq ($(FUZZ),1)
CC := clang
O ?= build-fuzz
else ifneq ($(SANITIZE),)
CC := clang
O ?= build-san
else
CC ?= cc
O ?= build
endif

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

DEB_PKGS := gcc make pkg-config libyaml-dev clang libclang-rt-14-dev \
	    python3 python3-yaml time nftables libnftables-dev libnftnl-dev libmnl-dev \
	    iproute2 libcurl4-openssl-dev libjansson-dev openssl
# Only the tests need these (the report is checked in a headless browser,
# the agent's metrics are scraped with curl).
TEST_DEB_PKGS := chromium curl

PKGS := yaml-0.1 libnftables libnftnl libmnl
# The agent alone talks to the Kubernetes API.
PODWALLD_PKGS := libcurl jansson
# Deferred (=) so that pkg-config runs after the dependencies are installed.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(PODWALLD_PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
PODWALLD_LIBS = $(shell pkg-config --libs $(PODWALLD_PKGS))

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
	-Wstrict-prototypes -Wno-unused-parameter -Wvla
CSTD := -std=c11 -D_GNU_SOURCE
OPT ?= -O2 -g
BASE_CFLAGS = $(CSTD) $(OPT) $(WARN) -fvisibility=hidden -Iinclude \
	$(PKG_CFLAGS) -MMD -MP
ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
SAN_LDFLAGS := -fsanitize=$(SANITIZE)
endif
ifeq ($(FUZZ),1)
BASE_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined \
	-fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=fuzzer,address,undefined
endif
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_LDFLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
PODWALL_SRCS := $(sort $(wildcard cmd/podwall/*.c))
PODWALL_OBJS := $(PODWALL_SRCS:%.c=$(O)/%.o)
PODWALLD_SRCS := $(sort $(wildcard cmd/podwalld/*.c))
PODWALLD_OBJS := $(PODWALLD_SRCS:%.c=$(O)/%.o)
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/%.c=$(O)/tests/%)
TOOL_SRCS := tests/conformance.c
TOOL_BINS := $(TOOL_SRCS:tests/%.c=$(O)/tests/%)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(O)/bench/%)
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=build-fuzz/fuzz/%)

LIBA := $(O)/libpodwall.a
LIBSO := $(O)/libpodwall.so
PODWALL := $(O)/podwall
PODWALLD := $(if $(PODWALLD_SRCS),$(O)/podwalld)
DEPS_STAMP := .deps-installed
TEST_DEPS_STAMP := .test-deps-installed

.PHONY: all deps demo test check-unit bench fuzz format clean
all: $(PODWALL) $(PODWALLD) $(LIBSO) $(TEST_BINS) $(TOOL_BINS) $(BENCH_BINS)

# -- dependencies ---------------------------------------------------------
deps: $(DEPS_STAMP)
$(DEPS_STAMP): DEB := $(DEB_PKGS)
$(TEST_DEPS_STAMP): DEB := $(TEST_DEB_PKGS)
$(DEPS_STAMP) $(TEST_DEPS_STAMP): Makefile
	$(Q)missing=; for p in $(DEB); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "missing Debian packages:$$missing (run as root, or apt-get install them)" >&2; \
			exit 1; \
		fi; \
		echo "  APT    $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	$(Q)touch $@

# -- library --------------------------------------------------------------
$(O)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/lib/%.o: ALL_CFLAGS += -fPIC

$(LIBA): $(LIB_OBJS)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(LIBSO): $(LIB_OBJS)
	$(call say,LD,$@)$(CC) -shared $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# -- programs -------------------------------------------------------------
$(PODWALL): $(PODWALL_OBJS) $(LIBA)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $(PODWALL_OBJS) $(LIBA) $(LIBS)

$(O)/podwalld: $(PODWALLD_OBJS) $(LIBA)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $(PODWALLD_OBJS) $(LIBA) \
		$(LIBS) $(PODWALLD_LIBS)

$(TEST_BINS) $(TOOL_BINS): $(O)/tests/%: $(O)/tests/%.o $(LIBA)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

$(O)/tests/%.o: ALL_CFLAGS += -Ilib
$(O)/bench/%.o: ALL_CFLAGS += -Ilib

$(BENCH_BINS): $(O)/bench/%: $(O)/bench/%.o $(LIBA)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

# -- fuzzing (always its own clang build) -----------------------------------
fuzz: $(DEPS_STAMP)
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzz-bins

.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BINS): build-fuzz/fuzz/%: build-fuzz/fuzz/%.o $(LIBA)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBA) \
		$(LIBS) $(FUZZ_LIBS)

build-fuzz/fuzz/%.o: ALL_CFLAGS += -Ilib

# The agent's API parsers are fuzzed from their own sources.
build-fuzz/fuzz/fuzz_kube: build-fuzz/cmd/podwalld/kube_json.o \
	build-fuzz/cmd/podwalld/kube_config.o
build-fuzz/fuzz/fuzz_kube: FUZZ_LIBS = $(PODWALLD_LIBS)
build-fuzz/fuzz/fuzz_kube.o: ALL_CFLAGS += -Icmd/podwalld

# -- running --------------------------------------------------------------
demo: all
	$(Q)PODWALL=$(PODWALL) sh examples/demo.sh

# The whole suite runs on the sanitized build; the fuzzers run briefly.
test: all | $(TEST_DEPS_STAMP)
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined all
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)SHARED=$(SHARED) BUILD=build-san FUZZBUILD=build-fuzz \
		sh tests/run.sh

bench: all
	$(Q)BUILD=$(O) sh bench/run.sh
	$(Q)BUILD=$(O) sh bench/analysis.sh
	$(Q)BUILD=$(O) sh bench/datapath.sh
	$(Q)BUILD=$(O) sh bench/agent.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJS:.o=.d) $(PODWALL_OBJS:.o=.d) $(PODWALLD_OBJS:.o=.d) \
	$(TEST_BINS:=.d) \
	$(TOOL_BINS:=.d) $(BENCH_BINS:=.d)
