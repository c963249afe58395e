/*
 * delivery_bench - what getting payloads to the backend costs the collector.
 *
 *   spool        spool_put + spool_peek_oldest + spool_remove of realistic
 *                gzip bodies in a directory of their own: CPU and wall time
 *                per payload, median of several rounds.  Two patterns: steady
 *                (the backend keeps up, the spool holds one batch at a time)
 *                and backlog (every batch of the round is spooled, then the
 *                spool is drained oldest first).
 *   end to end   delivery_start() against a running receiver
 *                (tests/receiver/receiver.py), then delivery_submit() of
 *                PAYLOADS payloads as fast as the spool takes them, until the
 *                sending thread has had every one answered 2xx: payloads per
 *                second (wall), CPU of the whole process per payload
 *                (getrusage RUSAGE_SELF, so the sending thread is included),
 *                and bytes per payload.  One payload is sent first, untimed,
 *                so that registration and the TLS handshake are out of the
 *                measurement (steady state); the receiver's accepted list is
 *                then checked: every seq exactly once.
 *
 * Payloads are built like the collector builds them: records shaped like a
 * per-table statistics row (20 fields, as in core_bench) through the real
 * emitter, payload_build(), streamed into gzip level 6 (output.c).  Payload
 * i carries 50 to 900 records (a fixed spread), about 2 to 40 KB of gzip.
 *
 * Usage:
 *   delivery_bench [-w DIR] [-n PAYLOADS] [-N SPOOL_PAYLOADS] [-r ROUNDS]
 *                  [-u URL -a CA -c CERT -k KEY -s SECRET_FILE
 *                   -g REGISTRATION_SECRET_FILE [-p CONTROL_PORT]]
 * -n: payloads end to end (default 1000); -N, -r: payloads per round and
 * rounds of the spool measurement (200, 11).  Without -u only the spool is
 * measured.  -w: where the temporary directories go (default $TMPDIR or
 * /tmp); they are removed at the end.
 * bench/run-delivery-bench.sh starts a receiver and runs this with all of it.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json.h>
#include <pganalytics/plugin.h>

#include "compress.h"
#include "config.h"
#include "delivery.h"
#include "emitter.h"
#include "log.h"
#include "payload.h"
#include "record_batch.h"
#include "spool.h"
#include "table_record.h"

#define GZIP_LEVEL 6            /* what output.c uses for the backend */
#define MIN_RECORDS 50
#define RECORD_SPREAD 851       /* payload i carries 50 + (i * 389) % 851 records */
#define MAX_RECORDS (MIN_RECORDS + RECORD_SPREAD - 1)
#define WAIT_LIMIT_S 600
#define POLL_NS 1000000L

struct body {
	unsigned char *gz;
	size_t len;
	size_t json_len;
	size_t records;
};

struct options {
	const char *work_parent;
	size_t payloads, spool_payloads, rounds;
	const char *url, *ca, *cert, *key, *secret, *registration_secret;
	long control_port;
};

static double clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }
static double wall_seconds(void) { return clock_seconds(CLOCK_MONOTONIC); }

