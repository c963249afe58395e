/*
 * pg_value.c - see pg_value.h.
 */
#include "pg_value.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pganalytics/utf8.h>

/* Type OIDs from PostgreSQL's pg_type.dat; they never change. */
enum {
	BOOLOID = 16, INT8OID = 20, INT2OID = 21, INT4OID = 23, OIDOID = 26, XIDOID = 28,
	FLOAT4OID = 700, FLOAT8OID = 701, NUMERICOID = 1700
};

/* Texts up to this many bytes are made valid on the stack; longer ones need malloc. */
#define STACK_COPY_BYTES 256

/* ---- UTF-8 ---- */

/* In place: every byte of text[0..len) that is not part of valid UTF-8 becomes the stand-in. */
static void replace_invalid_bytes(char *text, size_t len)
{
	size_t done = 0;

	while ((done += pga_utf8_valid_prefix((unsigned char *)text + done, len - done)) < len)
		text[done++] = PG_VALUE_INVALID_BYTE;
}

/*
 * A valid UTF-8 text for text[0..len), NUL-terminated when text is (keys
 * are): `text` itself when it is valid, else a repaired copy in `stack`
 * (STACK_COPY_BYTES) or, when longer, in *heap (the caller frees it).
 * NULL only when that copy cannot be allocated.
 */
static const char *valid_utf8(const char *text, size_t len, char *stack, char **heap)
{
	char *copy;

	*heap = NULL;
	if (pga_utf8_valid_prefix((const unsigned char *)text, len) == len)
		return text;
	copy = len < STACK_COPY_BYTES ? stack : (*heap = malloc(len + 1));
	if (!copy)
		return NULL;
	memcpy(copy, text, len);
	copy[len] = '\0';
	replace_invalid_bytes(copy, len);
	return copy;
}

int pg_value_set_text(const struct pga_host *host, struct pga_emitter *em, const char *key,
		      const char *text, size_t len)
{
	char stack[STACK_COPY_BYTES], *heap;
	const char *valid = valid_utf8(text, len, stack, &heap);
	/*
	 * Without memory for the repaired copy the text goes as it is: the
	 * emitter refuses it and drops the record, which pg_record_end then
	 * counts, as for any other record the emitter refused.
	 */
	int rc = host->set_stringn(em, key, valid ? valid : text, len);

	free(heap);
	return rc;
}

/* ---- typed values ---- */

static int emit_integer(const struct pga_host *host, struct pga_emitter *em, const char *key,
			const char *text)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || *end)
		return pg_value_set_text(host, em, key, text, strlen(text));
	return host->set_int64(em, key, value);
}

static int emit_double(const struct pga_host *host, struct pga_emitter *em, const char *key,
		       const char *text)
{
	char *end;
	double value = strtod(text, &end);

	/* NaN and infinity have no JSON form: keep the server's words. */
	if (*end || !isfinite(value))
		return pg_value_set_text(host, em, key, text, strlen(text));
	return host->set_double(em, key, value);
}

/* numeric: an integer when it is one (counters, sizes), else a double. */
static int emit_number(const struct pga_host *host, struct pga_emitter *em, const char *key,
		       const char *text)
{
	char *end;

	errno = 0;
	(void)strtoll(text, &end, 10);
	if (!errno && !*end)
		return emit_integer(host, em, key, text);
	return emit_double(host, em, key, text);
}

static int emit_value(const struct pga_host *host, struct pga_emitter *em, const char *key,
		      const PGresult *res, int row, int col)
{
	const char *text = PQgetvalue(res, row, col);

	if (PQgetisnull(res, row, col))
		return host->set_null(em, key);
	switch (PQftype(res, col)) {
	case BOOLOID:
		return host->set_bool(em, key, text[0] == 't');
	case INT2OID:
	case INT4OID:
	case INT8OID:
	case OIDOID:
	case XIDOID:
		return emit_integer(host, em, key, text);
	case FLOAT4OID:
	case FLOAT8OID:
		return emit_double(host, em, key, text);
	case NUMERICOID:
		return emit_number(host, em, key, text);
	default:
		return pg_value_set_text(host, em, key, text, (size_t)PQgetlength(res, row, col));
	}
}

