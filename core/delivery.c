#include "delivery.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "backend_auth.h"
#include "backend_client.h"
#include "client_cert.h"
#include "clock.h"
#include "compress.h"
#include "log.h"
#include "signature.h"
#include "spool.h"
#include "state_store.h"

#define SPOOL_MAX_AGE_S (7 * 24 * 3600)
#define RETRY_FIRST_NS NS_PER_S
#define RETRY_CAP_MIN_S 5
#define MAX_PAYLOAD_BYTES (256u * 1024u * 1024u)

enum push_outcome { PUSH_DONE, PUSH_RETRY, PUSH_REJECTED };

struct delivery {
	char *url;
	char *ca_file;
	char *client_cert;
	char *client_key;
	long timeout_s;
	uint64_t retry_cap_ns;
	char *state_dir;
	uint64_t pull_interval_ns;        /* 0: never */
	char *pulled_version;             /* the last version fetched, sending thread only */
	struct backend_auth *auth;        /* sending thread only */
	struct backend_client *client;    /* sending thread only */
	struct client_cert_info cert;

	pthread_t thread;
	pthread_mutex_t lock;             /* guards everything below */
	pthread_cond_t wake;              /* CLOCK_MONOTONIC */
	struct spool *spool;
	bool stop;
	char *collector_id;               /* copy published for the collector */
	uint64_t pushed, push_failures, rejected, registrations;
	uint64_t consecutive_failures;
	long last_status;
	char last_error[512];
};

/* ---- small helpers ----------------------------------------------------------- */

static void lock(struct delivery *d) { pthread_mutex_lock(&d->lock); }
static void unlock(struct delivery *d) { pthread_mutex_unlock(&d->lock); }

static void note_failure(struct delivery *d, long status, const char *what)
{
	lock(d);
	d->push_failures++;
	d->consecutive_failures++;
	d->last_status = status;
	snprintf(d->last_error, sizeof(d->last_error), "%s", what);
	unlock(d);
}

static void publish_collector_id(struct delivery *d)
{
	const char *id = auth_collector_id(d->auth);
	char *copy = id ? strdup(id) : NULL;

	lock(d);
	free(d->collector_id);
	d->collector_id = copy;
	unlock(d);
}

/* Exponential, with jitter so that a fleet of collectors does not retry in step. */
static uint64_t retry_delay(struct delivery *d)
{
	uint64_t failures, delay = RETRY_FIRST_NS;
	unsigned seed = (unsigned)clock_monotonic_ns();

	lock(d);
	failures = d->consecutive_failures;
	unlock(d);
	for (uint64_t i = 1; i < failures && delay < d->retry_cap_ns; i++)
		delay *= 2;
	if (delay > d->retry_cap_ns)
		delay = d->retry_cap_ns;
	return delay / 2 + (uint64_t)((double)rand_r(&seed) / RAND_MAX * (double)(delay / 2));
}

/* Sleep until `until` or a wake-up; false once asked to stop. */
static bool wait_for(struct delivery *d, uint64_t until, bool only_until)
{
	struct timespec ts = { (time_t)(until / NS_PER_S), (long)(until % NS_PER_S) };
	bool stop;

	lock(d);
	if (only_until) {
		while (!d->stop && clock_monotonic_ns() < until)
			pthread_cond_timedwait(&d->wake, &d->lock, &ts);
	} else if (!d->stop) {
		pthread_cond_timedwait(&d->wake, &d->lock, &ts);
	}
	stop = d->stop;
	unlock(d);
	return !stop;
}

/* ---- TLS client ----------------------------------------------------------------- */

static int stop_requested(void *arg)
{
	struct delivery *d = arg;
	bool stop;

	lock(d);
	stop = d->stop;
	unlock(d);
	return stop;
}