/* User plus system time of every thread of the process. */
static double rusage_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *values, size_t n)
{
	qsort(values, n, sizeof(*values), compare_doubles);
	return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { 0, ns };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *filesystem_name(const char *path)
{
	struct statfs fs;

	if (statfs(path, &fs) < 0)
		return "unknown";
	switch ((unsigned long)fs.f_type) {
	case 0xEF53UL: return "ext4";
	case 0x01021994UL: return "tmpfs";
	case 0x58465342UL: return "xfs";
	case 0x9123683EUL: return "btrfs";
	case 0x794C7630UL: return "overlayfs";
	case 0x2FC12FC1UL: return "zfs";
	default: return "other";
	}
}

/* ---- payloads ------------------------------------------------------------------ */


/* Every record a payload may draw from, emitted once through the emitter. */
static struct record_batch *emit_records(size_t count)
{
	struct pga_host host = { .struct_size = sizeof(host) };
	struct pga_emitter *em = emitter_create("postgres");
	struct record_batch *records;

	if (!em)
		return NULL;
	emitter_install(&host);
	emitter_begin_cycle(em, 0);
	for (size_t i = 0; i < count; i++)
		emit_table_record(&host, em, (int)i);
	records = emitter_end_cycle(em, NULL);
	emitter_destroy(em);
	return records;
}

static size_t records_of_payload(size_t i)
{
	return MIN_RECORDS + (i * 389) % RECORD_SPREAD;
}

static int write_to_gzip(void *ctx, const void *data, size_t len)
{
	return gzip_writer_write(ctx, data, len);
}

/*
 * One payload as output.c makes it: the envelope around `count` records
 * (copied from `pool`), streamed into gzip.  Returns 0 or -1.
 */
static int build_body(const struct record_batch *pool, size_t first, size_t count,
		      const char *collector_id, uint64_t seq, struct body *out)
{
	struct payload_header hdr = { collector_id, "bench-host", "bench", seq, { 0, 0 } };
	size_t pool_len = record_batch_count(pool);
	struct record_batch *metrics = record_batch_new();
	struct gzip_writer *gz = gzip_writer_new(GZIP_LEVEL);
	struct payload *payload;
	int rc = -1;

	for (size_t j = 0; metrics && j < count; j++) {
		const char *json;
		size_t len;

		if (record_batch_get(pool, (first + j) % pool_len, &json, &len) != 0 ||
		    record_batch_append(metrics, json, len) != 0) {
			record_batch_free(metrics);
			metrics = NULL;
		}
	}
	clock_gettime(CLOCK_REALTIME, &hdr.created);
	payload = metrics ? payload_build(&hdr, metrics) : NULL;
	if (payload && gz && payload_write(payload, write_to_gzip, gz) == 0) {
		out->json_len = payload_text_length(payload);
		rc = gzip_writer_finish(gz, &out->gz, &out->len);
		gz = NULL;
	}
	gzip_writer_free(gz);
	out->records = count;
	payload_free(payload);
	return rc;
}

static void free_bodies(struct body *bodies, size_t n)
{
	for (size_t i = 0; bodies && i < n; i++)
		free(bodies[i].gz);
	free(bodies);
}

/* ---- spool ---------------------------------------------------------------------- */

struct spool_round {
	double put_cpu, put_wall, take_cpu, take_wall;   /* seconds, whole round */
};

/* spool_peek_oldest + spool_remove of the oldest batch; 0 or -1. */
static int take_oldest(struct spool *sp)
{
	unsigned char *got = NULL;
	uint64_t seq;
	size_t len;

	if (spool_peek_oldest(sp, &seq, &got, &len) != 0)
		return -1;
	free(got);
	return spool_remove(sp, seq);
}

/*
 * One round in a fresh spool directory.  steady: put, peek, remove one batch
 * at a time; else all puts, then all peeks and removes.
 */
static int spool_round(const char *dir, const struct body *bodies, size_t n_bodies, size_t n,
		       int steady, struct spool_round *out)
{
	/* The bounds delivery.c gives the spool by default: 256 MB, 7 days. */
	struct spool_limits limits = { 256u * 1024 * 1024, 7 * 24 * 3600 };
	char err[512];
	struct spool *sp = spool_open(dir, &limits, err, sizeof(err));
	double c0, w0;

	if (!sp) {
		fprintf(stderr, "delivery_bench: %s\n", err);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const struct body *b = &bodies[i % n_bodies];

		c0 = cpu_seconds();
		w0 = wall_seconds();
		if (spool_put(sp, i + 1, b->gz, b->len, err, sizeof(err)) < 0) {
			fprintf(stderr, "delivery_bench: spool_put: %s\n", err);
			spool_close(sp);
			return -1;
		}
		out->put_cpu += cpu_seconds() - c0;
		out->put_wall += wall_seconds() - w0;
		if (!steady)
			continue;
		c0 = cpu_seconds();
		w0 = wall_seconds();
		if (take_oldest(sp) < 0)
			goto failed;
		out->take_cpu += cpu_seconds() - c0;
		out->take_wall += wall_seconds() - w0;
	}
	if (!steady) {
		c0 = cpu_seconds();
		w0 = wall_seconds();
		for (size_t i = 0; i < n; i++)
			if (take_oldest(sp) < 0)
				goto failed;
		out->take_cpu += cpu_seconds() - c0;
		out->take_wall += wall_seconds() - w0;
	}
	spool_close(sp);
	return 0;
failed:
	fprintf(stderr, "delivery_bench: reading or removing a spooled batch failed\n");
	spool_close(sp);
	return -1;
}

static int bench_spool(const char *work, const struct body *bodies, size_t n_bodies,
		       const struct options *o)
{
	static const char *const pattern_name[2] = { "backlog", "steady" };
	double *v[4];
	size_t bytes = 0;
	int rc = -1;

	for (int k = 0; k < 4; k++)
		v[k] = calloc(o->rounds, sizeof(double));
	for (size_t i = 0; i < o->spool_payloads; i++)
		bytes += bodies[i % n_bodies].len;
	printf("spool, %zu payloads of %.1f KB gzip on average per round, %zu rounds, %s (median per payload)\n",
	       o->spool_payloads, (double)bytes / (double)o->spool_payloads / 1024, o->rounds,
	       filesystem_name(work));
	printf("  %-8s %-26s %10s %10s\n", "pattern", "step", "CPU", "wall");
	for (int steady = 1; steady >= 0; steady--) {
		const double n = (double)o->spool_payloads;

		for (size_t r = 0; r < o->rounds; r++) {
			struct spool_round sr;
			char dir[4200];

			snprintf(dir, sizeof(dir), "%s/spool-%s-%zu", work, pattern_name[steady], r);
			if (!v[0] || !v[1] || !v[2] || !v[3] ||
			    spool_round(dir, bodies, n_bodies, o->spool_payloads, steady, &sr) < 0)
				goto out;
			remove_tree(dir);
			v[0][r] = sr.put_cpu / n;
			v[1][r] = sr.put_wall / n;
			v[2][r] = sr.take_cpu / n;
			v[3][r] = sr.take_wall / n;
		}
		printf("  %-8s %-26s %7.0f us %7.0f us\n", pattern_name[steady], "spool_put",
		       median(v[0], o->rounds) * 1e6, median(v[1], o->rounds) * 1e6);
		printf("  %-8s %-26s %7.0f us %7.0f us\n", pattern_name[steady], "spool_peek_oldest + remove",
		       median(v[2], o->rounds) * 1e6, median(v[3], o->rounds) * 1e6);
		for (size_t r = 0; r < o->rounds; r++) {
			v[0][r] += v[2][r];
			v[1][r] += v[3][r];
		}
		printf("  %-8s %-26s %7.0f us %7.0f us\n", pattern_name[steady], "total",
		       median(v[0], o->rounds) * 1e6, median(v[1], o->rounds) * 1e6);
	}
	rc = 0;
out:
	for (int k = 0; k < 4; k++)
		free(v[k]);
	return rc;
}

/* ---- end to end -------------------------------------------------------------------- */

struct health {
	uint64_t pushed, push_failures, rejected, spool_batches;
	char last_error[256];
};

static uint64_t member_u64(json_object *obj, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(obj, key, &v) ? json_object_get_uint64(v) : 0;
}

static void read_health(struct delivery *d, struct health *h)
{
	json_object *record = json_object_new_object(), *dh = NULL, *v = NULL;

	memset(h, 0, sizeof(*h));
	if (!record)
		return;
	delivery_health(d, record);
	if (json_object_object_get_ex(record, "delivery", &dh)) {
		h->pushed = member_u64(dh, "pushed");
		h->push_failures = member_u64(dh, "push_failures");
		h->rejected = member_u64(dh, "rejected");
		h->spool_batches = member_u64(dh, "spool_batches");
		if (json_object_object_get_ex(dh, "last_error", &v))
			snprintf(h->last_error, sizeof(h->last_error), "%s", json_object_get_string(v));
	}
	json_object_put(record);
}

/* Wait until `count` payloads were answered 2xx and the spool is empty. */
static int wait_pushed(struct delivery *d, uint64_t count, struct health *h)
{
	double give_up = wall_seconds() + WAIT_LIMIT_S;

	for (;;) {
		read_health(d, h);
		if (h->pushed >= count && h->spool_batches == 0)
			return 0;
		if (h->rejected > 0 || wall_seconds() > give_up) {
			fprintf(stderr, "delivery_bench: %llu of %llu payloads delivered, %llu rejected; last error: %s\n",
				(unsigned long long)h->pushed, (unsigned long long)count,
				(unsigned long long)h->rejected, h->last_error);
			return -1;
		}
		sleep_ns(POLL_NS);
	}
}

struct text {
	char *data;
	size_t len;
};

static size_t collect_text(char *data, size_t size, size_t n, void *arg)
{
	struct text *t = arg;
	char *grown = realloc(t->data, t->len + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + t->len, data, size * n);
	t->data = grown;
	t->len += size * n;
	t->data[t->len] = '\0';
	return size * n;
}

/*
 * The receiver's own record (GET /accepted on its control port): every seq
 * from first to last accepted exactly once (duplicate false) for this
 * collector.  Returns 0, or -1 with the discrepancy printed.
 */
static int check_accepted(long control_port, const char *collector_id, uint64_t first,
			  uint64_t last)
{
	CURL *curl = curl_easy_init();
	struct text text = { NULL, 0 };
	json_object *list = NULL;
	unsigned char *seen = calloc(last - first + 1, 1);
	char url[64];
	size_t n, missing = 0, twice = 0;
	CURLcode cc = CURLE_FAILED_INIT;
	int rc = -1;

	snprintf(url, sizeof(url), "http://127.0.0.1:%ld/accepted", control_port);
	if (curl && seen) {
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_text);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &text);
		cc = curl_easy_perform(curl);
		list = cc == CURLE_OK && text.data ? json_tokener_parse(text.data) : NULL;
	}
	if (cc != CURLE_OK || !json_object_is_type(list, json_type_array)) {
		fprintf(stderr, "delivery_bench: GET %s failed: %s\n", url,
			cc != CURLE_OK ? curl_easy_strerror(cc) : "not a JSON array");
		goto out;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(list, i), *v = NULL;
		uint64_t seq = member_u64(a, "seq");

		if (!json_object_object_get_ex(a, "collector_id", &v) ||
		    strcmp(json_object_get_string(v), collector_id) != 0 || seq < first || seq > last ||
		    (json_object_object_get_ex(a, "duplicate", &v) && json_object_get_boolean(v)))
			continue;
		if (seen[seq - first]++)
			twice++;
	}
	for (uint64_t s = first; s <= last; s++)
		missing += !seen[s - first];
	if (missing || twice) {
		fprintf(stderr, "delivery_bench: receiver: %zu seq missing, %zu accepted twice\n",
			missing, twice);
		goto out;
	}
	rc = 0;
