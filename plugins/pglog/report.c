/*
 * report.c - one cycle's counts, events and error samples (see report.h).
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "counter_map.h"
#include "events.h"
#include "mask.h"
#include "report.h"

/* One event as it will be emitted; the strings are copies, NUL-terminated. */
struct stored_event {
	int kind;
	struct pglog_event_numbers n;
	char *time, *pid, *database, *user, *application, *severity, *sqlstate;
	char *text;             /* masked statement, table, lock, path */
	char *parameters;       /* bind parameters, only when enabled */
};

struct report {
	struct report_options opts;
	uint64_t entries, filtered;
	uint64_t severity[PGLOG_SEV_COUNT];
	struct counter_map other_severities, sqlstates, classes, databases, users, applications;
	struct counter_map errors;      /* key: severity \x1f sqlstate \x1f masked message */
	uint64_t event_counts[EVENT_KIND_COUNT];
	struct stored_event *events;
	size_t n_events;
	uint64_t events_dropped;
	const struct log_zone *zone;    /* of log_timezone, for `time`; NULL: UTC and numeric zones only */
	char *mask_buf;
	/* The database filter's last answer: names repeat from entry to entry. */
	bool every_database;            /* databases = {"*"}, nothing excluded: no need to ask */
	char last_database[256];
	size_t last_database_len;       /* 0: no answer kept yet */
	bool last_database_wanted;
};

void report_set_zone(struct report *r, const struct log_zone *zone)
{
	r->zone = zone;
}

struct report *report_new(const struct report_options *opts)
{
	struct report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->opts = *opts;
	r->events = calloc(opts->max_events ? opts->max_events : 1, sizeof(*r->events));
	r->mask_buf = malloc(opts->max_text + 1);
	if (r->events == NULL || r->mask_buf == NULL) {
		report_free(r);
		return NULL;
	}
	counter_map_init(&r->other_severities, opts->max_keys);
	counter_map_init(&r->sqlstates, opts->max_keys);
	counter_map_init(&r->classes, opts->max_keys);
	counter_map_init(&r->databases, opts->max_keys);
	counter_map_init(&r->users, opts->max_keys);
	counter_map_init(&r->applications, opts->max_keys);
	counter_map_init(&r->errors, opts->max_errors);
	r->every_database = opts->databases && opts->databases[0] &&
			    strcmp(opts->databases[0], "*") == 0 && opts->databases[1] == NULL &&
			    (opts->exclude_databases == NULL || opts->exclude_databases[0] == NULL);
	return r;
}

static void free_event(struct stored_event *ev)
{
	free(ev->time);
	free(ev->pid);
	free(ev->database);
	free(ev->user);
	free(ev->application);
	free(ev->severity);
	free(ev->sqlstate);
	free(ev->text);
	free(ev->parameters);
	memset(ev, 0, sizeof(*ev));
}

static void clear(struct report *r)
{
	for (size_t i = 0; i < r->n_events; i++)
		free_event(&r->events[i]);
	r->n_events = 0;
	r->events_dropped = 0;
	r->entries = r->filtered = 0;
	memset(r->severity, 0, sizeof(r->severity));
	memset(r->event_counts, 0, sizeof(r->event_counts));
	counter_map_clear(&r->other_severities);
	counter_map_clear(&r->sqlstates);
	counter_map_clear(&r->classes);
	counter_map_clear(&r->databases);
	counter_map_clear(&r->users);
	counter_map_clear(&r->applications);
	counter_map_clear(&r->errors);
}

void report_free(struct report *r)
{
	if (r == NULL)
		return;
	if (r->events)
		clear(r);
	counter_map_free(&r->other_severities);
	counter_map_free(&r->sqlstates);
	counter_map_free(&r->classes);
	counter_map_free(&r->databases);
	counter_map_free(&r->users);
	counter_map_free(&r->applications);
	counter_map_free(&r->errors);
	free(r->events);
	free(r->mask_buf);
	free(r);
}

static bool matches_any(const char *const *patterns, const char *name)
{
	for (; patterns && *patterns; patterns++)
		if (fnmatch(*patterns, name, 0) == 0)
			return true;
	return false;
}

/*
 * Background processes have no database: they are always reported.  A
 * name is matched against the patterns once, not for each of its entries
 * (fnmatch's answer depends on nothing else).
 */
