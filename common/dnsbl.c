/*
 * dnsbl.c - DNS block list sites, answer filters and query names
 * (dnsbl.h).
 *
 * Trusts: nothing in the configured list (every octet pattern is
 * checked) nor in an answer's text (it must be a dotted quad to match).
 * Never: writes a query name longer than LIM_DOMAIN.
 */
#include "dnsbl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "resolver_client.h"

_Static_assert(DNSBL_CONNECT_MAX <= RESOLVER_PARALLEL_MAX,
	       "smtpd's connect-time lists fit one resolver batch");
_Static_assert(DNSBL_SITES_MAX <= RESOLVER_PARALLEL_MAX,
	       "one list fits one resolver batch");

/* number - 0..255 in decimal at *p (advanced); -1 if none */
static int
number(const char **p)
{
	int v = 0, digits = 0;

	while (isdigit((unsigned char)**p) && digits < 4) {
		v = v * 10 + (**p - '0');
		(*p)++;
		digits++;
	}
	return digits == 0 || digits > 3 || v > 255 ? -1 : v;
}

/* one_range - "N" or "N..M" at *p into o; -1 on bad syntax */
static int
one_range(const char **p, struct dnsbl_octet *o)
{
	int lo = number(p), hi = lo;

	if (lo < 0 || o->n >= DNSBL_RANGES_MAX)
		return -1;
	if ((*p)[0] == '.' && (*p)[1] == '.') {
		*p += 2;
		if ((hi = number(p)) < lo)
			return -1;
	}
	o->lo[o->n] = (unsigned char)lo;
	o->hi[o->n] = (unsigned char)hi;
	o->n++;
	return 0;
}

/* octet_parse - "N" or "[range;range...]" at *p */
static int
octet_parse(const char **p, struct dnsbl_octet *o)
{
	memset(o, 0, sizeof(*o));
	if (**p != '[') {
		int v = number(p);
		if (v < 0)
			return -1;
		o->lo[0] = o->hi[0] = (unsigned char)v;
		o->n = 1;
		return 0;
	}
	(*p)++;
	for (;;) {
		if (one_range(p, o) != 0)
			return -1;
		if (**p == ']') {
			(*p)++;
			return 0;
		}
		if (**p != ';')
			return -1;
		(*p)++;
	}
}

/* pattern_parse - four octet patterns separated by dots */
static int
pattern_parse(const char *p, struct dnsbl_site *s)
{
	for (int i = 0; i < 4; i++) {
		if (octet_parse(&p, &s->octet[i]) != 0)
			return -1;
		if (i < 3 && *p++ != '.')
			return -1;
	}
	return *p == 0 ? 0 : -1;
}

/* zone_ok - a host name: letters, digits, '-', '_', '.' */
static int
zone_ok(const char *z, size_t n)
{
	if (n == 0 || n > LIM_DOMAIN - 75 || z[0] == '.' || z[n - 1] == '.')
		return 0; /* room for the 64 nibble labels of IPv6 */
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)z[i]) && z[i] != '-' &&
		    z[i] != '_' && z[i] != '.')
			return 0;
	return 1;
}

