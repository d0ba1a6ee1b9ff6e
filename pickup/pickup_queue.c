/*
 * pickup_queue.c - hand one local submission to cleanup(8): the sender
 * from the submitting uid (or -f, recorded in the log), the recipients
 * from the command line and, for -t, from To:/Cc:/Bcc:.
 * Trusts: the uid (from the kernel: peer credentials or file owner);
 * nothing in the submission itself.  Never: writes the queue itself.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup_client.h"
#include "config.h"
#include "log.h"
#include "stats.h"
#include "mta_limits.h"
#include "pickup.h"

#define CLEANUP_TIMEOUT_MS 600000

/* header_len - length of the header section (up to its empty line). */
static size_t
header_len(const char *p, size_t n)
{
	if (n > 0 && p[0] == '\n')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (p[i] == '\n' && p[i - 1] == '\n')
			return i;
	return n;
}

/* has_from - a From: field in the header section. */
static int
has_from(const char *p, size_t n)
{
	for (size_t i = 0; i + 5 <= n; i++)
		if ((i == 0 || p[i - 1] == '\n') && strncasecmp(p + i, "From:",
							       5) == 0)
			return 1;
	return 0;
}

/* send_from - From: for a local message without one (DESIGN.md 4):
 * the -F name, else the user's full name from the password file. */
static int
send_from(struct cleanup_client *c, const char *name, const char *sender)
{
	char line[LIM_TEXT_LINE], clean[200];
	size_t k = 0;

	/* a display name: printable, no quote or backslash, one line */
	for (const char *p = name; *p && k < sizeof(clean) - 1; p++)
		if (*p >= 32 && *p < 127 && *p != '"' && *p != '\\')
			clean[k++] = *p;
	clean[k] = 0;
	if (k > 0)
		snprintf(line, sizeof(line), "From: \"%s\" <%s>\n", clean,
			 sender);
	else
		snprintf(line, sizeof(line), "From: <%s>\n", sender);
	cleanup_client_write(c, line, strlen(line));
	return cleanup_client_flush(c);
}

/* send_envelope - the request record; queue ID in id, or -1. */
static int
send_envelope(struct cleanup_client *c, struct rcpt_list *r, char *id,
	      size_t idlen)
{
	for (int i = 0; i < r->n; i++)
		cleanup_client_attr(c, "rcpt", r->r[i]);
	cleanup_client_attr(c, "client_addr", "127.0.0.1");
	cleanup_client_attr(c, "client_name", "localhost");
	cleanup_client_attr(c, "helo", "localhost");
	cleanup_client_attr(c, "protocol", "local");
	return cleanup_client_start(c, id, idlen);
}

/* send_data - the message in chunks, then end; cleanup's status. */
static int
send_data(struct cleanup_client *c, const char *p, size_t n, char *text,
	  size_t tl)
{
	const char *t;
	int status;

	cleanup_client_write(c, p, n);
	status = cleanup_client_finish(c, &t);
	if (status == CLEANUP_NO_ANSWER) {
		snprintf(text, tl, "4.3.0 no answer from cleanup");
		return 451;
	}
	snprintf(text, tl, "%s", t ? t : "");
	return status;
}

int
pickup_queue(struct submission *s, uid_t uid, char *text, size_t tl,
	     char *id, size_t idlen)
{
	char sender[LIM_PATH + 1];
	struct passwd *pw = getpwuid(uid);
	int status;

	id[0] = 0;
	if (pw == NULL) {
		snprintf(text, tl, "5.7.1 uid %ld has no user name", (long)uid);
		return 554;
	}
	if (s->sender != NULL)
		snprintf(sender, sizeof(sender), "%s", s->sender);
	else
		snprintf(sender, sizeof(sender), "%s@%s", pw->pw_name,
			 cfg.myhostname);
	if (s->extract)
		rcpt_from_headers(s->data, header_len(s->data, s->len),
				  cfg.myhostname, &s->rcpts);
	if (s->rcpts.overflow) {
		snprintf(text, tl, "5.5.3 too many or too long recipients");
		return 554;
	}
	if (s->rcpts.n == 0) {
		snprintf(text, tl, "5.5.1 no recipients");
		return 554;
	}
	struct cleanup_client *c = cleanup_client_open(sender,
						       CLEANUP_TIMEOUT_MS);
	if (c == NULL) {
		snprintf(text, tl, "4.3.0 cleanup not reachable");
		return 451;
	}
	if (send_envelope(c, &s->rcpts, id, idlen) != 0) {
		cleanup_client_close(c);
		snprintf(text, tl, "4.3.0 cleanup refused the envelope");
		return 451;
	}
	/* Postfix's pickup line; -f is allowed but recorded */
	if (s->sender != NULL)
		log_info("%s: uid=%ld from=<%s> (set with -f by %s)", id,
			 (long)uid, sender, pw->pw_name);
	else
		log_info("%s: uid=%ld from=<%s>", id, (long)uid, sender);
	if (!has_from(s->data, header_len(s->data, s->len))) {
		char gecos[200];
		snprintf(gecos, sizeof(gecos), "%s", pw->pw_gecos ?
			 pw->pw_gecos : "");
		gecos[strcspn(gecos, ",")] = 0; /* name, room, phone... */
		if (send_from(c, s->full_name ? s->full_name : gecos,
			      sender) != 0) {
			cleanup_client_close(c);
			snprintf(text, tl, "4.3.0 cleanup went away");
			return 451;
		}
	}
	status = send_data(c, s->data, s->len, text, tl);
	if (status == 250)
		stats_inc(ST_PICKUP_ACCEPTED);
	cleanup_client_close(c);
	return status;
}
