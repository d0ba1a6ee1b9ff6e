/*
 * smtpd_data.c - DATA: stream the message to cleanup(8) as it arrives.
 *
 * Only CRLF "." CRLF ends the data (RFC 5321 4.1.1.4); a line that ends in
 * a bare LF is refused and the session closed, so no smuggled command
 * hidden behind one is ever read as SMTP (the CVE-2023-51764 class).
 * Leading dots are removed (4.5.2), CRLF becomes LF, everything else,
 * 8-bit bytes and long lines included, passes intact.  The 250 reply is
 * sent only after cleanup reports the queue file durable.
 * Trusts: nothing the client sends; cleanup's replies for their framing.
 * Never: buffers a whole message; answers 250 before cleanup did.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "smtpd.h"

#define CLEANUP_TIMEOUT_MS 300000 /* for the final, fsync'ing reply */

struct data_state {
	struct ipc *c;
	char chunk[SMTPD_DATA_CHUNK];
	size_t clen;
	long long size;
	int too_big, bare_lf, failed;
};

/* cleanup_open - connect and send the envelope; NULL after a reply. */
static struct ipc *
cleanup_open(struct smtpd_session *s, char *id, size_t idlen)
{
	int fd = ipc_connect_unix("private/cleanup");
	struct ipc *c;
	struct attrs a;
	const char *qid;

	if (fd < 0) {
		log_warn("connect to private/cleanup: %m");
		io_printf(&s->io, "451 4.3.0 Error: queue file write error\r\n");
		return NULL;
	}
	c = ipc_new(fd, CLEANUP_TIMEOUT_MS);
	ipc_put_str(c, "req", "submit");
	ipc_put_str(c, "sender", s->sender);
	for (int i = 0; i < s->nrcpt; i++)
		ipc_put_str(c, "rcpt", s->rcpts[i]);
	ipc_put_str(c, "client_addr", s->client_addr);
	ipc_put_str(c, "client_name", s->client_name);
	ipc_put_str(c, "helo", s->helo);
	ipc_put_str(c, "protocol", s->esmtp ? "ESMTP" : "SMTP");
	ipc_put_str(c, "body_type", s->body_type);
	attrs_init(&a);
	if (ipc_end(c) != IPC_OK || ipc_read(c, &a) != IPC_OK ||
	    (qid = attrs_get(&a, "queue_id")) == NULL) {
		log_warn("cleanup did not accept the envelope");
		io_printf(&s->io, "451 4.3.0 Error: queue file write error\r\n");
		attrs_free(&a);
		ipc_free(c);
		return NULL;
	}
	snprintf(id, idlen, "%s", qid);
	attrs_free(&a);
	return c;
}

static void
chunk_flush(struct data_state *d)
{
	if (d->clen == 0 || d->failed || d->too_big)
		return;
	ipc_put(d->c, "data", d->chunk, d->clen);
	if (ipc_end(d->c) != IPC_OK)
		d->failed = 1;
	d->clen = 0;
}

static void
chunk_add(struct data_state *d, const char *p, size_t n)
{
	d->size += (long long)n;
	if (d->size > cfg.message_size_limit)
		d->too_big = 1;
	if (d->too_big || d->failed)
		return;
	while (n > 0) {
		size_t room = sizeof(d->chunk) - d->clen;
		size_t k = n < room ? n : room;
		memcpy(d->chunk + d->clen, p, k);
		d->clen += k;
		p += k;
		n -= k;
		if (d->clen == sizeof(d->chunk))
			chunk_flush(d);
	}
}

/* read_body - until CRLF.CRLF; 0 at the dot, -1 when the session ends. */
static int
read_body(struct smtpd_session *s, struct data_state *d)
{
	char buf[8192];
	size_t len;
	int line_start = 1, held_cr = 0;

	for (;;) {
		enum io_line rc = io_read_line(&s->io, buf, sizeof(buf), &len);
		if (rc == LINE_EOF || rc == LINE_TIMEOUT) {
			if (rc == LINE_TIMEOUT)
				io_printf(&s->io, "421 4.4.2 %s Error: timeout "
					  "exceeded\r\n", cfg.myhostname);
			return -1;
		}
		char *p = buf;
		if (line_start && strcmp(p, ".\r\n") == 0)
			return 0;
		if (line_start && *p == '.') {
			p++;
			len--;
		}
		/* a CR held back from the end of the previous piece */
		if (held_cr && !(rc == LINE_OK && len == 1))
			chunk_add(d, "\r", 1);
		int was_held = held_cr;
		held_cr = 0;
		line_start = rc == LINE_OK;
		if (rc == LINE_PART && len > 0 && p[len - 1] == '\r') {
			held_cr = 1;
			len--;
		} else if (rc == LINE_OK) {
			if (len >= 2 && p[len - 2] == '\r') {
				p[len - 2] = '\n';
				len--;
			} else if (!(was_held && len == 1)) {
				d->bare_lf = 1;
				return -1;
			}
		}
		chunk_add(d, p, len);
	}
}

/* finish - tell cleanup the message is complete and relay its answer. */
static void
finish(struct smtpd_session *s, struct data_state *d, const char *id)
{
	struct attrs a;
	const char *status, *text;

	chunk_flush(d);
	attrs_init(&a);
	ipc_put_str(d->c, "end", "1");
	if (d->failed || ipc_end(d->c) != IPC_OK || ipc_read(d->c, &a) != IPC_OK ||
	    (status = attrs_get(&a, "status")) == NULL) {
		log_warn("%s: no answer from cleanup", id);
		io_printf(&s->io, "451 4.3.0 Error: queue file write error\r\n");
	} else if (strcmp(status, "250") == 0) {
		io_printf(&s->io, "250 2.0.0 Ok: queued as %s\r\n", id);
	} else {
		text = attrs_get(&a, "text");
		io_printf(&s->io, "%s %s\r\n", status, text ? text : "Error");
	}
	attrs_free(&a);
}

void
smtpd_data(struct smtpd_session *s)
{
	struct data_state d;
	char id[LIM_QUEUE_ID + 4], client[400];
	int saved_timeout = s->io.timeout_s;

	if (!s->have_mail || s->nrcpt == 0) {
		if (!smtpd_error(s))
			io_printf(&s->io, "503 5.5.1 Error: need %s "
				  "command\r\n", s->have_mail ? "RCPT" : "MAIL");
		return;
	}
	memset(&d, 0, sizeof(d));
	if ((d.c = cleanup_open(s, id, sizeof(id))) == NULL)
		return;
	smtpd_client_label(s, client, sizeof(client));
	log_info("%s: client=%s", id, client);
	io_printf(&s->io, "354 End data with <CR><LF>.<CR><LF>\r\n");
	s->io.timeout_s = (int)cfg.smtpd_data_timeout;
	int rc = read_body(s, &d);
	s->io.timeout_s = saved_timeout;
	if (rc != 0) {
		if (d.bare_lf) {
			io_printf(&s->io, "521 5.5.2 %s Error: bare <LF> "
				  "received\r\n", cfg.myhostname);
			log_info("%s: reject: bare <LF> received from %s", id,
				 client);
		}
		s->quit = 1; /* cleanup sees EOF and discards the file */
	} else if (d.too_big) {
		io_printf(&s->io, "552 5.3.4 Error: message file too big\r\n");
		log_info("%s: reject: message size %lld over "
			 "message_size_limit %ld from %s", id, d.size,
			 cfg.message_size_limit, client);
	} else {
		finish(s, &d, id);
	}
	ipc_free(d.c);
	smtpd_reset(s);
}
