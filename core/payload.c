#include "payload.h"

#include <stdbool.h>

#include "clock.h"

/* json-c keeps members in insertion order, which fixes the key order. */
static int add_member(json_object *envelope, const char *key, json_object *value,
		      bool may_be_null)
{
	const unsigned flags = JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY;

	if (value == NULL && !may_be_null)
		return -1;
	if (json_object_object_add_ex(envelope, key, value, flags) != 0) {
		json_object_put(value);
		return -1;
	}
	return 0;
}

/* A string member, or JSON null for NULL (json-c's null is a NULL value). */
static int add_optional_string(json_object *envelope, const char *key, const char *text)
{
	json_object *value = NULL;

	if (text != NULL) {
		value = json_object_new_string(text);
		if (value == NULL)
			return -1;
	}
	return add_member(envelope, key, value, true);
}

static int add_header(json_object *envelope, const struct payload_header *h)
{
	char stamp[CLOCK_RFC3339_LEN];

	clock_format_rfc3339(&h->created, stamp);
	if (add_optional_string(envelope, "collector_id", h->collector_id) != 0 ||
	    add_optional_string(envelope, "hostname", h->hostname) != 0 ||
	    add_member(envelope, "timestamp", json_object_new_string(stamp), false) != 0 ||
	    add_optional_string(envelope, "version", h->version) != 0 ||
	    add_member(envelope, "seq", json_object_new_uint64(h->seq), false) != 0)
		return -1;
	return 0;
}

json_object *payload_build(const struct payload_header *h, json_object *metrics)
{
	json_object *envelope;
	size_t count;

	if (!json_object_is_type(metrics, json_type_array)) {
		json_object_put(metrics);
		return NULL;
	}
	count = json_object_array_length(metrics);
	envelope = json_object_new_object();
	if (envelope == NULL) {
		json_object_put(metrics);
		return NULL;
	}
	if (add_header(envelope, h) != 0 ||
	    add_member(envelope, "metrics_count", json_object_new_uint64(count), false) != 0) {
		json_object_put(metrics);
		json_object_put(envelope);
		return NULL;
	}
	/* On failure add_member has already freed `metrics`. */
	if (add_member(envelope, "metrics", metrics, false) != 0) {
		json_object_put(envelope);
		return NULL;
	}
	return envelope;
}
