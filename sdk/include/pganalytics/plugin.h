/*
 * pganalytics/plugin.h - the pgAnalytics collector plugin ABI, version 1.
 *
 * This is the only header a collector plugin needs.  A plugin is a shared
 * object that exports exactly one function, pga_plugin_entry_v1(), which
 * returns a pointer to a constant, statically allocated struct pga_plugin.
 * Write it with PGA_PLUGIN_DEFINE(); never fill in the ABI fields by hand.
 *
 * Evolution rules (the host enforces them when it loads a plugin):
 *
 *   - The ABI major is part of the entry symbol's name.  Anything that is not
 *     a pure append (a removed, reordered or retyped field, a changed calling
 *     convention) is a new major with a new symbol, pga_plugin_entry_v2().
 *   - A minor version only appends fields at the end of struct pga_plugin,
 *     struct pga_option or struct pga_host.  A zero in an appended field
 *     means "behave as the previous minor did", so both directions work:
 *       * an old plugin on a new host: the host treats the fields the plugin
 *         does not have as zero;
 *       * a new plugin on an old host: the host accepts it as long as every
 *         field it does not know is zero, and refuses it otherwise.
 *   - Every struct starts with its own size, so each side knows how much of
 *     the other it may read.  The offsets below are pinned with
 *     _Static_assert; a change that moves one does not compile.
 *
 * Threading: init, collect and shutdown of one plugin instance run on one
 * thread of its own, one call at a time; different plugins run on different
 * threads (and may later run in separate processes).  After a
 * reconfiguration the new instance starts once the old one has returned from
 * shutdown; the exception is an instance abandoned because it hung past its
 * deadline, which may still be inside collect (it is never called again).
 * Keep all mutable data in the state that init returns; never in globals.
 *
 * C++: the header compiles as C++ too.  With C++20 designated initializers,
 * name the PGA_PLUGIN_DEFINE() fields in declaration order
 * (default_interval, name, version, description, options, init, collect,
 * shutdown).
 *
 * Data path: the emitter (the pga_host set_* and *_begin/_end functions) is
 * the only way to hand data to the host.  It never exposes a JSON, config,
 * HTTP or TLS library type, so a plugin links against none of them.
 */
#ifndef PGANALYTICS_PLUGIN_H
#define PGANALYTICS_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PGA_ABI_MAJOR 1
#define PGA_ABI_MINOR 0

#if defined(__GNUC__)
#define PGA_EXPORT __attribute__((visibility("default")))
#define PGA_PRINTF(fmt_index, first_arg) \
	__attribute__((format(printf, fmt_index, first_arg)))
#else
#define PGA_EXPORT
#define PGA_PRINTF(fmt_index, first_arg)
#endif

/* Return codes of every host function that can fail, and of init/collect. */
enum pga_status {
	PGA_OK = 0,
	PGA_ERROR = -1,    /* generic failure; the plugin logged why */
	PGA_EINVAL = -2,   /* emitter or config misuse; the record is dropped */
	PGA_EDEADLINE = -3,/* the current collect overran its deadline */
	PGA_ENOMEM = -4    /* out of memory */
};

enum pga_log_level {
	PGA_LOG_ERROR = 0,
	PGA_LOG_WARNING = 1,
	PGA_LOG_INFO = 2,
	PGA_LOG_DEBUG = 3
};

enum pga_option_type {
	PGA_OPT_STRING = 1,
	PGA_OPT_INT = 2,         /* 64-bit signed */
	PGA_OPT_DOUBLE = 3,
	PGA_OPT_BOOL = 4,
	PGA_OPT_STRING_LIST = 5  /* written as {"a", "b"} in the config */
};

/*
 * One configuration key a plugin accepts inside its `plugin NAME { }`
 * section.  The host builds the config schema from the table, rejects keys
 * that are not declared (naming file and line) and type-checks the values.
 * The keys enabled, interval, timeout, path, isolation and memory_limit_mb
 * belong to the host and must not be declared.
 *
 * name          [a-z][a-z0-9_]*
 * type          enum pga_option_type
 * default_value the default in config syntax ("5", "true", "0.5", "text",
 *               "{\"a\", \"b\"}"); NULL means "", 0, 0.0, false or an empty
 *               list.  A default that does not parse as its type makes the
 *               host refuse the plugin.
 * help          one line for --check-plugin and documentation.
 */
