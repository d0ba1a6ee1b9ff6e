/*
 * qmgr_bounce.c - delivery status notifications (RFC 3464): bounces,
 * delay warnings and delivery reports, one per message per event, listing
 * every recipient the event concerns; and the delivery trace smtpd's
 * VERB asks for (the queue file's W record), one per message once every
 * recipient is final, listing them all with their Action.
 *
 * Sent from the null sender through cleanup.  NOTIFY= is honoured per
 * recipient (none given: FAILURE and DELAY).  A message from the null
 * sender that fails is reported once to the postmaster, from the
 * double-bounce address; a failed postmaster report is only logged, so
 * notifications never loop.  A recipient is marked notified in the index
 * only after cleanup has queued the notice (at worst a crash in between
 * sends it twice; it is never lost); the index is committed at once.
 * A delay warning is the other way round (marked, committed, then sent:
 * never twice, at worst lost to a crash).
 * Trusts: the queue file's envelope (cleanup wrote it).  Never: includes
 * more of the original than its header (RET=FULL: the whole message).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr_class.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "qmgr.h"
#include "stats.h"

/* N_TRACE: VERB's delivery trace, every recipient once all are final */
enum notice { N_FAILED, N_DELAYED, N_DELIVERED, N_TRACE };

/* wants - whether the recipient's NOTIFY= asks for this kind of notice */
static int
wants(const struct qf_rcpt *r, enum notice k)
{
	static const char *word[] = {"FAILURE", "DELAY", "SUCCESS"};
	char item[16];

	if (r->notify == NULL || r->notify[0] == 0)
		return k != N_DELIVERED;
	for (const char *p = r->notify; (p = config_list_next(p, item,
					sizeof(item))) != NULL;)
		if (strcasecmp(item, word[k]) == 0)
			return 1;
	return 0;
}

static void
postmaster_addr(char *out, size_t len)
{
	char dom[256];
	if (config_list_next(cfg.mydestination, dom, sizeof(dom)) == NULL)
		snprintf(dom, sizeof(dom), "%s", cfg.myhostname);
	snprintf(out, len, "postmaster@%s", dom);
}

static void
double_bounce_addr(char *out, size_t len)
{
	snprintf(out, len, "double-bounce@%s", cfg.myhostname);
}

/* split - the "dsn text" the index keeps, as its two parts. */
static const char *
split(const char *full, char *dsn, size_t dsnlen)
{
	const char *sp = full ? strchr(full, ' ') : NULL;

	if (sp == NULL || (size_t)(sp - full) >= dsnlen) {
		snprintf(dsn, dsnlen, "%s", "4.0.0");
		return full ? full : "";
	}
	snprintf(dsn, dsnlen, "%.*s", (int)(sp - full), full);
	return sp + 1;
}

static void
write_heading(struct submit *s, const struct qmsg *m, enum notice k,
	      const char *to, const char *boundary)
{
	static const char *subject[] = {
		"Undelivered Mail Returned to Sender",
		"Delayed Mail (still being retried)",
		"Successful Mail Delivery Report",
		"Mail Delivery Trace"};
	char date[64];

	rfc2822_date((long)time(NULL), date, sizeof(date));
	submit_printf(s, "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
		      "To: <%s>\nSubject: %s\nDate: %s\n"
		      "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
		      "Content-Type: multipart/report; "
		      "report-type=delivery-status;\n\tboundary=\"%s\"\n"
		      "Content-Transfer-Encoding: 8bit\n\n"
		      "This is a MIME-encapsulated message.\n\n",
		      cfg.myhostname, to, subject[k], date, boundary);
	submit_printf(s, "--%s\nContent-Description: Notification\n"
		      "Content-Type: text/plain; charset=us-ascii\n\n"
		      "This is the mail system at host %s.\n\n", boundary,
		      cfg.myhostname);
	if (k == N_FAILED)
		submit_printf(s, "I'm sorry to have to inform you that your "
			      "message could not\nbe delivered to one or more "
			      "recipients. It's attached below.\n\n"
			      "For further assistance, please send mail to "
			      "postmaster.\n\n");
	else if (k == N_DELAYED) {
		char until[64];
		rfc2822_date((long)(m->env.arrival + cfg.maximal_queue_lifetime),
			     until, sizeof(until));
		submit_printf(s, "####################################"
			      "##################\n# THIS IS A WARNING ONLY."
			      "  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
			      "######################################"
			      "################\n\nYour message could not "
			      "be delivered for more than %ld hour(s).\n"
			      "It will be retried until %s.\n\n",
			      cfg.delay_warning_time / 3600, until);
	} else if (k == N_DELIVERED)
		submit_printf(s, "Your message was successfully delivered to "
			      "the destination(s)\nlisted below. Where the "
			      "report says \"relayed\", it went on to a\n"
			      "system that may still report errors.\n\n");
	else
		submit_printf(s, "This is the delivery trace you asked for with "
			      "VERB: what became\nof your message for each "
			      "recipient, now that all are final.\n\n");
}

