/*
 * pickup_rcpt_headers.c - the recipients of "sendmail -t": the addresses
 * in To:, Cc: and Bcc: (cleanup removes Bcc: from the message).
 * Trusts: nothing in the headers (they come from a local user); every
 * address is bounded by LIM_PATH and the list by PICKUP_MAX_RCPTS.
 * Never: reads past len.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mta_limits.h"
#include "pickup.h"

void
rcpt_add(struct rcpt_list *l, const char *p, size_t n, const char *domain)
{
	/* trim blanks */
	while (n > 0 && isspace((unsigned char)*p))
		p++, n--;
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n == 0)
		return;
	if (l->n >= PICKUP_MAX_RCPTS || n > LIM_PATH) {
		l->overflow = 1;
		return;
	}
	int bare = memchr(p, '@', n) == NULL;
	size_t dl = bare ? strlen(domain) + 1 : 0;
	char *a = malloc(n + dl + 1);
	if (a == NULL) {
		l->overflow = 1;
		return;
	}
	memcpy(a, p, n);
	if (bare) {
		a[n] = '@';
		memcpy(a + n + 1, domain, dl - 1);
	}
	a[n + dl] = 0;
	l->r[l->n++] = a;
}

void
rcpt_free(struct rcpt_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->r[i]);
	l->n = 0;
}

/* one_address - "Name <a@b>", "a@b (Name)", "group: a@b" -> the address */
static void
one_address(const char *p, size_t n, const char *domain, struct rcpt_list *l)
{
	const char *lt = memchr(p, '<', n);
	if (lt != NULL) {
		const char *gt = memchr(lt, '>', n - (size_t)(lt - p));
		if (gt != NULL)
			rcpt_add(l, lt + 1, (size_t)(gt - lt - 1), domain);
		return;
	}
	const char *colon = memchr(p, ':', n); /* group name */
	if (colon != NULL) {
		n -= (size_t)(colon + 1 - p);
		p = colon + 1;
	}
	const char *paren = memchr(p, '(', n); /* trailing comment */
	if (paren != NULL)
		n = (size_t)(paren - p);
	while (n > 0 && (p[n - 1] == ';' || isspace((unsigned char)p[n - 1])))
		n--;
	rcpt_add(l, p, n, domain);
}

/* split_list - a header value: addresses separated by commas outside
 * quotes, angle brackets and comments. */
static void
split_list(const char *p, size_t n, const char *domain, struct rcpt_list *l)
{
	size_t start = 0;
	int quoted = 0, depth = 0, angle = 0;

	for (size_t i = 0; i <= n; i++) {
		char ch = i < n ? p[i] : ',';
		if (ch == '"' && depth == 0)
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (ch == '(')
			depth++;
		else if (ch == ')' && depth > 0)
			depth--;
		else if (ch == '<')
			angle = 1;
		else if (ch == '>')
			angle = 0;
		else if (ch == ',' && depth == 0 && !angle) {
			one_address(p + start, i - start, domain, l);
			start = i + 1;
		}
	}
}

static int
is_rcpt_field(const char *p, size_t n)
{
	static const char *names[] = {"To:", "Cc:", "Bcc:"};
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(names[i]);
		if (n >= k && strncasecmp(p, names[i], k) == 0)
			return (int)k;
	}
	return 0;
}

void
rcpt_from_headers(const char *hdr, size_t len, const char *domain,
		  struct rcpt_list *l)
{
	size_t i = 0;

	while (i < len && hdr[i] != '\n') {
		/* one field: its line and the folded lines after it */
		size_t start = i, end;
		do {
			const char *nl = memchr(hdr + i, '\n', len - i);
			end = nl ? (size_t)(nl - hdr) : len;
			i = end < len ? end + 1 : len;
		} while (i < len && (hdr[i] == ' ' || hdr[i] == '\t'));
		int k = is_rcpt_field(hdr + start, end - start);
		if (k == 0)
			continue;
		/* unfold into a copy: commas may sit on continuation lines */
		size_t vlen = i - start - (size_t)k;
		char *v = malloc(vlen + 1);
		if (v == NULL) {
			l->overflow = 1;
			return;
		}
		for (size_t j = 0; j < vlen; j++) {
			char ch = hdr[start + (size_t)k + j];
			v[j] = (ch == '\n' || ch == '\r') ? ' ' : ch;
		}
		split_list(v, vlen, domain, l);
		free(v);
	}
}