/* Prefer the certificate issued at registration over the bootstrap one. */
static int open_client(struct delivery *d, char *err, size_t err_len)
{
	const char *cert = auth_issued_cert(d->auth) ? auth_issued_cert(d->auth) : d->client_cert;
	const char *key = auth_issued_key(d->auth) ? auth_issued_key(d->auth) : d->client_key;
	struct backend_tls tls = { d->ca_file, cert, key, d->timeout_s, d->timeout_s < 10 ? d->timeout_s : 10 };
	struct client_cert_info info;

	if (d->ca_file[0] && access(d->ca_file, R_OK) < 0) {
		snprintf(err, err_len, "ca_file \"%s\": %s", d->ca_file, strerror(errno));
		return -1;
	}
	if (client_cert_check(cert, key, &info, err, err_len) < 0)
		return -1;
	if (info.days_left < CLIENT_CERT_WARN_DAYS)
		log_msg(LOG_LVL_WARNING, "client certificate %s (%s) expires in %lld day(s); renew it",
			cert, info.subject, (long long)info.days_left);
	backend_client_free(d->client);
	d->client = backend_client_new(d->url, &tls, err, err_len);
	if (!d->client)
		return -1;
	backend_client_set_abort(d->client, stop_requested, d);
	lock(d);
	d->cert = info;
	unlock(d);
	return 0;
}

static bool ensure_registered(struct delivery *d)
{
	char err[512];

	if (!auth_needs_registration(d->auth))
		return true;
	if (auth_register(d->auth, d->client, err, sizeof(err)) < 0) {
		log_msg(LOG_LVL_ERROR, "backend %s: %s", d->url, err);
		note_failure(d, 0, err);
		return false;
	}
	lock(d);
	d->registrations++;
	unlock(d);
	log_msg(LOG_LVL_INFO, "registered with %s as collector %s", d->url, auth_collector_id(d->auth));
	publish_collector_id(d);
	/* A certificate issued at registration replaces the bootstrap one. */
	if (auth_issued_cert(d->auth) && open_client(d, err, sizeof(err)) < 0) {
		log_msg(LOG_LVL_ERROR, "backend %s: %s", d->url, err);
		return false;
	}
	return true;
}

/* ---- one push ------------------------------------------------------------------- */

/*
 * A batch built before registration has no collector_id (or the configured
 * one, which the backend may have replaced); set the registered one, so the
 * backend can match the batch to the token.  Returns 0 with a new body, 1
 * when the body is right as it is, -1 when it cannot be read.
 */
/* The decompressed text is not NUL-terminated: parse exactly len bytes. */
static json_object *parse_json(const unsigned char *text, size_t len)
{
	json_tokener *tok = len <= INT32_MAX ? json_tokener_new() : NULL;
	json_object *doc;

	if (!tok)
		return NULL;
	doc = json_tokener_parse_ex(tok, (const char *)text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(doc);
		doc = NULL;
	}
	json_tokener_free(tok);
	return doc;
}

/*
 * payload_build() writes collector_id first: a look at the first bytes
 * tells whether the batch already carries `id`, without inflating it all.
 */
static bool carries_id(const char *id, const unsigned char *body, size_t len)
{
	unsigned char head[320];
	char expected[sizeof(head)];
	size_t got;
	int n = snprintf(expected, sizeof(expected), "{\"collector_id\":\"%s\"", id);

	return n > 0 && (size_t)n < sizeof(expected) &&
	       gzip_peek(body, len, head, sizeof(head), &got) == 0 && got >= (size_t)n &&
	       memcmp(head, expected, (size_t)n) == 0;
}

static int fill_collector_id(const char *id, const unsigned char *body, size_t len,
			     unsigned char **out, size_t *out_len)
{
	unsigned char *json = NULL;
	size_t json_len = 0;
	json_object *envelope, *current = NULL;
	const char *text;
	size_t text_len;
	int rc = 1;

	*out = NULL;
	if (carries_id(id, body, len))
		return 1;
	if (gzip_decompress(body, len, MAX_PAYLOAD_BYTES, &json, &json_len) < 0)
		return -1;
	envelope = parse_json(json, json_len);
	free(json);
	if (!envelope)
		return -1;
	json_object_object_get_ex(envelope, "collector_id", &current);
	if (!current || strcmp(json_object_get_string(current), id) != 0) {
		json_object_object_add(envelope, "collector_id", json_object_new_string(id));
		text = json_object_to_json_string_length(
			envelope, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &text_len);
		rc = gzip_compress(text, text_len, 6, out, out_len);
	}
	json_object_put(envelope);
	return rc;
}

