/*
 * test_tlsa.c - DANE for remote(8) and tlsproxy(8): TLSA record text
 * (common/tlsa.c), which records SMTP may use (RFC 7672 3.1.3), the TLS
 * policy words and lookups of remote_tls_policy_map (remote/remote_tls.c,
 * with a map compiled in a temporary directory), and the
 * certificate matching of tlsproxy's client side (tlsproxy/tls_client.c)
 * in real handshakes over a memory BIO pair, with a CA and a server
 * certificate made here: DANE-EE(3) and DANE-TA(2), selectors 0 and 1,
 * matching types 0, 1 and 2, names, mismatches.
 *
 * Trusts: OpenSSL to make the certificates.
 * Never: opens a socket, or a file outside its temporary directory.
 */
#include <CUnit/CUnit.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "../../remote/remote.h"
#include "../../tlsproxy/tlsproxy.h"
#include "config.h"
#include "map.h"
#include "suites.h"
#include "tlsa.h"

static const char *const H64 =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void
test_parse(void)
{
	static char big[2 * TLSA_DATA_MAX + 16];
	static const struct {
		const char *in;
		int ok, usage, sel, mt;
		size_t len;
	} cases[] = {
	    {"3 1 1 00112233445566778899AABBCCDDEEFF00112233445566778899AABB"
	     "CCDDEEFF",
	     1, 3, 1, 1, 32},
	    {"2 0 0 30 82 01 0a", 1, 2, 0, 0, 4},
	    {"  3  0  2 ab", 1, 3, 0, 2, 1},
	    {"3 1 1", 0, 0, 0, 0, 0},
	    {"3 1 1 ", 0, 0, 0, 0, 0},
	    {"3 1 1 abc", 0, 0, 0, 0, 0},
	    {"3 1 1 zz", 0, 0, 0, 0, 0},
	    {"256 1 1 00", 0, 0, 0, 0, 0},
	    {"-1 1 1 00", 0, 0, 0, 0, 0},
	    {"3 x 1 00", 0, 0, 0, 0, 0},
	    {"3 1 100", 0, 0, 0, 0, 0},
	    {"", 0, 0, 0, 0, 0},
	};
	struct tlsa_rec r;
	char err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tlsa_parse(cases[i].in, &r, err, sizeof(err));
		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (rc != 0 || !cases[i].ok) {
			CU_ASSERT(rc != 0 || err[0] != 0);
			continue;
		}
		CU_ASSERT_EQUAL(r.usage, cases[i].usage);
		CU_ASSERT_EQUAL(r.selector, cases[i].sel);
		CU_ASSERT_EQUAL(r.mtype, cases[i].mt);
		CU_ASSERT_EQUAL(r.len, cases[i].len);
	}
	CU_ASSERT_EQUAL(tlsa_parse("3 1 1 0A0b", &r, err, sizeof(err)), 0);
	CU_ASSERT(r.data[0] == 0x0a && r.data[1] == 0x0b);
	/* the data is bounded */
	snprintf(big, sizeof(big), "3 0 0 ");
	memset(big + 6, 'a', 2 * TLSA_DATA_MAX + 2);
	CU_ASSERT_EQUAL(tlsa_parse(big, &r, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer"));
}

static void
test_usable(void)
{
	static const struct {
		const char *head; /* then H64 times n, then tail */
		int n;
		const char *tail;
		int usable;
	} cases[] = {
	    {"3 1 1", 1, "", 1}, {"2 0 1", 1, "", 1},	{"3 0 0", 1, "", 1},
	    {"2 1 0", 1, "", 1}, {"0 0 1", 1, "", 0},	{"1 1 1", 1, "", 0},
	    {"4 1 1", 1, "", 0}, {"3 2 1", 1, "", 0},	{"3 1 3", 1, "", 0},
	    {"3 1 2", 1, "", 0}, /* SHA2-512 needs 64 bytes */
	    {"3 1 2", 2, "", 1}, {"3 1 1", 1, "00", 0},
	};
	struct tlsa_rec r;
	char text[512], err[128];
	char *texts[2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s %s%s%s", cases[i].head, H64,
			 cases[i].n > 1 ? H64 : "", cases[i].tail);
		CU_ASSERT_EQUAL_FATAL(tlsa_parse(text, &r, err, sizeof(err)),
				      0);
		CU_ASSERT_EQUAL(tlsa_usable(&r, err, sizeof(err)),
				cases[i].usable);
		CU_ASSERT_EQUAL(err[0] != 0, !cases[i].usable);
	}
	char a[128], b[128];
	snprintf(a, sizeof(a), "1 1 1 %s", H64);
	snprintf(b, sizeof(b), "3 1 1 %s", H64);
	texts[0] = a;
	texts[1] = b;
	CU_ASSERT_EQUAL(tlsa_count_usable(texts, 2), 1);
	CU_ASSERT_EQUAL(tlsa_count_usable(texts, 1), 0);
}

