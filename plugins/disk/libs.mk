# disk links libpq (to ask the server for its paths).
disk_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpq)
disk_LIBS := $(shell $(PKG_CONFIG) --libs libpq)
disk_EXTRA_SOURCES := plugins/common/pg_session.c