static long send_batch(struct delivery *d, const unsigned char *body, size_t len,
		       struct backend_response *resp)
{
	const unsigned char *key;
	char *authorization = NULL, err[sizeof(resp->error)];
	char signature[SIGNATURE_VALUE_LEN + 64];
	char value[SIGNATURE_VALUE_LEN];
	const char *bearer = auth_bearer(d->auth, d->client, err, sizeof(err));
	size_t key_len;
	int rc;

	memset(resp, 0, sizeof(*resp));
	if (!bearer) {
		snprintf(resp->error, sizeof(resp->error), "%s", err);
		return -1;
	}
	auth_signature_key(d->auth, &key, &key_len);
	if (signature_header_value(key, key_len, body, len, value) < 0 ||
	    asprintf(&authorization, "Authorization: Bearer %s", bearer) < 0) {
		snprintf(resp->error, sizeof(resp->error), "cannot sign the batch");
		return -1;
	}
	snprintf(signature, sizeof(signature), "%s: %s", SIGNATURE_HEADER, value);
	{
		const char *headers[] = { "Content-Type: application/json", "Content-Encoding: gzip",
					  authorization, signature };

		rc = backend_request(d->client, "POST", "/api/v1/metrics/push", headers, 4, body, len, resp);
	}
	explicit_bzero(authorization, strlen(authorization));
	free(authorization);
	return rc < 0 ? -1 : resp->status;
}

static enum push_outcome judge(struct delivery *d, uint64_t seq, long status,
			       const struct backend_response *resp)
{
	char what[512];

	if (status >= 200 && status < 300)
		return PUSH_DONE;
	if (status < 0) {
		snprintf(what, sizeof(what), "batch %llu: %s", (unsigned long long)seq, resp->error);
		log_msg(LOG_LVL_WARNING, "backend %s: %s; retrying", d->url, what);
		note_failure(d, 0, what);
		return PUSH_RETRY;
	}
	snprintf(what, sizeof(what), "batch %llu: HTTP %ld %.300s", (unsigned long long)seq, status,
		 resp->body ? resp->body : "");
	note_failure(d, status, what);
	if (status >= 400 && status < 500 && status != 401 && status != 408 && status != 429) {
		log_msg(LOG_LVL_ERROR, "backend %s refused %s; moved to spool/rejected/", d->url, what);
		return PUSH_REJECTED;
	}
	log_msg(LOG_LVL_WARNING, "backend %s: %s; retrying", d->url, what);
	return PUSH_RETRY;
}

static enum push_outcome push_one(struct delivery *d, uint64_t seq, const unsigned char *body,
				  size_t len)
{
	struct backend_response resp;
	unsigned char *filled = NULL;
	size_t filled_len = 0;
	enum push_outcome outcome;
	long status;

	if (auth_collector_id(d->auth) &&
	    fill_collector_id(auth_collector_id(d->auth), body, len, &filled, &filled_len) == 0) {
		body = filled;
		len = filled_len;
	}
	status = send_batch(d, body, len, &resp);
	if (status == 401) {
		/* An expired or revoked token: renew it and try exactly once more. */
		backend_response_clear(&resp);
		auth_invalidate(d->auth);
		status = send_batch(d, body, len, &resp);
	}
	outcome = judge(d, seq, status, &resp);
	lock(d);
	if (outcome == PUSH_DONE) {
		d->pushed++;
		d->consecutive_failures = 0;
		d->last_status = status;
		d->last_error[0] = '\0';
		/* Left in the spool, it would be sent again at once: back off instead. */
		if (spool_remove(d->spool, seq) < 0)
			outcome = PUSH_RETRY;
	} else if (outcome == PUSH_REJECTED) {
		d->rejected++;
		if (spool_reject(d->spool, seq, resp.body ? resp.body : resp.error) < 0)
			outcome = PUSH_RETRY;
	}
	unlock(d);
	backend_response_clear(&resp);
	free(filled);
	return outcome;
}

/* ---- configuration pull ----------------------------------------------------------- */

