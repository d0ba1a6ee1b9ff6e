/*
 * qmgr_submit.c - a new message from qmgr itself (bounces, delay
 * warnings, delivery reports), handed to cleanup(8) like any other.
 *
 * The same request smtpd makes (common/cleanup_client.c): an envelope,
 * data records, an end; the message is queued only when cleanup answers
 * 250 (its file is durable).
 * Trusts: cleanup's answers for their framing.  Never: waits longer than
 * SUBMIT_TIMEOUT_MS for cleanup; holds more than one data chunk.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup_client.h"
#include "log.h"
#include "qmgr.h"

#define SUBMIT_TIMEOUT_MS 60000

struct submit {
	struct cleanup_client *cc;
};

struct submit *
submit_open(const char *sender, const char *rcpt, char *id, size_t idlen)
{
	struct cleanup_client *cc;
	struct submit *s;

	if ((cc = cleanup_client_open(sender, SUBMIT_TIMEOUT_MS)) == NULL) {
		log_warn("connect to private/cleanup: %m");
		return NULL;
	}
	cleanup_client_attr(cc, "rcpt", rcpt);
	cleanup_client_attr(cc, "protocol", "local");
	cleanup_client_attr(cc, "body_type", "8BITMIME");
	if (cleanup_client_start(cc, id, idlen) != 0) {
		log_warn("cleanup did not accept a notification's envelope");
		cleanup_client_close(cc);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		log_fatal("out of memory");
	s->cc = cc;
	return s;
}

void
submit_write(struct submit *s, const char *p, size_t n)
{
	cleanup_client_write(s->cc, p, n);
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
	const char *text;
	int status = cleanup_client_finish(s->cc, &text);

	if (status == CLEANUP_NO_ANSWER)
		log_warn("%s: no answer from cleanup", id);
	else if (status != 250)
		log_warn("%s: cleanup refused a notification: %d %s", id,
			 status, text ? text : "");
	submit_abort(s);
	return status == 250 ? 0 : -1;
}

/* submit_abort - give up a message; cleanup discards its file. */
void
submit_abort(struct submit *s)
{
	cleanup_client_close(s->cc);
	free(s);
}
