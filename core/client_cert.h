/*
 * client_cert.h - check the mutual-TLS client certificate and key before
 * they are used: both readable, the key private to its owner and matching
 * the certificate, and how long the certificate has left.
 */
#ifndef PGA_CORE_CLIENT_CERT_H
#define PGA_CORE_CLIENT_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Certificates expiring sooner than this are warned about at start-up. */
#define CLIENT_CERT_WARN_DAYS 14

struct client_cert_info {
	time_t not_after;
	int64_t days_left;      /* whole days until not_after; negative once expired */
	char subject[256];      /* the certificate's distinguished name */
};

/*
 * client_cert_check - load cert_path and key_path (PEM) with GnuTLS and
 * check them.  Refused, with a message in err naming the file: a missing
 * or unreadable file, a key readable by group or others, a certificate or
 * key that does not parse, a key that does not match the certificate, an
 * expired certificate.  On success fills *info and returns 0; else -1.
 */
int client_cert_check(const char *cert_path, const char *key_path,
		      struct client_cert_info *info, char *err, size_t err_len);

#endif
