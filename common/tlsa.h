/*
 * tlsa.h - DANE TLSA records (RFC 6698, RFC 7671) as resolver(8) gives
 * them ("USAGE SELECTOR MTYPE HEX") and which of them SMTP may use
 * (RFC 7672 3.1: DANE-TA(2) and DANE-EE(3) only).
 *
 * Used by remote (is there a usable record?) and tlsproxy (the records
 * it hands to OpenSSL).  No OpenSSL here: the matching itself is done by
 * the TLS library in tlsproxy (tlsproxy/tls_dane.c).
 */
#ifndef MTA_TLSA_H
#define MTA_TLSA_H

#include <stddef.h>

#define TLSA_DATA_MAX 4096  /* bytes of association data (a whole cert) */
#define TLSA_MAX_RECORDS 32 /* records per TLSA RRset we consider */

enum { TLSA_PKIX_TA = 0, TLSA_PKIX_EE = 1, TLSA_DANE_TA = 2, TLSA_DANE_EE = 3 };
enum { TLSA_SEL_CERT = 0, TLSA_SEL_SPKI = 1 };
enum { TLSA_MT_FULL = 0, TLSA_MT_SHA256 = 1, TLSA_MT_SHA512 = 2 };

struct tlsa_rec {
	int usage, selector, mtype;
	size_t len;
	unsigned char data[TLSA_DATA_MAX];
};

/*
 * tlsa_parse - "3 1 1 0A1B..." into r (hex case-insensitive, white space
 * inside the data allowed, as presentation format may split it).
 * 0, or -1 with the reason in err.
 */
int tlsa_parse(const char *text, struct tlsa_rec *r, char *err, size_t errlen);
/*
 * tlsa_usable - 1 when SMTP may use the record (RFC 7672 3.1.3): usage
 * DANE-TA or DANE-EE, selector 0 or 1, matching type 0, 1 or 2 with a
 * digest of the right length; else 0 and why in err (may be NULL).
 */
int tlsa_usable(const struct tlsa_rec *r, char *err, size_t errlen);
/* tlsa_count_usable - how many of the n record texts are usable */
int tlsa_count_usable(char *const *texts, int n);

#endif
