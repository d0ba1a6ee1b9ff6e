/*
 * addr.c - parse RFC 5321 paths (Mailbox, Reverse-path, Forward-path).
 *
 * Trusts: nothing; the input comes straight from an SMTP client.
 * Never: writes past the fixed buffers of struct addr (lengths are checked
 * against RFC 5321 4.5.3.1 before copying); accepts control characters.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 5322 atext */
static int
is_atext(unsigned char c, int utf8)
{
	if (c >= 0x80)
		return utf8;
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* parse_dot_string - Dot-string; returns bytes used or -1. */
static int
parse_dot_string(const char *s, int utf8)
{
	int i = 0;

	for (;;) {
		int start = i;
		while (is_atext((unsigned char)s[i], utf8))
			i++;
		if (i == start)
			return -1;
		if (s[i] != '.')
			return i;
		i++;
	}
}

/* parse_quoted - Quoted-string; returns bytes used or -1. */
static int
parse_quoted(const char *s, int utf8)
{
	int i = 1;

	if (s[0] != '"')
		return -1;
	for (;;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			unsigned char n = (unsigned char)s[i + 1];
			if (n < 32 || n > 126)
				return -1;
			i += 2;
			continue;
		}
		if ((c < 32 || c == 127) || (c >= 0x80 && !utf8))
			return -1;
		i++;
	}
}

static int
label_ok(const char *s, size_t n, int utf8)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '-' || (utf8 && c >= 0x80)))
			return 0;
	}
	return 1;
}

static int
literal_ok(const char *s, size_t n)
{
	char buf[LIM_DOMAIN + 1];
	unsigned char bin[16];

	if (n < 3 || n > LIM_DOMAIN || s[0] != '[' || s[n - 1] != ']')
		return 0;
	memcpy(buf, s + 1, n - 2);
	buf[n - 2] = 0;
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, bin) == 1;
	return inet_pton(AF_INET, buf, bin) == 1;
}

int
addr_domain_valid(const char *d, size_t len, int utf8)
{
	size_t start = 0;

	if (len == 0 || len > LIM_DOMAIN)
		return 0;
	if (d[0] == '[')
		return literal_ok(d, len);
	for (size_t i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (!label_ok(d + start, i - start, utf8))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

/* domain_len - how far a domain or literal runs at s. */
static size_t
domain_len(const char *s)
{
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		return e ? (size_t)(e - s) + 1 : 0;
	}
	size_t n = 0;
	while (s[n] && s[n] != '>' && s[n] != ',' && s[n] != ':' &&
	       s[n] != ' ')
		n++;
	return n;
}

/* skip_route - "@a,@b:" before the mailbox; returns bytes or -1. */
static int
skip_route(const char *s, int utf8)
{
	int i = 0;

	if (s[0] != '@')
		return 0;
	for (;;) {
		if (s[i] != '@')
			return -1;
		size_t n = domain_len(s + i + 1);
		if (!addr_domain_valid(s + i + 1, n, utf8))
			return -1;
		i += 1 + (int)n;
		if (s[i] == ':')
			return i + 1;
		if (s[i] != ',')
			return -1;
		i++;
	}
}

static int
fail(const char **why, const char *text)
{
	*why = text;
	return -1;
}

int
addr_parse_path(const char *s, int flags, struct addr *out,
		const char **rest, const char **why)
{
	int utf8 = (flags & ADDR_ALLOW_UTF8) != 0, bracket = 1, n;
	const char *p = s, *at;
	size_t dl;

	memset(out, 0, sizeof(*out));
	if (*p != '<') {
		if (!(flags & ADDR_LENIENT))
			return fail(why, "path must be enclosed in <>");
		bracket = 0;
	} else
		p++;
	if (bracket && *p == '>') {
		if (!(flags & ADDR_ALLOW_NULL))
			return fail(why, "null address not allowed here");
		if (p[1] != 0 && p[1] != ' ')
			return fail(why, "junk after the path");
		out->null = 1;
		*rest = p + 1;
		return 0;
	}
	if ((n = skip_route(p, utf8)) < 0)
		return fail(why, "bad source route");
	p += n;
	n = *p == '"' ? parse_quoted(p, utf8) : parse_dot_string(p, utf8);
	if (n < 0)
		return fail(why, "bad local part");
	if (n > LIM_LOCAL_PART)
		return fail(why, "local part longer than 64 octets");
	memcpy(out->local, p, (size_t)n);
	out->local[n] = 0;
	at = p + n;
	if (*at != '@') {
		if (!(flags & ADDR_ALLOW_NODOMAIN) ||
		    strcasecmp(out->local, "postmaster") != 0)
			return fail(why, "address must have a domain");
		p = at;
	} else {
		dl = domain_len(at + 1);
		if (dl > LIM_DOMAIN)
			return fail(why, "domain longer than 255 octets");
		if (!addr_domain_valid(at + 1, dl, utf8))
			return fail(why, "bad domain");
		for (size_t i = 0; i < dl; i++)
			out->domain[i] = (char)tolower((unsigned char)at[1 + i]);
		out->domain[dl] = 0;
		p = at + 1 + dl;
	}
	if (bracket) {
		if (*p != '>')
			return fail(why, "missing closing >");
		p++;
	}
	if ((size_t)(p - s) + (bracket ? 0 : 2) > LIM_PATH)
		return fail(why, "path longer than 256 octets");
	if (*p != 0 && *p != ' ')
		return fail(why, "junk after the path");
	*rest = p;
	return 0;
}

int
addr_format(const struct addr *a, char *out, size_t len)
{
	int n;

	if (a->null)
		n = snprintf(out, len, "%s", "");
	else if (a->domain[0] == 0)
		n = snprintf(out, len, "%s", a->local);
	else
		n = snprintf(out, len, "%s@%s", a->local, a->domain);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int
addr_split(const char *addr, struct addr *out)
{
	const char *at = strrchr(addr, '@');
	size_t ll = at ? (size_t)(at - addr) : strlen(addr);

	memset(out, 0, sizeof(*out));
	if (*addr == 0) {
		out->null = 1;
		return 0;
	}
	if (ll >= sizeof(out->local) ||
	    (at && strlen(at + 1) >= sizeof(out->domain)))
		return -1;
	memcpy(out->local, addr, ll);
	out->local[ll] = 0;
	if (at)
		for (size_t i = 0; at[1 + i]; i++)
			out->domain[i] = (char)tolower((unsigned char)at[1 + i]);
	return 0;
}

int
addr_unquote_local(const char *local, char *out, size_t len)
{
	size_t n = 0;

	if (*local != '"')
		return snprintf(out, len, "%s", local) < (int)len ? 0 : -1;
	for (const char *p = local + 1; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 >= len)
			return -1;
		out[n++] = *p;
	}
	out[n] = 0;
	return 0;
}

int
addr_path_component_ok(const char *s)
{
	if (*s == 0 || *s == '.')
		return 0;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 32 || *s == 127)
			return 0;
	return 1;
}

int
addr_mailbox_user(const char *local, char delim, char *out, size_t len)
{
	if (addr_unquote_local(local, out, len) != 0)
		return -1;
	if (delim != 0) {
		char *ext = strchr(out, delim);
		if (ext != NULL && ext != out)
			*ext = 0;
	}
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return addr_path_component_ok(out) ? 0 : -1;
}
