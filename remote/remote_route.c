/*
 * remote_route.c - where mail for a nexthop goes: the transport map,
 * relayhost, or the domain's MX records (RFC 5321 5.1): sorted by
 * preference, equal ones shuffled; no MX means the domain itself
 * (implicit MX); a null MX (RFC 7505) means it takes no mail; an MX
 * naming us drops us and every worse host, and only us is a loop.
 *
 * Trusts: resolver's answers, checked for shape.
 * Never: treats a temporary DNS failure as a permanent one.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "remote.h"
#include "resolver_client.h"

static int
cmp_pref(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;
	return (x->pref > y->pref) - (x->pref < y->pref);
}

/* shuffle_equal - random order within each run of equal preference */
static void
shuffle_equal(struct route *rt)
{
	for (int s = 0, e; s < rt->n; s = e) {
		for (e = s + 1;
		     e < rt->n && rt->hosts[e].pref == rt->hosts[s].pref; e++)
			;
		for (int i = e - 1; i > s; i--) {
			int j =
			    s + (int)randombytes_uniform((uint32_t)(i - s + 1));
			struct mx_host t = rt->hosts[i];
			rt->hosts[i] = rt->hosts[j];
			rt->hosts[j] = t;
		}
	}
}

int
route_parse_mx(const char *domain, char *const *rr, int n, const char *self,
	       struct route *rt, struct result *r)
{
	int null_mx = 0, self_pref = -1;

	rt->n = 0;
	for (int i = 0; i < n && rt->n < REMOTE_MAX_HOSTS; i++) {
		char name[LIM_DOMAIN + 1];
		int pref;
		if (sscanf(rr[i], "%d %255s", &pref, name) != 2 || pref < 0 ||
		    pref > 65535)
			continue;
		if (strcmp(name, ".") == 0) {
			null_mx = 1;
			continue;
		}
		if (self != NULL && strcasecmp(name, self) == 0 &&
		    (self_pref < 0 || pref < self_pref))
			self_pref = pref;
		snprintf(rt->hosts[rt->n].name, sizeof(rt->hosts[0].name), "%s",
			 name);
		rt->hosts[rt->n++].pref = pref;
	}
	if (null_mx && rt->n == 0) {
		remote_result(r, 5, "5.1.10",
			      "Domain %s does not accept mail "
			      "(nullMX)",
			      domain);
		return -1;
	}
	if (rt->n == 0) {
		remote_result(r, 4, "4.4.3",
			      "Host or domain name not found. "
			      "Name service error for name=%s type=MX: "
			      "malformed MX records",
			      domain);
		return -1;
	}
	if (self_pref >= 0) {
		int k = 0;
		for (int i = 0; i < rt->n; i++)
			if (rt->hosts[i].pref < self_pref)
				rt->hosts[k++] = rt->hosts[i];
		rt->n = k;
		if (k == 0) {
			remote_result(r, 5, "5.4.6",
				      "mail for %s loops back to "
				      "myself",
				      domain);
			return -1;
		}
	}
	qsort(rt->hosts, (size_t)rt->n, sizeof(rt->hosts[0]), cmp_pref);
	shuffle_equal(rt);
	return 0;
}

/* parse_nexthop - "[host]:port", "host:port", "host"; host may be an
 * address literal, "[IPv6:...]" too */
static int
parse_nexthop(const char *text, struct route *rt, char *host, size_t len)
{
	const char *p = text, *colon;

	rt->literal = 0;
	rt->port = (int)cfg.smtp_port;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (close == NULL || close == p + 1)
			return -1;
		snprintf(host, len, "%.*s", (int)(close - p - 1), p + 1);
		/* RFC 5321 4.1.3: an IPv6 address literal is tagged; the
		 * domain of an address comes lower-cased */
		if (strncasecmp(host, "IPv6:", 5) == 0)
			memmove(host, host + 5, strlen(host + 5) + 1);
		rt->literal = 1;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != 0 && colon == NULL)
			return -1;
	} else {
		colon = strrchr(p, ':');
		snprintf(host, len, "%.*s",
			 colon ? (int)(colon - p) : (int)strlen(p), p);
	}
	if (colon != NULL) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (*end != 0 || port < 1 || port > 65535)
			return -1;
		rt->port = (int)port;
	}
	return host[0] ? 0 : -1;
}

