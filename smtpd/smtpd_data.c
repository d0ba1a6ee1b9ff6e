/*
 * smtpd_data.c - DATA and BDAT: stream the message to cleanup(8) as it
 * arrives.
 *
 * The bytes pass through the body filter (smtpd_body.c), which alone
 * decides where DATA ends (only CRLF "." CRLF) and hands cleanup clean
 * LF-terminated lines.  smtpd_bare_lf = reject refuses, at the end of
 * the data, a message from an untrusted client that held a bare LF
 * (550 5.5.2).  BDAT (RFC 3030) reads exactly the announced octets, even
 * when it refuses the chunk, so the command stream stays in step.  The
 * 250 reply is sent only after cleanup reports the queue file durable.
 * The session's messages share one cleanup connection while the client
 * keeps sending (done_with); a message that ends any other way than by
 * cleanup's answer closes it, so cleanup discards that message only.
 * Trusts: nothing the client sends; cleanup's replies for their framing.
 * Never: buffers a whole message; answers 250 before cleanup did.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup_client.h"
#include "config.h"
#include "log.h"
#include "smtpd.h"
#include "stats.h"

#define CLEANUP_TIMEOUT_MS 300000 /* for the final, fsync'ing reply */

struct data_state {
	struct cleanup_client *c;
	char id[LIM_QUEUE_ID + 4];
	long long size;
	int too_big;
	struct body_filter f;
	/* DATA is read straight into this, 64 KB a read instead of the 16
	 * KB of the command buffer; last, with f: neither is zeroed */
	char raw[SMTPD_DATA_READ];
};

/* a BDAT transaction: the cleanup connection stays open between chunks */
struct smtpd_bdat {
	struct data_state d;
};

/* release - the client has been quiet: give the kept cleanup process
 * back for other sessions (io_fill calls this) */
static void
release(void *ctx)
{
	struct smtpd_session *s = ctx;

	cleanup_client_close(s->cleanup);
	s->cleanup = NULL;
}

/*
 * done_with - a message is over.  A connection whose last message got
 * cleanup's final answer is kept for the session's next message (a
 * cleanup process per message, or per few, was a tenth of the CPU per
 * message), and given back when the client is quiet for
 * SMTPD_CLEANUP_KEEP_MS or leaves; any other is closed, so that
 * cleanup sees EOF and discards what it was writing.
 */
static void
done_with(struct smtpd_session *s, struct cleanup_client *c)
{
	if (c == NULL)
		return;
	if (s->cleanup != NULL || !cleanup_client_in_step(c)) {
		cleanup_client_close(c);
		return;
	}
	s->cleanup = c;
	io_on_idle(&s->io, SMTPD_CLEANUP_KEEP_MS, release, s);
}

void
smtpd_data_end(struct smtpd_session *s)
{
	io_on_idle(&s->io, 0, NULL, NULL);
	io_spill_free(&s->io);
	release(s);
}

/* envelope_put - the envelope's attributes on c, not yet sent. */
static void
envelope_put(struct smtpd_session *s, struct cleanup_client *c)
{
	/* each recipient's DSN attributes follow it (mta-queue(5) order) */
	for (int i = 0; i < s->nrcpt; i++) {
		cleanup_client_attr(c, "rcpt", s->rcpts[i]);
		cleanup_client_attr(c, "orcpt", s->orcpts[i]);
		cleanup_client_attr(c, "notify", s->notify[i]);
	}
	cleanup_client_attr(c, "client_addr", s->client_addr);
	cleanup_client_attr(c, "client_name", s->client_name);
	cleanup_client_attr(c, "helo", s->helo);
	/* RFC 3848: S for a TLS session, A for an authenticated one */
	char proto[16];
	snprintf(proto, sizeof(proto), "%s%s%s",
		 s->smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP",
		 s->tls[0] ? "S" : "", s->auth_user[0] ? "A" : "");
	cleanup_client_attr(c, "protocol", proto);
	if (s->auth_user[0])
		cleanup_client_attr(c, "auth_user", s->auth_user);
	if (s->tls[0])
		cleanup_client_attr(c, "tls", s->tls);
	cleanup_client_attr(c, "body_type", s->body_type);
	if (s->envid[0])
		cleanup_client_attr(c, "envid", s->envid);
	if (s->ret[0])
		cleanup_client_attr(c, "ret", s->ret);
	if (s->verbose) /* VERB: a delivery trace (mta-queue(5) W) */
		cleanup_client_attr(c, "trace", "VERB");
}