/* site_parse - "zone" or "zone=pattern" */
static int
site_parse(const char *item, struct dnsbl_site *s, char *err, size_t errlen)
{
	const char *eq = strchr(item, '=');
	size_t zn = eq ? (size_t)(eq - item) : strlen(item);

	memset(s, 0, sizeof(*s));
	snprintf(s->text, sizeof(s->text), "%s", item);
	if (!zone_ok(item, zn)) {
		snprintf(err, errlen, "\"%s\": bad zone name", item);
		return -1;
	}
	snprintf(s->zone, sizeof(s->zone), "%.*s", (int)zn, item);
	for (char *c = s->zone; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (eq == NULL)
		return 0;
	s->filtered = 1;
	if (pattern_parse(eq + 1, s) != 0) {
		snprintf(err, errlen,
			 "\"%s\": bad answer pattern (expected "
			 "e.g. 127.0.0.2 or 127.0.0.[2..11] or "
			 "127.0.0.[2;4;10..11])",
			 item);
		return -1;
	}
	return 0;
}

int
dnsbl_sites_parse(const char *list, struct dnsbl_sites *out, char *err,
		  size_t errlen)
{
	char item[LIM_DOMAIN + 64];

	memset(out, 0, sizeof(*out));
	while ((list = config_list_next(list, item, sizeof(item))) != NULL) {
		if (out->n >= DNSBL_SITES_MAX) {
			snprintf(err, errlen, "more than %d sites",
				 DNSBL_SITES_MAX);
			return -1;
		}
		if (strlen(item) + 1 >= sizeof(item)) {
			snprintf(err, errlen, "\"%.40s...\": too long", item);
			return -1;
		}
		if (site_parse(item, &out->s[out->n], err, errlen) != 0)
			return -1;
		out->n++;
	}
	return 0;
}

int
dnsbl_answer_matches(const struct dnsbl_site *site, const char *a)
{
	unsigned char b[4];

	if (inet_pton(AF_INET, a, b) != 1)
		return 0;
	/* without a filter: a listing is in 127.0.0.0/8 (RFC 5782 2.1),
	 * and 127.255.255.0/24 is where lists answer errors (Spamhaus:
	 * queries from a public resolver, over quota), not listings: as
	 * a listing they would refuse every client */
	if (!site->filtered)
		return b[0] == 127 && !(b[1] == 255 && b[2] == 255);
	for (int i = 0; i < 4; i++) {
		const struct dnsbl_octet *o = &site->octet[i];
		int hit = 0;
		for (int k = 0; k < o->n && !hit; k++)
			hit = b[i] >= o->lo[k] && b[i] <= o->hi[k];
		if (!hit)
			return 0;
	}
	return 1;
}

int
dnswl_answer_matches(const struct dnsbl_site *site, const char *a)
{
	unsigned char b[4];

	if (inet_pton(AF_INET, a, b) == 1 && b[0] == 127 && b[1] == 0 &&
	    b[2] == 0 && b[3] == 255)
		return 0;
	return dnsbl_answer_matches(site, a);
}

int
dnsbl_connect_check(const char *dnsbl, const char *dnswl,
		    const char *rhsbl_client, char *err, size_t errlen)
{
	static struct dnsbl_sites s;
	const char *key[3] = {"smtpd_dnsbl_sites", "smtpd_dnswl_sites",
			      "smtpd_rhsbl_client_sites"};
	const char *val[3] = {dnsbl, dnswl, rhsbl_client};
	char why[256];
	int n[3], total = 0;

	for (int i = 0; i < 3; i++) {
		if (dnsbl_sites_parse(val[i], &s, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", key[i], why);
			return -1;
		}
		total += n[i] = s.n;
	}
	if (total > DNSBL_CONNECT_MAX) {
		snprintf(err, errlen,
			 "%s: %d sites with the %d of %s and the %d of %s: "
			 "more than the %d queries smtpd sends at connect "
			 "in one batch",
			 key[1], n[1], n[0], key[0], n[2], key[2],
			 DNSBL_CONNECT_MAX);
		return -1;
	}
	return 0;
}

int
dnsbl_query_name(const char *addr, const char *zone, char *out, size_t len)
{
	unsigned char b[16];
	char name[80];
	size_t n = 0;
	int w;

	if (strncasecmp(addr, "::ffff:", 7) == 0 &&
	    inet_pton(AF_INET, addr + 7, b) == 1)
		addr += 7;
	if (inet_pton(AF_INET, addr, b) == 1) {
		snprintf(name, sizeof(name), "%u.%u.%u.%u", b[3], b[2], b[1],
			 b[0]);
	} else if (inet_pton(AF_INET6, addr, b) == 1) {
		const char *hex = "0123456789abcdef";
		for (int i = 15; i >= 0; i--) {
			name[n++] = hex[b[i] & 15];
			name[n++] = '.';
			name[n++] = hex[b[i] >> 4];
			name[n++] = i ? '.' : 0;
		}
	} else {
		return -1;
	}
	w = snprintf(out, len, "%s.%s", name, zone);
	return w < 0 || (size_t)w >= len || (size_t)w > LIM_DOMAIN ? -1 : 0;
}

int
rhsbl_query_name(const char *domain, const char *zone, char *out, size_t len)
{
	char name[LIM_DOMAIN + 1];
	size_t n = 0;
	int w, numeric = 1;

	for (const char *p = domain; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (n + 1 >= sizeof(name) ||
		    !(isalnum(c) || c == '-' || c == '.') ||
		    (c == '.' && (n == 0 || name[n - 1] == '.')))
			return -1;
		name[n++] = (char)tolower(c);
		numeric = numeric && (isdigit(c) || c == '.');
	}
	/* all digits: an address given bare, as Postfix's valid_hostname
	 * refuses it (192.0.2.1.zone is no domain's listing) */
	if (n == 0 || name[n - 1] == '.' || numeric)
		return -1;
	name[n] = 0;
	w = snprintf(out, len, "%s.%s", name, zone);
	return w < 0 || (size_t)w >= len || (size_t)w > LIM_DOMAIN ? -1 : 0;
}
