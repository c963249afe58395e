#include "pg_value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* Type OIDs from PostgreSQL's pg_type.dat; they never change. */
enum {
	BOOLOID = 16, INT8OID = 20, INT2OID = 21, INT4OID = 23, OIDOID = 26, XIDOID = 28,
	FLOAT4OID = 700, FLOAT8OID = 701, NUMERICOID = 1700
};

static int emit_integer(const struct pga_host *host, struct pga_emitter *em, const char *key,
			const char *text)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || *end)
		return host->set_string(em, key, text);
	return host->set_int64(em, key, value);
}

static int emit_double(const struct pga_host *host, struct pga_emitter *em, const char *key,
		       const char *text)
{
	char *end;
	double value = strtod(text, &end);

	/* NaN and infinity have no JSON form: keep the server's words. */
	if (*end || !isfinite(value))
		return host->set_string(em, key, text);
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

static int emit_value(const struct pga_host *host, struct pga_emitter *em, const PGresult *res,
		      int row, int col)
{
	const char *key = PQfname(res, col);
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
		return host->set_stringn(em, key, text, (size_t)PQgetlength(res, row, col));
	}
}

void pg_value_emit_row(const struct pga_host *host, struct pga_emitter *em, const PGresult *res,
		       int row)
{
	for (int col = 0; col < PQnfields(res); col++)
		emit_value(host, em, res, row, col);
}