static char *read_applied_version(const char *state_dir)
{
	char *path = NULL, text[128] = "";
	FILE *fp;

	if (asprintf(&path, "%s/" DELIVERY_APPLIED_VERSION, state_dir) < 0)
		return NULL;
	fp = fopen(path, "r");
	free(path);
	if (fp) {
		if (!fgets(text, sizeof(text), fp))
			text[0] = '\0';
		fclose(fp);
	}
	text[strcspn(text, "\r\n")] = '\0';
	return strdup(text);
}

/* Hand a new configuration to the main thread, which validates and applies it. */
static void offer_configuration(struct delivery *d, const struct backend_response *resp,
				const char *version)
{
	if (state_write_file(d->state_dir, DELIVERY_PULLED_CONFIG, resp->body ? resp->body : "",
			     resp->body_len, 0600) < 0 ||
	    state_write_file(d->state_dir, DELIVERY_PULLED_VERSION, version, strlen(version), 0600) < 0) {
		log_msg(LOG_LVL_ERROR, "%s: cannot store the pulled configuration: %s", d->state_dir,
			strerror(errno));
		return;
	}
	log_msg(LOG_LVL_INFO, "configuration version %s pulled from %s; reloading", version, d->url);
	kill(getpid(), SIGHUP);
}

static void pull_configuration(struct delivery *d)
{
	struct backend_response resp;
	char *authorization = NULL, *path = NULL, err[256];
	const char *bearer = auth_bearer(d->auth, d->client, err, sizeof(err));
	const char *version;
	int rc;

	if (!bearer || !auth_collector_id(d->auth) ||
	    asprintf(&path, "/api/v1/config/%s", auth_collector_id(d->auth)) < 0 ||
	    asprintf(&authorization, "Authorization: Bearer %s", bearer) < 0) {
		free(path);
		return;
	}
	{
		const char *headers[] = { authorization };

		rc = backend_request(d->client, "GET", path, headers, 1, NULL, 0, &resp);
	}
	explicit_bzero(authorization, strlen(authorization));
	free(authorization);
	free(path);
	if (rc < 0) {
		log_msg(LOG_LVL_DEBUG, "configuration pull: %s", resp.error);
	} else if (resp.status == 200) {
		char digest[32];

		/* Without X-Config-Version, the content itself tells a new version. */
		snprintf(digest, sizeof(digest), "crc32:%08lx",
			 crc32(0L, (const Bytef *)(resp.body ? resp.body : ""), (uInt)resp.body_len));
		version = resp.config_version ? resp.config_version : digest;
		if (!d->pulled_version || strcmp(version, d->pulled_version) != 0) {
			free(d->pulled_version);
			d->pulled_version = strdup(version);
			offer_configuration(d, &resp, version);
		}
	} else if (resp.status != 404) {
		log_msg(LOG_LVL_WARNING, "configuration pull from %s: HTTP %ld", d->url, resp.status);
	}
	backend_response_clear(&resp);
}

/* ---- the sending thread ------------------------------------------------------------ */

static int peek(struct delivery *d, uint64_t *seq, unsigned char **body, size_t *len)
{
	int rc;

	lock(d);
	rc = spool_peek_oldest(d->spool, seq, body, len);
	unlock(d);
	return rc;
}

/* A daemon runs for months: say it again, daily, while the certificate ages. */
static uint64_t warn_if_cert_expires(struct delivery *d, uint64_t next_check)
{
	int64_t days;

	if (clock_monotonic_ns() < next_check)
		return next_check;
	lock(d);
	days = ((int64_t)d->cert.not_after - (int64_t)time(NULL)) / 86400;
	unlock(d);
	if (next_check && days < CLIENT_CERT_WARN_DAYS)
		log_msg(LOG_LVL_WARNING, "client certificate expires in %lld day(s); renew it",
			(long long)days);
	return clock_monotonic_ns() + 24 * 3600 * NS_PER_S;
}

/* Pull now if it is time (and there is an identity to pull for). */
static uint64_t maybe_pull(struct delivery *d, uint64_t next_pull)
{
	if (!d->pull_interval_ns || clock_monotonic_ns() < next_pull ||
	    auth_needs_registration(d->auth))
		return next_pull;
	pull_configuration(d);
	return clock_monotonic_ns() + d->pull_interval_ns;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a && (!b || a < b) ? a : b;
}

