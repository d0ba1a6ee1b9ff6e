/*
 * dnsbl.h - DNS block lists as smtpd(8) uses them (smtpd_dnsbl_sites in
 * mta.conf(5)): the list of sites, each a zone with an optional filter
 * of the answers that count, and the name a client address is looked
 * up under.  Parsing and matching only; the queries go to resolver(8).
 *
 * A site is "zone" or "zone=PATTERN"; PATTERN is four dot-separated
 * octet patterns, each a number (2), a range in brackets ([2..11]) or
 * a list of numbers and ranges in brackets separated by ';'
 * ([2;4;10..11]), as Postfix writes them.  Without a pattern an A
 * record in 127.0.0.0/8 is a listing, except 127.255.255.0/24 (the
 * error answers of lists such as Spamhaus).
 *
 * The same sites serve the allow lists (smtpd_dnswl_sites) and the
 * domain lists (smtpd_rhsbl_client_sites, smtpd_rhsbl_helo_sites,
 * smtpd_rhsbl_sender_sites).  smtpd(8) asks the client's address lists
 * and its name's domain lists at connect in one resolver batch, so
 * their sites together are at most DNSBL_CONNECT_MAX.
 */
#ifndef MTA_DNSBL_H
#define MTA_DNSBL_H

#include <stddef.h>

#include "mta_limits.h"

#define DNSBL_SITES_MAX 16 /* sites in one list (smtpd_dnsbl_sites ...) */
#define DNSBL_RANGES_MAX 8 /* numbers or ranges in one octet pattern */
#define DNSBL_QUERY_MAX (LIM_DOMAIN + 1)
/* sites of smtpd_dnsbl_sites, smtpd_dnswl_sites and
 * smtpd_rhsbl_client_sites together: one resolver batch at connect
 * (RESOLVER_PARALLEL_MAX in resolver_client.h, checked in dnsbl.c) */
#define DNSBL_CONNECT_MAX 16

struct dnsbl_octet {
	int n;
	unsigned char lo[DNSBL_RANGES_MAX], hi[DNSBL_RANGES_MAX];
};

struct dnsbl_site {
	char zone[LIM_DOMAIN + 1];
	char text[LIM_DOMAIN + 64]; /* as written, for the logs */
	int filtered;		    /* a pattern was given */
	struct dnsbl_octet octet[4];
};

struct dnsbl_sites {
	int n;
	struct dnsbl_site s[DNSBL_SITES_MAX];
};

/* dnsbl_sites_parse - a list on commas and white space; -1 with a
 * reason in err ("bad pattern ...", "more than 16 sites"). */
int dnsbl_sites_parse(const char *list, struct dnsbl_sites *out, char *err,
		      size_t errlen);
/* dnsbl_answer_matches - the A record text a counts for the site */
int dnsbl_answer_matches(const struct dnsbl_site *site, const char *a);
/* dnswl_answer_matches - the same for an allow list, where 127.0.0.255
 * never counts, whatever the filter: dnswl.org's answer to a query from
 * a public resolver or over its quota, not a listing */
int dnswl_answer_matches(const struct dnsbl_site *site, const char *a);
/*
 * dnsbl_connect_check - the three lists smtpd asks at connect
 * (smtpd_dnsbl_sites, smtpd_dnswl_sites, smtpd_rhsbl_client_sites)
 * parse and have at most DNSBL_CONNECT_MAX sites together; -1 with
 * "KEY: reason" in err.
 */
int dnsbl_connect_check(const char *dnsbl, const char *dnswl,
			const char *rhsbl_client, char *err, size_t errlen);
/*
 * dnsbl_query_name - the name to look up: the IPv4 octets reversed
 * ("2.2.0.192.zone"), or the 32 nibbles of an IPv6 address reversed; an
 * IPv4-mapped IPv6 address as its IPv4 form.  -1 for anything else or
 * a name too long.
 */
int dnsbl_query_name(const char *addr, const char *zone, char *out, size_t len);
/*
 * rhsbl_query_name - the name a domain is looked up under in a domain
 * list ("bad.example.zone", lower case): -1 for what is not a domain
 * name (an address literal, a bare address such as 192.0.2.1, a trailing
 * dot, characters outside letters, digits, '-' and '.', empty labels) or
 * a name too long.
 */
int rhsbl_query_name(const char *domain, const char *zone, char *out,
		     size_t len);

#endif
