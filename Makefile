# pgAnalytics collector - one plain GNU Makefile.
#
#   make                      build the daemon, the bundled plugins and the SDK example
#   make check                build and run the whole test suite
#   make check SANITIZE=1     the same under AddressSanitizer + UBSan (separate build dir)
#   make install DESTDIR=... PREFIX=...
#   make WERROR=1             treat compiler warnings as errors (CI does)

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PLUGINDIR  ?= $(LIBDIR)/pganalytics/plugins
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DATADIR    ?= $(PREFIX)/share

CC         ?= cc
PKG_CONFIG ?= pkg-config
PYTHON     ?= python3

BUILD := build$(if $(SANITIZE),-sanitize)

.SECONDEXPANSION:

DEPS_PKGS := libpq libcurl gnutls zlib json-c libconfuse
DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(DEPS_PKGS))
DEPS_LIBS   := $(shell $(PKG_CONFIG) --libs $(DEPS_PKGS))
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka)

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wvla
OPTFLAGS ?= -O2 -g
SANITIZER_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SANFLAGS := $(if $(SANITIZE),$(SANITIZER_FLAGS))
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNINGS) $(if $(WERROR),-Werror) \
               -fvisibility=hidden $(SANFLAGS) -Isdk/include
CORE_CFLAGS := $(BASE_CFLAGS) -Icore $(DEPS_CFLAGS) \
               -DPGA_VERSION='"$(VERSION)"' \
               -DPGA_DEFAULT_PLUGIN_DIR='"$(PLUGINDIR)"' \
               -DPGA_DEFAULT_CONFIG='"$(SYSCONFDIR)/pganalytics/collector.conf"'
PLUGIN_CFLAGS := $(BASE_CFLAGS) -fPIC
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

