/*
 * remote_smtp.c - one SMTP session with a peer that answered (RFC 5321):
 * greeting, EHLO (HELO when EHLO is refused), STARTTLS as the
 * destination's TLS policy says (remote_tls.c) and EHLO again over TLS,
 * then transactions of up to
 * smtp_recipient_limit recipients each, MAIL/RCPT/DATA pipelined when
 * the peer offers PIPELINING (RFC 2920), SIZE (RFC 1870), BODY=8BITMIME
 * (RFC 6152), SMTPUTF8 (RFC 6531) and the DSN parameters (RFC 3461) when
 * offered, the message dot-stuffed with CRLF line ends, then QUIT; or,
 * when the connection may be reused (remote_cache.c), RSET and its 250,
 * and the next request's transactions go over it without greeting, EHLO
 * or STARTTLS.
 *
 * Trusts: nothing the peer says beyond its reply codes and text.
 * Never: reports a recipient delivered without the peer's 2xx after the
 * data; sends a line longer than the peer must accept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "mime_downgrade.h"
#include "remote.h"

struct session {
	struct smtp_conn *c;
	struct delivery *d;
	struct smtp_ext x;
	int esmtp;
	int reused; /* no reply on this reused connection yet */
	/* this peer gets the 7-bit MIME copy (no 8BITMIME), of size */
	int downgrade;
	long long size; /* SIZE=: the octets this peer gets */
	/* the last transaction: whether its data was taken (2xx), and the
	 * recipients it deferred with "too many recipients" (452, or 552
	 * taken as 452), which go again in the next one (RFC 5321
	 * 4.5.3.1.10) */
	int data_taken;
	int nover;
	int over[1000];
};

static int ehlo(struct session *s, const char *me, char *why,
		size_t whylen);

/* stamp - the session a result came from, for its log line */
static void
stamp(const struct session *s, struct result *r)
{
	snprintf(r->relay, sizeof(r->relay), "%.253s[%.63s]:%d", s->c->host,
		 s->c->addr, s->c->port);
	r->conn_use = s->c->uses + 1;
}

/* peer_said - a recipient's result from a reply, Postfix's wording */
static void
peer_said(struct session *s, struct result *r, const struct smtp_reply *rep,
	  const char *cmd)
{
	char flat[LIM_ERRTEXT], dsn[16];

	smtp_reply_flat(rep, flat, sizeof(flat));
	smtp_reply_dsn(rep, dsn, sizeof(dsn));
	if (rep->code / 100 == 2) {
		remote_result(r, 2, dsn, "%s", flat);
		r->dsn_passed = s->x.dsn;
	} else
		remote_result(r, rep->code / 100 == 5 ? 5 : 4, dsn,
			      "host %s[%s] said: %s (in reply to %s command)",
			      s->c->host, s->c->addr, flat, cmd);
	snprintf(r->mta, sizeof(r->mta), "%s", s->c->host);
	stamp(s, r);
}

/* protocol_error - a reply that makes no sense where it came: the
 * recipient is deferred, with the peer's words quoted */
static void
protocol_error(struct session *s, struct result *r,
	       const struct smtp_reply *rep, const char *cmd)
{
	char flat[LIM_ERRTEXT];

	smtp_reply_flat(rep, flat, sizeof(flat));
	remote_result(r, 4, "4.5.0", "protocol error: host %s[%s] said: %s "
		      "(in reply to %s command)", s->c->host, s->c->addr, flat,
		      cmd);
	snprintf(r->mta, sizeof(r->mta), "%s", s->c->host);
	stamp(s, r);
}

/* rcpt_552_soften - RFC 5321 4.5.3.1.10: servers that mean "too many
 * recipients" have long said 552 to RCPT; a client treats it as 452, so
 * the recipient is tried again, not bounced */
static void
rcpt_552_soften(struct result *r)
{
	r->code = 4;
	if (r->dsn[0] == '5')
		r->dsn[0] = '4';
}

/* lost - every unfinished recipient of the batch is deferred */
static void
lost(struct session *s, const int *batch, int nb, const char *during)
{
	for (int i = 0; i < nb; i++) {
		struct result *r = &s->d->res[batch[i]];
		if (!rcpt_open(s->d, batch[i]))
			continue;
		remote_result(r, 4, "4.4.2",
			      "lost connection with %s[%s] while "
			      "%s: %s",
			      s->c->host, s->c->addr, during, s->c->err);
		stamp(s, r);
		s->d->done[batch[i]] = RCPT_FINAL;
	}
}

