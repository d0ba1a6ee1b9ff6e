/*
 * smtp_ehlo.c - the service extensions an EHLO reply offers (RFC 5321
 * 4.1.1.1): one keyword per line after the first, with parameters.
 *
 * AUTH (RFC 4954 3) lists SASL mechanisms; the form "AUTH=" of servers
 * from before RFC 2554 was final is read the same way, both when a server
 * sends both.
 *
 * Trusts: nothing; unknown keywords and mechanisms are ignored, a bad
 * SIZE value means "no limit given".
 * Never: reads past the reply's text.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "remote.h"

/* keyword_is - whether the line [p, end) starts with word as a whole */
static int
keyword_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && strncasecmp(p, word, n) == 0 &&
	       (p + n == end || p[n] == ' ' || p[n] == '=');
}

static void
parse_size(const char *p, const char *end, struct smtp_ext *x)
{
	long long v = 0;

	x->size = 1;
	p += 4;
	while (p < end && *p == ' ')
		p++;
	for (; p < end && isdigit((unsigned char)*p); p++) {
		if (v > (1LL << 50))
			return; /* absurd: no usable limit */
		v = v * 10 + (*p - '0');
	}
	x->size_limit = p == end ? v : 0;
}

/* parse_auth - "AUTH PLAIN LOGIN" or "AUTH=LOGIN PLAIN": the mechanisms
 * we speak, among the words after the keyword */
static void
parse_auth(const char *p, const char *end, struct smtp_ext *x)
{
	x->auth = 1;
	for (p += 4; p < end;) {
		while (p < end && (*p == ' ' || *p == '='))
			p++;
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		if (p - w == 5 && strncasecmp(w, "PLAIN", 5) == 0)
			x->auth_mechs |= SMTP_AUTH_PLAIN;
		else if (p - w == 5 && strncasecmp(w, "LOGIN", 5) == 0)
			x->auth_mechs |= SMTP_AUTH_LOGIN;
	}
}

void
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *x)
{
	const char *p = memchr(r->text, '\n', r->len);
	const char *stop = r->text + r->len;

	memset(x, 0, sizeof(*x));
	while (p != NULL && p < stop) {
		const char *line = p + 1;
		const char *end = memchr(line, '\n', (size_t)(stop - line));
		if (end == NULL)
			end = stop;
		if (keyword_is(line, end, "PIPELINING"))
			x->pipelining = 1;
		else if (keyword_is(line, end, "8BITMIME"))
			x->eightbitmime = 1;
		else if (keyword_is(line, end, "SMTPUTF8"))
			x->smtputf8 = 1;
		else if (keyword_is(line, end, "DSN"))
			x->dsn = 1;
		else if (keyword_is(line, end, "STARTTLS"))
			x->starttls = 1;
		else if (keyword_is(line, end, "SIZE"))
			parse_size(line, end, x);
		else if (keyword_is(line, end, "AUTH"))
			parse_auth(line, end, x);
		p = end < stop ? end : NULL;
	}
}

/* put - one octet of smtp_stuff's output, or only its count */
static inline void
put(char *out, size_t *o, char c)
{
	if (out != NULL)
		out[*o] = c;
	(*o)++;
}

size_t
smtp_stuff(struct smtp_stuff *st, const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] != '\n' && st->limit && st->col >= st->limit) {
			/* a continuation, not a new line: the space keeps a
			 * header folded and never starts a line with a dot */
			put(out, &o, '\r');
			put(out, &o, '\n');
			put(out, &o, ' ');
			st->col = 1;
			st->bol = 0;
		}
		/* the size SIZE= declares leaves out the doubled dots */
		if (st->bol && in[i] == '.' && out != NULL)
			put(out, &o, '.');
		st->bol = in[i] == '\n';
		if (in[i] == '\n') {
			put(out, &o, '\r');
			st->col = 0;
		} else
			st->col++;
		put(out, &o, in[i]);
	}
	return o;
}
