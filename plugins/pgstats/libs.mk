# pgstats links libpq.
pgstats_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpq)
pgstats_LIBS := $(shell $(PKG_CONFIG) --libs libpq)