/* mail_lost - the connection failed before the reply to MAIL: on a
 * reused connection the peer may have dropped it while idle, so nothing
 * is marked and the caller connects afresh (-3); else lost() */
static int
mail_lost(struct session *s, const int *batch, int nb, const char *during)
{
	if (s->reused)
		return -3;
	lost(s, batch, nb, during);
	return -1;
}

static int
is_ascii(const char *p)
{
	for (; p && *p; p++)
		if ((unsigned char)*p > 127)
			return 0;
	return 1;
}

static int
hello(struct session *s, char *why, size_t whylen)
{
	struct smtp_reply rep;
	const char *me =
	    cfg.smtp_helo_name[0] ? cfg.smtp_helo_name : cfg.myhostname;
	char flat[LIM_ERRTEXT];

	if (smtp_read_reply(s->c, cfg.smtp_helo_timeout, &rep) != 0)
		goto io;
	if (rep.code / 100 != 2) {
		smtp_reply_flat(&rep, flat, sizeof(flat));
		snprintf(why, whylen, "host %s[%s] refused to talk to me: %s",
			 s->c->host, s->c->addr, flat);
		/* RFC 5321 3.1: after a 554 greeting the server waits for
		 * QUIT (after a 421 it closes, and this finds EOF) */
		smtp_quit(s->c, REMOTE_CACHE_QUIT_S);
		return -1;
	}
	return ehlo(s, me, why, whylen);
io:
	snprintf(why, whylen,
		 "%s with %s[%s] while receiving the initial "
		 "server greeting",
		 s->c->err, s->c->host, s->c->addr);
	return -1;
}

/* ehlo - EHLO, or HELO when refused; again after STARTTLS (RFC 3207
 * 4.2: everything learnt before TLS is forgotten) */
static int
ehlo(struct session *s, const char *me, char *why, size_t whylen)
{
	struct smtp_reply rep;
	char flat[LIM_ERRTEXT];

	if (smtp_printf(s->c, "EHLO %s\r\n", me) != 0 ||
	    smtp_flush(s->c, cfg.smtp_helo_timeout) != 0 ||
	    smtp_read_reply(s->c, cfg.smtp_helo_timeout, &rep) != 0)
		goto io;
	if (rep.code / 100 == 2) {
		s->esmtp = 1;
		smtp_ehlo_parse(&rep, &s->x);
		return 0;
	}
	memset(&s->x, 0, sizeof(s->x));
	if (rep.code == 421) {
		/* RFC 5321 3.8: the server is closing; HELO would find EOF */
		smtp_reply_flat(&rep, flat, sizeof(flat));
		snprintf(why, whylen, "host %s[%s] refused EHLO: %s",
			 s->c->host, s->c->addr, flat);
		return -1;
	}
	if (smtp_printf(s->c, "HELO %s\r\n", me) != 0 ||
	    smtp_flush(s->c, cfg.smtp_helo_timeout) != 0 ||
	    smtp_read_reply(s->c, cfg.smtp_helo_timeout, &rep) != 0)
		goto io;
	if (rep.code / 100 == 2)
		return 0;
	smtp_reply_flat(&rep, flat, sizeof(flat));
	snprintf(why, whylen, "host %s[%s] refused HELO: %s", s->c->host,
		 s->c->addr, flat);
	smtp_quit(s->c, REMOTE_CACHE_QUIT_S); /* the session ends politely */
	return -1;
io:
	snprintf(why, whylen, "%s with %s[%s] while sending %s", s->c->err,
		 s->c->host, s->c->addr, s->c->tls ? "EHLO after STARTTLS"
						  : "EHLO");
	return -1;
}

/*
 * message_scan - one pass over the message: its size as it goes on the
 * wire (smtp_stuff's count, and a CRLF after a last line without LF), and
 * whether it holds an octet over 127: what RFC 6152 3 rules on is 8-bit
 * data, whatever BODY= the client gave (a message declared 8BITMIME that
 * is 7-bit after all may go to a peer without 8BITMIME; undeclared 8-bit
 * octets may not).  -1 when the file cannot be read (send_message will
 * say why).
 */
