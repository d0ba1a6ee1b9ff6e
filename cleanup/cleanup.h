/*
 * cleanup.h - state of one message in cleanup(8).
 */
#ifndef CLEANUP_H
#define CLEANUP_H

#include "queue_file.h"
#include "strbuf.h"

struct cleanup_msg {
	char id[LIM_QUEUE_ID];
	long arrival;         /* seconds */
	long long arrival_us; /* for the delays= of the log */
	char helo[LIM_HOSTNAME], client_name[LIM_HOSTNAME];
	char client_addr[LIM_HOSTNAME], protocol[32];
	char tls[160]; /* "TLSv1.3 with cipher ... (n/n bits)", or "" */
	char single_rcpt[LIM_PATH + 1]; /* for "for <rcpt>"; "" if several */
	/* header section, held until its end is seen */
	struct strbuf hdr;
	size_t hdr_line; /* where the line being received starts in hdr */
	int in_headers;
	int bad;             /* reply code when the message is refused */
	char bad_text[128];
	int received_count;
	int have_message_id, have_date, have_from;
	char message_id[300];
	/* last: serve_message clears what comes before it, not its
	 * 128 KB of buffers (qf_writer_init sets the rest) */
	struct qf_writer w;
};

/* cleanup_headers.c */
void headers_begin(struct cleanup_msg *m);
/* headers_feed - message bytes; -1 on a write error */
int headers_feed(struct cleanup_msg *m, const char *p, size_t n);
/* headers_end - the message ended; flush what is held */
int headers_end(struct cleanup_msg *m);

#endif
