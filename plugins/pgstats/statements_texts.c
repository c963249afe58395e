/*
 * statements_texts.c - see statements_texts.h.
 */
#include "statements_texts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the texts of one record may take; with the rows' budget, below the emitter's 16 MiB. */
#define TEXTS_BUDGET_BYTES (6u << 20)
/* A text object's members other than the query, at most. */
#define TEXT_OBJECT_OVERHEAD 128
/* Decimal digits of the most negative int8, and a comma. */
#define QUERYID_LITERAL_BYTES 21

#define INT8ARRAYOID 1016
/* character_not_in_repertoire: a byte the database's encoding does not have. */
#define SQLSTATE_BAD_BYTE "22021"

/* ---- which texts are due ---- */

static uint64_t seconds_to_ns(int64_t seconds)
{
	uint64_t s = seconds > 0 ? (uint64_t)seconds : 0;

	return s < UINT64_MAX / 1000000000ull ? s * 1000000000ull : UINT64_MAX;
}

static bool text_due(const struct stmt_key_slot *slot, uint64_t now, uint64_t interval)
{
	return !slot->text_sent_ns || now - slot->text_sent_ns >= interval;
}

long stmt_texts_due(struct pgstats *st, const PGresult *counters, int rows, char **wanted)
{
	struct statements_state *ss = st->statements;
	struct stmt_key_columns cols = stmt_key_columns_of(counters);
	uint64_t now = pgstats_now_ns();
	uint64_t interval = seconds_to_ns(st->cfg.statements_text_interval_s);
	size_t size = 3 + (size_t)rows * QUERYID_LITERAL_BYTES, used;
	long due = 0;

	*wanted = NULL;
	if (!stmt_keys_reserve(&ss->keys, (size_t)rows, ss->cycle))
		return -1;
	*wanted = malloc(size);
	if (!*wanted)
		return -1;
	used = (size_t)snprintf(*wanted, size, "{");
	for (int row = 0; row < rows; row++) {
		struct stmt_key key;
		struct stmt_key_slot *slot;

		if (!stmt_key_of_row(counters, row, &cols, &key))
			continue;
		slot = stmt_keys_upsert(&ss->keys, &key);
		slot->seen_cycle = ss->cycle;
		if (!text_due(slot, now, interval) || slot->wanted_cycle == ss->cycle)
			continue;
		slot->wanted_cycle = ss->cycle;
		used += (size_t)snprintf(*wanted + used, size - used, "%s%lld", due ? "," : "",
					 (long long)key.queryid);
		due++;
	}
	snprintf(*wanted + used, size - used, "}");
	return due;
}

/* ---- reading ---- */

/* The bytes of text[0..len) as a JSON string, escapes included. */
static size_t json_string_bytes(const char *text, size_t len)
{
	size_t bytes = len;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '"' || c == '\\' || c == '\b' || c == '\t' || c == '\n' || c == '\f' ||
		    c == '\r')
			bytes += 1;
		else if (c < 0x20)
			bytes += 5;     /* \u00xx */
	}
	return bytes;
}

/*
 * The server cuts texts (statements_sql.c); should one come longer all
 * the same, it is cut here too, before a continuation byte, so that the
 * budgets hold whatever the server did.
 */
static size_t cut_to_max_bytes(const char *text, size_t len, bool *truncated)
{
	size_t n = len;

	if (n <= STMT_TEXT_MAX_BYTES)
		return n;
	n = STMT_TEXT_MAX_BYTES;
	while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
		n--;
	*truncated = true;
	return n;
}

static bool list_grow(struct stmt_text_list *list)
{
	size_t capacity = list->capacity ? 2 * list->capacity : 64;
	struct stmt_text *items = realloc(list->items, capacity * sizeof(*items));

	if (!items)
		return false;
	list->items = items;
	list->capacity = capacity;
	return true;
}

/* Where the text's columns are in one result of the texts statement. */
struct text_columns {
	struct stmt_key_columns key;
	int query, truncated;
};

static struct text_columns text_columns_of(const PGresult *res)
{
	return (struct text_columns){ .key = stmt_key_columns_of(res),
				      .query = PQfnumber(res, "query"),
				      .truncated = PQfnumber(res, "truncated") };
}

/* The slot of `row` when this cycle wants its text (and has not taken it yet); else NULL. */
static struct stmt_key_slot *wanted_slot(const struct statements_state *ss, const PGresult *res,
					 int row, const struct text_columns *cols,
					 struct stmt_key *key)
{
	struct stmt_key_slot *slot;

	if (cols->query < 0 || PQgetisnull(res, row, cols->query) ||
	    !stmt_key_of_row(res, row, &cols->key, key))
		return NULL;
	slot = stmt_keys_find(&ss->keys, key);
	return slot && slot->wanted_cycle == ss->cycle ? slot : NULL;
}

/*
 * Keep the text of `row` when this cycle wants it and it fits the budget.
 * False when out of memory.
 */