static void
test_policy_words(void)
{
	static const struct {
		const char *in;
		int level; /* -1: refused */
	} cases[] = {
	    {"none", TLS_NONE},
	    {"may", TLS_MAY},
	    {"encrypt", TLS_ENCRYPT},
	    {"verify", TLS_VERIFY},
	    {"dane", TLS_DANE},
	    {" VERIFY ", TLS_VERIFY},
	    {"secure", -1},
	    {"may encrypt", -1},
	    {"", -1},
	    {"dane-only", -1},
	    {"verify match=x", -1},
	};
	char err[160];
	int level;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc =
		    tls_policy_parse(cases[i].in, &level, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, cases[i].level < 0 ? -1 : 0);
		if (rc == 0) {
			CU_ASSERT_EQUAL(level, cases[i].level);
		} else {
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad TLS policy"));
		}
	}
	CU_ASSERT_STRING_EQUAL(tls_level_name(TLS_DANE), "dane");
	CU_ASSERT_EQUAL(tls_level_parse("Encrypt"), TLS_ENCRYPT);
	CU_ASSERT_EQUAL(tls_level_parse(NULL), -1);
}

/* tls_policy_for through a map compiled as mtactl makemap does */
static void
test_policy_map(void)
{
	static const struct {
		const char *nexthop;
		int rc, level;
	} cases[] = {
	    {"bank.test", 0, TLS_VERIFY},
	    {"BANK.test.", 0, TLS_VERIFY},
	    {"[bank.test]:587", 0, TLS_VERIFY},
	    {"bank.test:25", 0, TLS_VERIFY},
	    {"a.b.sub.test", 0, TLS_ENCRYPT}, /* ".sub.test" */
	    {"sub.test", 0, TLS_NONE},	      /* its own entry */
	    {"x.near.sub.test", 0, TLS_DANE}, /* nearest parent first */
	    {"other.test", 0, TLS_MAY},	      /* the default */
	    {"weird.test", -1, 0},	      /* "bad TLS policy" */
	};
	char dir[256], src[300], db[300], err[256];
	struct result r;
	FILE *fp;
	int level;

	CU_ASSERT_EQUAL_FATAL(unit_tmpdir(dir, sizeof(dir), "tlspolicy"), 0);
	unit_path(src, sizeof(src), dir, "tls_policy");
	unit_path(db, sizeof(db), dir, "tls_policy.lmdb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp = fopen(src, "w"));
	fputs("bank.test verify\n.sub.test encrypt\nsub.test none\n"
	      ".near.sub.test dane\nweird.test secure match=nexthop\n",
	      fp);
	CU_ASSERT_EQUAL_FATAL(fclose(fp), 0);
	CU_ASSERT_EQUAL_FATAL(
	    map_compile(src, db, MAP_SYNTAX_PLAIN, err, sizeof(err)), 5);
	config_defaults();
	CU_ASSERT_EQUAL_FATAL(
	    config_set("remote_tls_policy_map", db, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tls_policy_for(cases[i].nexthop, &level, &r);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0 && cases[i].rc == 0) {
			CU_ASSERT_EQUAL(level, cases[i].level);
		} else if (rc != 0) {
			CU_ASSERT_STRING_EQUAL(r.dsn, "4.3.5");
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(r.text, "bad TLS policy"));
		}
	}
	/* a map that cannot be read never means "no policy" */
	CU_ASSERT_EQUAL_FATAL(
	    config_set("remote_tls_policy_map", src, err, sizeof(err)),
	    0); /* not LMDB */
	CU_ASSERT_EQUAL(tls_policy_for("bank.test", &level, &r), -1);
	CU_ASSERT_EQUAL(r.code, 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.text, "TLS policy lookup error"));
	config_defaults();
	CU_ASSERT_EQUAL(tls_policy_for("bank.test", &level, &r), 0);
	CU_ASSERT_EQUAL(level, TLS_MAY);
	unit_rm_rf(dir);
}

