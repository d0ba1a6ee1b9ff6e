/*
 * test_resolver.c - unit tests for resolver(8): the answer cache with a
 * clock the test moves (resolver/dns_cache.c) and what a reply packet
 * means (resolver/dns_lookup.c, packets built with ldns).
 *
 * Trusts: ldns to build packets.  Never: sends a DNS query.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "../../resolver/resolver.h"
#include "suites.h"

static void
answer(struct dns_answer *a, enum dns_status st, long ttl, const char *rr)
{
	memset(a, 0, sizeof(*a));
	a->status = st;
	a->ttl = ttl;
	if (rr) {
		a->rr[0] = (char *)rr;
		a->n = 1;
	}
}

static void
test_cache_ttl(void)
{
	struct dns_cache *c = dns_cache_new(10);
	struct dns_answer a, got;
	long h, m, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	answer(&a, DNS_OK, 300, "10 mx.example");
	dns_cache_put(c, "MX example", 1000, &a);
	CU_ASSERT_EQUAL(dns_cache_get(c, "MX example", 1000, &got), 1);
	CU_ASSERT_STRING_EQUAL(got.rr[0], "10 mx.example");
	CU_ASSERT_EQUAL(got.ttl, 300);
	dns_answer_free(&got);
	/* the TTL counts down, and the answer is gone when it is spent */
	CU_ASSERT_EQUAL(dns_cache_get(c, "MX example", 1299, &got), 1);
	CU_ASSERT_EQUAL(got.ttl, 1);
	dns_answer_free(&got);
	CU_ASSERT_EQUAL(dns_cache_get(c, "MX example", 1300, &got), 0);
	/* negative answers are kept; temporary failures are not */
	answer(&a, DNS_NXDOMAIN, 60, NULL);
	dns_cache_put(c, "A nowhere", 1000, &a);
	answer(&a, DNS_TEMPFAIL, 60, NULL);
	dns_cache_put(c, "A broken", 1000, &a);
	CU_ASSERT_EQUAL(dns_cache_get(c, "A nowhere", 1059, &got), 1);
	CU_ASSERT_EQUAL(got.status, DNS_NXDOMAIN);
	CU_ASSERT_EQUAL(dns_cache_get(c, "A broken", 1000, &got), 0);
	dns_cache_stats(c, &h, &m, &n);
	CU_ASSERT_EQUAL(h, 3);
	CU_ASSERT_EQUAL(m, 2);
	CU_ASSERT_EQUAL(n, 1);
	dns_cache_free(c);
}

static void
test_cache_bound(void)
{
	struct dns_cache *c = dns_cache_new(3);
	struct dns_answer a, got;
	char key[32];
	long h, m, n;

	answer(&a, DNS_OK, 100, "1.2.3.4");
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "A h%d", i);
		dns_cache_put(c, key, 0, &a);
	}
	/* h0 used recently: h1 is the one to go */
	CU_ASSERT_EQUAL(dns_cache_get(c, "A h0", 1, &got), 1);
	dns_answer_free(&got);
	dns_cache_put(c, "A h3", 1, &a);
	dns_cache_stats(c, &h, &m, &n);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(dns_cache_get(c, "A h1", 2, &got), 0);
	CU_ASSERT_EQUAL(dns_cache_get(c, "A h0", 2, &got), 1);
	dns_answer_free(&got);
	CU_ASSERT_EQUAL(dns_cache_get(c, "A h3", 2, &got), 1);
	dns_answer_free(&got);
	dns_cache_free(c);
}