/* connect_or_keep - the kept connection, ready for the next message
 * (*kept = 1), or a new one; NULL when cleanup cannot be reached. */
static struct cleanup_client *
connect_or_keep(struct smtpd_session *s, int *kept)
{
	struct cleanup_client *c = s->cleanup;

	s->cleanup = NULL;
	if (c != NULL && cleanup_client_next(c, s->sender) == 0) {
		*kept = 1;
		return c;
	}
	cleanup_client_close(c);
	*kept = 0;
	if ((c = cleanup_client_open(s->sender, CLEANUP_TIMEOUT_MS)) == NULL)
		log_warn("connect to private/cleanup: %m");
	return c;
}

/*
 * cleanup_open - the kept connection or a new one, with the envelope
 * sent and the queue ID in id; NULL after a reply.  A kept connection
 * that fails at the envelope (its cleanup ended after a reload or its
 * idle time, or died) is replaced by a new one once: nothing was queued
 * on it yet.
 */
static struct cleanup_client *
cleanup_open(struct smtpd_session *s, char *id, size_t idlen)
{
	int kept = 1;

	while (kept) {
		struct cleanup_client *c = connect_or_keep(s, &kept);
		if (c == NULL)
			break;
		envelope_put(s, c);
		if (cleanup_client_start(c, id, idlen) == 0)
			return c;
		cleanup_client_close(c);
		if (!kept)
			log_warn("cleanup did not accept the envelope");
	}
	io_printf(&s->io, "451 4.3.0 Error: queue file write error\r\n");
	return NULL;
}

/*
 * data_open - DATA: the envelope sent without waiting for cleanup's
 * answer, which data_id reads once the 354 is out, so that cleanup
 * creates the queue file while the client sends the body (one round
 * trip to cleanup fewer on each message's way to its 250).  -1 after a
 * reply, when no cleanup could be reached.
 */
static int
data_open(struct smtpd_session *s, struct data_state *d, int *kept)
{
	if ((d->c = connect_or_keep(s, kept)) != NULL) {
		envelope_put(s, d->c);
		/* a kept connection that failed is replaced in data_id */
		if (cleanup_client_send(d->c) == 0 || *kept)
			return 0;
		cleanup_client_close(d->c);
		d->c = NULL;
		log_warn("cleanup did not accept the envelope");
	}
	io_printf(&s->io, "451 4.3.0 Error: queue file write error\r\n");
	return -1;
}

/* data_id - cleanup's answer to data_open's envelope, the queue ID; a
 * kept connection that failed is replaced once, as in cleanup_open.
 * -1 without a queue file: the body is then read and dropped, and 451
 * follows it. */
static int
data_id(struct smtpd_session *s, struct data_state *d, int kept)
{
	if (cleanup_client_take_id(d->c, d->id, sizeof(d->id)) == 0)
		return 0;
	cleanup_client_close(d->c);
	d->c = NULL;
	if (kept && (d->c = connect_or_keep(s, &kept)) != NULL) {
		envelope_put(s, d->c);
		if (cleanup_client_start(d->c, d->id, sizeof(d->id)) == 0)
			return 0;
		cleanup_client_close(d->c);
		d->c = NULL;
	}
	log_warn("cleanup did not accept the envelope");
	snprintf(d->id, sizeof(d->id), "NOQUEUE");
	return -1;
}

/* chunk_add - the body filter's sink: clean bytes on their way out. */
static void
chunk_add(void *ctx, const char *p, size_t n)
{
	struct data_state *d = ctx;

	d->size += (long long)n;
	if (d->size > cfg.message_size_limit)
		d->too_big = 1;
	/* after a failed write cleanup_client drops it; without a queue
	 * file (data_id) the body is only read */
	if (!d->too_big && d->c != NULL)
		cleanup_client_write(d->c, p, n);
}

/* timeout_reply - a read failed: say why when the client can hear it. */
static void
timeout_reply(struct smtpd_session *s, int rc)
{
	if (rc == LINE_TIMEOUT)
		io_printf(&s->io, "421 4.4.2 %s Error: timeout exceeded\r\n",
			  cfg.myhostname);
	s->quit = 1;
}

