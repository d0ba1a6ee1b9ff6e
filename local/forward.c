/*
 * forward.c - forwarding: an alias that names a remote address makes a
 * new message, submitted to cleanup(8) over private/cleanup as smtpd
 * does: the original message with "Delivered-To: RCPT" on top (so a loop
 * comes back and bounces, loop.c), its envelope sender rewritten with SRS
 * (common/srs.c) so SPF at the next hop passes; the null sender stays
 * null.  The recipient counts as delivered once cleanup has the new
 * message on disk (its queue ID is in the log line).
 * Trusts: cleanup's answer for its framing.
 * Never: reports success before cleanup said 250.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "addr_class.h"
#include "cleanup_client.h"
#include "config.h"
#include "local.h"
#include "log.h"
#include "srs.h"

#define FORWARD_TIMEOUT_MS 60000
#define FORWARD_CHUNK 65536

const char *
forward_srs_domain(void)
{
	return cfg.srs_domain[0] ? cfg.srs_domain : cfg.myhostname;
}

/* the key read (or made) as root before local drops its privileges: in
 * root mode local_user may neither read nor create srs_secret_file */
static unsigned char root_key[SRS_KEY_BYTES];
static int have_root_key;

void
forward_load_key(void)
{
	char err[256];

	if (geteuid() != 0)
		return; /* unprivileged: read when first needed */
	if (srs_load_key(cfg.srs_secret_file, root_key, err, sizeof(err)) == 0)
		have_root_key = 1;
	else
		log_warn("%s (forwarded mail will be deferred)", err);
}

static int
load_key(unsigned char *key, char *err, size_t errlen)
{
	if (have_root_key) {
		memcpy(key, root_key, SRS_KEY_BYTES);
		return 0;
	}
	return srs_load_key(cfg.srs_secret_file, key, err, errlen);
}

int
forward_srs_reverse(const char *local, char *out, size_t len)
{
	unsigned char key[SRS_KEY_BYTES];
	char err[256];

	if (load_key(key, err, sizeof(err)) != 0) {
		log_warn("%s", err);
		return -1;
	}
	return srs_reverse(key, local, (long)(time(NULL) / 86400),
			   cfg.srs_max_age / 86400, out, len);
}

/* new_sender - SRS for a sender outside our domains. */
static int
new_sender(const char *sender, char *out, size_t len, struct result *r)
{
	unsigned char key[SRS_KEY_BYTES];
	char err[256];
	struct addr a;

	if (sender[0] == 0 || addr_split(sender, &a) != 0 || a.domain[0] == 0 ||
	    addr_domain_class(a.domain) == AC_LOCAL ||
	    addr_domain_class(a.domain) == AC_VIRTUAL) {
		snprintf(out, len, "%s", sender);
		return 0;
	}
	if (load_key(key, err, sizeof(err)) != 0) {
		result_set(r, 4, "4.3.0", "forwarding: SRS key: %.300s", err);
		return -1;
	}
	if (srs_forward(key, sender, forward_srs_domain(),
			(long)(time(NULL) / 86400), out, len) != 0) {
		result_set(r, 4, "4.3.0",
			   "forwarding: sender too long for "
			   "SRS");
		return -1;
	}
	return 0;
}

/* send_message - Delivered-To, then the queued message, in chunks. */
static int
send_message(struct cleanup_client *c, const char *rcpt, int qfd,
	     const struct qf_envelope *e)
{
	static char buf[FORWARD_CHUNK];
	struct qf_reader rd;
	ssize_t n = 0;
	int len = snprintf(buf, sizeof(buf), "Delivered-To: %s\n", rcpt);

	cleanup_client_write(c, buf, (size_t)len);
	qf_reader_init(&rd, qfd, e);
	while (!cleanup_client_failed(c) &&
	       (n = qf_reader_read(&rd, buf, sizeof(buf))) > 0)
		cleanup_client_write(c, buf, (size_t)n);
	return n < 0 || cleanup_client_flush(c) != 0 ? -1 : 0;
}

/* finish - end=1 and cleanup's answer as the recipients' result. */
static void
finish(struct cleanup_client *c, const char *newid, struct result *r)
{
	const char *text;
	int status = cleanup_client_finish(c, &text);

	if (status == CLEANUP_NO_ANSWER) {
		result_set(r, 4, "4.3.0", "forwarding: no answer from cleanup");
	} else if (status != 250) {
		result_set(r, status / 100 == 5 ? 5 : 4,
			   status / 100 == 5 ? "5.3.0" : "4.3.0",
			   "forwarding refused by cleanup: "
			   "%d %.300s",
			   status, text ? text : "");
	} else
		result_set(r, 2, "2.0.0", "forwarded as %s", newid);
}

/* submit - the whole conversation with cleanup; r gets the outcome. */
static void
submit(const char *sender, const char *rcpt, struct dests *ds, int qfd,
       const struct qf_envelope *e, struct result *r)
{
	struct cleanup_client *c;
	char newid[LIM_QUEUE_ID + 4];

	if ((c = cleanup_client_open(sender, FORWARD_TIMEOUT_MS)) == NULL) {
		result_set(r, 4, "4.3.0",
			   "forwarding: connect to "
			   "private/cleanup: %m");
		return;
	}
	for (int i = 0; i < ds->n; i++)
		if (ds->d[i].forward)
			cleanup_client_attr(c, "rcpt", ds->d[i].addr);
	cleanup_client_attr(c, "client_addr", "127.0.0.1");
	cleanup_client_attr(c, "client_name", "localhost");
	cleanup_client_attr(c, "helo", cfg.myhostname);
	cleanup_client_attr(c, "protocol", "local");
	cleanup_client_attr(c, "body_type",
			    e->body_type ? e->body_type : "7BIT");
	if (cleanup_client_start(c, newid, sizeof(newid)) != 0)
		result_set(r, 4, "4.3.0",
			   "forwarding: cleanup refused the "
			   "envelope");
	else if (send_message(c, rcpt, qfd, e) != 0)
		result_set(r, 4, "4.3.0",
			   "forwarding: cannot send the "
			   "message to cleanup");
	else
		finish(c, newid, r);
	cleanup_client_close(c);
}

void
forward_submit(const char *id, const char *sender, const char *rcpt,
	       struct dests *ds, int qfd, const struct qf_envelope *e)
{
	char srs[LIM_PATH * 2];
	struct result r;
	int n = 0;

	for (int i = 0; i < ds->n; i++)
		n += ds->d[i].code == 0 && ds->d[i].forward;
	if (n == 0)
		return;
	if (new_sender(sender, srs, sizeof(srs), &r) == 0)
		submit(srs, rcpt, ds, qfd, e, &r);
	if (r.code == 2)
		log_info("%s: forwarded for <%s> as %s, from=<%s>", id, rcpt,
			 r.text + strlen("forwarded as "), srs);
	for (int i = 0; i < ds->n; i++)
		if (ds->d[i].code == 0 && ds->d[i].forward)
			ds->d[i].r = r;
}