static bool take_text(struct statements_state *ss, struct stmt_text_list *list,
		      const PGresult *res, int row, const struct text_columns *cols)
{
	struct stmt_text item = { .truncated = false };
	const char *text;
	size_t bytes;

	item.slot = wanted_slot(ss, res, row, cols, &item.key);
	if (!item.slot)
		return true;
	/* Each key at most once, whatever the server returns. */
	item.slot->wanted_cycle = 0;
	text = PQgetvalue(res, row, cols->query);
	item.truncated = cols->truncated >= 0 && PQgetvalue(res, row, cols->truncated)[0] == 't';
	item.len = cut_to_max_bytes(text, (size_t)PQgetlength(res, row, cols->query),
				    &item.truncated);
	bytes = json_string_bytes(text, item.len) + TEXT_OBJECT_OVERHEAD;
	if (list->over_budget || list->bytes + bytes > TEXTS_BUDGET_BYTES) {
		list->over_budget = true;   /* this one and the rest stay due */
		return true;
	}
	if (list->count == list->capacity && !list_grow(list))
		return false;
	item.query = malloc(item.len + 1);
	if (!item.query)
		return false;
	memcpy(item.query, text, item.len);
	item.query[item.len] = '\0';
	list->items[list->count++] = item;
	list->bytes += bytes;
	return true;
}

static void log_refusal(struct pgstats *st, const PGresult *refusal)
{
	const char *state = PQresultErrorField(refusal, PG_DIAG_SQLSTATE);
	bool bad_byte = state && strcmp(state, SQLSTATE_BAD_BYTE) == 0;
	char message[512];

	pg_log_once(st->host, st->ctx, &st->statements->texts, PGA_LOG_WARNING,
		    "pg_stat_statements: reading query texts: %s%s (logged once until it "
		    "succeeds; the counters are still reported)",
		    pg_result_error_line(refusal, message, sizeof(message)),
		    bad_byte ? "; a query text recorded in a database of another encoding "
			       "(SQL_ASCII lets any byte in) cannot be converted, and the "
			       "extension converts every text it returns: no texts until that "
			       "entry is evicted or pg_stat_statements_reset() runs"
			     : "");
}

/*
 * Every result of the texts statement, up to the NULL that ends them, so
 * that the connection is ready for the next statement whatever happened.
 */
static int consume_texts(struct pgstats *st, struct stmt_text_list *list)
{
	struct statements_state *ss = st->statements;
	PGconn *conn = st->main.conn;
	PGresult *res, *refusal = NULL;
	bool out_of_memory = false;

	while ((res = PQgetResult(conn))) {
		ExecStatusType status = PQresultStatus(res);

		if (status == PGRES_SINGLE_TUPLE || status == PGRES_TUPLES_OK) {
			struct text_columns cols = text_columns_of(res);

			for (int row = 0; row < PQntuples(res) && !out_of_memory; row++)
				out_of_memory = !take_text(ss, list, res, row, &cols);
		} else if (!refusal) {
			refusal = res;
			continue;
		}
		PQclear(res);
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		st->host->log(st->ctx, PGA_LOG_ERROR, "pg_stat_statements: reading query texts: %s",
			      PQerrorMessage(conn));
		PQclear(refusal);
		return PGA_ERROR;
	}
	if (refusal)
		log_refusal(st, refusal);
	else if (!out_of_memory)
		pg_log_once_reset(&ss->texts);
	if (out_of_memory)
		stmt_log_out_of_memory(st, "reading query texts");
	PQclear(refusal);
	return PGA_OK;
}

int stmt_texts_read(struct pgstats *st, const char *wanted, struct stmt_text_list *list)
{
	PGconn *conn = st->main.conn;
	const Oid types[1] = { INT8ARRAYOID };
	const char *values[1] = { wanted };

	if (!PQsendQueryParams(conn, st->statements->sql.texts, 1, types, values, NULL, NULL, 0)) {
		st->host->log(st->ctx, PGA_LOG_ERROR,
			      "pg_stat_statements: reading query texts: cannot send: %s",
			      PQerrorMessage(conn));
		return PGA_ERROR;
	}
	/* Without single-row mode the rows come in one result: the same loop reads them. */
	PQsetSingleRowMode(conn);
	return consume_texts(st, list);
}

/* ---- emitting ---- */

static int emit_text(const struct pga_host *h, struct pga_emitter *em, const struct stmt_text *t)
{
	int rc = h->object_begin(em, NULL);

	if (rc == PGA_OK)
		rc = h->set_int64(em, "queryid", t->key.queryid);
	if (rc == PGA_OK)
		rc = h->set_int64(em, "dbid", t->key.dbid);
	if (rc == PGA_OK)
		rc = h->set_int64(em, "userid", t->key.userid);
	if (rc == PGA_OK && t->key.toplevel >= 0)
		rc = h->set_bool(em, "toplevel", t->key.toplevel);
	if (rc == PGA_OK)
		rc = pg_value_set_text(h, em, "query", t->query, t->len);
	if (rc == PGA_OK && t->truncated)
		rc = h->set_bool(em, "truncated", 1);
	return rc == PGA_OK ? h->object_end(em) : rc;
}

int stmt_texts_emit(const struct pga_host *host, struct pga_emitter *em,
		    const struct stmt_text_list *list)
{
	int rc;

	if (list->count == 0)
		return PGA_OK;
	rc = host->array_begin(em, "texts");
	for (size_t i = 0; i < list->count && rc == PGA_OK; i++)
		rc = emit_text(host, em, &list->items[i]);
	return rc == PGA_OK ? host->array_end(em) : rc;
}

void stmt_texts_mark_sent(const struct stmt_text_list *list, uint64_t now_ns)
{
	for (size_t i = 0; i < list->count; i++)
		list->items[i].slot->text_sent_ns = now_ns;
}

void stmt_texts_free(struct stmt_text_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i].query);
	free(list->items);
	*list = (struct stmt_text_list){ .items = NULL };
}
