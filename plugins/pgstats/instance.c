/*
 * instance.c - the instance-level `pg_stats` record, read in one round
 * trip: every statement of instance_sql.c that the server's version has is
 * sent in libpq pipeline mode, each followed by its own sync point, so a
 * statement the server refuses (a missing privilege) fails alone and the
 * others are still reported.
 */
#include <stdlib.h>
#include <string.h>

#include "instance_sql.h"
#include "pg_pipeline.h"
#include "pg_value.h"

#define MAX_STATEMENTS INSTANCE_MAX_PARTS

struct instance_state {
	uint64_t slow_read_ns;        /* when the slow parts were last read; 0: never */
	uint64_t failing_parts;       /* bit i: statement i of the batch fails now (logged once) */
	uint64_t settings_hash;       /* of the last pg_settings read */
	uint64_t settings_sent_ns;    /* when settings were last emitted; 0: never */
	bool have_wal_sample;
	bool wal_sample_in_recovery;
	long long wal_sample_bytes;
	uint64_t wal_sample_ns;
};

/* One cycle's statements and their results, in the order they were sent: the parts, then settings. */
struct batch {
	const struct instance_part *parts[MAX_STATEMENTS];
	const char *sql[MAX_STATEMENTS + 1];
	PGresult *results[MAX_STATEMENTS + 1];
	size_t n_parts;               /* statements from instance_parts */
	PGresult *settings;           /* results[n_parts]: the extra pg_settings statement */
};

struct instance_state *instance_create(void)
{
	return calloc(1, sizeof(struct instance_state));
}

void instance_destroy(struct instance_state *is)
{
	free(is);
}

static bool part_applies(const struct instance_part *p, int version)
{
	return version >= p->min_version && (p->max_version == 0 || version <= p->max_version);
}

/* The slow parts are due on the first cycle and then every sizes_interval_s. */
static bool slow_parts_due(struct pgstats *st)
{
	uint64_t now = pgstats_now_ns();
	uint64_t every = (uint64_t)st->cfg.sizes_interval_s * 1000000000ull;

	if (st->instance->slow_read_ns && now - st->instance->slow_read_ns < every)
		return false;
	st->instance->slow_read_ns = now;
	return true;
}

static void select_parts(struct batch *b, int version, bool slow_due)
{
	for (size_t i = 0; i < instance_part_count && b->n_parts < MAX_STATEMENTS; i++)
		if (part_applies(&instance_parts[i], version) && (slow_due || !instance_parts[i].slow)) {
			b->parts[b->n_parts] = &instance_parts[i];
			b->sql[b->n_parts++] = instance_parts[i].sql;
		}
	b->sql[b->n_parts] = settings_sql;
}

static bool run_batch(PGconn *conn, struct batch *b)
{
	if (!pg_pipeline_run(conn, b->n_parts + 1, b->sql, b->results))
		return false;
	b->settings = b->results[b->n_parts];
	return true;
}

static void clear_batch(struct batch *b)
{
	for (size_t i = 0; i <= b->n_parts; i++)
		PQclear(b->results[i]);
}

static const char *column_text(const PGresult *res, const char *column)
{
	int col = PQfnumber(res, column);

	if (col < 0 || PQntuples(res) < 1 || PQgetisnull(res, 0, col))
		return NULL;
	return PQgetvalue(res, 0, col);
}

static bool column_is_true(const PGresult *res, const char *column)
{
	const char *text = column_text(res, column);

	return text && text[0] == 't';
}

/* Once per connection: a role that sees only part of the picture is told what to grant. */
static void warn_privileges(struct pgstats *st, const PGresult *instance)
{
	const char *role = column_text(instance, "role");

	if (st->main.privilege_warned || column_is_true(instance, "superuser") ||
	    column_is_true(instance, "pg_monitor"))
		return;
	st->main.privilege_warned = true;
	st->host->log(st->ctx, PGA_LOG_WARNING,
		      "role \"%s\" is neither a superuser nor a member of pg_monitor: other "
		      "sessions' queries, replication details and some statistics are hidden; "
		      "to see everything run: GRANT pg_monitor TO \"%s\";",
		      role ? role : "?", role ? role : "?");
}