static int
message_scan(struct session *s, long long *wire, int *eight)
{
	struct qf_reader rd;
	static char buf[16384];
	struct smtp_stuff st = {.bol = 1,
				.limit = (size_t)cfg.smtp_line_length_limit};
	long long w = 0;
	ssize_t n;

	*eight = 0;
	qf_reader_init(&rd, s->d->qfd, s->d->e);
	while ((n = qf_reader_read(&rd, buf, sizeof(buf))) > 0) {
		unsigned char any = 0; /* a loop the compiler vectorises */
		w += (long long)smtp_stuff(&st, buf, (size_t)n, NULL);
		for (ssize_t i = 0; i < n; i++)
			any |= (unsigned char)buf[i];
		*eight |= any >> 7;
	}
	*wire = w + (st.bol ? 0 : 2);
	return n < 0 ? -1 : 0;
}

/* the converter's state: one message at a time, too big for the stack */
static struct mime_dg dg;

/* the converted copy's octets, counted as they would be sent */
struct wire_tally {
	struct smtp_stuff st;
	long long w;
};

static int
count_out(void *ctx, const char *p, size_t n)
{
	struct wire_tally *c = ctx;

	c->w += (long long)smtp_stuff(&c->st, p, n, NULL);
	return 0;
}

/* dg_pass - one pass of the converter over the queue file: 0, -1 it
 * stopped (dg.err), -2 a read error */
static int
dg_pass(struct delivery *d, int emit, mime_dg_out out, void *ctx)
{
	struct qf_reader rd;
	static char buf[16384];
	ssize_t n;

	mime_dg_init(&dg, d->dg_plan, emit, out, ctx);
	qf_reader_init(&rd, d->qfd, d->e);
	while ((n = qf_reader_read(&rd, buf, sizeof(buf))) > 0)
		if (mime_dg_feed(&dg, buf, (size_t)n) != 0)
			return -1;
	if (n < 0)
		return -2;
	return mime_dg_end(&dg);
}

/*
 * downgrade_plan - once per request, when a peer without 8BITMIME is
 * met: the converter's first pass (what to encode, or why it cannot
 * be), then its second with the output counted for SIZE=, which must be
 * the octets of the copy; the copy itself is written by send_message,
 * a third pass.  The queue file is never changed.
 */
static void
downgrade_plan(struct delivery *d)
{
	struct wire_tally count = {.st = {.bol = 1,
			  .limit = (size_t)cfg.smtp_line_length_limit}};
	int rc;

	if (d->dg_plan == NULL &&
	    (d->dg_plan = malloc(sizeof(*d->dg_plan))) == NULL)
		log_fatal("out of memory");
	rc = dg_pass(d, 0, count_out, &count);
	if (rc == 0)
		rc = dg_pass(d, 1, count_out, &count);
	if (rc == -2) {
		d->dg = -2;
	} else if (rc != 0) {
		d->dg = -1;
		snprintf(d->dg_why, sizeof(d->dg_why), "%s", dg.why);
	} else {
		d->dg = 1;
		d->dg_size = count.w + (count.st.bol ? 0 : 2);
	}
}

/* eight_bit - RFC 6152 3 for a peer without 8BITMIME: the 7-bit MIME
 * copy when it can be made (smtp_mime_downgrade), else the message as
 * it is (smtp_send_8bit_anyway) or nothing: 0, or -1 with r */
static int
eight_bit(struct session *s, struct result *r)
{
	struct delivery *d = s->d;

	if (!d->eight || s->x.eightbitmime)
		return 0;
	if (cfg.smtp_mime_downgrade && d->dg == 0)
		downgrade_plan(d);
	if (cfg.smtp_mime_downgrade && d->dg == 1) {
		s->downgrade = 1;
		s->size = d->dg_size;
		return 0;
	}
	if (cfg.smtp_mime_downgrade && d->dg == -2) {
		remote_result(r, 4, "4.3.0", "queue file read error");
		return -1;
	}
	if (cfg.smtp_send_8bit_anyway)
		return 0;
	if (cfg.smtp_mime_downgrade)
		remote_result(r, 5, "5.6.3",
			      "8-bit message, but host %s[%s] does not offer "
			      "8BITMIME, and it cannot be converted to 7-bit "
			      "MIME: %s",
			      s->c->host, s->c->addr, d->dg_why);
	else
		remote_result(r, 5, "5.6.3",
			      "8-bit message, but host %s[%s] "
			      "does not offer 8BITMIME",
			      s->c->host, s->c->addr);
	return -1;
}