static void
dns_failure(struct result *r, const char *name, const char *type,
	    const struct dns_answer *a)
{
	if (a->status == DNS_NXDOMAIN)
		remote_result(
		    r, 5, "5.1.2",
		    "Host or domain name not found. "
		    "Name service error for name=%s type=%s: Host not "
		    "found",
		    name, type);
	else if (a->status == DNS_NODATA)
		remote_result(
		    r, 5, "5.4.4",
		    "Host or domain name not found. "
		    "Name service error for name=%s type=%s: Host found "
		    "but no data record of requested type",
		    name, type);
	else
		remote_result(r, 4, "4.4.3",
			      "Host or domain name not found. "
			      "Name service error for name=%s type=%s: %s",
			      name, type,
			      a->why[0] ? a->why
					: "Host not found, try "
					  "again");
}

int
route_lookup(const char *nexthop, struct route *rt, struct result *r)
{
	char host[LIM_DOMAIN + 1], mapped[LIM_DOMAIN + 16];
	const char *text = nexthop;
	const char *self =
	    cfg.smtp_helo_name[0] ? cfg.smtp_helo_name : cfg.myhostname;
	struct dns_answer a;

	memset(rt, 0, sizeof(*rt));
	if (nexthop[0] != '[' && strchr(nexthop, ':') == NULL) {
		if (cfg.transport_maps[0] &&
		    transport_lookup(nexthop, mapped, sizeof(mapped)) == 0)
			text = mapped;
		else if (cfg.relayhost[0])
			text = cfg.relayhost;
	}
	snprintf(rt->via, sizeof(rt->via), "%s", text);
	if (parse_nexthop(text, rt, host, sizeof(host)) != 0) {
		remote_result(r, 4, "4.3.5", "bad route \"%s\" for %s", text,
			      nexthop);
		return -1;
	}
	if (rt->literal) {
		rt->secure = 1; /* no MX lookup to be insecure */
		rt->n = 1;
		snprintf(rt->hosts[0].name, sizeof(rt->hosts[0].name), "%s",
			 host);
		return 0;
	}
	resolver_query("MX", host, &a);
	rt->secure = a.ad && (a.status == DNS_OK || a.status == DNS_NODATA);
	int rc = 0;
	if (a.status == DNS_OK) {
		rc = route_parse_mx(host, a.rr, a.n, self, rt, r);
	} else if (a.status == DNS_NODATA) {
		rt->implicit = 1;
		rt->n = 1;
		snprintf(rt->hosts[0].name, sizeof(rt->hosts[0].name), "%s",
			 host);
	} else {
		dns_failure(r, host, "MX", &a);
		rc = -1;
	}
	dns_answer_free(&a);
	return rc;
}

int
route_addrs(const char *host, int literal, char addrs[][64], int max, int *n,
	    int *secure, struct result *r)
{
	static const char *const types[] = {"AAAA", "A"};
	unsigned char bin[16];
	int temp = 0;

	*n = 0;
	*secure = 1; /* until an answer says otherwise */
	if (inet_pton(AF_INET, host, bin) == 1 ||
	    inet_pton(AF_INET6, host, bin) == 1) {
		snprintf(addrs[(*n)++], 64, "%s", host);
		return 0;
	}
	(void)literal; /* [name] still needs its addresses */
	for (int t = 0; t < 2; t++) {
		struct dns_answer a;
		resolver_query(types[t], host, &a);
		if (!a.ad)
			*secure = 0;
		for (int i = 0; a.status == DNS_OK && i < a.n && *n < max; i++)
			snprintf(addrs[(*n)++], 64, "%s", a.rr[i]);
		if (a.status == DNS_TEMPFAIL && !temp) {
			temp = 1;
			dns_failure(r, host, types[t], &a);
		} else if (*n == 0 && !temp) {
			dns_failure(r, host, types[t], &a);
		}
		dns_answer_free(&a);
	}
	return *n > 0 ? 0 : -1;
}