/* WAL bytes per second since the previous cycle; none across a promotion or a rewind. */
static int emit_wal_rate(struct pgstats *st, struct pga_emitter *em, const PGresult *instance)
{
	struct instance_state *is = st->instance;
	const char *text = column_text(instance, "wal_lsn_bytes");
	bool in_recovery = column_is_true(instance, "in_recovery");
	uint64_t now = pgstats_now_ns();
	long long bytes;
	int rc = PGA_OK;

	if (!text)
		return PGA_OK;
	bytes = strtoll(text, NULL, 10);
	if (is->have_wal_sample && is->wal_sample_in_recovery == in_recovery &&
	    bytes >= is->wal_sample_bytes && now > is->wal_sample_ns)
		rc = st->host->set_double(em, "wal_bytes_per_s",
					  (double)(bytes - is->wal_sample_bytes) * 1e9 /
						  (double)(now - is->wal_sample_ns));
	is->have_wal_sample = true;
	is->wal_sample_in_recovery = in_recovery;
	is->wal_sample_bytes = bytes;
	is->wal_sample_ns = now;
	return rc;
}

static int emit_object(struct pgstats *st, struct pga_emitter *em, const char *key,
		       const PGresult *res)
{
	int rc;

	if (PQntuples(res) == 0)
		return st->host->set_null(em, key);
	rc = st->host->object_begin(em, key);
	if (rc == PGA_OK)
		rc = pg_value_emit_row(st->host, em, res, 0);
	if (rc == PGA_OK && strcmp(key, "instance") == 0)
		rc = emit_wal_rate(st, em, res);
	return rc == PGA_OK ? st->host->object_end(em) : rc;
}

static int emit_rows(struct pgstats *st, struct pga_emitter *em, const char *key,
		     const PGresult *res)
{
	int rc = st->host->array_begin(em, key);

	for (int row = 0; row < PQntuples(res) && rc == PGA_OK; row++) {
		rc = st->host->object_begin(em, NULL);
		if (rc == PGA_OK)
			rc = pg_value_emit_row(st->host, em, res, row);
		if (rc == PGA_OK)
			rc = st->host->object_end(em);
	}
	return rc == PGA_OK ? st->host->array_end(em) : rc;
}

static int emit_part(struct pgstats *st, struct pga_emitter *em, const struct instance_part *p,
		     const PGresult *res)
{
	if (p->shape == SHAPE_OBJECT)
		return emit_object(st, em, p->name, res);
	return emit_rows(st, em, p->name, res);
}

/* FNV-1a over every value of the result, to notice a changed setting. */
static uint64_t result_hash(const PGresult *res)
{
	uint64_t hash = 14695981039346656037ull;

	for (int row = 0; row < PQntuples(res); row++)
		for (int col = 0; col < PQnfields(res); col++) {
			const char *text = PQgetvalue(res, row, col);

			for (int i = 0; i <= PQgetlength(res, row, col); i++)
				hash = (hash ^ (unsigned char)text[i]) * 1099511628211ull;
		}
	return hash;
}

static int emit_settings_if_due(struct pgstats *st, struct pga_emitter *em, const PGresult *res)
{
	struct instance_state *is = st->instance;
	uint64_t hash = result_hash(res), now = pgstats_now_ns();
	bool changed = is->settings_sent_ns && hash != is->settings_hash;
	bool due = !is->settings_sent_ns ||
		   now - is->settings_sent_ns >= (uint64_t)st->cfg.settings_interval_s * 1000000000ull;
	int rc;

	if (!changed && !due)
		return PGA_OK;
	rc = st->host->set_bool(em, "settings_changed", changed);
	if (rc == PGA_OK)
		rc = emit_rows(st, em, "settings", res);
	if (rc == PGA_OK) {
		is->settings_hash = hash;
		is->settings_sent_ns = now;
	}
	return rc;
}

