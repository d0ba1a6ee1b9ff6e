/*
 * queue_file.h - the queue file (mta-queue(5)): typed, length-prefixed
 * records, written once.
 *
 * Layout: the magic "MTAQ", then records of one type byte, a four-byte
 * big-endian payload length and the payload.  Envelope records come first,
 * then QF_MESSAGE, then QF_DATA records holding the message as cleanup
 * wrote it (LF line ends), then QF_END with the message size.  A file
 * without QF_END is incomplete and is never delivered.
 */
#ifndef MTA_QUEUE_FILE_H
#define MTA_QUEUE_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "mta_limits.h"

#define QF_MAGIC "MTAQ"
#define QF_VERSION "1"

enum qf_type {
	QF_VERSION_REC = 'V', QF_ID = 'I', QF_ARRIVAL = 'T', QF_SENDER = 'S',
	QF_RCPT = 'R', QF_ORCPT = 'O', QF_NOTIFY = 'N', QF_CLIENT_ADDR = 'A',
	QF_CLIENT_NAME = 'C', QF_HELO = 'H', QF_PROTOCOL = 'P',
	QF_AUTH_USER = 'U', QF_BODY_TYPE = 'B', QF_ENVID = 'E', QF_RET = 'F',
	QF_MESSAGE = 'M', QF_DATA = 'D', QF_END = 'X',
	QF_TRACE = 'W', /* a delivery trace is owed to the sender (VERB) */
};

struct qf_writer {
	int fd;
	char buf[LIM_QF_DATA_CHUNK + 64];
	size_t len;
	char chunk[LIM_QF_DATA_CHUNK]; /* message bytes not yet a record */
	size_t chunklen;
	long long msg_size;
	int in_message;
	int error; /* sticky: any failed write fails qf_finish */
};

void qf_writer_init(struct qf_writer *w, int fd);
int qf_put(struct qf_writer *w, int type, const void *p, size_t len);
int qf_put_str(struct qf_writer *w, int type, const char *s);
/* qf_begin_message - end the envelope; message bytes follow. */
int qf_begin_message(struct qf_writer *w);
int qf_put_data(struct qf_writer *w, const void *p, size_t len);
/* qf_finish - write QF_END and flush (the caller fsyncs). */
int qf_finish(struct qf_writer *w);

struct qf_rcpt {
	char *addr;
	char *orcpt;  /* may be NULL */
	char *notify; /* may be NULL */
};

struct qf_envelope {
	char *id, *sender, *client_addr, *client_name, *helo, *protocol;
	char *auth_user, *body_type, *envid, *ret;
	int trace;            /* a W record: mail the sender a trace */
	long long arrival;    /* seconds */
	long long arrival_us; /* the same, in microseconds */
	int nrcpt;
	struct qf_rcpt *rcpt;
	off_t msg_offset;  /* first QF_DATA record */
	long long msg_size;
};

/*
 * qf_read_envelope - read and check a whole queue file: envelope records,
 * every data record's framing, and the END record.  On failure, returns
 * -1 with the reason in err, or QF_INCOMPLETE when the file only ends
 * early (its writer is still at work, or died).
 */
#define QF_INCOMPLETE (-2)
int qf_read_envelope(int fd, struct qf_envelope *env, char *err,
		     size_t errlen);
void qf_envelope_free(struct qf_envelope *env);

struct qf_reader {
	int fd;
	off_t pos;
	size_t left; /* bytes left in the current data record */
	int done;
};

/* qf_reader_init - read the message of a checked file from the start. */
void qf_reader_init(struct qf_reader *r, int fd, const struct qf_envelope *e);
/* qf_reader_read - up to cap message bytes; 0 at the end, -1 on error. */
ssize_t qf_reader_read(struct qf_reader *r, char *buf, size_t cap);

#endif