/* precheck - failures known before MAIL: size, 8-bit, UTF-8 */
static int
precheck(struct session *s, struct result *r)
{
	const struct qf_envelope *e = s->d->e;
	int utf8 = !is_ascii(e->sender);
	struct result r8;

	for (int i = 0; i < s->d->n; i++)
		utf8 |= !is_ascii(s->d->rcpt[i]);
	if (!s->d->scanned &&
	    message_scan(s, &s->d->wire_size, &s->d->eight) != 0) {
		/* unreadable: send_message fails and defers; no verdict */
		s->d->wire_size = e->msg_size;
		s->d->eight = 0;
	}
	s->d->scanned = 1;
	s->size = s->d->wire_size;
	s->downgrade = 0;
	/* decided first: the copy's size is what SIZE compares */
	int rc8 = eight_bit(s, &r8);
	if (s->x.size && s->x.size_limit > 0 && s->size > s->x.size_limit) {
		remote_result(r, 5, "5.3.4",
			      "message size %lld exceeds size "
			      "limit %lld of server %s[%s]",
			      s->size, s->x.size_limit, s->c->host,
			      s->c->addr);
		return -1;
	}
	if (utf8 && !s->x.smtputf8) {
		remote_result(r, 5, "5.6.7",
			      "SMTPUTF8 is required, but was not "
			      "offered by host %s[%s]",
			      s->c->host, s->c->addr);
		return -1;
	}
	/* RFC 6152 3: 8-bit octets, declared 8BITMIME or not, go only to
	 * a server that offers 8BITMIME, or converted */
	if (rc8 != 0) {
		*r = r8;
		return -1;
	}
	return 0;
}

/* xtext - RFC 3461 4: '+', '=' and bytes outside 33..126 as "+XX";
 * the queue file keeps ENVID and ORCPT decoded */
