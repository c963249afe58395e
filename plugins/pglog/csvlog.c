/*
 * csvlog.c - one csvlog record into an entry.
 *
 * Columns (PostgreSQL 13+): log_time, user_name, database_name, process_id,
 * connection_from, session_id, session_line_num, command_tag,
 * session_start_time, virtual_transaction_id, transaction_id,
 * error_severity, sql_state_code, message, detail, hint, internal_query,
 * internal_query_pos, context, query, query_pos, location,
 * application_name, then backend_type (13+), leader_pid and query_id (14+).
 * Later versions may append columns; they are ignored.
 */
#include <string.h>

#include "formats.h"

/* Columns up to application_name must be there; the rest are optional. */
#define CSV_MIN_COLUMNS 23
#define CSV_MAX_COLUMNS 64

static const int csv_column_part[] = {
	[0] = PGLOG_TIME, [1] = PGLOG_USER, [2] = PGLOG_DATABASE, [3] = PGLOG_PID,
	[4] = PGLOG_REMOTE, [5] = PGLOG_SESSION, [6] = -1, [7] = -1, [8] = -1, [9] = -1,
	[10] = -1, [11] = PGLOG_SEVERITY, [12] = PGLOG_SQLSTATE, [13] = PGLOG_MESSAGE,
	[14] = PGLOG_DETAIL, [15] = PGLOG_HINT, [16] = PGLOG_QUERY, [17] = -1,
	[18] = PGLOG_CONTEXT, [19] = PGLOG_STATEMENT, [20] = -1, [21] = PGLOG_LOCATION,
	[22] = PGLOG_APPLICATION, [23] = PGLOG_BACKEND_TYPE, [24] = -1, [25] = PGLOG_QUERY_ID,
};

bool csv_quote_state(const char *text, size_t len, bool open)
{
	const char *end = text + len;

	/* "" inside a quoted field toggles twice, so counting quotes is enough. */
	while ((text = memchr(text, '"', (size_t)(end - text))) != NULL) {
		open = !open;
		text++;
	}
	return open;
}

/*
 * One field starting at pos: unquoted in place.  Sets *value and *value_len;
 * returns the position after the field's comma, or len + 1 after the last.
 */
static size_t next_field(char *s, size_t pos, size_t len, char **value, size_t *value_len)
{
	size_t out;

	if (pos < len && s[pos] == '"') {
		out = ++pos;
		*value = s + out;
		while (pos < len) {
			if (s[pos] == '"') {
				if (pos + 1 < len && s[pos + 1] == '"') {
					s[out++] = '"';
					pos += 2;
					continue;
				}
				pos++;
				break;
			}
			s[out++] = s[pos++];
		}
		*value_len = out - (size_t)(*value - s);
		/* Anything between the closing quote and the comma is dropped. */
		while (pos < len && s[pos] != ',')
			pos++;
		return pos + 1;
	}
	*value = s + pos;
	while (pos < len && s[pos] != ',')
		pos++;
	*value_len = pos - (size_t)(*value - s);
	return pos + 1;
}

bool csv_record_to_entry(char *record, size_t len, struct pglog_entry *e, const char **why)
{
	size_t pos = 0;
	int column = 0;

	entry_reset(e);
	while (pos <= len && column < CSV_MAX_COLUMNS) {
		char *value;
		size_t value_len;

		pos = next_field(record, pos, len, &value, &value_len);
		if (column < (int)(sizeof(csv_column_part) / sizeof(csv_column_part[0])) &&
		    csv_column_part[column] >= 0 && value_len > 0)
			entry_set(e, csv_column_part[column], value, value_len);
		column++;
	}
	if (column < CSV_MIN_COLUMNS) {
		*why = "csv record with too few columns (cut short?); skipped";
		return false;
	}
	size_t word_len;
	const char *word = entry_part(e, PGLOG_SEVERITY, &word_len);
	e->severity = word ? severity_from_word(word, word_len) : 0;
	return true;
}
