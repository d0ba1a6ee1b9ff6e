/*
 * dns_lookup.c - resolver(8)'s queries through ldns and what their
 * answers mean.
 *
 * Each query asks for the AD bit (RFC 6840 5.7) so that a validating
 * nameserver says whether the data is DNSSEC-secure.  The bit is passed
 * on only when resolver_dnssec_trust_ad says the path to the nameserver
 * is trusted (a validating resolver on this host): anyone on the path
 * could set it, and DANE rests on it (RFC 7672 2.1).  ldns retries per
 * resolver_retries and resolver_timeout and falls back to TCP when an
 * answer comes truncated.  NXDOMAIN and "no data" are answers (negative
 * TTL from the SOA, RFC 2308 section 5); SERVFAIL, REFUSED, timeouts and
 * network errors are temporary failures.
 * Trusts: nothing in a reply beyond ldns's parsing; only records of the
 * asked type in the answer section are used.
 * Never: searches domain lists (names are absolute); follows a
 * nameserver's referral.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "resolver.h"

static const struct {
	const char *name;
	ldns_rr_type t;
} types[] = {
    {"MX", LDNS_RR_TYPE_MX},	 {"A", LDNS_RR_TYPE_A},
    {"AAAA", LDNS_RR_TYPE_AAAA}, {"PTR", LDNS_RR_TYPE_PTR},
    {"TXT", LDNS_RR_TYPE_TXT},	 {"TLSA", LDNS_RR_TYPE_TLSA},
};

ldns_rr_type
dns_type_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].t;
	return 0;
}

/* add_server - "1.2.3.4", "1.2.3.4:53", "[::1]:53" or "::1". */
static int
add_server(ldns_resolver *res, const char *item, char *err, size_t errlen)
{
	char host[LIM_DOMAIN];
	const char *colon = strrchr(item, ':');
	long port = 53;

	snprintf(host, sizeof(host), "%s", item);
	if (item[0] == '[') {
		char *close = strchr(host, ']');
		if (close == NULL)
			return snprintf(err, errlen,
					"resolver_nameservers: "
					"bad address \"%s\"",
					item),
			       -1;
		*close = 0;
		memmove(host, host + 1, strlen(host));
		colon =
		    strchr(item, ']')[1] == ':' ? strchr(item, ']') + 1 : NULL;
	} else if (colon != NULL && strchr(item, ':') == colon) {
		host[colon - item] = 0;
	} else {
		colon = NULL; /* bare IPv6 address */
	}
	if (colon != NULL) {
		char *end;
		port = strtol(colon + 1, &end, 10);
		if (*end != 0 || port < 1 || port > 65535)
			return snprintf(err, errlen,
					"resolver_nameservers: "
					"bad port in \"%s\"",
					item),
			       -1;
	}
	ldns_rdf *a = ldns_rdf_new_frm_str(
	    strchr(host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host);
	if (a == NULL)
		return snprintf(err, errlen,
				"resolver_nameservers: bad "
				"address \"%s\"",
				item),
		       -1;
	ldns_status st = ldns_resolver_push_nameserver(res, a);
	ldns_rdf_deep_free(a);
	if (st != LDNS_STATUS_OK)
		return snprintf(err, errlen, "%s", ldns_get_errorstr_by_id(st)),
		       -1;
	/* ldns has one port per resolver: the last one given wins */
	ldns_resolver_set_port(res, (uint16_t)port);
	return 0;
}

static ldns_resolver *
from_list(const char *servers, char *err, size_t errlen)
{
	ldns_resolver *res = ldns_resolver_new();
	char item[LIM_DOMAIN];
	const char *p = servers;

	if (res == NULL)
		return snprintf(err, errlen, "out of memory"), NULL;
	while ((p = config_list_next(p, item, sizeof(item))) != NULL)
		if (add_server(res, item, err, errlen) != 0) {
			ldns_resolver_deep_free(res);
			return NULL;
		}
	return res;
}

static ldns_resolver *
from_resolv_conf(const char *text, char *err, size_t errlen)
{
	ldns_resolver *res = NULL;
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	ldns_status st;

	if (fp == NULL)
		return snprintf(err, errlen, "fmemopen failed"), NULL;
	st = ldns_resolver_new_frm_fp(&res, fp);
	fclose(fp);
	if (st != LDNS_STATUS_OK)
		return snprintf(err, errlen, "resolv.conf: %s",
				ldns_get_errorstr_by_id(st)),
		       NULL;
	return res;
}

ldns_resolver *
dns_resolver_new(const char *servers, const char *resolv_conf, char *err,
		 size_t errlen)
{
	ldns_resolver *res = servers[0]
				 ? from_list(servers, err, errlen)
				 : from_resolv_conf(resolv_conf, err, errlen);

	if (res == NULL)
		return NULL;
	if (ldns_resolver_nameserver_count(res) == 0) {
		snprintf(err, errlen,
			 "no nameservers (resolv.conf or "
			 "resolver_nameservers)");
		ldns_resolver_deep_free(res);
		return NULL;
	}
	ldns_resolver_set_timeout(res,
				  (struct timeval){cfg.resolver_timeout, 0});
	ldns_resolver_set_retry(res, (uint8_t)cfg.resolver_retries + 1);
	ldns_resolver_set_fallback(res, true);
	ldns_resolver_set_usevc(res, false);
	ldns_resolver_set_defnames(res, false);
	ldns_resolver_set_dnsrch(res, false);
	ldns_resolver_set_recursive(res, true);
	return res;
}

/* rr_text - one record as resolver_client.h describes it. */
static char *
rr_text(const ldns_rr *rr)
{
	char buf[2048];
	size_t n = 0;

	buf[0] = 0;
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT) {
		for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
			const ldns_rdf *f = ldns_rr_rdf(rr, i);
			const uint8_t *d = ldns_rdf_data(f);
			size_t len = ldns_rdf_size(f) > 0 ? d[0] : 0;
			if (len + 1 > ldns_rdf_size(f) ||
			    n + len >= sizeof(buf))
				break;
			memcpy(buf + n, d + 1, len);
			n += len;
		}
		buf[n] = 0;
		return strdup(buf);
	}
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));
		if (s == NULL)
			return NULL;
		size_t len = strlen(s);
		/* host names without the root dot; the root itself is "." */
		if (len > 1 && s[len - 1] == '.')
			s[--len] = 0;
		for (char *q = s; ldns_rdf_get_type(ldns_rr_rdf(rr, i)) ==
				      LDNS_RDF_TYPE_DNAME &&
				  *q;
		     q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
		int w =
		    snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "", s);
		free(s);
		if (w < 0 || (size_t)w >= sizeof(buf) - n)
			return NULL;
		n += (size_t)w;
	}
	return strdup(buf);
}

