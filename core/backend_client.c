#include "backend_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>

/* Bodies from the backend are small JSON documents or config overlays. */
#define MAX_RESPONSE_BYTES (4 * 1024 * 1024)

struct backend_client {
	CURL *curl;
	char *base_url;
	char *ca_file;
	char *client_cert;
	char *client_key;
	char curl_error[CURL_ERROR_SIZE];
	int (*should_abort)(void *arg);
	void *abort_arg;
};

int backend_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static size_t collect_body(char *data, size_t size, size_t count, void *userdata)
{
	struct backend_response *resp = userdata;
	size_t len = size * count;
	char *grown;

	if (resp->body_len + len > MAX_RESPONSE_BYTES)
		return 0;
	grown = realloc(resp->body, resp->body_len + len + 1);
	if (!grown)
		return 0;
	memcpy(grown + resp->body_len, data, len);
	resp->body = grown;
	resp->body_len += len;
	resp->body[resp->body_len] = '\0';
	return len;
}

static size_t collect_header(char *data, size_t size, size_t count, void *userdata)
{
	static const char name[] = "X-Config-Version:";
	struct backend_response *resp = userdata;
	size_t len = size * count;

	if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *value = data + sizeof(name) - 1;
		size_t value_len = len - (sizeof(name) - 1);

		while (value_len && (*value == ' ' || *value == '\t')) {
			value++;
			value_len--;
		}
		while (value_len && (value[value_len - 1] == '\r' || value[value_len - 1] == '\n'))
			value_len--;
		free(resp->config_version);
		resp->config_version = strndup(value, value_len);
	}
	return len;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

struct backend_client *backend_client_new(const char *base_url, const struct backend_tls *tls,
					  char *err, size_t err_len)
{
	struct backend_client *c;

	if (!base_url || strncasecmp(base_url, "https://", 8) != 0) {
		snprintf(err, err_len, "backend url \"%s\" is not https://; the collector only talks TLS to the backend",
			 base_url ? base_url : "");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->curl = curl_easy_init())) {
		free(c);
		snprintf(err, err_len, "cannot initialise libcurl");
		return NULL;
	}
	c->base_url = strdup(base_url);
	c->ca_file = dup_or_empty(tls->ca_file);
	c->client_cert = dup_or_empty(tls->client_cert);
	c->client_key = dup_or_empty(tls->client_key);
	if (!c->base_url || !c->ca_file || !c->client_cert || !c->client_key) {
		backend_client_free(c);
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	/* Trailing slashes would double up with the API paths. */
	for (size_t len = strlen(c->base_url); len > 8 && c->base_url[len - 1] == '/'; len--)
		c->base_url[len - 1] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_error);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	/*
	 * ca_file pins the backend's CA: without clearing CAPATH, libcurl
	 * would also trust every CA in the system directory.
	 */
	if (c->ca_file[0]) {
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
		curl_easy_setopt(c->curl, CURLOPT_CAPATH, NULL);
	}
	/* A proxy from the environment would be a TLS hop nobody configured. */
	curl_easy_setopt(c->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->client_cert);
	curl_easy_setopt(c->curl, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->client_key);
	curl_easy_setopt(c->curl, CURLOPT_SSLKEYTYPE, "PEM");
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, tls->timeout_s > 0 ? tls->timeout_s : 30L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT,
			 tls->connect_timeout_s > 0 ? tls->connect_timeout_s : 10L);
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "pganalytics-collector/" PGA_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, collect_header);
	return c;
}

static struct curl_slist *header_list(const char *const *headers, size_t n)
{
	struct curl_slist *list = NULL;

	for (size_t i = 0; i < n; i++) {
		struct curl_slist *grown = curl_slist_append(list, headers[i]);

		if (!grown) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = grown;
	}
	/* libcurl would otherwise wait for a 100 Continue on large bodies. */
	return curl_slist_append(list, "Expect:");
}

/*
 * libcurl says only "server certificate verification failed"; GnuTLS's
 * verification status says why (unknown issuer, expired, ...).
 */
static void describe_failure(struct backend_client *client, CURLcode rc, char *out, size_t size)
{
	gnutls_datum_t why = { NULL, 0 };
	long status = 0;

	if (rc == CURLE_PEER_FAILED_VERIFICATION &&
	    curl_easy_getinfo(client->curl, CURLINFO_SSL_VERIFYRESULT, &status) == CURLE_OK &&
	    status != 0 &&
	    gnutls_certificate_verification_status_print((unsigned)status, GNUTLS_CRT_X509, &why,
							 0) == 0) {
		size_t len = strlen((const char *)why.data);

		while (len && why.data[len - 1] == ' ')
			why.data[--len] = '\0';
		snprintf(out, size, "the server's certificate was refused: %.200s", why.data);
		gnutls_free(why.data);
		return;
	}
	snprintf(out, size, "%.60s%s%.150s%s", curl_easy_strerror(rc), client->curl_error[0] ? ": " : "",
		 client->curl_error,
		 strstr(client->curl_error, "protocol version") ? "; the backend must offer TLS 1.3" : "");
}

int backend_request(struct backend_client *client, const char *method, const char *path,
		    const char *const *headers, size_t n_headers, const void *body,
		    size_t body_len, struct backend_response *resp)
{
	struct curl_slist *list = header_list(headers, n_headers);
	char *url = NULL;
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	if (!list || asprintf(&url, "%s%s", client->base_url, path) < 0) {
		curl_slist_free_all(list);
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		return -1;
	}
	client->curl_error[0] = '\0';
	curl_easy_setopt(client->curl, CURLOPT_URL, url);
	curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(client->curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(client->curl, CURLOPT_HEADERDATA, resp);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(client->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(client->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(client->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else {
		curl_easy_setopt(client->curl, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(client->curl);
	curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(list);
	free(url);
	if (rc != CURLE_OK) {
		char error[sizeof(resp->error)];

		/* A partial answer is of no use, and may hold a token. */
		describe_failure(client, rc, error, sizeof(error));
		backend_response_clear(resp);
		memcpy(resp->error, error, sizeof(error));
		return -1;
	}
	curl_easy_getinfo(client->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	return 0;
}

static int transfer_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
			     curl_off_t ultotal, curl_off_t ulnow)
{
	struct backend_client *client = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return client->should_abort && client->should_abort(client->abort_arg);
}

void backend_client_set_abort(struct backend_client *client, int (*should_abort)(void *arg),
			      void *arg)
{
	client->should_abort = should_abort;
	client->abort_arg = arg;
	curl_easy_setopt(client->curl, CURLOPT_XFERINFOFUNCTION, transfer_progress);
	curl_easy_setopt(client->curl, CURLOPT_XFERINFODATA, client);
	curl_easy_setopt(client->curl, CURLOPT_NOPROGRESS, 0L);
}

void backend_response_clear(struct backend_response *resp)
{
	/* Answers carry tokens and issued private keys. */
	if (resp->body)
		explicit_bzero(resp->body, resp->body_len);
	free(resp->body);
	free(resp->config_version);
	memset(resp, 0, sizeof(*resp));
}

void backend_client_free(struct backend_client *client)
{
	if (!client)
		return;
	if (client->curl)
		curl_easy_cleanup(client->curl);
	free(client->base_url);
	free(client->ca_file);
	free(client->client_cert);
	free(client->client_key);
	free(client);
}