static bool database_wanted(struct report *r, const struct pglog_entry *e)
{
	size_t len;
	const char *db = entry_part(e, PGLOG_DATABASE, &len);
	char *name = r->last_database;

	if (db == NULL || len == 0 || r->every_database)
		return true;
	if (len >= sizeof(r->last_database))
		len = sizeof(r->last_database) - 1;
	if (len == r->last_database_len && memcmp(name, db, len) == 0)
		return r->last_database_wanted;
	memcpy(name, db, len);
	name[len] = '\0';
	r->last_database_len = len;
	r->last_database_wanted = matches_any(r->opts.databases, name) &&
				  !matches_any(r->opts.exclude_databases, name);
	return r->last_database_wanted;
}

static bool wanted(struct report *r, const struct pglog_entry *e)
{
	if (e->severity != PGLOG_SEV_UNKNOWN && e->severity < r->opts.min_severity)
		return false;
	return database_wanted(r, e);
}

static void count_part(struct counter_map *m, const struct pglog_entry *e, int part)
{
	size_t len;
	const char *text = entry_part(e, part, &len);

	if (text && len)
		counter_map_add(m, text, len, 1);
}

static bool valid_sqlstate(const char *code, size_t len)
{
	if (code == NULL || len != 5)
		return false;
	for (size_t i = 0; i < 5; i++)
		if (!((code[i] >= '0' && code[i] <= '9') || (code[i] >= 'A' && code[i] <= 'Z')))
			return false;
	return true;
}

static void count_entry(struct report *r, const struct pglog_entry *e)
{
	size_t len;
	const char *code = entry_part(e, PGLOG_SQLSTATE, &len);

	if (e->severity != PGLOG_SEV_UNKNOWN)
		r->severity[e->severity]++;
	else
		count_part(&r->other_severities, e, PGLOG_SEVERITY);
	/* 00000 (successful completion) is what %e prints for every non-error. */
	if (len == 5 && memcmp(code, "00000", 5) != 0 && valid_sqlstate(code, len)) {
		counter_map_add(&r->sqlstates, code, 5, 1);
		counter_map_add(&r->classes, code, 2, 1);
	}
	count_part(&r->databases, e, PGLOG_DATABASE);
	count_part(&r->users, e, PGLOG_USER);
	count_part(&r->applications, e, PGLOG_APPLICATION);
}

static char *copy_part(const struct pglog_entry *e, int part)
{
	size_t len;
	const char *text = entry_part(e, part, &len);

	return text ? strndup(text, len) : NULL;
}

static char *masked_copy(struct report *r, const char *text, size_t len)
{
	if (len > r->opts.max_text)
		len = r->opts.max_text;
	return strndup(r->mask_buf, mask_literals(text, len, r->mask_buf));
}

static void keep_event(struct report *r, const struct pglog_entry *e, int kind,
		       const struct pglog_event_numbers *n)
{
	struct stored_event *ev;
	size_t len;

	if (r->n_events >= r->opts.max_events) {
		r->events_dropped++;
		return;
	}
	ev = &r->events[r->n_events++];
	ev->kind = kind;
	ev->n = *n;
	ev->n.text = NULL;
	ev->time = copy_part(e, PGLOG_TIME);
	ev->pid = copy_part(e, PGLOG_PID);
	ev->database = copy_part(e, PGLOG_DATABASE);
	ev->user = copy_part(e, PGLOG_USER);
	ev->application = copy_part(e, PGLOG_APPLICATION);
	ev->severity = copy_part(e, PGLOG_SEVERITY);
	ev->sqlstate = copy_part(e, PGLOG_SQLSTATE);
	if (n->text && n->text_name && strcmp(n->text_name, "statement") == 0)
		ev->text = masked_copy(r, n->text, n->text_len);
	else if (n->text)
		ev->text = strndup(n->text, n->text_len < r->opts.max_text ? n->text_len : r->opts.max_text);
	else if (kind == EVENT_SLOW_STATEMENT && entry_part(e, PGLOG_STATEMENT, &len))
		ev->text = masked_copy(r, entry_part(e, PGLOG_STATEMENT, &len), len);
	if (kind == EVENT_SLOW_STATEMENT && ev->text)
		ev->n.text_name = "statement";
	const char *detail = entry_part(e, PGLOG_DETAIL, &len);
	if (r->opts.bind_parameters && kind == EVENT_SLOW_STATEMENT && detail &&
	    len > 12 && memcmp(detail, "parameters: ", 12) == 0)
		ev->parameters = strndup(detail + 12, len - 12 < r->opts.max_text ? len - 12 : r->opts.max_text);
}