out:
	json_object_put(list);
	free(text.data);
	if (curl)
		curl_easy_cleanup(curl);
	free(seen);
	return rc;
}

/* Start delivery and push one payload untimed: registration, handshake. */
static struct delivery *start_delivery(const struct options *o, const char *state_dir,
				       const struct record_batch *pool, char **collector_id)
{
	struct backend_settings backend = {
		.url = (char *)o->url, .ca_file = (char *)o->ca, .client_cert = (char *)o->cert,
		.client_key = (char *)o->key, .auth = (char *)"token",
		.secret_file = (char *)o->secret,
		.registration_secret_file = (char *)o->registration_secret,
		.timeout = 30, .spool_max_mb = 256,
	};
	struct delivery_settings settings = {
		.backend = &backend, .state_dir = state_dir, .hostname = "bench-host",
		.configured_id = "", .push_interval_s = 60,
	};
	struct body warm = { 0 };
	struct health h;
	char err[512];
	struct delivery *d = delivery_start(&settings, err, sizeof(err));

	if (!d) {
		fprintf(stderr, "delivery_bench: %s\n", err);
		return NULL;
	}
	if (build_body(pool, 0, 300, NULL, 1, &warm) < 0 ||
	    delivery_submit(d, 1, warm.gz, warm.len, err, sizeof(err)) < 0 || wait_pushed(d, 1, &h) < 0 ||
	    !(*collector_id = delivery_collector_id(d))) {
		fprintf(stderr, "delivery_bench: the first payload was not delivered\n");
		free(warm.gz);
		delivery_stop(d);
		return NULL;
	}
	free(warm.gz);
	return d;
}