/* rcpt_action - the Action: of one recipient (RFC 3464 2.3.3) */
static const char *
rcpt_action(const struct qmsg *m, enum notice k, int i)
{
	static const char *action[] = {"failed", "delayed", "delivered"};
	const char *at = strrchr(m->env.rcpt[i].addr, '@');

	if (k == N_FAILED || k == N_DELAYED)
		return action[k];
	if (m->status[i] == RS_FAILED)
		return "failed";
	/* handed to another MTA (as dest_of routes it): the final delivery
	 * is that MTA's to report */
	if (strcmp(addr_class_transport(addr_domain_class(at ? at + 1 : "")),
		   "remote") == 0)
		return "relayed";
	return "delivered";
}

static void
write_rcpt_lines(struct submit *s, const struct qmsg *m, enum notice k,
		 const int *list, int n)
{
	char dsn[16];
	for (int j = 0; j < n; j++) {
		const char *text = split(m->text[list[j]], dsn, sizeof(dsn));
		const char *mta = m->mta ? m->mta[list[j]] : NULL;
		if (k == N_TRACE)
			submit_printf(s, "<%s>: %s, %s%s%s: %s\n",
				      m->env.rcpt[list[j]].addr,
				      rcpt_action(m, k, list[j]), dsn,
				      mta ? " via " : "", mta ? mta : "", text);
		else
			submit_printf(s, "<%s>: %s\n",
				      m->env.rcpt[list[j]].addr, text);
	}
}

/* write_status - the message/delivery-status part. */
static void
write_status(struct submit *s, const struct qmsg *m, enum notice k,
	     const int *list, int n, const char *boundary)
{
	char date[64], now[64], dsn[16];

	rfc2822_date((long)m->env.arrival, date, sizeof(date));
	rfc2822_date((long)time(NULL), now, sizeof(now));
	submit_printf(s, "\n--%s\nContent-Description: Delivery report\n"
		      "Content-Type: message/delivery-status\n\n"
		      "Reporting-MTA: dns; %s\nX-Mta-Queue-ID: %s\n",
		      boundary, cfg.myhostname, m->id);
	if (m->env.envid && m->env.envid[0])
		submit_printf(s, "Original-Envelope-Id: %s\n", m->env.envid);
	submit_printf(s, "Arrival-Date: %s\n", date);
	for (int j = 0; j < n; j++) {
		const struct qf_rcpt *r = &m->env.rcpt[list[j]];
		const char *text = split(m->text[list[j]], dsn, sizeof(dsn));
		submit_printf(s, "\nFinal-Recipient: rfc822; %s\n", r->addr);
		if (r->orcpt && r->orcpt[0])
			submit_printf(s, "Original-Recipient: %s%s\n",
				      strchr(r->orcpt, ';') ? "" : "rfc822; ",
				      r->orcpt);
		submit_printf(s, "Action: %s\nStatus: %s\n",
			      rcpt_action(m, k, list[j]), dsn);
		if (m->mta && m->mta[list[j]])
			submit_printf(s, "Remote-MTA: dns; %s\n", m->mta[list[j]]);
		/* a peer's own reply is "smtp"; our words are ours */
		int smtp = text[0] >= '2' && text[0] <= '5' &&
			   text[1] >= '0' && text[1] <= '9' &&
			   text[2] >= '0' && text[2] <= '9' &&
			   (text[3] == ' ' || text[3] == '-');
		submit_printf(s, "Diagnostic-Code: %s; %s\n",
			      smtp ? "smtp" : "X-mta", text);
		submit_printf(s, "Last-Attempt-Date: %s\n", now);
		if (k == N_DELAYED) {
			char until[64];
			rfc2822_date((long)(m->env.arrival +
					    cfg.maximal_queue_lifetime),
				     until, sizeof(until));
			submit_printf(s, "Will-Retry-Until: %s\n", until);
		}
	}
}