static bool is_error(int severity)
{
	return severity == PGLOG_SEV_ERROR || severity == PGLOG_SEV_FATAL ||
	       severity == PGLOG_SEV_PANIC;
}

/* The message's first line, masked, grouped with its severity and SQLSTATE. */
static void sample_error(struct report *r, const struct pglog_entry *e)
{
	size_t len, code_len;
	const char *msg = entry_part(e, PGLOG_MESSAGE, &len);
	const char *code = entry_part(e, PGLOG_SQLSTATE, &code_len);
	const char *line_end = msg ? memchr(msg, '\n', len) : NULL;
	char key[1100];

	if (msg == NULL)
		return;
	if (line_end)
		len = (size_t)(line_end - msg);
	if (len > 1024)
		len = 1024;
	if (len > r->opts.max_text)
		len = r->opts.max_text;
	size_t masked = mask_literals(msg, len, r->mask_buf);
	const char *severity = severity_name(e->severity);
	size_t n = strlen(severity);

	memcpy(key, severity, n);
	key[n++] = '\x1f';
	if (valid_sqlstate(code, code_len)) {
		memcpy(key + n, code, 5);
		n += 5;
	}
	key[n++] = '\x1f';
	size_t room = sizeof(key) - n;
	if (masked > room)
		masked = room;
	memcpy(key + n, r->mask_buf, masked);
	counter_map_add(&r->errors, key, n + masked, 1);
}

void report_entry(struct report *r, const struct pglog_entry *e)
{
	struct pglog_event_numbers n;
	int kind;

	if (!wanted(r, e)) {
		r->filtered++;
		return;
	}
	r->entries++;
	count_entry(r, e);
	kind = event_classify(e, &n);
	if (kind == EVENT_SLOW_STATEMENT && n.duration_ms < r->opts.slow_statement_ms)
		return;
	if (kind != EVENT_NONE) {
		r->event_counts[kind]++;
		keep_event(r, e, kind, &n);
	}
	if (is_error(e->severity))
		sample_error(r, e);
}

/* ---- emission ---- */

/*
 * Each bounded map says, beside it, how many entries it had no room for
 * (keys past max_keys), as events_dropped and errors_dropped do: always
 * present, 0 when nothing overflowed.
 */
static void emit_map_object(const struct pga_host *h, struct pga_emitter *em, const char *key,
			    const char *dropped_key, const struct counter_map *m)
{
	h->object_begin(em, key);
	for (size_t i = 0; i < m->used; i++)
		h->set_uint64(em, m->slots[i].key, m->slots[i].count);
	h->object_end(em);
	h->set_uint64(em, dropped_key, m->other);
}

/* Names from the log may repeat once repaired: an array of {name, count}, not an object. */
static void emit_map_rows(const struct pga_host *h, struct pga_emitter *em, const char *key,
			  const char *dropped_key, const struct counter_map *m)
{
	h->array_begin(em, key);
	for (size_t i = 0; i < m->used; i++) {
		h->object_begin(em, NULL);
		emit_text(h, em, "name", m->slots[i].key, m->slots[i].key_len);
		h->set_uint64(em, "count", m->slots[i].count);
		h->object_end(em);
	}
	h->array_end(em);
	h->set_uint64(em, dropped_key, m->other);
}

static void emit_severities(struct report *r, const struct pga_host *h, struct pga_emitter *em)
{
	h->object_begin(em, "severity");
	for (int s = PGLOG_SEV_DEBUG5; s <= PGLOG_SEV_PANIC; s++)
		if (r->severity[s])
			h->set_uint64(em, severity_name(s), r->severity[s]);
	h->object_end(em);
	emit_map_rows(h, em, "other_severities", "other_severities_dropped", &r->other_severities);
}

static void emit_optional_text(const struct pga_host *h, struct pga_emitter *em, const char *key,
			       const char *text)
{
	if (text)
		emit_text(h, em, key, text, strlen(text));
}

