/*
 * qmgr_submit.c - a new message from qmgr itself (bounces, delay
 * warnings, delivery reports), handed to cleanup(8) like any other.
 *
 * The same request smtpd makes: an envelope, data records, an end; the
 * message is queued only when cleanup answers 250 (its file is durable).
 * Trusts: cleanup's answers for their framing.  Never: waits longer than
 * SUBMIT_TIMEOUT_MS for cleanup; holds more than one data chunk.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "qmgr.h"

#define SUBMIT_TIMEOUT_MS 60000

struct submit *
submit_open(const char *sender, const char *rcpt, char *id, size_t idlen)
{
	int fd = ipc_connect_unix("private/cleanup");
	struct submit *s;
	struct attrs a;
	const char *qid;

	if (fd < 0) {
		log_warn("connect to private/cleanup: %m");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		log_fatal("out of memory");
	s->c = ipc_new(fd, SUBMIT_TIMEOUT_MS);
	ipc_put_str(s->c, "req", "submit");
	ipc_put_str(s->c, "sender", sender);
	ipc_put_str(s->c, "rcpt", rcpt);
	ipc_put_str(s->c, "protocol", "local");
	ipc_put_str(s->c, "body_type", "8BITMIME");
	attrs_init(&a);
	if (ipc_end(s->c) != IPC_OK || ipc_read(s->c, &a) != IPC_OK ||
	    (qid = attrs_get(&a, "queue_id")) == NULL) {
		log_warn("cleanup did not accept a notification's envelope");
		attrs_free(&a);
		ipc_free(s->c);
		free(s);
		return NULL;
	}
	snprintf(id, idlen, "%s", qid);
	attrs_free(&a);
	return s;
}

static void
flush_chunk(struct submit *s)
{
	if (s->len == 0 || s->failed)
		return;
	ipc_put(s->c, "data", s->chunk, s->len);
	if (ipc_end(s->c) != IPC_OK)
		s->failed = 1;
	s->len = 0;
}

void
submit_write(struct submit *s, const char *p, size_t n)
{
	while (n > 0 && !s->failed) {
		size_t k = sizeof(s->chunk) - s->len;
		if (k > n)
			k = n;
		memcpy(s->chunk + s->len, p, k);
		s->len += k, p += k, n -= k;
		if (s->len == sizeof(s->chunk))
			flush_chunk(s);
	}
}

void
submit_printf(struct submit *s, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		log_fatal("notification line of %d bytes does not fit", n);
	submit_write(s, buf, (size_t)n);
}

/* submit_close - end the message; 0 when cleanup queued it. */
int
submit_close(struct submit *s, const char *id)
{
	struct attrs a;
	const char *status;
	int rc = -1;

	flush_chunk(s);
	attrs_init(&a);
	ipc_put_str(s->c, "end", "1");
	if (!s->failed && ipc_end(s->c) == IPC_OK &&
	    ipc_read(s->c, &a) == IPC_OK &&
	    (status = attrs_get(&a, "status")) != NULL) {
		if (strcmp(status, "250") == 0)
			rc = 0;
		else
			log_warn("%s: cleanup refused a notification: %s %s",
				 id, status, attrs_get(&a, "text") ?
				 attrs_get(&a, "text") : "");
	} else
		log_warn("%s: no answer from cleanup", id);
	attrs_free(&a);
	ipc_free(s->c);
	free(s);
	return rc;
}

/* submit_abort - give up a message; cleanup discards its file. */
void
submit_abort(struct submit *s)
{
	ipc_free(s->c);
	free(s);
}
