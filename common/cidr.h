/*
 * cidr.h - address lists in CIDR notation ("127.0.0.0/8, ::1/128"), as
 * mynetworks gives them: parse once, then match client addresses.
 */
#ifndef MTA_CIDR_H
#define MTA_CIDR_H

#include <stddef.h>

#define CIDR_MAX 64 /* entries in one list (CONFIG_LIST_MAX) */

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network, host bits cleared */
	int bits;		/* prefix length */
};

struct cidr_list {
	int n;
	struct cidr c[CIDR_MAX];
};

/*
 * cidr_parse - one "addr[/bits]" entry; a bare address is a host (/32,
 * /128).  Host bits set beyond the prefix are an error, as a typo there
 * usually means a wider network than intended.  -1 with a reason in why.
 */
int cidr_parse(const char *s, struct cidr *out, const char **why);
/* cidr_list_parse - a list on commas and white space; -1, err filled. */
int cidr_list_parse(const char *list, struct cidr_list *out, char *err,
		    size_t errlen);
/* cidr_match - whether the textual address a (IPv4, IPv6 or an
 * IPv4-mapped IPv6 address) lies inside any entry; 0 for garbage. */
int cidr_match(const struct cidr_list *l, const char *a);

#endif