static void emit_event_numbers(const struct pga_host *h, struct pga_emitter *em,
			       const struct stored_event *ev)
{
	const struct pglog_event_numbers *n = &ev->n;

	if (n->has_duration)
		h->set_double(em, ev->kind == EVENT_LOCK_WAIT ? "waited_ms" : "duration_ms", n->duration_ms);
	if (n->has_checkpoint) {
		h->set_int64(em, "buffers_written", n->buffers);
		h->set_double(em, "buffers_pct", n->buffers_pct);
		h->set_double(em, "write_s", n->write_s);
		h->set_double(em, "sync_s", n->sync_s);
		h->set_double(em, "total_s", n->total_s);
		h->set_int64(em, "distance_kb", n->distance_kb);
		h->set_int64(em, "estimate_kb", n->estimate_kb);
	}
	if (n->has_elapsed)
		h->set_double(em, "elapsed_s", n->elapsed_s);
	if (n->has_tuples)
		h->set_int64(em, "tuples_removed", n->tuples_removed);
	if (n->has_size)
		h->set_int64(em, "size_bytes", n->size_bytes);
	if (n->has_exit_code)
		h->set_int64(em, "exit_code", n->exit_code);
}

/* log_time as written, and as Unix seconds when its zone is known. */
static void emit_event_time(const struct pga_host *h, struct pga_emitter *em, const struct log_zone *zone,
			    const char *text)
{
	double seconds;

	if (text == NULL)
		return;
	emit_text(h, em, "log_time", text, strlen(text));
	if (log_time_to_unix(zone, text, strlen(text), &seconds))
		h->set_double(em, "time", seconds);
}

static void emit_event(const struct pga_host *h, struct pga_emitter *em, const struct log_zone *zone,
		       const struct stored_event *ev)
{
	h->object_begin(em, NULL);
	h->set_string(em, "kind", event_kind_name(ev->kind));
	emit_event_time(h, em, zone, ev->time);
	emit_optional_text(h, em, "severity", ev->severity);
	emit_optional_text(h, em, "sqlstate", ev->sqlstate);
	emit_optional_text(h, em, "pid", ev->pid);
	emit_optional_text(h, em, "database", ev->database);
	emit_optional_text(h, em, "user", ev->user);
	emit_optional_text(h, em, "application", ev->application);
	if (ev->text)
		emit_text(h, em, ev->n.text_name ? ev->n.text_name : "text", ev->text, strlen(ev->text));
	emit_optional_text(h, em, "parameters", ev->parameters);
	emit_event_numbers(h, em, ev);
	h->object_end(em);
}

static void emit_events(struct report *r, const struct pga_host *h, struct pga_emitter *em)
{
	h->object_begin(em, "event_counts");
	for (int k = 1; k < EVENT_KIND_COUNT; k++)
		if (r->event_counts[k])
			h->set_uint64(em, event_kind_name(k), r->event_counts[k]);
	h->object_end(em);
	h->array_begin(em, "events");
	for (size_t i = 0; i < r->n_events; i++)
		emit_event(h, em, r->zone, &r->events[i]);
	h->array_end(em);
	h->set_uint64(em, "events_dropped", r->events_dropped);
}

static void emit_errors(struct report *r, const struct pga_host *h, struct pga_emitter *em)
{
	h->array_begin(em, "errors");
	for (size_t i = 0; i < r->errors.used; i++) {
		const struct counter_slot *s = &r->errors.slots[i];
		const char *sep1 = memchr(s->key, '\x1f', s->key_len);
		const char *sep2 = sep1 ? memchr(sep1 + 1, '\x1f', s->key_len - (size_t)(sep1 + 1 - s->key)) : NULL;
		if (sep2 == NULL)
			continue;
		h->object_begin(em, NULL);
		h->set_stringn(em, "severity", s->key, (size_t)(sep1 - s->key));
		if (sep2 > sep1 + 1)
			h->set_stringn(em, "sqlstate", sep1 + 1, (size_t)(sep2 - sep1 - 1));
		emit_text(h, em, "message", sep2 + 1, s->key_len - (size_t)(sep2 + 1 - s->key));
		h->set_uint64(em, "count", s->count);
		h->object_end(em);
	}
	h->array_end(em);
	h->set_uint64(em, "errors_dropped", r->errors.other);
}

void report_emit(struct report *r, const struct pga_host *h, struct pga_emitter *em)
{
	h->set_uint64(em, "entries", r->entries);
	h->set_uint64(em, "entries_filtered", r->filtered);
	emit_severities(r, h, em);
	emit_map_object(h, em, "sqlstate", "sqlstate_dropped", &r->sqlstates);
	emit_map_object(h, em, "sqlstate_class", "sqlstate_class_dropped", &r->classes);
	emit_map_rows(h, em, "databases", "databases_dropped", &r->databases);
	emit_map_rows(h, em, "users", "users_dropped", &r->users);
	emit_map_rows(h, em, "applications", "applications_dropped", &r->applications);
	emit_events(r, h, em);
	emit_errors(r, h, em);
	clear(r);
}