/* negative_ttl - RFC 2308 section 5: the SOA's TTL, at most its
 * minimum field. */
static long
negative_ttl(const ldns_pkt *p)
{
	ldns_rr_list *auth = ldns_pkt_authority(p);

	for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) < 7)
			continue;
		long ttl = (long)ldns_rr_ttl(rr);
		long min = (long)ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
		return ttl < min ? ttl : min;
	}
	return DNS_NEG_TTL_DEFAULT;
}

void
dns_answer_from_pkt(const ldns_pkt *p, ldns_rr_type t, struct dns_answer *a)
{
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
	ldns_rr_list *ans = ldns_pkt_answer(p);
	long ttl = -1;

	memset(a, 0, sizeof(*a));
	a->ad = ldns_pkt_ad(p);
	if (rc == LDNS_RCODE_NXDOMAIN) {
		a->status = DNS_NXDOMAIN;
		a->ttl = negative_ttl(p);
		snprintf(a->why, sizeof(a->why), "domain not found");
		return;
	}
	if (rc != LDNS_RCODE_NOERROR) {
		a->status = DNS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "nameserver answered %s",
			 rc == LDNS_RCODE_SERVFAIL  ? "SERVFAIL"
			 : rc == LDNS_RCODE_REFUSED ? "REFUSED"
						    : "an error");
		return;
	}
	for (size_t i = 0; ans && i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		if (ldns_rr_get_type(rr) != t || a->n >= RESOLVER_MAX_RR)
			continue;
		char *s = rr_text(rr);
		if (s == NULL)
			continue;
		a->rr[a->n++] = s;
		if (ttl < 0 || (long)ldns_rr_ttl(rr) < ttl)
			ttl = (long)ldns_rr_ttl(rr);
	}
	if (a->n == 0) {
		a->status = DNS_NODATA;
		a->ttl = negative_ttl(p);
		snprintf(a->why, sizeof(a->why), "no records of that type");
		return;
	}
	a->status = DNS_OK;
	a->ttl = ttl;
}

void
dns_lookup(ldns_resolver *res, const char *name, ldns_rr_type t,
	   struct dns_answer *a)
{
	char abs[LIM_DOMAIN + 2];
	ldns_rdf *dn;
	ldns_pkt *q = NULL, *p = NULL;
	ldns_status st;

	memset(a, 0, sizeof(*a));
	a->status = DNS_TEMPFAIL;
	snprintf(abs, sizeof(abs), "%s%s", name,
		 name[0] && name[strlen(name) - 1] == '.' ? "" : ".");
	if ((dn = ldns_dname_new_frm_str(abs)) == NULL) {
		a->status =
		    DNS_NXDOMAIN; /* not a valid name: it cannot exist */
		a->ttl = 0;
		snprintf(a->why, sizeof(a->why), "malformed domain name");
		return;
	}
	/* ldns marks a nameserver that timed out as unreachable and skips
	 * it from then on; with all so marked it fails at once ("No
	 * (valid) nameservers"): one slow answer, which any client's
	 * reverse zone can cause, would fail every later lookup of this
	 * process.  Then each is tried again. */
	size_t ns = ldns_resolver_nameserver_count(res), live = 0;
	for (size_t i = 0; i < ns; i++)
		live +=
		    ldns_resolver_nameserver_rtt(res, i) != LDNS_RESOLV_RTT_INF;
	for (size_t i = 0; i < ns && live == 0; i++)
		ldns_resolver_set_nameserver_rtt(res, i, LDNS_RESOLV_RTT_MIN);
	st = ldns_resolver_prepare_query_pkt(&q, res, dn, t, LDNS_RR_CLASS_IN,
					     LDNS_RD);
	if (st == LDNS_STATUS_OK) {
		ldns_pkt_set_ad(q, true);
		st = ldns_resolver_send_pkt(&p, res, q);
	}
	if (st != LDNS_STATUS_OK || p == NULL)
		snprintf(a->why, sizeof(a->why), "DNS query failed: %s",
			 ldns_get_errorstr_by_id(st));
	else
		dns_answer_from_pkt(p, t, a);
	if (!cfg.resolver_dnssec_trust_ad)
		a->ad = 0;
	ldns_pkt_free(q);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(dn);
}
