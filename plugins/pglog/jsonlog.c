/*
 * jsonlog.c - one jsonlog line (PostgreSQL 15+) into an entry, with json-c.
 * Keys are omitted by the server when empty; unknown keys are ignored.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "formats.h"

struct json_key {
	const char *key;
	int part;
};

static const struct json_key json_keys[] = {
	{ "timestamp", PGLOG_TIME }, { "user", PGLOG_USER }, { "dbname", PGLOG_DATABASE },
	{ "pid", PGLOG_PID }, { "remote_host", PGLOG_REMOTE }, { "session_id", PGLOG_SESSION },
	{ "error_severity", PGLOG_SEVERITY }, { "state_code", PGLOG_SQLSTATE },
	{ "message", PGLOG_MESSAGE }, { "detail", PGLOG_DETAIL }, { "hint", PGLOG_HINT },
	{ "internal_query", PGLOG_QUERY }, { "statement", PGLOG_STATEMENT },
	{ "context", PGLOG_CONTEXT }, { "application_name", PGLOG_APPLICATION },
	{ "backend_type", PGLOG_BACKEND_TYPE }, { "query_id", PGLOG_QUERY_ID },
};

static void set_from_json(struct pglog_entry *e, int part, struct json_object *value)
{
	char number[32];

	if (json_object_is_type(value, json_type_string)) {
		entry_set(e, part, json_object_get_string(value),
			  (size_t)json_object_get_string_len(value));
	} else if (json_object_is_type(value, json_type_int)) {
		int n = snprintf(number, sizeof(number), "%lld",
				 (long long)json_object_get_int64(value));
		entry_set(e, part, number, (size_t)n);
	}
}

bool json_line_to_entry(const char *line, size_t len, struct pglog_entry *e, const char **why)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;

	entry_reset(e);
	if (tok == NULL) {
		*why = "out of memory";
		return false;
	}
	obj = len <= INT32_MAX ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		*why = "not a jsonlog line (no complete JSON object); skipped";
		json_object_put(obj);
		json_tokener_free(tok);
		return false;
	}
	for (size_t i = 0; i < sizeof(json_keys) / sizeof(json_keys[0]); i++) {
		struct json_object *value;

		if (json_object_object_get_ex(obj, json_keys[i].key, &value))
			set_from_json(e, json_keys[i].part, value);
	}
	size_t word_len;
	const char *word = entry_part(e, PGLOG_SEVERITY, &word_len);
	e->severity = word ? severity_from_word(word, word_len) : 0;
	json_object_put(obj);
	json_tokener_free(tok);
	return true;
}
