#include "client_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "error_text.h"

#define SECONDS_PER_DAY 86400


/* Like ssh: a private key others can read is refused, not used. */
static int check_key_mode(const char *key_path, char *err, size_t err_len)
{
	struct stat st;

	if (stat(key_path, &st) < 0)
		return error_set(err, err_len, "client key \"%s\": %s", key_path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return error_set(err, err_len, "client key \"%s\": not a regular file", key_path);
	if (st.st_mode & 077)
		return error_set(err, err_len,
			    "client key \"%s\" is readable by group or others (mode %04o); chmod 600 it",
			    key_path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int load_file(const char *what, const char *path, gnutls_datum_t *data,
		     char *err, size_t err_len)
{
	if (access(path, R_OK) < 0)
		return error_set(err, err_len, "%s \"%s\": %s", what, path, strerror(errno));
	if (gnutls_load_file(path, data) < 0)
		return error_set(err, err_len, "%s \"%s\": cannot be read", what, path);
	return 0;
}

static int read_certificate(const gnutls_datum_t *pem, const char *cert_path,
			    struct client_cert_info *info, char *err, size_t err_len)
{
	gnutls_x509_crt_t crt;
	size_t subject_len = sizeof(info->subject);
	int rc;

	if (gnutls_x509_crt_init(&crt) < 0)
		return error_set(err, err_len, "out of memory");
	rc = gnutls_x509_crt_import(crt, pem, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		gnutls_x509_crt_deinit(crt);
		return error_set(err, err_len, "client certificate \"%s\": not a PEM certificate: %s",
			    cert_path, gnutls_strerror(rc));
	}
	info->not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (gnutls_x509_crt_get_dn(crt, info->subject, &subject_len) < 0)
		snprintf(info->subject, sizeof(info->subject), "(unreadable subject)");
	gnutls_x509_crt_deinit(crt);
	info->days_left = ((int64_t)info->not_after - (int64_t)time(NULL)) / SECONDS_PER_DAY;
	if (info->not_after <= time(NULL))
		return error_set(err, err_len, "client certificate \"%s\" (%s) has expired", cert_path,
			    info->subject);
	return 0;
}

/* GnuTLS refuses a key that does not belong to the certificate. */
static int check_pair(const char *cert_path, const char *key_path, char *err, size_t err_len)
{
	gnutls_certificate_credentials_t cred;
	int rc;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return error_set(err, err_len, "out of memory");
	rc = gnutls_certificate_set_x509_key_file(cred, cert_path, key_path, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
		return error_set(err, err_len, "client key \"%s\" does not match the certificate \"%s\"",
			    key_path, cert_path);
	if (rc < 0)
		return error_set(err, err_len, "client certificate \"%s\" and key \"%s\": %s", cert_path,
			    key_path, gnutls_strerror(rc));
	return 0;
}

int client_cert_check(const char *cert_path, const char *key_path,
		      struct client_cert_info *info, char *err, size_t err_len)
{
	gnutls_datum_t pem = { NULL, 0 };
	int rc;

	memset(info, 0, sizeof(*info));
	if (load_file("client certificate", cert_path, &pem, err, err_len) < 0)
		return -1;
	rc = read_certificate(&pem, cert_path, info, err, err_len);
	gnutls_free(pem.data);
	if (rc < 0 || check_key_mode(key_path, err, err_len) < 0)
		return -1;
	if (access(key_path, R_OK) < 0)
		return error_set(err, err_len, "client key \"%s\": %s", key_path, strerror(errno));
	return check_pair(cert_path, key_path, err, err_len);
}