/* read_body - DATA until CRLF.CRLF; 0 at the end, -1 when it ends. */
static int
read_body(struct smtpd_session *s, struct data_state *d)
{
	struct smtpd_io *io = &s->io;

	while (!d->f.done) {
		size_t got, used;
		int rc = io_read_into(io, d->raw, sizeof(d->raw), &got);
		if (rc != LINE_OK) {
			timeout_reply(s, rc);
			return -1;
		}
		used = body_feed(&d->f, d->raw, got);
		/* what follows the end of the data is pipelined commands */
		if (used < got && io_unread(io, d->raw + used, got - used) != 0) {
			log_warn("no memory for %zu pipelined bytes", got - used);
			s->quit = 1;
			return -1;
		}
	}
	return 0;
}

/* finish - tell cleanup the message is complete and relay its answer. */
static void
finish(struct smtpd_session *s, struct data_state *d)
{
	const char *text;
	char client[400];
	int status;

	smtpd_client_label(s, client, sizeof(client));
	if (d->too_big) {
		io_printf(&s->io, "552 5.3.4 Error: message file too big\r\n");
		stats_inc(ST_REJECT_SIZE);
		log_info("%s: reject: message size %lld over "
			 "message_size_limit %ld from %s", d->id, d->size,
			 cfg.message_size_limit, client);
		return;
	}
	if (d->c == NULL) { /* data_id had no queue file */
		io_printf(&s->io, "451 4.3.0 Error: queue file write error\r\n");
		return;
	}
	status = cleanup_client_finish(d->c, &text);
	if (status == CLEANUP_NO_ANSWER) {
		log_warn("%s: no answer from cleanup", d->id);
		io_printf(&s->io, "451 4.3.0 Error: queue file write error\r\n");
	} else if (status == 250) {
		io_printf(&s->io, "250 2.0.0 Ok: queued as %s\r\n", d->id);
		stats_inc(ST_SMTPD_ACCEPTED);
	} else {
		io_printf(&s->io, "%d %s\r\n", status, text ? text : "Error");
	}
}

/* bare_lf_refused - smtpd_bare_lf = reject, for an untrusted client. */
static int
bare_lf_refused(struct smtpd_session *s, struct data_state *d)
{
	char client[400];

	if (d->f.bare_lf == 0 || s->trusted ||
	    strcmp(cfg.smtpd_bare_lf, "reject") != 0)
		return 0;
	smtpd_client_label(s, client, sizeof(client));
	io_printf(&s->io, "550 5.5.2 Error: bare <LF> received\r\n");
	log_info("%s: reject: bare <LF> received from %s", d->id, client);
	stats_inc(ST_REJECT_BARE_LF);
	return 1;
}

/* data_begin - open cleanup for the transaction; -1 after a reply. */
static int
data_begin(struct smtpd_session *s, struct data_state *d,
	   enum body_mode mode)
{
	char client[400];

	/* the filter's 64 KB output buffer is left to body_init */
	memset(d, 0, offsetof(struct data_state, f));
	if ((d->c = cleanup_open(s, d->id, sizeof(d->id))) == NULL)
		return -1;
	body_init(&d->f, mode, chunk_add, d);
	smtpd_client_label(s, client, sizeof(client));
	log_info("%s: client=%s", d->id, client);
	return 0;
}

