/*
 * access.c - keys and values of the access maps (access.h, mta-maps(5)).
 *
 * Trusts: nothing in a value (it is an operator's text, but a typo must
 * become a clear error, never an accept) nor in a host name.
 * Never: lets a control character or more than ACCESS_TEXT_MAX octets
 * of a value into a reply; reads or writes past a key's LIM_MAP_KEY.
 */
#include "access.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TEXT "Access denied"

void
access_clean(const char *in, char *out, size_t cap)
{
	size_t n = 0,
	       max = cap - 1 < ACCESS_TEXT_MAX ? cap - 1 : ACCESS_TEXT_MAX;

	while (*in == ' ' || *in == '\t')
		in++;
	for (; *in && n < max; in++) {
		unsigned char c = (unsigned char)*in;
		if (c < 32 || c == 127)
			continue;
		out[n++] = c > 126 ? '?' : (char)c;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

/* word_is - value begins with the keyword w, then the end or a blank;
 * rest gets what follows the blanks. */
static int
word_is(const char *value, const char *w, const char **rest)
{
	size_t n = strlen(w);

	if (strncasecmp(value, w, n) != 0 ||
	    (value[n] != 0 && value[n] != ' ' && value[n] != '\t'))
		return 0;
	*rest = value + n;
	while (**rest == ' ' || **rest == '\t')
		(*rest)++;
	return 1;
}

/* enhanced_code - text starts "C.SSS.DDD " (RFC 3463) with class c:
 * its length, else 0. */
static size_t
enhanced_code(const char *t, char c)
{
	size_t i = 1, n;

	if (t[0] != c || t[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		i++;
		n = strspn(t + i, "0123456789");
		if (n == 0 || n > 3)
			return 0;
		i += n;
		if (part == 0 && t[i] != '.')
			return 0;
	}
	return t[i] == 0 || t[i] == ' ' || t[i] == '\t' ? i : 0;
}

/* set_reject - a refusal with code, dsn and the text (or the default) */
static void
set_reject(struct access_verdict *v, int code, const char *dsn,
	   const char *text)
{
	v->action = ACCESS_REJECT;
	v->code = code;
	snprintf(v->dsn, sizeof(v->dsn), "%s", dsn);
	access_clean(text, v->text, sizeof(v->text));
	if (v->text[0] == 0)
		snprintf(v->text, sizeof(v->text), DEFAULT_TEXT);
}

/* numeric - "4NN text" or "5NN text"; 0, or -1 when it is not one */
static int
numeric(const char *value, struct access_verdict *v)
{
	const char *t = value + 3;
	size_t n;
	char dsn[16];

	if ((value[0] != '4' && value[0] != '5') ||
	    !isdigit((unsigned char)value[1]) ||
	    !isdigit((unsigned char)value[2]) ||
	    (*t != 0 && *t != ' ' && *t != '\t'))
		return -1;
	while (*t == ' ' || *t == '\t')
		t++;
	snprintf(dsn, sizeof(dsn), "%c.7.1", value[0]);
	if ((n = enhanced_code(t, value[0])) > 0) {
		snprintf(dsn, sizeof(dsn), "%.*s", (int)n, t);
		t += n;
	} else if (isdigit((unsigned char)t[0]) && t[1] == '.') {
		return -1; /* "550 4.7.1": classes differ, or a bad code */
	}
	set_reject(v,
		   (value[0] - '0') * 100 + (value[1] - '0') * 10 +
		       (value[2] - '0'),
		   dsn, t);
	return 0;
}

void
access_value_parse(const char *value, struct access_verdict *v)
{
	const char *rest;

	memset(v, 0, sizeof(*v));
	while (*value == ' ' || *value == '\t')
		value++;
	if (word_is(value, "OK", &rest) && *rest == 0)
		v->action = ACCESS_OK;
	else if (word_is(value, "DUNNO", &rest) && *rest == 0)
		v->action = ACCESS_DUNNO;
	else if (word_is(value, "REJECT", &rest))
		set_reject(v, 554, "5.7.1", rest);
	else if (word_is(value, "DEFER", &rest))
		set_reject(v, 450, "4.7.1", rest);
	else if (numeric(value, v) != 0)
		v->action = ACCESS_BAD;
}

/* add_key - the key a sep b, when it fits */
static void
add_key(char keys[][LIM_MAP_KEY], int *n, int max, const char *a,
	const char *sep, const char *b)
{
	if (*n >= max)
		return;
	int w = snprintf(keys[*n], LIM_MAP_KEY, "%s%s%s", a, sep, b);
	if (w > 0 && w < LIM_MAP_KEY)
		(*n)++;
}

/* add_domain - domain itself, then ".parent" for each parent */
static void
add_domain(char keys[][LIM_MAP_KEY], int *n, int max, const char *domain)
{
	add_key(keys, n, max, domain, "", "");
	for (const char *d = strchr(domain, '.'); d != NULL && d[1] != 0;
	     d = strchr(d + 1, '.'))
		add_key(keys, n, max, d, "", "");
}

/* add_address - the address, then its text cut at each delimiter from
 * the right; a cut that leaves "" or ends in ':' ("::") is skipped */
static void
add_address(char keys[][LIM_MAP_KEY], int *n, int max, const char *addr)
{
	char a[64];
	unsigned char bin[16];
	int v6 = inet_pton(AF_INET6, addr, bin) == 1;
	char delim = v6 ? ':' : '.';

	if (!v6 && inet_pton(AF_INET, addr, bin) != 1)
		return;
	if (v6 && strncasecmp(addr, "::ffff:", 7) == 0 &&
	    inet_pton(AF_INET, addr + 7, bin) == 1) {
		addr += 7; /* an IPv4 client on an IPv6 socket */
		delim = '.';
	}
	snprintf(a, sizeof(a), "%s", addr);
	for (char *p = a; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (;;) {
		size_t len = strlen(a);
		if (len > 0 && a[len - 1] != ':')
			add_key(keys, n, max, a, "", "");
		char *cut = strrchr(a, delim);
		if (cut == NULL)
			break;
		*cut = 0;
	}
}

int
access_client_keys(const char *addr, const char *name, char keys[][LIM_MAP_KEY],
		   int max)
{
	int n = 0;

	add_address(keys, &n, max, addr);
	if (name != NULL && name[0] && strcmp(name, "unknown") != 0)
		add_domain(keys, &n, max, name);
	return n;
}

int
access_helo_keys(const char *helo, char keys[][LIM_MAP_KEY], int max)
{
	char inner[64];
	size_t len = strlen(helo);
	int n = 0;

	if (len == 0)
		return 0;
	if (helo[0] != '[') {
		add_domain(keys, &n, max, helo);
		return n;
	}
	add_key(keys, &n, max, helo, "", "");
	if (len > 2 && helo[len - 1] == ']' && len - 2 < sizeof(inner)) {
		const char *a = helo + 1;
		if (strncasecmp(a, "IPv6:", 5) == 0)
			a += 5;
		snprintf(inner, sizeof(inner), "%.*s",
			 (int)(helo + len - 1 - a), a);
		add_address(keys, &n, max, inner);
	}
	return n;
}

int
access_sender_keys(const char *local, const char *domain, char delim,
		   char keys[][LIM_MAP_KEY], int max)
{
	int n = 0;
	const char *ext = delim ? strchr(local, delim) : NULL;
	char base[LIM_MAP_KEY];

	if (local[0] == 0 && domain[0] == 0) {
		add_key(keys, &n, max, ACCESS_NULL_SENDER_KEY, "", "");
		return n;
	}
	if (ext == local)
		ext = NULL; /* "+x@d" has no base to fall back to */
	snprintf(base, sizeof(base), "%.*s",
		 (int)(ext ? (size_t)(ext - local) : strlen(local)), local);
	add_key(keys, &n, max, local, "@", domain);
	if (ext)
		add_key(keys, &n, max, base, "@", domain);
	if (domain[0])
		add_domain(keys, &n, max, domain);
	add_key(keys, &n, max, local, "@", "");
	if (ext)
		add_key(keys, &n, max, base, "@", "");
	return n;
}
