# pgAnalytics collector - one plain GNU Makefile.
#
#   make                      build the daemon, the bundled plugins and the SDK example
#   make check                build and run the whole test suite
#   make check SANITIZE=1     the same under AddressSanitizer + UBSan (separate build dir)
#   make install DESTDIR=... PREFIX=...
#   make demo                 a 30-second tour: PostgreSQL, a test backend, the collector
#   make deb                  Debian packages in $(BUILD)/packages (packaging/deb)
#   make rpm                  rpm packages, the same split (packaging/rpm)
#   make WERROR=1             treat compiler warnings as errors (CI does)

VERSION    := 0.1.0
# The plugin ABI's major version, from the header alone: packages provide
# pganalytics-plugin-abi-N and the pkg-config file says abi_major=N.
PLUGIN_ABI_MAJOR := $(shell sed -n 's/^\#define PGA_ABI_MAJOR[[:space:]]*\([0-9][0-9]*\).*/\1/p' sdk/include/pganalytics/plugin.h)
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PLUGINDIR  ?= $(LIBDIR)/pganalytics/plugins
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)

CC         ?= cc
PKG_CONFIG ?= pkg-config
PYTHON     ?= python3

BUILD := build$(if $(SANITIZE),-sanitize)
comma := ,
empty :=
space := $(empty) $(empty)
# The plugins built with the collector run on threads by default (docs/ISOLATION.md).
BUNDLED_NAMES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c)))))

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
               -DPGA_BUNDLED_PLUGINS='"$(subst $(space),$(comma),$(BUNDLED_NAMES))"' \
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

$(BUILD)/bench/isolation_bench: bench/isolation_bench.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS_ALL) $(DEPS_LIBS) -ldl -lpthread -lm

$(BUILD)/bench/wide.so: bench/wide_plugin.c sdk/include/pganalytics/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(LDFLAGS_ALL)