/* ---- rows and columns ---- */

int pg_value_emit_row(const struct pga_host *host, struct pga_emitter *em, const PGresult *res,
		      int row)
{
	int rc = PGA_OK;

	for (int col = 0; col < PQnfields(res) && rc == PGA_OK; col++) {
		const char *name = PQfname(res, col);
		char stack[STACK_COPY_BYTES], *heap;
		const char *key = valid_utf8(name, strlen(name), stack, &heap);

		/* No memory for a repaired key: the emitter refuses the original and drops the record. */
		rc = emit_value(host, em, key ? key : name, res, row, col);
		free(heap);
	}
	return rc;
}

int pg_value_emit_cells_except(const struct pga_host *host, struct pga_emitter *em,
			       const PGresult *res, int row, int skip_col)
{
	int rc = host->array_begin(em, NULL);

	for (int col = 0; col < PQnfields(res) && rc == PGA_OK; col++)
		if (col != skip_col)
			rc = emit_value(host, em, NULL, res, row, col);
	return rc == PGA_OK ? host->array_end(em) : rc;
}

int pg_value_emit_cells(const struct pga_host *host, struct pga_emitter *em, const PGresult *res,
			int row)
{
	return pg_value_emit_cells_except(host, em, res, row, -1);
}

int pg_value_emit_columns_except(const struct pga_host *host, struct pga_emitter *em,
				 const char *key, const PGresult *res, int skip_col)
{
	int rc = host->array_begin(em, key);

	for (int col = 0; col < PQnfields(res) && rc == PGA_OK; col++) {
		const char *name = PQfname(res, col);

		if (col != skip_col)
			rc = pg_value_set_text(host, em, NULL, name, strlen(name));
	}
	return rc == PGA_OK ? host->array_end(em) : rc;
}

int pg_value_emit_columns(const struct pga_host *host, struct pga_emitter *em, const char *key,
			  const PGresult *res)
{
	return pg_value_emit_columns_except(host, em, key, res, -1);
}

/* ---- errors ---- */

/* The text of a refusal: the primary message, or libpq's own (a lost connection). */
static const char *error_message(const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *message = primary ? primary : res ? PQresultErrorMessage(res) : "";

	return message[0] ? message : "no result";
}

int pg_value_emit_error(const struct pga_host *host, struct pga_emitter *em, const char *part,
			const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *message = error_message(res);
	int rc = host->object_begin(em, NULL);

	if (!state)
		state = "";
	if (rc == PGA_OK)
		rc = pg_value_set_text(host, em, "part", part, strlen(part));
	if (rc == PGA_OK)
		rc = pg_value_set_text(host, em, "sqlstate", state, strlen(state));
	/* Only the first line: libpq's messages end with a newline, some add a DETAIL line. */
	if (rc == PGA_OK)
		rc = pg_value_set_text(host, em, "message", message, strcspn(message, "\n"));
	return rc == PGA_OK ? host->object_end(em) : rc;
}

/* ---- records ---- */

int pg_record_end(const struct pga_host *host, struct pga_emitter *em, int rc, bool *kept)
{
	if (kept)
		*kept = false;
	if (rc == PGA_EDEADLINE)
		return PGA_EDEADLINE;
	/* A poisoned record's record_end drops it and counts it; a sound one is kept. */
	rc = host->record_end(em);
	if (kept)
		*kept = rc == PGA_OK;
	return rc == PGA_EDEADLINE ? PGA_EDEADLINE : PGA_OK;
}

/* ---- logging once per streak ---- */

void pg_log_once(const struct pga_host *host, struct pga_ctx *ctx, struct pg_log_once *once,
		 int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host->vlog(ctx, once->logged ? PGA_LOG_DEBUG : level, fmt, ap);
	va_end(ap);
	once->logged = true;
}

void pg_log_once_reset(struct pg_log_once *once)
{
	once->logged = false;
}
