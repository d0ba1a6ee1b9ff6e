/*
 * loop.c - mail loop detection: a message that already carries a
 * "Delivered-To:" header for this recipient has been here before (a
 * forwarding or alias loop between systems); it bounces with 5.4.6.
 *
 * Trusts: nothing in the message; reads at most header_size_limit bytes.
 * Never: reads past the end of the header.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "local.h"

/* line_matches - whether one unfolded header line is Delivered-To: rcpt */
static int
line_matches(const char *l, size_t n, const char *rcpt)
{
	static const char name[] = "delivered-to:";
	size_t k = sizeof(name) - 1, rl = strlen(rcpt);

	if (n < k || strncasecmp(l, name, k) != 0)
		return 0;
	l += k;
	n -= k;
	while (n > 0 && (*l == ' ' || *l == '\t'))
		l++, n--;
	while (n > 0 && isspace((unsigned char)l[n - 1]))
		n--;
	if (n >= 2 && l[0] == '<' && l[n - 1] == '>')
		l++, n -= 2;
	return n == rl && strncasecmp(l, rcpt, n) == 0;
}

int
local_seen_before(int qfd, const struct qf_envelope *e, const char *rcpt)
{
	size_t cap = (size_t)cfg.header_size_limit, len = 0;
	char *buf = malloc(cap + 1);
	struct qf_reader rd;
	ssize_t n;
	int found = 0;

	if (buf == NULL)
		return -1;
	qf_reader_init(&rd, qfd, e);
	while (len < cap && (n = qf_reader_read(&rd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	for (size_t i = 0; i < len && !found;) {
		size_t e2 = i;
		while (e2 < len && buf[e2] != '\n')
			e2++;
		if (e2 == i || (e2 == i + 1 && buf[i] == '\r'))
			break; /* the empty line ends the header */
		found = line_matches(buf + i, e2 - i, rcpt);
		i = e2 + 1;
	}
	free(buf);
	return found;
}
