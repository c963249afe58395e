# pglog reads jsonlog with json-c.
pglog_CFLAGS := $(shell $(PKG_CONFIG) --cflags json-c)
pglog_LIBS := $(shell $(PKG_CONFIG) --libs json-c)