/*
 * What push_one() in delivery.c does to every body before sending it: gunzip
 * and parse the envelope to compare its collector_id with the registered
 * one.  Measured apart, in this thread, to show its share of the sending
 * thread's CPU.  Returns seconds of CPU per payload, or -1.
 */
static double envelope_check_cpu(const struct body *bodies, size_t n)
{
	double c0 = cpu_seconds();

	for (size_t i = 0; i < n; i++) {
		unsigned char *json = NULL;
		size_t json_len = 0;
		json_tokener *tok = json_tokener_new();
		json_object *doc;

		if (!tok || gzip_decompress(bodies[i].gz, bodies[i].len, 256u * 1024 * 1024, &json,
					    &json_len) < 0) {
			if (tok)
				json_tokener_free(tok);
			return -1;
		}
		doc = json_tokener_parse_ex(tok, (const char *)json, (int)json_len);
		json_object_put(doc);
		json_tokener_free(tok);
		free(json);
	}
	return (cpu_seconds() - c0) / (double)n;
}

/*
 * Submit every payload from this thread, then poll the delivery health until
 * all are answered.  CPU: getrusage(RUSAGE_SELF) covers every thread; this
 * thread's own CPU (CLOCK_THREAD_CPUTIME_ID) is split into the submits,
 * which the collector pays, and the polling, which it does not.
 */
