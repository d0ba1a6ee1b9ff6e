/*
 * resolver_client.c - ask resolver(8) for DNS records (resolver_client.h).
 *
 * One connection per query: resolver processes then serve everyone in
 * turn and no client holds one while it talks SMTP.
 * Trusts: resolver's answer only up to RESOLVER_MAX_RR records.
 * Never: talks DNS itself; blocks longer than RESOLVER_WAIT_MS.
 */
#include "resolver_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsutil.h"
#include "ipc.h"

static const char *const status_names[] = {"ok", "nodata", "nxdomain",
					   "tempfail"};

const char *
dns_status_name(enum dns_status s)
{
	return (unsigned)s < 4 ? status_names[s] : "tempfail";
}

int
dns_status_parse(const char *s)
{
	for (int i = 0; s != NULL && i < 4; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

static void
fail(struct dns_answer *a, const char *why)
{
	a->status = DNS_TEMPFAIL;
	snprintf(a->why, sizeof(a->why), "%s", why);
}

/* take_answer - copy the record's fields into a. */
static void
take_answer(const struct attrs *r, struct dns_answer *a)
{
	int ok, st = dns_status_parse(attrs_get(r, "status"));
	const char *text = attrs_get(r, "text");

	if (st < 0) {
		fail(a, "malformed answer from resolver");
		return;
	}
	a->status = (enum dns_status)st;
	a->ad = attrs_get_long(r, "ad", &ok) == 1;
	a->ttl = attrs_get_long(r, "ttl", &ok);
	snprintf(a->why, sizeof(a->why), "%s", text ? text : "");
	for (int i = 0; i < r->n && a->n < RESOLVER_MAX_RR; i++)
		if (strcmp(r->a[i].name, "rr") == 0 &&
		    (a->rr[a->n] = strdup(r->a[i].value)) != NULL)
			a->n++;
}

void
resolver_query(const char *type, const char *name, struct dns_answer *a)
{
	resolver_query_wait(type, name, RESOLVER_WAIT_MS, a);
}

/* query_send - connect and send one query; NULL with a filled when not */
static struct ipc *
query_send(const char *type, const char *name, int wait_ms,
	   struct dns_answer *a)
{
	int fd = ipc_connect_unix(RESOLVER_SOCKET);
	struct ipc *c;

	memset(a, 0, sizeof(*a));
	if (fd < 0) {
		char why[128];
		snprintf(why, sizeof(why), "cannot connect to resolver: %s",
			 strerror(errno));
		fail(a, why);
		return NULL;
	}
	c = ipc_new(fd, wait_ms);
	ipc_put_str(c, "req", "query");
	ipc_put_str(c, "type", type);
	ipc_put_str(c, "name", name);
	if (ipc_end(c) != IPC_OK) {
		fail(a, "lost connection with resolver");
		ipc_free(c);
		return NULL;
	}
	return c;
}

void
resolver_query_wait(const char *type, const char *name, int wait_ms,
		    struct dns_answer *a)
{
	struct ipc *c = query_send(type, name, wait_ms, a);
	struct attrs r;

	if (c == NULL)
		return;
	attrs_init(&r);
	if (ipc_read(c, &r) != IPC_OK)
		fail(a, "lost connection with resolver");
	else
		take_answer(&r, a);
	attrs_free(&r);
	ipc_free(c);
}

/* query_read - what one readable connection holds: 1 when its answer
 * (or its failure) is in a, 0 when more bytes must come */
static int
query_read(struct ipc *c, struct dns_answer *a)
{
	struct attrs r;
	int rc = ipc_fill(c), done = 1;

	attrs_init(&r);
	if (rc == IPC_AGAIN)
		done = 0;
	else if (rc < 0 && rc != IPC_EOF)
		fail(a, "lost connection with resolver");
	else if ((rc = ipc_parse(c, &r)) == IPC_OK)
		take_answer(&r, a);
	else if (rc == IPC_AGAIN && !c->eof)
		done = 0;
	else
		fail(a, "lost connection with resolver");
	attrs_free(&r);
	return done;
}

void
resolver_batch_start(const char *type, const char *const *names, int n,
		     int wait_ms, struct resolver_batch *b)
{
	b->n = n < RESOLVER_PARALLEL_MAX ? n : RESOLVER_PARALLEL_MAX;
	b->end = mono_ms() + wait_ms;
	for (int i = 0; i < b->n; i++) {
		b->c[i] = query_send(type, names[i], wait_ms, &b->out[i]);
		/* no more queries on it: resolver(8) answers, reads the end
		 * and goes on to other clients, however long this one takes
		 * to read the answer (it serves a connection until its end) */
		if (b->c[i] != NULL && shutdown(b->c[i]->fd, SHUT_WR) != 0) {
			fail(&b->out[i], "lost connection with resolver");
			ipc_free(b->c[i]);
			b->c[i] = NULL;
		}
	}
}

void
resolver_batch_finish(struct resolver_batch *b)
{
	struct pollfd p[RESOLVER_PARALLEL_MAX];
	int idx[RESOLVER_PARALLEL_MAX], pending = 0;

	for (int i = 0; i < b->n; i++)
		pending += b->c[i] != NULL;
	while (pending > 0) {
		int np = 0, left = (int)(b->end - mono_ms()), rc;
		for (int i = 0; i < b->n; i++)
			if (b->c[i] != NULL) {
				p[np] = (struct pollfd){.fd = b->c[i]->fd,
							.events = POLLIN};
				idx[np++] = i;
			}
		/* past the end, what has come meanwhile is still read: a
		 * caller that comes late (smtpd at a client's first RCPT,
		 * long after the connect) finds its answers waiting */
		if (left < 0)
			left = 0;
		if ((rc = poll(p, (nfds_t)np, left)) < 0 && errno != EINTR)
			break;
		if (rc == 0 && left == 0)
			break;
		for (int k = 0; rc > 0 && k < np; k++) {
			int i = idx[k];
			if (p[k].revents == 0 || !query_read(b->c[i], &b->out[i]))
				continue;
			ipc_free(b->c[i]);
			b->c[i] = NULL;
			pending--;
		}
	}
	for (int i = 0; i < b->n; i++)
		if (b->c[i] != NULL) {
			fail(&b->out[i], "no answer from resolver in time");
			ipc_free(b->c[i]);
			b->c[i] = NULL;
		}
}

void
resolver_query_all(const char *type, const char *const *names, int n,
		   int wait_ms, struct dns_answer *out)
{
	struct resolver_batch b;

	resolver_batch_start(type, names, n, wait_ms, &b);
	resolver_batch_finish(&b);
	for (int i = 0; i < n; i++) {
		if (i < b.n) {
			out[i] = b.out[i];
			continue;
		}
		memset(&out[i], 0, sizeof(out[i]));
		fail(&out[i], "too many queries at once");
	}
}

void
dns_answer_free(struct dns_answer *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->rr[i]);
	a->n = 0;
}