struct pga_option {
	const char *name;
	uint32_t type;
	const char *default_value;
	const char *help;
};

/* Opaque to plugins.  Owned by the host. */
struct pga_ctx;      /* one per loaded plugin instance, from init to shutdown */
struct pga_emitter;  /* one per collect call, valid only during that call */
struct pga_host;

/*
 * The descriptor.  Returned by pga_plugin_entry_v1(); must be constant and
 * live as long as the shared object (the host never unloads a plugin that
 * has run).
 *
 * name             [a-z0-9_]+, at most 63 characters, not "collector",
 *                  unique among loaded plugins; it is the title
 *                  of the plugin's config section and prefixes its log lines.
 * version          the plugin's own version, free text.
 * description      one line.
 * options          table of declared options, ended by an entry whose name
 *                  is NULL; may be NULL when there are none.
 * option_size      sizeof(struct pga_option) as the plugin was compiled.
 * default_interval seconds between collect calls when the config does not
 *                  say; 0 means the host default (60).  init and collect
 *                  must return within the section's timeout (default: the
 *                  interval).
 *
 * init(host, ctx, &state)  Optional.  Called once before the first collect
 *     and again after each reconfiguration (preceded by shutdown).  `host`
 *     and `ctx` stay valid until shutdown returns; keep them in the state.
 *     Store the plugin's private state in *state (NULL is allowed).
 *     Return PGA_OK, or any other value to refuse to start (log why first);
 *     a refused init is retried later with a capped backoff.
 * collect(state, emitter)  Required.  Called on the plugin's schedule.
 *     Emit zero or more records.  Return PGA_OK on success; PGA_EDEADLINE
 *     when stopping because the deadline passed (counted as an overrun);
 *     anything else counts as a failed cycle and the host backs off.  Records already
 *     ended are kept even when collect fails.  A collect that returns after
 *     its deadline loses all records of that cycle.
 * shutdown(state)  Optional.  Free what init allocated.  Called once per
 *     successful init, also at exit and before a reconfiguration.
 */
struct pga_plugin {
	uint32_t struct_size;
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t option_size;
	uint32_t default_interval;
	const char *name;
	const char *version;
	const char *description;
	const struct pga_option *options;
	int (*init)(const struct pga_host *host, struct pga_ctx *ctx, void **state);
	int (*collect)(void *state, struct pga_emitter *emitter);
	void (*shutdown)(void *state);
	/* ABI 1.1 and later: append new fields here, nowhere else. */
};

/*
 * Host services.  Allocated and filled by the host; passed to init.  A field
 * added by a later minor may be absent on an older host: test with
 * PGA_HOST_HAS(host, field) before calling it.
 *
 * Ownership: every const char * the host returns belongs to the host and
 * stays valid until the plugin's shutdown returns.  Every string the plugin
 * passes in is copied before the call returns.
 */
struct pga_host {
	uint32_t struct_size;
	uint16_t abi_major;
	uint16_t abi_minor;

	/*
	 * log - write one line to the collector's log, prefixed with the
	 * plugin's name.  level is enum pga_log_level; lines above the
	 * configured log_level are discarded.  No trailing newline needed.
	 */
	void (*log)(struct pga_ctx *ctx, int level, const char *fmt, ...)
		PGA_PRINTF(3, 4);
	/* vlog - log with a va_list, for wrapping another library's logger. */
	void (*vlog)(struct pga_ctx *ctx, int level, const char *fmt, va_list ap)
		PGA_PRINTF(3, 0);

