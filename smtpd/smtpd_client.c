/*
 * smtpd_client.c - the client's host name, as Postfix finds it: the PTR
 * name of its address, kept only when one of that name's addresses is
 * the client's own (forward-confirmed); "unknown" otherwise.
 *
 * Asked of resolver(8) with a short wait (smtpd_client_lookup_timeout
 * for the PTR, and once more for all the names' addresses together),
 * so a slow DNS never holds up a session for long.
 * Trusts: resolver's answers for their framing; nothing in a PTR name
 * until it is checked to be a plain host name.
 * Never: lets a name that does not point back at the client, or one with
 * characters that are no host name's, into the logs or Received:.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "resolver_client.h"
#include "smtpd.h"

/* hostname_ok - letters, digits, '-', '.', and not too long */
static int
hostname_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len >= LIM_HOSTNAME)
		return 0;
	for (const char *p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return 0;
	return 1;
}

/* same_address - text addresses compared as addresses ("::1" forms). */
static int
same_address(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1 && inet_pton(AF_INET, b, y) == 1)
		return memcmp(x, y, 4) == 0;
	if (inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1)
		return memcmp(x, y, 16) == 0;
	return 0;
}

/* confirmed - one of name's A/AAAA records is addr. */
static int
confirmed(const char *name, const char *addr, int wait_ms)
{
	struct dns_answer a;
	int ok = 0;

	resolver_query_wait(strchr(addr, ':') ? "AAAA" : "A", name, wait_ms,
			    &a);
	for (int i = 0; a.status == DNS_OK && i < a.n && !ok; i++)
		ok = same_address(a.rr[i], addr);
	dns_answer_free(&a);
	return ok;
}

void
smtpd_client_hostname(const char *addr, char *out, size_t len)
{
	int wait_ms = (int)cfg.smtpd_client_lookup_timeout * 1000;
	struct dns_answer a;

	snprintf(out, len, "unknown");
	if (wait_ms == 0 || strcmp(addr, "unknown") == 0)
		return;
	resolver_query_wait("PTR", addr, wait_ms, &a);
	/* the names' lookups share one wait: a PTR set of many names in
	 * a zone that never answers (the client's own choice) must not
	 * hold the greeting, and resolver(8), a wait per name */
	long end = mono_ms() + wait_ms;
	for (int i = 0; a.status == DNS_OK && i < a.n; i++) {
		long left = end - mono_ms();
		if (left <= 0)
			break;
		if (!hostname_ok(a.rr[i]) ||
		    !confirmed(a.rr[i], addr, (int)left))
			continue;
		snprintf(out, len, "%s", a.rr[i]);
		break;
	}
	dns_answer_free(&a);
}