/* write_original - the original header (or, RET=FULL, the message). */
static void
write_original(struct submit *s, const struct qmsg *m, enum notice k,
	       const char *boundary)
{
	int full = k == N_FAILED && m->env.ret &&
		   strcasecmp(m->env.ret, "FULL") == 0;
	struct qf_reader r;
	char buf[8192];
	ssize_t n;
	long long total = 0;
	int last_lf = 1;

	submit_printf(s, "\n--%s\nContent-Description: %s\n"
		      "Content-Type: %s\n\n", boundary,
		      full ? "Undelivered Message" :
		      k == N_FAILED ? "Undelivered Message Headers" :
				      "Message Headers",
		      full ? "message/rfc822" : "text/rfc822-headers");
	qf_reader_init(&r, m->fd, &m->env);
	while ((n = qf_reader_read(&r, buf, sizeof(buf))) > 0) {
		size_t take = (size_t)n;
		if (!full) {
			/* up to the empty line that ends the header */
			for (size_t i = 0; i < take; i++)
				if (buf[i] == '\n' && (i > 0 ? buf[i - 1] == '\n'
							     : last_lf)) {
					take = i;
					n = -2;
					break;
				}
			if (total + (long long)take > cfg.header_size_limit)
				break;
		}
		submit_write(s, buf, take);
		total += (long long)take;
		last_lf = take > 0 && buf[take - 1] == '\n';
		if (n == -2)
			break;
	}
	if (n == -1)
		log_warn("%s: queue file unreadable for the notification", m->id);
	submit_printf(s, "%s\n--%s--\n", last_lf ? "" : "\n", boundary);
}

/* send_notice - one notice about the listed recipients; 0 when queued
 * or when there is nobody to tell, -1 when cleanup could not take it. */
static int
send_notice(struct qmsg *m, enum notice k, const int *list, int n)
{
	static const char *what[] = {"non-delivery", "delay",
				     "delivery status", "delivery trace"};
	char to[LIM_PATH + 32], from[LIM_PATH + 32], dbl[LIM_PATH + 32];
	char id[LIM_QUEUE_ID + 4], boundary[LIM_HOSTNAME + 64];
	int to_postmaster = 0;

	double_bounce_addr(dbl, sizeof(dbl));
	if (strcasecmp(m->env.sender, dbl) == 0) {
		log_info("%s: undeliverable postmaster notification discarded",
			 m->id);
		return 0;
	}
	if (m->env.sender[0] == 0) {
		if (k != N_FAILED)
			return 0; /* nobody to tell of a notice's delay */
		postmaster_addr(to, sizeof(to));
		snprintf(from, sizeof(from), "%s", dbl);
		to_postmaster = 1;
	} else {
		snprintf(to, sizeof(to), "%s", m->env.sender);
		from[0] = 0;
	}
	struct submit *s = submit_open(from, to, id, sizeof(id));
	if (s == NULL)
		return -1;
	snprintf(boundary, sizeof(boundary), "%s.%lld/%s", m->id,
		 (long long)time(NULL), cfg.myhostname);
	write_heading(s, m, k, to, boundary);
	write_rcpt_lines(s, m, k, list, n);
	write_status(s, m, k, list, n, boundary);
	write_original(s, m, k, boundary);
	if (submit_close(s, id) != 0)
		return -1;
	log_info("%s: %s %s notification: %s", m->id,
		 to_postmaster ? "postmaster" : "sender", what[k], id);
	stats_inc(k == N_FAILED ? ST_QMGR_BOUNCE_NOTICES :
		  k == N_DELAYED ? ST_QMGR_DELAY_WARNINGS :
		  ST_QMGR_SUCCESS_NOTICES);
	return 0;
}

