/*
 * cidr.c - CIDR address lists (see cidr.h).
 *
 * Trusts: nothing in the text; every entry is parsed with inet_pton and
 * its prefix length range-checked.
 * Never: matches an address of one family against a network of the other,
 * except that ::ffff:a.b.c.d is taken as the IPv4 address a.b.c.d.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

/* prefix_eq - whether the first bits of a and b agree. */
static int
prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* host_bits_clear - whether every bit after the prefix is zero. */
static int
host_bits_clear(const unsigned char *a, int bits, int total)
{
	for (int i = bits; i < total; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

int
cidr_parse(const char *s, struct cidr *out, const char **why)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int total;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(host))
		return *why = "bad address", -1;
	memcpy(host, s, n);
	host[n] = 0;
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET, total = 32;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6, total = 128;
	else
		return *why = "bad address", -1;
	out->bits = total;
	if (slash) {
		const char *d = slash + 1;
		size_t nd = strspn(d, "0123456789");
		if (nd == 0 || nd > 3 || d[nd] != 0 || atoi(d) > total)
			return *why = "bad prefix length", -1;
		out->bits = atoi(d);
	}
	if (!host_bits_clear(out->addr, out->bits, total))
		return *why = "host bits set beyond the prefix length", -1;
	return 0;
}

int
cidr_list_parse(const char *list, struct cidr_list *out, char *err,
		size_t errlen)
{
	char item[128];
	const char *p = list, *why;

	out->n = 0;
	while ((p = config_list_next(p, item, sizeof(item))) != NULL) {
		if (out->n >= CIDR_MAX) {
			snprintf(err, errlen, "more than %d entries", CIDR_MAX);
			return -1;
		}
		if (cidr_parse(item, &out->c[out->n], &why) != 0) {
			snprintf(err, errlen, "\"%s\": %s", item, why);
			return -1;
		}
		out->n++;
	}
	return 0;
}

int
cidr_match(const struct cidr_list *l, const char *a)
{
	unsigned char v4[4], v6[16];
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};
	int is4 = inet_pton(AF_INET, a, v4) == 1;

	if (!is4) {
		if (inet_pton(AF_INET6, a, v6) != 1)
			return 0;
		if (memcmp(v6, mapped, sizeof(mapped)) == 0) {
			memcpy(v4, v6 + 12, 4);
			is4 = 1;
		}
	}
	for (int i = 0; i < l->n; i++) {
		const struct cidr *c = &l->c[i];
		if (is4 && c->family == AF_INET &&
		    prefix_eq(c->addr, v4, c->bits))
			return 1;
		if (!is4 && c->family == AF_INET6 &&
		    prefix_eq(c->addr, v6, c->bits))
			return 1;
	}
	return 0;
}