/* pkt - a reply with rcode and the given records ("" ends a list) */
static ldns_pkt *
pkt(ldns_pkt_rcode rc, int ad, const char *const *ans, const char *const *auth)
{
	ldns_pkt *p = ldns_pkt_new();

	ldns_pkt_set_rcode(p, (uint8_t)rc);
	ldns_pkt_set_ad(p, ad);
	for (int i = 0; ans && ans[i]; i++) {
		ldns_rr *rr = NULL;
		CU_ASSERT_EQUAL(ldns_rr_new_frm_str(&rr, ans[i], 0, NULL, NULL),
				LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	for (int i = 0; auth && auth[i]; i++) {
		ldns_rr *rr = NULL;
		CU_ASSERT_EQUAL(
		    ldns_rr_new_frm_str(&rr, auth[i], 0, NULL, NULL),
		    LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	return p;
}

static void
test_answers(void)
{
	const char *mx[] = {"Example.com. 300 IN MX 10 MX1.Example.com.",
			    "example.com. 100 IN MX 0 .",
			    "x.example.com. 50 IN CNAME y.example.com.", NULL};
	const char *soa[] = {"example.com. 900 IN SOA ns. host. 1 2 3 4 120",
			     NULL};
	const char *txt[] = {"t.example. 60 IN TXT \"v=spf1 \" \"-all\"", NULL};
	const char *tlsa[] = {"_25._tcp.mx.example. 60 IN TLSA 3 1 1 "
			      "0102ab",
			      NULL};
	struct dns_answer a;
	ldns_pkt *p;

	p = pkt(LDNS_RCODE_NOERROR, 1, mx, NULL);
	dns_answer_from_pkt(p, LDNS_RR_TYPE_MX, &a);
	CU_ASSERT_EQUAL(a.status, DNS_OK);
	CU_ASSERT_EQUAL(a.ad, 1);
	CU_ASSERT_EQUAL(a.n, 2);
	CU_ASSERT_EQUAL(a.ttl, 100);
	CU_ASSERT_STRING_EQUAL(a.rr[0], "10 mx1.example.com");
	CU_ASSERT_STRING_EQUAL(a.rr[1], "0 .");
	dns_answer_free(&a);
	ldns_pkt_free(p);

	p = pkt(LDNS_RCODE_NXDOMAIN, 0, NULL, soa);
	dns_answer_from_pkt(p, LDNS_RR_TYPE_A, &a);
	CU_ASSERT_EQUAL(a.status, DNS_NXDOMAIN);
	CU_ASSERT_EQUAL(a.ttl, 120); /* SOA minimum below the SOA TTL */
	ldns_pkt_free(p);

	p = pkt(LDNS_RCODE_NOERROR, 0, NULL, NULL);
	dns_answer_from_pkt(p, LDNS_RR_TYPE_AAAA, &a);
	CU_ASSERT_EQUAL(a.status, DNS_NODATA);
	CU_ASSERT_EQUAL(a.ttl, DNS_NEG_TTL_DEFAULT);
	ldns_pkt_free(p);

	p = pkt(LDNS_RCODE_SERVFAIL, 0, NULL, NULL);
	dns_answer_from_pkt(p, LDNS_RR_TYPE_MX, &a);
	CU_ASSERT_EQUAL(a.status, DNS_TEMPFAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "SERVFAIL"));
	ldns_pkt_free(p);

	p = pkt(LDNS_RCODE_NOERROR, 0, txt, NULL);
	dns_answer_from_pkt(p, LDNS_RR_TYPE_TXT, &a);
	CU_ASSERT_EQUAL_FATAL(a.n, 1);
	CU_ASSERT_STRING_EQUAL(a.rr[0], "v=spf1 -all");
	dns_answer_free(&a);
	ldns_pkt_free(p);

	p = pkt(LDNS_RCODE_NOERROR, 0, tlsa, NULL);
	dns_answer_from_pkt(p, LDNS_RR_TYPE_TLSA, &a);
	CU_ASSERT_EQUAL_FATAL(a.n, 1);
	CU_ASSERT_STRING_EQUAL(a.rr[0], "3 1 1 0102ab");
	dns_answer_free(&a);
	ldns_pkt_free(p);
}

static void
test_types(void)
{
	CU_ASSERT_EQUAL(dns_type_parse("mx"), LDNS_RR_TYPE_MX);
	CU_ASSERT_EQUAL(dns_type_parse("TLSA"), LDNS_RR_TYPE_TLSA);
	CU_ASSERT_EQUAL(dns_type_parse("ANY"), 0);
	CU_ASSERT_EQUAL(dns_type_parse(NULL), 0);
}

CU_ErrorCode
suite_resolver(void)
{
	CU_pSuite s = CU_add_suite("resolver", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "cache TTLs", test_cache_ttl) ||
	    !CU_add_test(s, "cache bound (LRU)", test_cache_bound) ||
	    !CU_add_test(s, "reply packets", test_answers) ||
	    !CU_add_test(s, "query types", test_types))
		return CU_get_error();
	return CUE_SUCCESS;
}