# The delivery benchmark starts tests/receiver/receiver.py (python3, openssl).
bench: all $(BUILD)/bench/core_bench $(BUILD)/bench/delivery_bench $(BUILD)/bench/plugin_bench \
       $(BUILD)/bench/isolation_bench $(BUILD)/bench/wide.so
	$(BUILD)/bench/core_bench
	PYTHON=$(PYTHON) sh bench/run-delivery-bench.sh $(BUILD)
	$(PYTHON) bench/rss_bench.py $(BUILD)
	$(PYTHON) bench/pgstats_bench.py --build $(BUILD)
	$(BUILD)/bench/plugin_bench $(BUILD)/plugins/sysstat.so 5001
	$(PYTHON) bench/disk_bench.py --build $(BUILD)
	$(PYTHON) bench/pglog_bench.py --build $(BUILD)
	$(BUILD)/bench/isolation_bench $(BUILD)/bench/wide.so

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
	  $(DESTDIR)$(INCLUDEDIR)/pganalytics $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/pganalytics/collector.d \
	  $(DESTDIR)$(DATADIR)/doc/pganalytics-collector/examples/hello
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/pganalytics-collector
	$(if $(PLUGIN_SOS),install -m 0644 $(PLUGIN_SOS) $(DESTDIR)$(PLUGINDIR)/)
	install -m 0644 sdk/include/pganalytics/plugin.h $(DESTDIR)$(INCLUDEDIR)/pganalytics/plugin.h
	install -m 0644 sdk/include/pganalytics/utf8.h $(DESTDIR)$(INCLUDEDIR)/pganalytics/utf8.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@ABI_MAJOR@|$(PLUGIN_ABI_MAJOR)|g' sdk/pganalytics-plugin.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/pganalytics-plugin.pc
	install -m 0644 sdk/examples/hello/hello.c sdk/examples/hello/Makefile sdk/examples/hello/hello.conf \
	  $(DESTDIR)$(DATADIR)/doc/pganalytics-collector/examples/hello/
	test -e $(DESTDIR)$(SYSCONFDIR)/pganalytics/collector.conf || \
	  install -m 0644 etc/collector.conf $(DESTDIR)$(SYSCONFDIR)/pganalytics/collector.conf
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    packaging/systemd/pganalytics-collector.service.in > $(DESTDIR)$(UNITDIR)/pganalytics-collector.service
	@# Each bundled plugin's drop-in (enabling it), unless one is there already.
	@set -e; for name in $(sort $(PLUGIN_NAMES)); do \
	  dest=$(DESTDIR)$(SYSCONFDIR)/pganalytics/collector.d/$$name.conf; \
	  if [ -f plugins/$$name/$$name.conf ] && [ ! -e $$dest ]; then \
	    echo "install -m 0644 plugins/$$name/$$name.conf $$dest"; \
	    install -m 0644 plugins/$$name/$$name.conf $$dest; fi; \
	done
	@set -e; for page in $(MAN_PAGES); do \
	  dir=$(DESTDIR)$(MANDIR)/man$${page##*.}; \
	  echo "install -m 0644 $$page $$dir/"; install -d $$dir; install -m 0644 $$page $$dir/; \
	done

# Packages (packaging/): `make deb`, `make rpm`, written to $(PKGDIR).
# Both build the tree again in $(PKG_BUILD) with PREFIX=/usr, since the
# default configuration and plugin paths are compiled into the program.
# The plugins' virtual package, pganalytics-plugin-abi-N, takes N from the
# ABI header alone.  rpmbuild runs with --nodeps: on Debian, rpm's database
# knows none of the BuildRequires.
MAN_PAGES   := $(wildcard man/*.[358])
PKGDIR      ?= $(BUILD)/packages
PKG_BUILD   := $(BUILD)/pkg-build
PKG_WORK    := $(BUILD)/pkg-work
# File dates in the packages: the last commit's, or now outside a git checkout
# (a source tarball), never 1970, which lintian rejects.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
# Distribution hardening (as dpkg-buildflags and rpm's %optflags add it);
# FORTIFY only without sanitizers, which intercept the same functions.
PKG_OPTFLAGS := $(OPTFLAGS) -fstack-protector-strong $(if $(SANITIZE),,-D_FORTIFY_SOURCE=2)
PKG_LDFLAGS  := $(LDFLAGS) -Wl,-z,relro -Wl,-z,now
PKG_MAKE = $(MAKE) --no-print-directory BUILD=$(PKG_BUILD) PREFIX=/usr SYSCONFDIR=/etc \
           PKGCONFIGDIR=/usr/share/pkgconfig OPTFLAGS='$(PKG_OPTFLAGS)' LDFLAGS='$(PKG_LDFLAGS)'

.PHONY: deb rpm pkg-build
# One build for both, so that `make -j2 deb rpm` does not compile it twice at once.
pkg-build:
	+$(PKG_MAKE) all

deb: pkg-build
	rm -rf $(PKG_WORK)/deb
	+$(PKG_MAKE) UNITDIR=/lib/systemd/system DESTDIR=$(abspath $(PKG_WORK)/deb/staging) install
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) sh packaging/deb/build-debs $(PKG_WORK)/deb/staging \
	  $(PKG_WORK)/deb $(PKGDIR) $(VERSION) $(PLUGIN_ABI_MAJOR) $(sort $(PLUGIN_NAMES))

rpm: pkg-build
	rm -rf $(PKG_WORK)/rpm
	mkdir -p $(PKG_WORK)/rpm $(PKGDIR)
	sh packaging/plugin-descriptions $(PKG_BUILD)/pganalytics-collector $(abspath $(PKG_BUILD)/plugins) \
	  $(sort $(PLUGIN_NAMES)) > $(PKG_WORK)/rpm/plugins.tsv
	sh packaging/rpm/make-spec $(VERSION) $(PLUGIN_ABI_MAJOR) $(PKG_WORK)/rpm/plugins.tsv $(MAN_PAGES) \
	  > $(PKG_WORK)/rpm/pganalytics-collector.spec
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) MAKEFLAGS= rpmbuild -bb --nodeps --quiet \
	  --define '_topdir $(abspath $(PKG_WORK)/rpm)' --define '_rpmdir $(abspath $(PKGDIR))' \
	  --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
	  --define 'srcdir $(CURDIR)' --define 'pkgbuild $(PKG_BUILD)' \
	  --define 'pkg_optflags $(PKG_OPTFLAGS)' --define 'pkg_ldflags $(PKG_LDFLAGS)' \
	  $(PKG_WORK)/rpm/pganalytics-collector.spec

.PHONY: demo
# The one-command tour: a throwaway PostgreSQL, the test receiver and the
# collector for a few push intervals, then what the receiver got.
demo: all
	$(PYTHON) tools/demo.py --build $(BUILD)

clean:
	rm -rf build build-sanitize