static void
mark_notified(struct qmsg *m, const int *list, int n)
{
	for (int j = 0; j < n; j++) {
		int i = list[j];
		m->rflags[i] |= RF_NOTIFIED;
		index_set_rcpt_flags(m->id, (unsigned)i, m->env.rcpt[i].addr,
				     m->status[i], m->attempts + 1, m->rflags[i],
				     m->text[i] ? m->text[i] : "");
	}
	/* at once: a crash now must not send the notice again */
	if (index_commit_durable() != 0)
		log_fatal("queue index commit failed");
}

/* notify_passed_on - a relay that offered DSN took NOTIFY over with the
 * recipient (RFC 3461 6.2.2.2): success is that relay's, or the final
 * system's, to report; we owe no notice for it */
void
notify_passed_on(struct qmsg *m, unsigned idx)
{
	if (idx >= (unsigned)m->env.nrcpt || m->status[idx] != RS_SENT)
		return;
	m->rflags[idx] |= RF_NOTIFIED;
	index_set_rcpt_flags(m->id, idx, m->env.rcpt[idx].addr, m->status[idx],
			     m->attempts + 1, m->rflags[idx],
			     m->text[idx] ? m->text[idx] : "");
}

/* collect - recipients in state st, not yet notified, that want k. */
static int
collect(const struct qmsg *m, int st, enum notice k, int *list)
{
	int n = 0;
	for (int i = 0; i < m->env.nrcpt; i++)
		if (m->status[i] == st && !(m->rflags[i] & RF_NOTIFIED) &&
		    wants(&m->env.rcpt[i], k))
			list[n++] = i;
	return n;
}

int
notify_round(struct qmsg *m)
{
	int *list = calloc((size_t)m->env.nrcpt, sizeof(int)), n, rc = 0;

	if (list == NULL)
		log_fatal("out of memory");
	if ((n = collect(m, RS_FAILED, N_FAILED, list)) > 0) {
		if (send_notice(m, N_FAILED, list, n) == 0)
			mark_notified(m, list, n);
		else
			rc = -1;
	}
	if ((n = collect(m, RS_SENT, N_DELIVERED, list)) > 0) {
		if (send_notice(m, N_DELIVERED, list, n) == 0)
			mark_notified(m, list, n);
		else
			rc = -1;
	}
	free(list);
	return rc;
}

int
notify_delay(struct qmsg *m)
{
	int *list = calloc((size_t)m->env.nrcpt, sizeof(int)), n, rc = 0;

	if (list == NULL)
		log_fatal("out of memory");
	n = collect(m, RS_DEFERRED, N_DELAYED, list);
	if (n > 0)
		rc = send_notice(m, N_DELAYED, list, n);
	free(list);
	return rc;
}

/*
 * notify_trace - VERB: once every recipient is final, one trace to the
 * sender (none for the null sender) listing them all.  Marked in the
 * index after cleanup took it, like a notice: a crash in between sends
 * it twice at worst, never loses it.  0 when sent or not owed.
 */
int
notify_trace(struct qmsg *m)
{
	int *list, n = 0, rc;

	if (!m->env.trace || (m->flags & MF_TRACED) || m->npending > 0 ||
	    m->deleted)
		return 0;
	if ((list = calloc((size_t)m->env.nrcpt, sizeof(int))) == NULL)
		log_fatal("out of memory");
	for (int i = 0; i < m->env.nrcpt; i++)
		list[n++] = i;
	rc = send_notice(m, N_TRACE, list, n);
	free(list);
	if (rc != 0)
		return -1;
	m->flags |= MF_TRACED;
	index_set_next_try(m->id, &m->env, 0, m->attempts, m->flags);
	if (index_commit_durable() != 0)
		log_fatal("queue index commit failed");
	return 0;
}