/* -- certificates and handshakes in memory ----------------------------- */
static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca_cert, *leaf_cert;

static X509 *
make_cert(EVP_PKEY *k, const char *cn, X509 *issuer, EVP_PKEY *ikey)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509V3_CTX v;
	X509_EXTENSION *e;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(
	    NULL, &v, issuer ? NID_subject_alt_name : NID_basic_constraints,
	    issuer ? "DNS:mx.dane.test" : "critical,CA:TRUE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, ikey ? ikey : k, EVP_sha256());
	return x;
}

static int
init_certs(void)
{
	ca_key = EVP_EC_gen("P-256");
	leaf_key = EVP_EC_gen("P-256");
	if (ca_key == NULL || leaf_key == NULL)
		return 1;
	ca_cert = make_cert(ca_key, "Unit Test CA", NULL, NULL);
	leaf_cert = make_cert(leaf_key, "mx.dane.test", ca_cert, ca_key);
	return ca_cert == NULL || leaf_cert == NULL;
}

static int
free_certs(void)
{
	X509_free(ca_cert);
	X509_free(leaf_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}

/* record - "U S M HEX" for cert with the selector and matching type */
static void
record(char *out, size_t len, int usage, int sel, int mt, X509 *cert)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = sel == 0 ? i2d_X509(cert, &der)
			 : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	const unsigned char *p = der;
	size_t plen = (size_t)n, o;

	if (mt != 0) {
		EVP_Digest(der, (size_t)n, md, &mdlen,
			   mt == 1 ? EVP_sha256() : EVP_sha512(), NULL);
		p = md;
		plen = mdlen;
	}
	o = (size_t)snprintf(out, len, "%d %d %d ", usage, sel, mt);
	for (size_t i = 0; i < plen && o + 3 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%02x", p[i]);
	OPENSSL_free(der);
}

/* dane_handshake - a client with the records against a server with
 * leaf_cert (and ca_cert in its chain): the client's trust word, or
 * "setup" when tls_client_setup refused the records */
static const char *
dane_handshake(const char *base, char *const *recs, int n, long *verify,
	       int *dane)
{
	SSL_CTX *sc = SSL_CTX_new(TLS_server_method());
	SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
	SSL *s = NULL, *c = NULL;
	BIO *bc = NULL, *bs = NULL;
	const char *trust = "setup";
	char err[256];

	*dane = 0;
	*verify = -1;
	if (!sc || !cc || SSL_CTX_use_certificate(sc, leaf_cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sc, leaf_key) != 1 ||
	    SSL_CTX_add1_chain_cert(sc, ca_cert) != 1 ||
	    SSL_CTX_dane_enable(cc) <= 0) {
		trust = "ctx";
		goto out;
	}
	SSL_CTX_set_verify(cc, SSL_VERIFY_NONE, NULL);
	s = SSL_new(sc);
	c = SSL_new(cc);
	if (tls_client_setup(c, base, "dane", recs, n, err, sizeof(err)) != 0)
		goto out;
	BIO_new_bio_pair(&bc, 0, &bs, 0);
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_accept_state(s);
	for (int i = 0, a = 0, b = 0; i < 50 && !(a == 1 && b == 1); i++) {
		a = SSL_do_handshake(c);
		b = SSL_do_handshake(s);
	}
	*verify = SSL_get_verify_result(c);
	trust = tls_client_trust(c, 1, dane);
out:
	SSL_free(s);
	SSL_free(c);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
	return trust;
}

static void
test_dane_match(void)
{
	static const struct {
		int usage, sel, mt;
		int ca;		  /* record of the CA, else of the leaf */
		const char *base; /* the MX host name */
		int match;
	} cases[] = {
	    {3, 1, 1, 0, "mx.dane.test", 1},
	    {3, 0, 0, 0, "mx.dane.test", 1},
	    {3, 0, 2, 0, "mx.dane.test", 1},
	    {3, 1, 2, 0, "mx.dane.test", 1},
	    /* DANE-EE: the name does not matter (RFC 7672 3.1.1) */
	    {3, 1, 1, 0, "other.name", 1},
	    {2, 0, 1, 1, "mx.dane.test", 1},
	    {2, 1, 1, 1, "mx.dane.test", 1},
	    {2, 0, 0, 1, "mx.dane.test", 1},
	    /* DANE-TA: the name must match (3.1.2) */
	    {2, 0, 1, 1, "other.name", 0},
	    /* the leaf is no trust anchor for itself under DANE-TA... */
	    /* ...and the CA is not the end entity under DANE-EE */
	    {3, 1, 1, 1, "mx.dane.test", 0},
	};
	char rec[8400], *recs[1] = {rec};
	long v;
	int dane;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		record(rec, sizeof(rec), cases[i].usage, cases[i].sel,
		       cases[i].mt, cases[i].ca ? ca_cert : leaf_cert);
		const char *t =
		    dane_handshake(cases[i].base, recs, 1, &v, &dane);
		CU_ASSERT_STRING_EQUAL(t, cases[i].match ? "verified"
							 : "untrusted");
		CU_ASSERT_EQUAL(dane, cases[i].match);
		CU_ASSERT_EQUAL(v == X509_V_OK, cases[i].match);
		if (strcmp(t, cases[i].match ? "verified" : "untrusted"))
			fprintf(stderr, "case %zu: %s (verify %ld)\n", i, t, v);
	}
}