static void
xtext(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 4 < len; in++) {
		unsigned char ch = (unsigned char)*in;
		if (ch < 33 || ch > 126 || ch == '+' || ch == '=')
			o += (size_t)snprintf(out + o, len - o, "+%02X", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = 0;
}

static int
put_mail(struct session *s)
{
	const struct qf_envelope *e = s->d->e;
	int utf8 = !is_ascii(e->sender);
	int rc = smtp_printf(s->c, "MAIL FROM:<%s>", e->sender);

	for (int i = 0; i < s->d->n; i++)
		utf8 |= !is_ascii(s->d->rcpt[i]);
	if (rc == 0 && s->x.size)
		rc = smtp_printf(s->c, " SIZE=%lld", s->size);
	/* 8-bit content is declared even when the client did not (as
	 * Postfix's cleanup finds it); a declared type is kept */
	if (rc == 0 && s->x.eightbitmime && e->body_type &&
	    strcasecmp(e->body_type, "7BIT") != 0)
		rc = smtp_printf(s->c, " BODY=%s", e->body_type);
	else if (rc == 0 && s->x.eightbitmime && s->d->eight)
		rc = smtp_printf(s->c, " BODY=8BITMIME");
	if (rc == 0 && utf8)
		rc = smtp_printf(s->c, " SMTPUTF8");
	if (rc == 0 && s->x.dsn && e->ret)
		rc = smtp_printf(s->c, " RET=%s", e->ret);
	if (rc == 0 && s->x.dsn && e->envid) {
		char x[512];
		xtext(e->envid, x, sizeof(x));
		rc = smtp_printf(s->c, " ENVID=%s", x);
	}
	return rc != 0 ? rc : smtp_printf(s->c, "\r\n");
}

static int
put_rcpt(struct session *s, int i)
{
	int q = s->d->qidx[i];
	const struct qf_rcpt *r =
	    q >= 0 && q < s->d->e->nrcpt ? &s->d->e->rcpt[q] : NULL;
	int rc = smtp_printf(s->c, "RCPT TO:<%s>", s->d->rcpt[i]);

	if (rc == 0 && s->x.dsn && r && r->notify)
		rc = smtp_printf(s->c, " NOTIFY=%s", r->notify);
	if (rc == 0 && s->x.dsn && r && r->orcpt && strchr(r->orcpt, ';')) {
		/* "type;address": the address part travels as xtext */
		const char *semi = strchr(r->orcpt, ';');
		char x[1024];
		xtext(semi + 1, x, sizeof(x));
		rc = smtp_printf(s->c, " ORCPT=%.*s;%s", (int)(semi - r->orcpt),
				 r->orcpt, x);
	}
	return rc != 0 ? rc : smtp_printf(s->c, "\r\n");
}

/* the converted copy on its way: dot-stuffed and written */
struct send_dg {
	struct session *s;
	struct smtp_stuff st;
};

static int
send_out(void *ctx, const char *p, size_t n)
{
	struct send_dg *sd = ctx;
	static char out[SMTP_STUFF_OUT(MIME_DG_OUTBUF)];
	size_t o = smtp_stuff(&sd->st, p, n, out);

	return smtp_write(sd->s->c, out, o, cfg.smtp_data_block_timeout);
}

/* send_downgraded - the 7-bit MIME copy (the converter's third pass) */
static int
send_downgraded(struct session *s)
{
	struct send_dg sd = {.s = s,
			     .st = {.bol = 1,
				    .limit = (size_t)cfg.smtp_line_length_limit}};
	int rc = dg_pass(s->d, 1, send_out, &sd);

	if (rc == -2 || (rc != 0 && dg.err != MIME_DG_EOUT))
		snprintf(s->c->err, sizeof(s->c->err),
			 rc == -2 ? "queue file read error"
				  : "message changed while converting it");
	if (rc != 0)
		return -1;
	return smtp_write(s->c, sd.st.bol ? ".\r\n" : "\r\n.\r\n",
			  sd.st.bol ? 3 : 5, cfg.smtp_data_block_timeout);
}

/* send_message - the queue file's message, CRLF and dot-stuffed */
static int
send_message(struct session *s)
{
	struct qf_reader rd;
	static char in[16384], out[SMTP_STUFF_OUT(sizeof(in))];
	struct smtp_stuff st = {.bol = 1,
				.limit = (size_t)cfg.smtp_line_length_limit};
	ssize_t n;

	if (s->downgrade)
		return send_downgraded(s);
	qf_reader_init(&rd, s->d->qfd, s->d->e);
	while ((n = qf_reader_read(&rd, in, sizeof(in))) > 0) {
		size_t o = smtp_stuff(&st, in, (size_t)n, out);
		if (smtp_write(s->c, out, o, cfg.smtp_data_block_timeout) != 0)
			return -1;
	}
	if (n < 0) {
		snprintf(s->c->err, sizeof(s->c->err), "queue file read error");
		return -1;
	}
	return smtp_write(s->c, st.bol ? ".\r\n" : "\r\n.\r\n", st.bol ? 3 : 5,
			  cfg.smtp_data_block_timeout);
}

/* transaction - MAIL, RCPT for batch, DATA; results per recipient */
static int
transaction(struct session *s, const int *batch, int nb)
{
	struct smtp_reply rep;
	struct result mail_r;
	int accepted = 0, pipe = s->x.pipelining;
	long t_rcpt = cfg.smtp_rcpt_timeout;

	s->data_taken = 0;
	s->nover = 0;
	if (put_mail(s) != 0)
		return mail_lost(s, batch, nb, "sending MAIL FROM");
	for (int i = 0; pipe && i < nb; i++) {
		/* a long batch goes out in pieces rather than overflow */
		if (s->c->wlen > sizeof(s->c->wbuf) / 2 &&
		    smtp_flush(s->c, t_rcpt) != 0)
			return mail_lost(s, batch, nb, "sending RCPT TO");
		if (put_rcpt(s, batch[i]) != 0)
			return mail_lost(s, batch, nb, "sending RCPT TO");
	}
	if (pipe && smtp_printf(s->c, "DATA\r\n") != 0)
		return mail_lost(s, batch, nb, "sending DATA");
	if (smtp_flush(s->c, cfg.smtp_mail_timeout) != 0 ||
	    smtp_read_reply(s->c, cfg.smtp_mail_timeout, &rep) != 0)
		return mail_lost(s, batch, nb, "sending MAIL FROM");
	s->reused = 0; /* the peer answered: failures count from here */
	int mail_ok = rep.code / 100 == 2;
	if (!mail_ok)
		peer_said(s, &mail_r, &rep, "MAIL FROM");
	for (int i = 0; i < nb; i++) {
		struct result *r = &s->d->res[batch[i]];
		if (!pipe && !mail_ok)
			break;
		if (!pipe && (put_rcpt(s, batch[i]) != 0 ||
			      smtp_flush(s->c, t_rcpt) != 0))
			return lost(s, batch, nb, "sending RCPT TO"), -1;
		if (smtp_read_reply(s->c, t_rcpt, &rep) != 0)
			return lost(s, batch, nb, "sending RCPT TO"), -1;
		if (!mail_ok || rep.code / 100 == 2) {
			accepted += mail_ok;
			continue;
		}
		peer_said(s, r, &rep, "RCPT TO");
		if (rep.code == 552)
			rcpt_552_soften(r);
		if ((rep.code == 452 || rep.code == 552) &&
		    s->nover < (int)(sizeof(s->over) / sizeof(s->over[0])))
			s->over[s->nover++] = batch[i];
		s->d->done[batch[i]] = RCPT_FINAL;
	}
	if (!mail_ok) {
		for (int i = 0; i < nb; i++) {
			s->d->res[batch[i]] = mail_r;
			s->d->done[batch[i]] = RCPT_FINAL;
		}
	}
	if (!pipe && accepted > 0 &&
	    (smtp_printf(s->c, "DATA\r\n") != 0 ||
	     smtp_flush(s->c, t_rcpt) != 0))
		return lost(s, batch, nb, "sending DATA"), -1;
	if ((pipe || accepted > 0) &&
	    smtp_read_reply(s->c, cfg.smtp_data_init_timeout, &rep) != 0)
		return lost(s, batch, nb, "sending DATA"), -1;
	if (accepted == 0) {
		/* nothing to send: an early 354 still needs its end */
		if (pipe && rep.code == 354 &&
		    (smtp_write(s->c, ".\r\n", 3, t_rcpt) != 0 ||
		     smtp_read_reply(s->c, cfg.smtp_data_done_timeout, &rep)))
			return -1;
		if (smtp_printf(s->c, "RSET\r\n") != 0 ||
		    smtp_flush(s->c, cfg.smtp_mail_timeout) != 0 ||
		    smtp_read_reply(s->c, cfg.smtp_mail_timeout, &rep) != 0)
			return -1;
		return 0;
	}
	if (rep.code != 354) {
		for (int i = 0; i < nb; i++)
			if (rcpt_open(s->d, batch[i])) {
				struct result *r = &s->d->res[batch[i]];
				peer_said(s, r, &rep, "DATA");
				/* a 2xx here would report data that was never
				 * sent as delivered: only the reply after the
				 * data says that (RFC 5321 4.1.1.4) */
				if (rep.code / 100 == 2)
					protocol_error(s, r, &rep, "DATA");
				s->d->done[batch[i]] = RCPT_FINAL;
			}
		return 0;
	}
	if (send_message(s) != 0 ||
	    smtp_read_reply(s->c, cfg.smtp_data_done_timeout, &rep) != 0)
		return lost(s, batch, nb, "sending message body"), -1;
	for (int i = 0; i < nb; i++)
		if (rcpt_open(s->d, batch[i])) {
			peer_said(s, &s->d->res[batch[i]], &rep, "end of DATA");
			s->d->done[batch[i]] = RCPT_FINAL;
		}
	s->data_taken = rep.code / 100 == 2;
	return 0;
}

/*
 * overflow - RFC 5321 4.5.3.1.10: a server out of room for recipients
 * says 452 to the rest; once it took the data for the others, those go
 * at once in another transaction rather than wait for the next queue
 * run.  A transaction that delivers nothing stops this, so it ends.
 */
static int
overflow(struct session *s)
{
	int batch[1000], nb, rc;

	while (s->data_taken && s->nover > 0) {
		nb = s->nover;
		memcpy(batch, s->over, (size_t)nb * sizeof(batch[0]));
		for (int i = 0; i < nb; i++)
			s->d->done[batch[i]] = RCPT_OPEN;
		if ((rc = transaction(s, batch, nb)) != 0)
			return rc;
	}
	return 0;
}

/* start_tls - STARTTLS as the plan says, then EHLO again */
static int
start_tls(struct session *s, const struct tls_plan *tp, struct result *fail)
{
	const char *me =
	    cfg.smtp_helo_name[0] ? cfg.smtp_helo_name : cfg.myhostname;
	/* long enough for any reason; remote_result cuts it to fit */
	char why[2 * LIM_ERRTEXT + 2 * LIM_HOSTNAME];
	int rc = smtp_starttls(s->c, tp, s->esmtp && s->x.starttls, fail);

	if (rc != 0)
		return rc == 1 ? 0 : rc;
	memset(&s->x, 0, sizeof(s->x));
	if (ehlo(s, me, why, sizeof(why)) != 0) {
		remote_result(fail, 4, "4.4.2", "%s", why);
		return -1;
	}
	return 0;
}

/* transactions - every unfinished recipient in transactions of up to
 * smtp_recipient_limit: 0, -1 the connection is gone (results set), -3
 * a reused connection was dead before MAIL's reply */
static int
transactions(struct session *s)
{
	struct delivery *d = s->d;
	int batch[1000], nb, rc;

	for (int i = 0; i < d->n;) {
		for (nb = 0; i < d->n && nb < cfg.smtp_recipient_limit &&
			     nb < (int)(sizeof(batch) / sizeof(batch[0]));
		     i++)
			if (rcpt_open(d, i))
				batch[nb++] = i;
		if (nb > 0 && ((rc = transaction(s, batch, nb)) != 0 ||
			       (rc = overflow(s)) != 0))
			return rc;
	}
	return 0;
}

void
smtp_quit(struct smtp_conn *c, long timeout_s)
{
	struct smtp_reply rep;

	if (smtp_printf(c, "QUIT\r\n") != 0 || smtp_flush(c, timeout_s) != 0 ||
	    smtp_read_reply(c, timeout_s, &rep) != 0)
		return; /* a lost QUIT changes nothing delivered */
}

/* finish - RSET to keep the connection for the next request when reuse
 * is on and c has room for more messages, else QUIT; 1 when kept */
static int
finish(struct session *s)
{
	struct smtp_conn *c = s->c;
	struct smtp_reply rep;

	c->uses++;
	c->x = s->x;
	c->esmtp = s->esmtp;
	if (cfg.remote_connection_reuse_time > 0 &&
	    c->uses < cfg.remote_connection_reuse_limit) {
		if (smtp_printf(c, "RSET\r\n") != 0 ||
		    smtp_flush(c, cfg.smtp_quit_timeout) != 0 ||
		    smtp_read_reply(c, cfg.smtp_quit_timeout, &rep) != 0)
			return 0; /* gone: closed without QUIT */
		/* anything after the 250 is out of step: not reused */
		if (rep.code / 100 == 2 && c->rpos == c->rlen)
			return 1;
	}
	smtp_quit(c, cfg.smtp_quit_timeout);
	return 0;
}

/* precheck_all - a failure known before MAIL applies to every recipient */
static void
precheck_all(struct session *s)
{
	struct result pre;

	if (precheck(s, &pre) != 0) {
		snprintf(pre.mta, sizeof(pre.mta), "%s", s->c->host);
		stamp(s, &pre);
		for (int i = 0; i < s->d->n; i++)
			if (rcpt_open(s->d, i)) {
				s->d->res[i] = pre;
				s->d->done[i] = RCPT_FINAL;
			}
	}
}

int
smtp_session(struct smtp_conn *c, struct delivery *d,
	     const struct tls_plan *tp, struct result *fail, int *keep)
{
	struct session s = {.c = c, .d = d};
	/* long enough for any reason; remote_result cuts it to fit */
	char why[2 * LIM_ERRTEXT + 2 * LIM_HOSTNAME];
	int rc;

	*keep = 0;
	if (hello(&s, why, sizeof(why)) != 0) {
		remote_result(fail, 4, "4.4.2", "%s", why);
		return -1;
	}
	if ((rc = start_tls(&s, tp, fail)) != 0)
		return rc;
	if (smtp_auth(c, &s.x, d->cred, d->id, fail) != 0)
		return -1; /* smtp_auth.c: RFC 4954, after the last EHLO */
	d->t_conn = now_us();
	precheck_all(&s);
	if (transactions(&s) != 0)
		return 0; /* the connection is gone */
	*keep = finish(&s);
	return 0;
}

int
smtp_session_reuse(struct smtp_conn *c, struct delivery *d, int *keep)
{
	struct session s = {.c = c, .d = d, .x = c->x, .esmtp = c->esmtp,
			    .reused = 1};
	int rc;

	*keep = 0;
	d->t_conn = now_us();
	precheck_all(&s);
	if ((rc = transactions(&s)) != 0)
		return rc == -3 ? -3 : 0;
	*keep = finish(&s);
	return 0;
}