/*
 * When the next configuration pull wants the thread awake; 0 for never.
 * Not before registration: the pull needs it, and its due time, already
 * past, would make every wait return at once.
 */
static uint64_t pull_wake(struct delivery *d, uint64_t next_pull)
{
	return d->pull_interval_ns && !auth_needs_registration(d->auth) ? next_pull : 0;
}

static void *sending_thread(void *arg)
{
	struct delivery *d = arg;
	uint64_t retry_at = 0, next_pull = clock_monotonic_ns(), next_cert_check = 0;

	publish_collector_id(d);
	for (;;) {
		unsigned char *body = NULL;
		uint64_t seq;
		size_t len;
		int rc;

		if (stop_requested(d))
			break;
		next_pull = maybe_pull(d, next_pull);
		if (retry_at) {
			if (!wait_for(d, earliest(retry_at, pull_wake(d, next_pull)), true))
				break;
			if (clock_monotonic_ns() < retry_at)
				continue;
		}
		retry_at = 0;
		rc = peek(d, &seq, &body, &len);
		if (rc != 0) {
			/* Empty (or unreadable): wait for the next submit or pull. */
			uint64_t idle = clock_monotonic_ns() + 60 * NS_PER_S;

			if (!wait_for(d, earliest(idle, pull_wake(d, next_pull)), false))
				break;
			continue;
		}
		if (!ensure_registered(d) || push_one(d, seq, body, len) == PUSH_RETRY)
			retry_at = clock_monotonic_ns() + retry_delay(d);
		free(body);
		next_cert_check = warn_if_cert_expires(d, next_cert_check);
		/* Whoever waits in delivery_drain() looks again. */
		lock(d);
		pthread_cond_broadcast(&d->wake);
		unlock(d);
	}
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------------------- */

static int init_sync(struct delivery *d)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&d->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&d->lock, NULL);
	return rc == 0 ? 0 : -1;
}