/*
 * A statement is logged when it starts failing, not every cycle (the record
 * lists every failure); a refused privilege names the grant.
 */
static void log_failure_changes(struct pgstats *st, const struct batch *b)
{
	for (size_t i = 0; i <= b->n_parts; i++) {
		const PGresult *res = i < b->n_parts ? b->results[i] : b->settings;
		const char *name = i < b->n_parts ? b->parts[i]->name : "settings";
		/* By place in instance_parts, as the batch differs between cycles; settings last. */
		size_t part = i < b->n_parts ? (size_t)(b->parts[i] - instance_parts)
					     : INSTANCE_MAX_PARTS;
		uint64_t bit = 1ull << part;
		char message[512];

		if (pg_result_ok(res)) {
			st->instance->failing_parts &= ~bit;
			continue;
		}
		if (st->instance->failing_parts & bit)
			continue;
		st->instance->failing_parts |= bit;
		st->host->log(st->ctx, PGA_LOG_WARNING, "%s: %s%s", name,
			      pg_result_error_line(res, message, sizeof(message)),
			      pg_error_is_privilege(res) ? " (GRANT pg_monitor to the collector's role)"
							 : "");
	}
}

static int emit_errors(struct pgstats *st, struct pga_emitter *em, const struct batch *b)
{
	size_t failed = 0;
	int rc;

	for (size_t i = 0; i < b->n_parts; i++)
		failed += !pg_result_ok(b->results[i]);
	failed += !pg_result_ok(b->settings);
	if (failed == 0)
		return PGA_OK;
	rc = st->host->array_begin(em, "errors");
	for (size_t i = 0; i < b->n_parts && rc == PGA_OK; i++)
		if (!pg_result_ok(b->results[i]))
			rc = pg_value_emit_error(st->host, em, b->parts[i]->name, b->results[i]);
	if (rc == PGA_OK && !pg_result_ok(b->settings))
		rc = pg_value_emit_error(st->host, em, "settings", b->settings);
	return rc == PGA_OK ? st->host->array_end(em) : rc;
}

static int emit_members(struct pgstats *st, struct pga_emitter *em, const struct batch *b)
{
	int rc = st->host->set_string(em, "scope", "instance");

	for (size_t i = 0; i < b->n_parts && rc == PGA_OK; i++)
		if (pg_result_ok(b->results[i]))
			rc = emit_part(st, em, b->parts[i], b->results[i]);
	if (rc == PGA_OK && pg_result_ok(b->settings))
		rc = emit_settings_if_due(st, em, b->settings);
	return rc == PGA_OK ? emit_errors(st, em, b) : rc;
}

/* PGA_OK, or PGA_EDEADLINE; a record the emitter refused is ended (and so counted). */
static int emit_batch(struct pgstats *st, struct pga_emitter *em, const struct batch *b)
{
	int rc = st->host->record_begin(em, "pg_stats");

	if (rc == PGA_OK)
		rc = emit_members(st, em, b);
	return pg_record_end(st->host, em, rc, NULL);
}

int instance_collect(struct pgstats *st, struct pga_emitter *em)
{
	struct batch b = { .n_parts = 0 };
	PGconn *conn = st->main.conn;
	int rc = PGA_ERROR;

	select_parts(&b, st->main.server_version, slow_parts_due(st));
	if (!run_batch(conn, &b)) {
		st->host->log(st->ctx, PGA_LOG_ERROR, "instance statistics: %s",
			      PQerrorMessage(conn));
	} else {
		if (pg_result_ok(b.results[0]))
			warn_privileges(st, b.results[0]);
		log_failure_changes(st, &b);
		rc = emit_batch(st, em, &b);
	}
	clear_batch(&b);
	return rc;
}
