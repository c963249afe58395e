#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "durable.h"
#include "emitter.h"
#include "log.h"

static void host_vlog(struct pga_ctx *ctx, int level, const char *fmt, va_list ap)
{
	if (level < PGA_LOG_ERROR)
		level = PGA_LOG_ERROR;
	if (level > PGA_LOG_DEBUG)
		level = PGA_LOG_DEBUG;
	log_vmsg_prefixed((enum log_level)level, ctx->name, fmt, ap);
}

static void host_log(struct pga_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

/* The bound value of a declared option of the expected type, or NULL. */
static const struct option_value *declared(struct pga_ctx *ctx, const char *name,
					   uint32_t type, const char *getter)
{
	const struct option_value *v = plugin_option_find(ctx->section, name);

	if (!v) {
		log_msg(LOG_LVL_ERROR, "plugin %s: %s(\"%s\"): no such option in the plugin's option table",
			ctx->name, getter, name ? name : "(null)");
		return NULL;
	}
	if (v->type != type) {
		log_msg(LOG_LVL_ERROR, "plugin %s: %s(\"%s\"): the option is declared as %s",
			ctx->name, getter, name, config_option_type_name(v->type));
		return NULL;
	}
	return v;
}

static const char *host_config_string(struct pga_ctx *ctx, const char *name)
{
	const struct option_value *v = declared(ctx, name, PGA_OPT_STRING, "config_string");

	return v ? v->string : NULL;
}

static int64_t host_config_int(struct pga_ctx *ctx, const char *name)
{
	const struct option_value *v = declared(ctx, name, PGA_OPT_INT, "config_int");

	return v ? v->integer : 0;
}

static double host_config_double(struct pga_ctx *ctx, const char *name)
{
	const struct option_value *v = declared(ctx, name, PGA_OPT_DOUBLE, "config_double");

	return v ? v->number : 0.0;
}

static int host_config_bool(struct pga_ctx *ctx, const char *name)
{
	const struct option_value *v = declared(ctx, name, PGA_OPT_BOOL, "config_bool");

	return v ? v->boolean : 0;
}

static size_t host_config_list_size(struct pga_ctx *ctx, const char *name)
{
	const struct option_value *v = declared(ctx, name, PGA_OPT_STRING_LIST, "config_list_size");

	return v ? v->list_len : 0;
}

static const char *host_config_list_item(struct pga_ctx *ctx, const char *name, size_t index)
{
	const struct option_value *v = declared(ctx, name, PGA_OPT_STRING_LIST, "config_list_item");

	return v && index < v->list_len ? v->list[index] : NULL;
}

static uint64_t host_monotonic_ns(struct pga_ctx *ctx)
{
	(void)ctx;
	return clock_monotonic_ns();
}

static uint64_t host_deadline_ns(struct pga_ctx *ctx)
{
	return ctx->deadline_ns;
}

static int host_deadline_exceeded(struct pga_ctx *ctx)
{
	return ctx->deadline_ns && clock_monotonic_ns() > ctx->deadline_ns;
}

static const char *host_state_dir(struct pga_ctx *ctx)
{
	return ctx->state_dir;
}

/* In read-only memory: no plugin can change what another one calls. */
static const struct pga_host vtable = {
	.struct_size = sizeof(struct pga_host),
	.abi_major = PGA_ABI_MAJOR,
	.abi_minor = PGA_ABI_MINOR,
	.log = host_log,
	.vlog = host_vlog,
	.config_string = host_config_string,
	.config_int = host_config_int,
	.config_double = host_config_double,
	.config_bool = host_config_bool,
	.config_list_size = host_config_list_size,
	.config_list_item = host_config_list_item,
	.record_begin = emitter_record_begin,
	.record_end = emitter_record_end,
	.record_timestamp = emitter_record_timestamp,
	.object_begin = emitter_object_begin,
	.object_end = emitter_object_end,
	.array_begin = emitter_array_begin,
	.array_end = emitter_array_end,
	.set_int64 = emitter_set_int64,
	.set_uint64 = emitter_set_uint64,
	.set_double = emitter_set_double,
	.set_bool = emitter_set_bool,
	.set_string = emitter_set_string,
	.set_stringn = emitter_set_stringn,
	.set_null = emitter_set_null,
	.monotonic_ns = host_monotonic_ns,
	.deadline_ns = host_deadline_ns,
	.deadline_exceeded = host_deadline_exceeded,
	.state_dir = host_state_dir,
};

const struct pga_host *host_vtable(void)
{
	return &vtable;
}

char *host_make_state_dir(const char *base, const char *name)
{
	char *path, *absolute = NULL;

	if (asprintf(&path, "%s/plugins/%s", base, name) < 0)
		return NULL;
	/* The ABI promises an absolute path, whatever the config says. */
	if (durable_make_private_dir(path) < 0 || !(absolute = realpath(path, NULL)))
		log_msg(LOG_LVL_ERROR, "plugin %s: cannot create its state directory %s: %s",
			name, path, strerror(errno));
	free(path);
	return absolute;
}
