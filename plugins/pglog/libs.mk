# pglog reads jsonlog with json-c, and asks the server how it logs through libpq.
pglog_CFLAGS := $(shell $(PKG_CONFIG) --cflags json-c libpq)
pglog_LIBS := $(shell $(PKG_CONFIG) --libs json-c libpq)
pglog_EXTRA_SOURCES := plugins/common/pg_session.c
