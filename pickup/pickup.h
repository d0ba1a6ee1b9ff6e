/*
 * pickup.h - shared by the files of pickup(8).
 */
#ifndef PICKUP_H
#define PICKUP_H

#include "ipc.h"
#include "strbuf.h"

#define PICKUP_MAX_RCPTS 1000   /* recipients of one local submission */
#define PICKUP_TIMEOUT_MS 60000 /* between records from sendmail */

struct rcpt_list {
	char *r[PICKUP_MAX_RCPTS];
	int n;
	int overflow;
};

/* pickup_rcpt_headers.c: add the addresses of To:, Cc: and Bcc: in the
 * header section hdr (LF lines) to l, bare local parts qualified with
 * domain. */
void rcpt_from_headers(const char *hdr, size_t len, const char *domain,
		       struct rcpt_list *l);
void rcpt_add(struct rcpt_list *l, const char *addr, size_t len,
	      const char *domain);
void rcpt_free(struct rcpt_list *l);

/* maildrop files, written by mtadrop(8) alone: MAILDROP_MAGIC and a NUL,
 * then "name=value" fields each ended by a NUL, an empty field, then the
 * message (LF lines) to the end.  The first field is uid=N, the real uid
 * of mtadrop's caller (mtadrop writes it; no later uid field is taken);
 * the others come from sendmail: sender (-f), full_name (-F), extract
 * (1 for -t), rcpt (repeated), and last size (the message's length in
 * bytes, so a message cut short is never taken). */
#define MAILDROP_MAGIC "MTA-MAILDROP 2"
#define MAILDROP_ENVELOPE_MAX 1048576 /* bytes of fields in a maildrop file */

/* one local submission, whichever way it came */
struct submission {
	const char *sender; /* from -f, or NULL: the user's own address */
	const char *full_name; /* -F, for a From: the message lacks */
	int extract;        /* -t: recipients from the headers too */
	struct rcpt_list rcpts;
	const char *data;   /* the message, LF lines */
	size_t len;
};

/* pickup_queue.c: hand s from user uid to cleanup; the SMTP-like status
 * (250 queued, 4xx try later, 5xx never) with text and queue ID. */
int pickup_queue(struct submission *s, uid_t uid, char *text,
		 size_t textlen, char *id, size_t idlen);

#endif