	/*
	 * config_* - the value of a declared option: what the configuration
	 * says, else the declared default.  Asking for an undeclared option or
	 * with the wrong type logs an error and returns NULL, 0, 0.0 or 0.
	 * config_list_size/config_list_item read a PGA_OPT_STRING_LIST;
	 * an index out of range returns NULL.
	 */
	const char *(*config_string)(struct pga_ctx *ctx, const char *name);
	int64_t (*config_int)(struct pga_ctx *ctx, const char *name);
	double (*config_double)(struct pga_ctx *ctx, const char *name);
	int (*config_bool)(struct pga_ctx *ctx, const char *name);
	size_t (*config_list_size)(struct pga_ctx *ctx, const char *name);
	const char *(*config_list_item)(struct pga_ctx *ctx, const char *name,
					size_t index);

	/*
	 * The emitter.  A record is a JSON object of a given type:
	 *
	 *     record_begin(em, "pg_stats");
	 *     set_int64(em, "connections", 12);
	 *     object_begin(em, "wal");  set_uint64(em, "bytes", n);  object_end(em);
	 *     array_begin(em, "databases");
	 *       object_begin(em, NULL); set_string(em, "name", "x"); object_end(em);
	 *     array_end(em);
	 *     record_end(em);
	 *
	 * type is [a-z0-9_]+ other than "collector" (the host's own record).
	 * The host adds "type", "plugin" and "timestamp" to every record;
	 * those keys are reserved.  Inside an object every
	 * value needs a unique key; inside an array key must be NULL.
	 * Strings must be valid UTF-8; doubles must be finite.  Objects and
	 * arrays nest at most 32 levels below the record; a key or string is
	 * at most 1 MiB, a record at most 16 MiB.
	 *
	 * Each call returns PGA_OK, or:
	 *   PGA_EINVAL    misuse (no open record, unbalanced nesting, missing,
	 *                 duplicate or reserved key, invalid UTF-8, NaN or
	 *                 infinity).  The current record is poisoned: later
	 *                 calls are ignored until record_end, which drops it
	 *                 and returns PGA_EINVAL.  The host counts and logs it.
	 *   PGA_EDEADLINE the cycle has overrun its deadline; its records will
	 *                 be dropped, so stop and return.
	 *   PGA_ENOMEM    out of memory; the record is dropped.
	 * A record still open when collect returns is dropped.
	 */
	int (*record_begin)(struct pga_emitter *em, const char *type);
	int (*record_end)(struct pga_emitter *em);
	/*
	 * record_timestamp - set the open record's "timestamp" to when the
	 * event happened, in nanoseconds since 1970-01-01 UTC (a log line's
	 * own time, say).  Without it the timestamp is when record_begin was
	 * called.  A negative time is misuse.
	 */
	int (*record_timestamp)(struct pga_emitter *em, int64_t unix_ns);
	int (*object_begin)(struct pga_emitter *em, const char *key);
	int (*object_end)(struct pga_emitter *em);
	int (*array_begin)(struct pga_emitter *em, const char *key);
	int (*array_end)(struct pga_emitter *em);
	int (*set_int64)(struct pga_emitter *em, const char *key, int64_t value);
	int (*set_uint64)(struct pga_emitter *em, const char *key, uint64_t value);
	int (*set_double)(struct pga_emitter *em, const char *key, double value);
	int (*set_bool)(struct pga_emitter *em, const char *key, int value);
	int (*set_string)(struct pga_emitter *em, const char *key,
			  const char *value);
	/* set_stringn - like set_string for `len` bytes that need no NUL. */
	int (*set_stringn)(struct pga_emitter *em, const char *key,
			   const char *value, size_t len);
	int (*set_null)(struct pga_emitter *em, const char *key);

	/* monotonic_ns - CLOCK_MONOTONIC in nanoseconds. */
	uint64_t (*monotonic_ns)(struct pga_ctx *ctx);
	/*
	 * deadline_ns - the monotonic time (as monotonic_ns) at which the
	 * current init or collect overruns; 0 outside them.  Use it to bound
	 * network or database waits.
	 */
	uint64_t (*deadline_ns)(struct pga_ctx *ctx);
	/* deadline_exceeded - nonzero once the current init or collect has overrun. */
	int (*deadline_exceeded)(struct pga_ctx *ctx);
	/*
	 * state_dir - absolute path of a directory (mode 0700) private to this
	 * plugin that survives restarts: state_dir/plugins/NAME.
	 */
	const char *(*state_dir)(struct pga_ctx *ctx);