static void free_delivery(struct delivery *d)
{
	spool_close(d->spool);
	backend_client_free(d->client);
	auth_free(d->auth);
	free(d->collector_id);
	free(d->state_dir);
	free(d->pulled_version);
	free(d->url);
	free(d->ca_file);
	free(d->client_cert);
	free(d->client_key);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static struct backend_auth *make_auth(const struct delivery_settings *s, char *err, size_t err_len)
{
	struct auth_settings as = {
		.mode = s->backend->auth,
		.secret_file = s->backend->secret_file,
		.registration_secret_file = s->backend->registration_secret_file,
		.state_dir = s->state_dir,
		.configured_id = s->configured_id,
		.hostname = s->hostname,
	};

	return auth_new(&as, err, err_len);
}

static struct delivery *prepare(const struct delivery_settings *s, char *err, size_t err_len)
{
	struct delivery *d = calloc(1, sizeof(*d));
	const struct backend_settings *b = s->backend;
	uint64_t cap_s = s->push_interval_s > RETRY_CAP_MIN_S ? (uint64_t)s->push_interval_s : RETRY_CAP_MIN_S;

	if (!d || init_sync(d) < 0) {
		free(d);
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	d->url = strdup(b->url);
	d->ca_file = strdup(b->ca_file);
	d->client_cert = strdup(b->client_cert);
	d->client_key = strdup(b->client_key);
	d->timeout_s = b->timeout;
	d->retry_cap_ns = cap_s * NS_PER_S;
	d->state_dir = strdup(s->state_dir);
	d->pull_interval_ns = (uint64_t)(s->config_pull_interval_s > 0 ? s->config_pull_interval_s : 0) * NS_PER_S;
	d->pulled_version = read_applied_version(s->state_dir);
	if (!d->url || !d->ca_file || !d->client_cert || !d->client_key || !d->state_dir ||
	    !(d->auth = make_auth(s, err, err_len)) || open_client(d, err, err_len) < 0) {
		free_delivery(d);
		return NULL;
	}
	return d;
}

static struct spool *open_spool(const struct delivery_settings *s, char *err, size_t err_len)
{
	struct spool_limits limits = { (uint64_t)s->backend->spool_max_mb * 1024 * 1024, SPOOL_MAX_AGE_S };
	char *dir = NULL;
	struct spool *sp;

	if (asprintf(&dir, "%s/spool", s->state_dir) < 0) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	sp = spool_open(dir, &limits, err, err_len);
	free(dir);
	return sp;
}

struct delivery *delivery_start(const struct delivery_settings *s, char *err, size_t err_len)
{
	struct delivery *d = prepare(s, err, err_len);

	if (!d)
		return NULL;
	d->spool = open_spool(s, err, err_len);
	if (!d->spool || pthread_create(&d->thread, NULL, sending_thread, d) != 0) {
		if (d->spool)
			snprintf(err, err_len, "cannot start the delivery thread");
		free_delivery(d);
		return NULL;
	}
	return d;
}

int delivery_submit(struct delivery *d, uint64_t seq, const void *body, size_t len, char *err,
		    size_t err_len)
{
	int rc;

	lock(d);
	rc = spool_put(d->spool, seq, body, len, err, err_len);
	pthread_cond_signal(&d->wake);
	unlock(d);
	return rc;
}

bool delivery_drain(struct delivery *d, uint64_t timeout_ns)
{
	uint64_t until = clock_monotonic_ns() + timeout_ns;
	struct timespec ts = { (time_t)(until / NS_PER_S), (long)(until % NS_PER_S) };
	struct spool_stats st;
	uint64_t failures;
	bool drained;

	lock(d);
	failures = d->push_failures;
	pthread_cond_broadcast(&d->wake);
	for (;;) {
		spool_get_stats(d->spool, &st);
		drained = st.batches == 0;
		if (drained || d->push_failures > failures || clock_monotonic_ns() >= until)
			break;
		pthread_cond_timedwait(&d->wake, &d->lock, &ts);
	}
	unlock(d);
	return drained;
}

uint64_t delivery_max_seq(struct delivery *d)
{
	uint64_t seq;

	lock(d);
	seq = spool_max_seq(d->spool);
	unlock(d);
	return seq;
}

char *delivery_collector_id(struct delivery *d)
{
	char *id;

	lock(d);
	id = d->collector_id ? strdup(d->collector_id) : NULL;
	unlock(d);
	return id;
}

static void add_u64(json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

void delivery_health(struct delivery *d, json_object *record)
{
	json_object *health = json_object_new_object();
	struct spool_stats st;

	if (!health)
		return;
	lock(d);
	spool_get_stats(d->spool, &st);
	add_u64(health, "pushed", d->pushed);
	add_u64(health, "push_failures", d->push_failures);
	add_u64(health, "consecutive_failures", d->consecutive_failures);
	add_u64(health, "rejected", d->rejected);
	add_u64(health, "registrations", d->registrations);
	json_object_object_add(health, "last_status", json_object_new_int64(d->last_status));
	json_object_object_add(health, "last_error", json_object_new_string(d->last_error));
	json_object_object_add(health, "client_cert_days_left",
			       json_object_new_int64(((int64_t)d->cert.not_after - (int64_t)time(NULL)) / 86400));
	add_u64(health, "spool_batches", st.batches);
	add_u64(health, "spool_bytes", st.bytes);
	add_u64(health, "spool_dropped_size", st.dropped_size);
	add_u64(health, "spool_dropped_age", st.dropped_age);
	add_u64(health, "spool_corrupt", st.corrupt);
	unlock(d);
	json_object_object_add(record, "delivery", health);
}

void delivery_stop(struct delivery *d)
{
	if (!d)
		return;
	lock(d);
	d->stop = true;
	pthread_cond_signal(&d->wake);
	unlock(d);
	pthread_join(d->thread, NULL);
	free_delivery(d);
}

int delivery_register(const struct delivery_settings *s, char *err, size_t err_len)
{
	struct delivery *d = prepare(s, err, err_len);
	int rc;

	if (!d)
		return -1;
	rc = auth_register(d->auth, d->client, err, err_len);
	if (rc == 0)
		log_msg(LOG_LVL_INFO, "registered with %s as collector %s", d->url, auth_collector_id(d->auth));
	free_delivery(d);
	return rc;
}
