/*
 * tls_client.c - tlsproxy(8)'s client mode beyond the handshake itself:
 * the reference name, DANE (RFC 7672) from the TLSA records remote sent,
 * and how far the peer was authenticated (Postfix's words: Anonymous,
 * Untrusted, Trusted, Verified).
 *
 * DANE matching is OpenSSL's (SSL_dane_enable, SSL_dane_tlsa_add): usages
 * DANE-TA(2) and DANE-EE(3), selectors 0 and 1, matching types 0, 1, 2;
 * DANE-EE ignores names and dates (RFC 7672 3.1.1), DANE-TA checks the
 * chain up to the matched trust anchor and the name (3.1.2).
 * Trusts: remote for the records (it had them DNSSEC-validated); nothing
 * from the peer.
 * Never: passes a record SMTP must ignore (PKIX-TA/EE); reports a DANE
 * peer verified without a match.
 */
#include "tlsproxy.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsa.h"

int
tls_dane_setup(SSL *ssl, const char *base, char *const *recs, int n, char *err,
	       size_t errlen)
{
	struct tlsa_rec *r = malloc(sizeof(*r));
	int usable = 0;

	if (r == NULL)
		return snprintf(err, errlen, "out of memory"), -1;
	if (base == NULL || base[0] == 0 || SSL_dane_enable(ssl, base) <= 0) {
		snprintf(err, errlen, "%s", tls_error("cannot enable DANE"));
		free(r);
		return -1;
	}
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (int i = 0; i < n; i++) {
		char why[128];
		if (tlsa_parse(recs[i], r, why, sizeof(why)) != 0 ||
		    !tlsa_usable(r, why, sizeof(why)))
			continue;
		if (SSL_dane_tlsa_add(ssl, (uint8_t)r->usage,
				      (uint8_t)r->selector, (uint8_t)r->mtype,
				      r->data, r->len) > 0)
			usable++;
	}
	free(r);
	if (usable == 0) {
		snprintf(err, errlen, "no usable TLSA records");
		return -1;
	}
	return usable;
}

/* chain_trusted - the peer chain verifies against our CAs, names aside */
static int
chain_trusted(SSL *ssl, X509 *leaf)
{
	X509_STORE *st = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
	X509_STORE_CTX *x = X509_STORE_CTX_new();
	int ok = 0;

	if (x != NULL &&
	    X509_STORE_CTX_init(x, st, leaf, SSL_get_peer_cert_chain(ssl)))
		ok = X509_verify_cert(x) == 1;
	X509_STORE_CTX_free(x);
	return ok;
}

const char *
tls_client_trust(SSL *ssl, int dane_on, int *dane)
{
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	long v = SSL_get_verify_result(ssl);

	*dane = 0;
	if (leaf == NULL)
		return "anonymous";
	if (v == X509_V_OK) {
		*dane =
		    dane_on && SSL_get0_dane_authority(ssl, NULL, NULL) >= 0;
		return "verified";
	}
	if (dane_on)
		return "untrusted"; /* no TLSA match: nothing else counts */
	if (v == X509_V_ERR_HOSTNAME_MISMATCH && chain_trusted(ssl, leaf))
		return "trusted";
	return "untrusted";
}

int
tls_client_setup(SSL *ssl, const char *name, const char *policy,
		 char *const *recs, int n, char *err, size_t errlen)
{
	if (name && name[0]) {
		SSL_set_tlsext_host_name(ssl, name);
		SSL_set1_host(ssl, name);
	}
	if (policy && strcmp(policy, "dane") == 0 &&
	    tls_dane_setup(ssl, name, recs, n, err, errlen) < 0)
		return -1;
	SSL_set_connect_state(ssl);
	return 0;
}