void
smtpd_data(struct smtpd_session *s)
{
	struct data_state *d;
	int saved_timeout = s->io.timeout_s, kept;
	char client[400];

	if (!s->have_mail || s->nrcpt == 0) {
		if (!smtpd_error(s))
			io_printf(&s->io, "503 5.5.1 Error: need %s "
				  "command\r\n", s->have_mail ? "RCPT" : "MAIL");
		return;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {
		io_printf(&s->io, "451 4.3.0 Error: out of memory\r\n");
		return;
	}
	/* data_begin's steps, with cleanup's answer after the 354 */
	memset(d, 0, offsetof(struct data_state, f));
	if (data_open(s, d, &kept) != 0) {
		free(d);
		return;
	}
	io_printf(&s->io, "354 End data with <CR><LF>.<CR><LF>\r\n");
	if (io_flush(&s->io) == 0 && data_id(s, d, kept) == 0) {
		smtpd_client_label(s, client, sizeof(client));
		log_info("%s: client=%s", d->id, client);
	}
	body_init(&d->f, BODY_DATA, chunk_add, d);
	s->io.timeout_s = (int)cfg.smtpd_data_timeout;
	int rc = read_body(s, d);
	s->io.timeout_s = saved_timeout;
	if (rc == 0 && !bare_lf_refused(s, d))
		finish(s, d);
	/* without "end", cleanup sees EOF and discards the file */
	done_with(s, d->c);
	free(d);
	smtpd_reset(s);
}

void
smtpd_bdat_abort(struct smtpd_session *s)
{
	if (s->bdat == NULL)
		return;
	cleanup_client_close(s->bdat->d.c);
	free(s->bdat);
	s->bdat = NULL;
}

/* bdat_read - take exactly n octets into f (NULL: discard); -1 on EOF. */
static int
bdat_read(struct smtpd_session *s, struct body_filter *f, long long n)
{
	struct smtpd_io *io = &s->io;
	int saved = io->timeout_s, rc = 0;

	io->timeout_s = (int)cfg.smtpd_data_timeout;
	while (n > 0) {
		if (io->pos == io->len && (rc = io_fill(io)) != LINE_OK)
			break;
		size_t k = io->len - io->pos;
		if ((long long)k > n)
			k = (size_t)n;
		if (f != NULL)
			body_feed(f, io->in + io->pos, k);
		io->pos += k;
		n -= (long long)k;
	}
	io->timeout_s = saved;
	if (n > 0) {
		timeout_reply(s, rc);
		return -1;
	}
	return 0;
}

/* bdat_args - "size [LAST]"; -1 when they cannot be parsed. */
static int
bdat_args(const char *arg, long long *size, int *last)
{
	char *end;

	while (*arg == ' ')
		arg++;
	size_t nd = strspn(arg, "0123456789");
	if (nd == 0 || nd > 18)
		return -1;
	*size = strtoll(arg, &end, 10);
	while (*end == ' ')
		end++;
	*last = 0;
	if (strcasecmp(end, "LAST") == 0)
		*last = 1;
	else if (*end != 0)
		return -1;
	return 0;
}

void
smtpd_bdat(struct smtpd_session *s, const char *arg)
{
	long long size;
	int last;

	if (bdat_args(arg, &size, &last) != 0) {
		/* the chunk's length is unknown: we cannot stay in step */
		io_printf(&s->io, "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
		s->quit = 1;
		return;
	}
	if (size > cfg.message_size_limit) {
		/* reading a chunk this large just to drop it would let a
		 * client hold the session for as long as it likes */
		io_printf(&s->io, "552 5.3.4 Error: chunk larger than "
			  "message_size_limit\r\n");
		stats_inc(ST_REJECT_SIZE);
		s->quit = 1;
		return;
	}
	if (!s->have_mail || s->nrcpt == 0) {
		if (bdat_read(s, NULL, size) == 0 && !smtpd_error(s))
			io_printf(&s->io, "503 5.5.1 Error: need %s command"
				  "\r\n", s->have_mail ? "RCPT" : "MAIL");
		return;
	}
	if (s->bdat == NULL) {
		/* data_begin clears what needs it, not the 128 KB of buffers */
		if ((s->bdat = malloc(sizeof(*s->bdat))) == NULL ||
		    data_begin(s, &s->bdat->d, BODY_BDAT) != 0) {
			if (s->bdat == NULL)
				io_printf(&s->io, "451 4.3.0 Error: out of "
					  "memory\r\n");
			free(s->bdat);
			s->bdat = NULL;
			if (bdat_read(s, NULL, size) == 0)
				smtpd_reset(s); /* the reply was given */
			return;
		}
	}
	struct data_state *d = &s->bdat->d;
	if (bdat_read(s, &d->f, size) != 0)
		return smtpd_reset(s);
	if (d->too_big) {
		finish(s, d); /* 552, and the transaction is over */
		return smtpd_reset(s);
	}
	if (!last) {
		io_printf(&s->io, "250 2.0.0 Ok: %lld octets received\r\n",
			  size);
		return;
	}
	body_finish(&d->f);
	finish(s, d);
	done_with(s, d->c); /* kept when cleanup answered */
	d->c = NULL;
	smtpd_reset(s);
}