static void
test_dane_mismatch_and_unusable(void)
{
	char good[256], bad[256], pkix[256], *recs[2];
	long v;
	int dane;

	snprintf(bad, sizeof(bad), "3 1 1 %s", H64);
	recs[0] = bad;
	CU_ASSERT_STRING_EQUAL(
	    dane_handshake("mx.dane.test", recs, 1, &v, &dane), "untrusted");
	CU_ASSERT_EQUAL(v, X509_V_ERR_DANE_NO_MATCH);
	CU_ASSERT_EQUAL(dane, 0);
	/* one of several records matching is enough */
	record(good, sizeof(good), 3, 1, 1, leaf_cert);
	recs[1] = good;
	CU_ASSERT_STRING_EQUAL(
	    dane_handshake("mx.dane.test", recs, 2, &v, &dane), "verified");
	/* PKIX-EE(1) is not for SMTP: nothing usable, no handshake */
	record(pkix, sizeof(pkix), 1, 1, 1, leaf_cert);
	recs[0] = pkix;
	CU_ASSERT_STRING_EQUAL(
	    dane_handshake("mx.dane.test", recs, 1, &v, &dane), "setup");
}

CU_ErrorCode
suite_tlsa(void)
{
	CU_pSuite s = CU_add_suite("tlsa", init_certs, free_certs);

	if (s == NULL || !CU_add_test(s, "parse", test_parse) ||
	    !CU_add_test(s, "usable", test_usable) ||
	    !CU_add_test(s, "policy words", test_policy_words) ||
	    !CU_add_test(s, "policy map", test_policy_map) ||
	    !CU_add_test(s, "DANE match", test_dane_match) ||
	    !CU_add_test(s, "DANE mismatch, unusable",
			 test_dane_mismatch_and_unusable))
		return CU_get_error();
	return CUE_SUCCESS;
}
