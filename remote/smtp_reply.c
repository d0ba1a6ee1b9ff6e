/*
 * smtp_reply.c - parse the replies of an SMTP server (RFC 5321 4.2):
 * "NNN-text" lines, then "NNN text" (or a bare "NNN"), and the enhanced
 * status code (RFC 3463) at the start of the text.
 *
 * Trusts: nothing in the line; text is kept up to SMTP_REPLY_TEXT bytes
 * with control characters made '?' (it goes into logs and bounces).
 * Never: accepts lines whose codes differ within one reply.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "remote.h"

void
smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->nlines = 0;
	r->len = 0;
	r->text[0] = 0;
}

static void
add_text(struct smtp_reply *r, const char *p, size_t n)
{
	if (r->nlines > 0 && r->len + 1 < sizeof(r->text))
		r->text[r->len++] = '\n';
	for (size_t i = 0; i < n && r->len + 1 < sizeof(r->text); i++) {
		unsigned char ch = (unsigned char)p[i];
		r->text[r->len++] = ch < 32 || ch == 127 ? '?' : (char)ch;
	}
	r->text[r->len] = 0;
}

int
smtp_reply_line(struct smtp_reply *r, const char *line, size_t len)
{
	int code;

	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	if (r->nlines > 0 && code != r->code)
		return -1;
	if (r->nlines >= SMTP_REPLY_LINES)
		return -1;
	r->code = code;
	add_text(r, line + (len > 3 ? 4 : 3), len > 3 ? len - 4 : 0);
	r->nlines++;
	return len > 3 && line[3] == '-' ? 0 : 1;
}

/* dsn_len - length of "C.S.D" at p (RFC 3463 digit counts), or 0 */
static size_t
dsn_len(const char *p, int class)
{
	size_t i = 0, d;

	if (p[0] != '0' + class || p[1] != '.')
		return 0;
	i = 2;
	for (d = 0; isdigit((unsigned char)p[i]) && d < 3; d++)
		i++;
	if (d == 0 || p[i] != '.')
		return 0;
	i++;
	for (d = 0; isdigit((unsigned char)p[i]) && d < 3; d++)
		i++;
	if (d == 0 || (p[i] != ' ' && p[i] != 0 && p[i] != '\n'))
		return 0;
	return i;
}

void
smtp_reply_dsn(const struct smtp_reply *r, char *dsn, size_t len)
{
	int class = r->code / 100;
	size_t n = dsn_len(r->text, class);

	if (class < 2 || class > 5)
		class = 4;
	if (n > 0 && n < len)
		snprintf(dsn, len, "%.*s", (int)n, r->text);
	else
		snprintf(dsn, len, "%d.0.0", class);
}

void
smtp_reply_flat(const struct smtp_reply *r, char *out, size_t len)
{
	int w =
	    snprintf(out, len, "%03d%s%s", r->code, r->len ? " " : "", r->text);

	for (char *p = out; w >= 0 && *p; p++)
		if (*p == '\n')
			*p = ' ';
}
