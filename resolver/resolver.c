/*
 * resolver.c - resolver(8): DNS lookups for the other programs, with a
 * cache that honours TTLs.
 *
 * Clients connect to private/resolver and send {req=query, type, name}
 * or {req=stats}; each gets one answer record (resolver_client.h).
 * Nameservers come from resolver_nameservers or, when that is empty, from
 * /etc/resolv.conf, read before the chroot.
 * Trusts: nothing in a request beyond the type table and name length.
 * Never: answers a temporary failure as "not found"; caches one.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "resolver.h"
#include "service.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_CONF_MAX 65536
#define RESOLVER_IDLE_MS 60000

static ldns_resolver *res;
static struct dns_cache *cache;

/* read_resolv_conf - its text, or "" when it is missing. */
static char *
read_resolv_conf(void)
{
	static char text[RESOLV_CONF_MAX];
	FILE *fp = fopen(RESOLV_CONF, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(text, 1, sizeof(text) - 1, fp);
		fclose(fp);
	}
	text[n] = 0;
	return text;
}

static long
now_sec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		log_fatal("clock_gettime: %m");
	return (long)ts.tv_sec;
}

/* reverse_name - for PTR, an address becomes its in-addr.arpa or
 * ip6.arpa name; anything else is left as it is. */
static const char *
reverse_name(const char *name, char *out, size_t len)
{
	ldns_rdf *a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, name);
	ldns_rdf *rev = NULL;
	char *s = NULL;

	if (a == NULL)
		a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, name);
	if (a != NULL && (rev = ldns_rdf_address_reverse(a)) != NULL &&
	    (s = ldns_rdf2str(rev)) != NULL) {
		snprintf(out, len, "%s", s);
		name = out;
	}
	free(s);
	ldns_rdf_deep_free(rev);
	ldns_rdf_deep_free(a);
	return name;
}

/* answer_query - from the cache or the nameservers. */
static void
answer_query(const char *type, const char *name, struct dns_answer *a)
{
	char key[DNS_KEY_MAX], lname[LIM_DOMAIN + 1], rev[LIM_DOMAIN + 1];
	ldns_rr_type t = dns_type_parse(type);
	size_t len;

	if (t == LDNS_RR_TYPE_PTR && name != NULL)
		name = reverse_name(name, rev, sizeof(rev));
	len = name ? strlen(name) : 0;

	if (t == 0 || len == 0 || len > LIM_DOMAIN) {
		memset(a, 0, sizeof(*a));
		a->status = DNS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "bad query");
		return;
	}
	for (size_t i = 0; i <= len; i++)
		lname[i] = (char)tolower((unsigned char)name[i]);
	snprintf(key, sizeof(key), "%s %s", type, lname);
	for (char *k = key; *k != ' '; k++)
		*k = (char)toupper((unsigned char)*k);
	if (dns_cache_get(cache, key, now_sec(), a))
		return;
	dns_lookup(res, lname, t, a);
	long cap = a->status == DNS_OK ? cfg.resolver_cache_max_ttl
				       : cfg.resolver_negative_ttl_max;
	if (a->ttl > cap)
		a->ttl = cap;
	dns_cache_put(cache, key, now_sec(), a);
	log_debug("%s: %s, %d record(s), ttl %ld", key,
		  dns_status_name(a->status), a->n, a->ttl);
}

static int
serve_query(struct ipc *c, const struct attrs *r)
{
	struct dns_answer a;

	answer_query(attrs_get(r, "type"), attrs_get(r, "name"), &a);
	ipc_put_str(c, "status", dns_status_name(a.status));
	ipc_put_long(c, "ad", a.ad);
	ipc_put_long(c, "ttl", a.ttl);
	ipc_put_str(c, "text", a.why);
	for (int i = 0; i < a.n; i++)
		ipc_put_str(c, "rr", a.rr[i]);
	dns_answer_free(&a);
	return ipc_end(c);
}

static int
serve_stats(struct ipc *c)
{
	long hits, misses, entries;

	dns_cache_stats(cache, &hits, &misses, &entries);
	ipc_put_long(c, "hits", hits);
	ipc_put_long(c, "misses", misses);
	ipc_put_long(c, "entries", entries);
	return ipc_end(c);
}

static void
serve(int fd)
{
	struct ipc *c = ipc_new(fd, RESOLVER_IDLE_MS);
	struct attrs r;
	int rc = IPC_OK;

	attrs_init(&r);
	while (rc == IPC_OK && !service_stop && ipc_read(c, &r) == IPC_OK) {
		const char *req = attrs_get(&r, "req");
		if (req != NULL && strcmp(req, "query") == 0)
			rc = serve_query(c, &r);
		else if (req != NULL && strcmp(req, "stats") == 0)
			rc = serve_stats(c);
		else
			rc = IPC_BAD;
	}
	attrs_free(&r);
	ipc_free(c);
}

int
main(int argc, char **argv)
{
	char err[256];
	/* the chroot has no /etc: read the file while we can */
	const char *conf_text = read_resolv_conf();

	service_init("resolver", argc, argv);
	if ((res = dns_resolver_new(cfg.resolver_nameservers, conf_text, err,
				    sizeof(err))) == NULL)
		log_fatal("%s", err);
	if ((cache = dns_cache_new(cfg.resolver_cache_size)) == NULL)
		log_fatal("out of memory");
	service_loop(serve);
	return 0;
}
