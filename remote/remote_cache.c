/*
 * remote_cache.c - SMTP connections kept open between requests, so that
 * mail for one next hop does not pay connect, greeting, EHLO and
 * STARTTLS per message (Postfix's connection reuse).  A connection is
 * kept only after its last transaction ended and the peer answered RSET
 * with 2xx; it is found again only by the exact next hop it was made
 * for: MX host name (the name TLS verified and sent as SNI), address,
 * port, the TLS level its request asked for, and the AUTH credentials
 * looked up for it (smtp_auth.c; a hash, or none): a connection
 * authenticated as one user never carries mail that another user's
 * credentials are configured for, and one made without credentials
 * never carries mail that needs them.  It stays at most
 * remote_connection_reuse_time idle and carries at most
 * remote_connection_reuse_limit messages.
 *
 * Trusts: nothing the peer sent while idle (anything readable then, data
 * or end of file, means the connection is not reused).
 * Never: hands out a connection made for another host, address, port,
 * TLS level or credentials; keeps more than REMOTE_CACHE_MAX.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fsutil.h"
#include "remote.h"

static struct smtp_conn *cache[REMOTE_CACHE_MAX];
static int ncache;

static void
drop(int i, int quit)
{
	struct smtp_conn *c = cache[i];

	cache[i] = cache[--ncache];
	if (quit)
		smtp_quit(c, REMOTE_CACHE_QUIT_S);
	smtp_close(c);
	free(c);
}

/* alive - nothing to read on an idle connection: a reply the peer sent
 * unasked (421 on its idle timeout) or end of file means it is gone */
static int
alive(const struct smtp_conn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	int n;

	if (c->rpos != c->rlen)
		return 0;
	do
		n = poll(&p, 1, 0);
	while (n < 0 && errno == EINTR);
	return n == 0;
}

struct smtp_conn *
conn_cache_take(const char *host, const char *addr, int port, int level,
		const unsigned char *cred_id)
{
	for (int i = 0; i < ncache; i++) {
		struct smtp_conn *c = cache[i];
		if (c->port != port || c->level != level ||
		    memcmp(c->cred_id, cred_id, sizeof(c->cred_id)) != 0 ||
		    strcasecmp(c->host, host) != 0 || strcmp(c->addr, addr) != 0)
			continue;
		int up = alive(c);
		if (!up || c->expires <= now_us()) {
			drop(i, up); /* a dead one gets no QUIT */
			return NULL;
		}
		cache[i] = cache[--ncache];
		return c;
	}
	return NULL;
}

void
conn_cache_put(struct smtp_conn *c)
{
	if (ncache == REMOTE_CACHE_MAX) {
		int old = 0;
		for (int i = 1; i < ncache; i++)
			if (cache[i]->expires < cache[old]->expires)
				old = i;
		drop(old, 1);
	}
	c->expires = now_us() + cfg.remote_connection_reuse_time * 1000000LL;
	cache[ncache++] = c;
}

int
conn_cache_wait_ms(void)
{
	long long first = 0, now = now_us();

	if (ncache == 0)
		return -1;
	for (int i = 0; i < ncache; i++)
		if (i == 0 || cache[i]->expires < first)
			first = cache[i]->expires;
	return first <= now ? 0 : (int)((first - now + 999) / 1000);
}

void
conn_cache_expire(int all)
{
	long long now = now_us();

	for (int i = ncache - 1; i >= 0; i--)
		if (all || cache[i]->expires <= now)
			drop(i, 1);
}