static int bench_end_to_end(struct delivery *d, const struct body *bodies, size_t n,
			    const struct options *o, const char *collector_id)
{
	double r0, m0, m1, w0, w1, submit_cpu, sending_cpu, wall, check;
	size_t gz_bytes = 0, json_bytes = 0, records = 0;
	struct health before, after;
	char err[512];

	for (size_t i = 0; i < n; i++) {
		gz_bytes += bodies[i].len;
		json_bytes += bodies[i].json_len;
		records += bodies[i].records;
	}
	read_health(d, &before);
	r0 = rusage_seconds();
	m0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	w0 = wall_seconds();
	for (size_t i = 0; i < n; i++)
		if (delivery_submit(d, i + 2, bodies[i].gz, bodies[i].len, err, sizeof(err)) < 0) {
			fprintf(stderr, "delivery_bench: delivery_submit: %s\n", err);
			return -1;
		}
	m1 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	w1 = wall_seconds();
	if (wait_pushed(d, before.pushed + n, &after) < 0)
		return -1;
	wall = wall_seconds() - w0;
	/* Every other thread: the sending thread (and any libcurl helper). */
	sending_cpu = rusage_seconds() - r0 - (clock_seconds(CLOCK_THREAD_CPUTIME_ID) - m0);
	submit_cpu = m1 - m0;
	check = envelope_check_cpu(bodies, n);

	printf("end to end, %zu payloads to %s (%.0f records, %.1f KB gzip, %.0f KB JSON on average)\n",
	       n, o->url, (double)records / (double)n, (double)gz_bytes / (double)n / 1024,
	       (double)json_bytes / (double)n / 1024);
	printf("  payloads per second         %8.1f   (%.2f s wall for all)\n", (double)n / wall, wall);
	printf("  collector CPU               %8.3f ms/payload (user+sys)\n",
	       (submit_cpu + sending_cpu) * 1e3 / (double)n);
	printf("    submit (spool_put)        %8.3f ms/payload (%.2f s wall to submit all)\n",
	       submit_cpu * 1e3 / (double)n, w1 - w0);
	printf("    sending thread            %8.3f ms/payload\n", sending_cpu * 1e3 / (double)n);
	printf("  a full collector_id rewrite %8.3f ms/payload (only for batches spooled before\n"
	       "                                         registration; measured apart)\n",
	       check * 1e3);
	printf("  bytes per payload           %8.0f   (gzip body; %.1f bytes/record)\n",
	       (double)gz_bytes / (double)n, (double)gz_bytes / (double)records);
	printf("  push failures               %8llu\n",
	       (unsigned long long)(after.push_failures - before.push_failures));
	if (o->control_port > 0) {
		if (check_accepted(o->control_port, collector_id, 1, n + 1) < 0)
			return -1;
		printf("  receiver accepted every seq exactly once (%zu + 1 untimed)\n", n);
	}
	return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr,
		"usage: delivery_bench [-w DIR] [-n PAYLOADS] [-N SPOOL_PAYLOADS] [-r ROUNDS]\n"
		"                      [-u URL -a CA -c CERT -k KEY -s SECRET_FILE\n"
		"                       -g REGISTRATION_SECRET_FILE [-p CONTROL_PORT]]\n");
	return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int opt;

	while ((opt = getopt(argc, argv, "w:n:N:r:u:a:c:k:s:g:p:")) != -1) {
		switch (opt) {
		case 'w': o->work_parent = optarg; break;
		case 'n': o->payloads = strtoul(optarg, NULL, 10); break;
		case 'N': o->spool_payloads = strtoul(optarg, NULL, 10); break;
		case 'r': o->rounds = strtoul(optarg, NULL, 10); break;
		case 'u': o->url = optarg; break;
		case 'a': o->ca = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 's': o->secret = optarg; break;
		case 'g': o->registration_secret = optarg; break;
		case 'p': o->control_port = strtol(optarg, NULL, 10); break;
		default: return -1;
		}
	}
	if (optind != argc || o->payloads == 0 || o->spool_payloads == 0 || o->rounds == 0)
		return -1;
	if (o->url && (!o->ca || !o->cert || !o->key || !o->secret || !o->registration_secret))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .payloads = 1000, .spool_payloads = 200, .rounds = 11 };
	const char *tmp = getenv("TMPDIR");
	char work[4096], state_dir[4200];
	struct delivery *d = NULL;
	char *collector_id = NULL;
	struct body *bodies = NULL;
	struct record_batch *pool = NULL;
	double c0;
	int rc = 1;

	o.work_parent = tmp && tmp[0] ? tmp : "/tmp";
	if (parse_options(argc, argv, &o) < 0)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	log_open(false, LOG_LVL_WARNING);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	snprintf(work, sizeof(work), "%s/pga-delivery-bench.XXXXXX", o.work_parent);
	if (!mkdtemp(work)) {
		fprintf(stderr, "delivery_bench: mkdtemp %s: %s\n", work, strerror(errno));
		return 1;
	}
	snprintf(state_dir, sizeof(state_dir), "%s/state", work);
	if (!o.url)
		o.payloads = o.spool_payloads;   /* only the spool needs bodies */
	pool = emit_records(MAX_RECORDS);
	bodies = calloc(o.payloads, sizeof(*bodies));
	if (!pool || !bodies)
		goto out;
	if (o.url && !(d = start_delivery(&o, state_dir, pool, &collector_id)))
		goto out;

	/* Seq 2..n+1 (1 was the untimed first payload), the registered id inside. */
	c0 = cpu_seconds();
	for (size_t i = 0; i < o.payloads; i++)
		if (build_body(pool, i * 37, records_of_payload(i), collector_id ? collector_id : "bench-id",
			       i + 2, &bodies[i]) < 0)
			goto out;
	printf("building a payload (records copied from a pool, envelope streamed into gzip %d;\n"
	       "  not in the numbers below): %.2f ms CPU\n",
	       GZIP_LEVEL, (cpu_seconds() - c0) * 1e3 / (double)o.payloads);

	if (d) {
		if (bench_end_to_end(d, bodies, o.payloads, &o, collector_id) < 0)
			goto out;
		delivery_stop(d);
		d = NULL;
	}
	if (bench_spool(work, bodies, o.payloads, &o) < 0)
		goto out;
	rc = 0;
out:
	delivery_stop(d);
	free(collector_id);
	free_bodies(bodies, o.payloads);
	record_batch_free(pool);
	remove_tree(work);
	curl_global_cleanup();
	return rc;
}