	/* ABI 1.1 and later: append new fields here, nowhere else. */
};

/* PGA_HOST_HAS - nonzero when the host provides `field` (and it is set). */
#define PGA_HOST_HAS(host, field)                                          \
	((host)->struct_size >= offsetof(struct pga_host, field) +         \
				    sizeof((host)->field) &&               \
	 (host)->field != NULL)

/* The entry function a plugin exports; the major is in its name. */
#define PGA_PLUGIN_ENTRY_SYMBOL "pga_plugin_entry_v1"
typedef const struct pga_plugin *(*pga_plugin_entry_fn)(void);

/*
 * PGA_PLUGIN_DEFINE - define the entry function and the descriptor.  Pass
 * designated initializers for the plugin's own fields:
 *
 *     PGA_PLUGIN_DEFINE(.name = "hello", .version = "1.0",
 *                       .description = "says hello",
 *                       .options = hello_options,
 *                       .init = hello_init, .collect = hello_collect,
 *                       .shutdown = hello_shutdown)
 *
 * struct_size, abi_major, abi_minor and option_size are filled in from this
 * header; do not set them.
 */
#ifdef __cplusplus
#define PGA_EXTERN_C_ extern "C"
#else
#define PGA_EXTERN_C_
#endif
#define PGA_PLUGIN_DEFINE(...)                                             \
	PGA_EXTERN_C_ PGA_EXPORT const struct pga_plugin *pga_plugin_entry_v1(void); \
	PGA_EXTERN_C_ const struct pga_plugin *pga_plugin_entry_v1(void)   \
	{                                                                  \
		static const struct pga_plugin pga_descriptor_ = {         \
			.struct_size = sizeof(struct pga_plugin),          \
			.abi_major = PGA_ABI_MAJOR,                        \
			.abi_minor = PGA_ABI_MINOR,                        \
			.option_size = sizeof(struct pga_option),          \
			__VA_ARGS__};                                      \
		return &pga_descriptor_;                                   \
	}

/*
 * Pinned layout of ABI 1.0.  These hold on every platform the collector
 * supports (ILP32 and LP64).  If one fails, the change broke the ABI.
 */
#ifdef __cplusplus
#define PGA_STATIC_ASSERT_(cond, msg) static_assert(cond, msg)
#else
#define PGA_STATIC_ASSERT_(cond, msg) _Static_assert(cond, msg)
#endif
#define PGA_PTR_ (sizeof(void *))
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, struct_size) == 0, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, abi_major) == 4, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, abi_minor) == 6, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, option_size) == 8, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, default_interval) == 12, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, name) == 16, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, options) == 16 + 3 * PGA_PTR_,
	       "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, init) == 16 + 4 * PGA_PTR_,
	       "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_plugin, shutdown) == 16 + 6 * PGA_PTR_,
	       "ABI 1.0");
PGA_STATIC_ASSERT_(sizeof(struct pga_plugin) == 16 + 7 * PGA_PTR_, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_option, type) == PGA_PTR_, "ABI 1.0");
PGA_STATIC_ASSERT_(sizeof(struct pga_option) == 4 * PGA_PTR_, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_host, log) == 8, "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_host, config_string) == 8 + 2 * PGA_PTR_,
	       "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_host, record_begin) == 8 + 8 * PGA_PTR_,
	       "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_host, set_int64) == 8 + 15 * PGA_PTR_,
	       "ABI 1.0");
PGA_STATIC_ASSERT_(offsetof(struct pga_host, monotonic_ns) == 8 + 22 * PGA_PTR_,
	       "ABI 1.0");
PGA_STATIC_ASSERT_(sizeof(struct pga_host) == 8 + 26 * PGA_PTR_, "ABI 1.0");
#undef PGA_PTR_
#undef PGA_STATIC_ASSERT_

#ifdef __cplusplus
}
#endif

#endif /* PGANALYTICS_PLUGIN_H */
