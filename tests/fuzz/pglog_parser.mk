# The pglog plugin's line parser (stderr prefixes, csvlog, jsonlog), its
# event recogniser and literal masking; jsonlog needs json-c.
pglog_parser_SOURCES := plugins/pglog/entry.c plugins/pglog/prefix.c plugins/pglog/parser.c \
                        plugins/pglog/csvlog.c plugins/pglog/jsonlog.c plugins/pglog/events.c \
                        plugins/pglog/mask.c
build/fuzz/pglog_parser: FUZZ_CFLAGS += $(shell $(PKG_CONFIG) --cflags json-c) \
                                        -Wl,--no-as-needed $(shell $(PKG_CONFIG) --libs json-c)