CORE_SRCS := $(filter-out core/main.c,$(wildcard core/*.c))
CORE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRCS))
MAIN_OBJ  := $(BUILD)/core/main.o
BIN       := $(BUILD)/pganalytics-collector
CORE_LIB  := $(BUILD)/libpgacore.a

# Bundled plugins: every plugins/NAME/*.c becomes $(BUILD)/plugins/NAME.so.
# A plugin may set NAME_CFLAGS, NAME_LIBS and NAME_EXTRA_SOURCES (files of
# plugins/common/, compiled into the plugin) in plugins/NAME/libs.mk.
PLUGIN_NAMES := $(filter-out common,$(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c)))))
PLUGIN_SOS   := $(patsubst %,$(BUILD)/plugins/%.so,$(sort $(PLUGIN_NAMES)))
-include $(wildcard plugins/*/libs.mk)

# Test plugins: every tests/plugins/NAME.c becomes $(BUILD)/tests/plugins/NAME.so.
# tests/plugins/abi_1_0/ is built against the frozen ABI 1.0 header.
TEST_PLUGIN_SRCS := $(wildcard tests/plugins/*.c)
TEST_PLUGIN_SOS  := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(TEST_PLUGIN_SRCS)) \
                    $(BUILD)/tests/plugins/frozen_abi_1_0.so
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

EXAMPLE_SO := $(BUILD)/plugins/hello.so

.PHONY: all check install uninstall clean bench test-programs
all: $(BIN) $(PLUGIN_SOS) $(EXAMPLE_SO)

$(BUILD)/core/%.o: core/%.c $(wildcard core/*.h) $(wildcard sdk/include/pganalytics/*.h)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(CORE_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEPS_LIBS) -ldl -lpthread -lm

$(BUILD)/plugins/%.so: $$(wildcard plugins/%/*.c) $$(wildcard plugins/%/*.h) $$($$*_EXTRA_SOURCES) \
                      $(wildcard plugins/common/*.h) $(wildcard sdk/include/pganalytics/*.h)
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) $($*_CFLAGS) -Iplugins/$* -Iplugins/common -shared -o $@ $(filter %.c,$^) $(LDFLAGS_ALL) $($*_LIBS)

# The SDK example is built here with the in-tree header; the test suite also
# builds it out of tree against an installed SDK with only pkg-config.
$(EXAMPLE_SO): sdk/examples/hello/hello.c sdk/include/pganalytics/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(LDFLAGS_ALL)

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c sdk/include/pganalytics/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(LDFLAGS_ALL) $(if $(findstring needs_missing_lib,$*),-L$(BUILD)/tests/plugins -lpga_vanished)

# Frozen ABI 1.0 plugin: compiled against tests/abi/1.0/, never against sdk/.
$(BUILD)/tests/plugins/frozen_abi_1_0.so: tests/abi/frozen_abi_1_0.c tests/abi/1.0/pganalytics/plugin.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -Isdk/include,$(PLUGIN_CFLAGS)) -Itests/abi/1.0 -shared -o $@ $< $(LDFLAGS_ALL)

$(BUILD)/tests/unit/%: tests/unit/%.c $(CORE_LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -Itests/unit -o $@ $< $(CORE_LIB) $(LDFLAGS_ALL) $(DEPS_LIBS) $(CMOCKA_LIBS) -ldl -lpthread -lm

test-programs: all $(TEST_PLUGIN_SOS) $(UNIT_BINS) $(BUILD)/tests/plugins/libpga_vanished.so

# A library that exists at link time and is deleted afterwards, so that one
# test plugin fails dlopen() the way a plugin with a missing dependency does.
$(BUILD)/tests/plugins/libpga_vanished.so:
	@mkdir -p $(@D)
	printf 'int pga_vanished(void);\nint pga_vanished(void) { return 1; }\n' > $(BUILD)/tests/plugins/vanished.c
	$(CC) -fPIC -shared -o $@ $(BUILD)/tests/plugins/vanished.c
$(BUILD)/tests/plugins/needs_missing_lib.so: $(BUILD)/tests/plugins/libpga_vanished.so

check: test-programs
	BUILD=$(BUILD) PYTHON=$(PYTHON) SANITIZE=$(SANITIZE) sh tests/run-tests.sh

$(BUILD)/bench/core_bench: bench/core_bench.c bench/table_record.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS_ALL) $(DEPS_LIBS) -ldl -lpthread -lm

$(BUILD)/bench/delivery_bench: bench/delivery_bench.c bench/table_record.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS_ALL) $(DEPS_LIBS) -ldl -lpthread -lm

$(BUILD)/bench/plugin_bench: bench/plugin_bench.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS_ALL) $(DEPS_LIBS) -ldl -lpthread -lm

# The delivery benchmark starts tests/receiver/receiver.py (python3, openssl).
bench: all $(BUILD)/bench/core_bench $(BUILD)/bench/delivery_bench $(BUILD)/bench/plugin_bench
	$(BUILD)/bench/core_bench
	PYTHON=$(PYTHON) sh bench/run-delivery-bench.sh $(BUILD)
	$(PYTHON) bench/rss_bench.py $(BUILD)
	$(PYTHON) bench/pgstats_bench.py --build $(BUILD)
	$(BUILD)/bench/plugin_bench $(BUILD)/plugins/sysstat.so 5001
	$(PYTHON) bench/disk_bench.py --build $(BUILD)
	$(PYTHON) bench/pglog_bench.py --build $(BUILD)

# Fuzzing (not part of check): each tests/fuzz/NAME.c is a libFuzzer target
# built with clang from the parser sources its NAME.mk lists in
# NAME_SOURCES, then run for FUZZ_SECONDS, starting from
# tests/fuzz/corpus/NAME when there is one (new inputs go to the build dir).
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
-include $(wildcard tests/fuzz/*.mk)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined -Isdk/include

build/fuzz/%: tests/fuzz/%.c $$($$*_SOURCES)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(addprefix -I,$(sort $(dir $($*_SOURCES)))) -o $@ $< $($*_SOURCES)

.PHONY: fuzz
fuzz: $(patsubst %,build/fuzz/%,$(FUZZ_NAMES))
	@for name in $(FUZZ_NAMES); do \
	  mkdir -p build/fuzz/corpus/$$name || exit 1; \
	  seeds=; [ -d tests/fuzz/corpus/$$name ] && seeds=tests/fuzz/corpus/$$name; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	  build/fuzz/$$name -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/$$name- build/fuzz/corpus/$$name $$seeds || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) \
	  $(DESTDIR)$(INCLUDEDIR)/pganalytics $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(SYSCONFDIR)/pganalytics/collector.d \
	  $(DESTDIR)$(DATADIR)/doc/pganalytics-collector/examples/hello
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/pganalytics-collector
	$(if $(PLUGIN_SOS),install -m 0644 $(PLUGIN_SOS) $(DESTDIR)$(PLUGINDIR)/)
	install -m 0644 sdk/include/pganalytics/plugin.h $(DESTDIR)$(INCLUDEDIR)/pganalytics/plugin.h
	install -m 0644 sdk/include/pganalytics/utf8.h $(DESTDIR)$(INCLUDEDIR)/pganalytics/utf8.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    sdk/pganalytics-plugin.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/pganalytics-plugin.pc
	install -m 0644 sdk/examples/hello/hello.c sdk/examples/hello/Makefile sdk/examples/hello/hello.conf \
	  $(DESTDIR)$(DATADIR)/doc/pganalytics-collector/examples/hello/
	test -e $(DESTDIR)$(SYSCONFDIR)/pganalytics/collector.conf || \
	  install -m 0644 etc/collector.conf $(DESTDIR)$(SYSCONFDIR)/pganalytics/collector.conf

clean:
	rm -rf build build-sanitize
