/*
 * queue_file.c - write and read queue files (see queue_file.h).
 *
 * Trusts: nothing in a file it reads; every length is checked against the
 * file size and the limits before use.
 * Never: modifies a file once written; reports a file without END as good.
 */
#include "queue_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fsutil.h"

static int
wflush(struct qf_writer *w)
{
	if (w->len > 0 && write_all(w->fd, w->buf, w->len) != 0)
		return -1;
	w->len = 0;
	return 0;
}

void
qf_writer_init(struct qf_writer *w, int fd)
{
	w->fd = fd;
	memcpy(w->buf, QF_MAGIC, 4);
	w->len = 4;
	w->chunklen = 0;
	w->msg_size = 0;
	w->in_message = 0;
	w->error = 0;
	qf_put_str(w, QF_VERSION_REC, QF_VERSION);
}

int
qf_put(struct qf_writer *w, int type, const void *p, size_t len)
{
	unsigned char h[5] = {(unsigned char)type, (unsigned char)(len >> 24),
			      (unsigned char)(len >> 16),
			      (unsigned char)(len >> 8), (unsigned char)len};

	if (w->error)
		return -1;
	if (len > LIM_QF_RECORD) {
		errno = EFBIG;
		return w->error = -1;
	}
	if (w->len + 5 + len > sizeof(w->buf) && wflush(w) != 0)
		return w->error = -1;
	if (5 + len > sizeof(w->buf)) {
		/* a record larger than the buffer goes out directly */
		if (write_all(w->fd, h, 5) != 0 || write_all(w->fd, p, len))
			return w->error = -1;
		return 0;
	}
	memcpy(w->buf + w->len, h, 5);
	memcpy(w->buf + w->len + 5, p, len);
	w->len += 5 + len;
	return 0;
}

int
qf_put_str(struct qf_writer *w, int type, const char *s)
{
	return qf_put(w, type, s, strlen(s));
}

int
qf_begin_message(struct qf_writer *w)
{
	w->in_message = 1;
	return qf_put(w, QF_MESSAGE, "", 0);
}

/* pieces of message data at least this large are written without a copy */
#define QF_DIRECT_MIN (LIM_QF_DATA_CHUNK / 4)

static int
chunk_out(struct qf_writer *w)
{
	if (w->chunklen == 0)
		return 0;
	int rc = qf_put(w, QF_DATA, w->chunk, w->chunklen);
	w->chunklen = 0;
	return rc;
}

/* writev_all - write every byte of iov[0..n), retrying short writes. */
static int
writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t r = writev(fd, iov, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		size_t done = (size_t)r;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/*
 * put_direct - a data record written from the caller's bytes: what is
 * buffered, the record's header and p go out in one writev(), without
 * copying p through the chunk and the buffer.
 */
static int
put_direct(struct qf_writer *w, const void *p, size_t len)
{
	unsigned char h[5] = {QF_DATA, (unsigned char)(len >> 24),
			      (unsigned char)(len >> 16),
			      (unsigned char)(len >> 8), (unsigned char)len};

	if (chunk_out(w) != 0 || w->error)
		return w->error = -1;
	if (w->len + sizeof(h) > sizeof(w->buf) && wflush(w) != 0)
		return w->error = -1;
	memcpy(w->buf + w->len, h, sizeof(h));
	w->len += sizeof(h);
	struct iovec iov[2] = {{.iov_base = w->buf, .iov_len = w->len},
			       {.iov_base = (void *)p, .iov_len = len}};
	if (writev_all(w->fd, iov, 2) != 0)
		return w->error = -1;
	w->len = 0;
	return 0;
}

int
qf_put_data(struct qf_writer *w, const void *p, size_t len)
{
	const char *c = p;

	w->msg_size += (long long)len;
	/* a large piece (a whole data record from the submitter) becomes
	 * records of its own, of at most a chunk each (mta-queue(5));
	 * small ones gather in the chunk */
	while (len >= QF_DIRECT_MIN) {
		size_t n = len < sizeof(w->chunk) ? len : sizeof(w->chunk);
		if (put_direct(w, c, n) != 0)
			return -1;
		c += n;
		len -= n;
	}
	while (len > 0) {
		size_t n = sizeof(w->chunk) - w->chunklen;
		if (n > len)
			n = len;
		memcpy(w->chunk + w->chunklen, c, n);
		w->chunklen += n;
		c += n;
		len -= n;
		if (w->chunklen == sizeof(w->chunk) && chunk_out(w) != 0)
			return -1;
	}
	return 0;
}

int
qf_finish(struct qf_writer *w)
{
	char num[32];

	if (chunk_out(w) != 0)
		return -1;
	snprintf(num, sizeof(num), "%lld", w->msg_size);
	if (qf_put_str(w, QF_END, num) != 0 || w->error)
		return -1;
	return wflush(w);
}

/* read_exact - pread exactly n bytes or fail. */
static int
read_exact(int fd, void *p, size_t n, off_t off)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = pread(fd, c, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/*
 * A window of the file: the envelope and the data records' headers are
 * small and close together, so a reader takes them from one pread of
 * QF_READ_WINDOW bytes instead of two preads per record.
 */
#define QF_READ_WINDOW 16384

struct window {
	int fd;
	off_t start;
	size_t len;
	unsigned char buf[QF_READ_WINDOW];
};

/* win_read - n bytes at off, from the window when they are in it. */
static int
win_read(struct window *w, void *p, size_t n, off_t off)
{
	if (off >= w->start && off + (off_t)n <= w->start + (off_t)w->len) {
		memcpy(p, w->buf + (off - w->start), n);
		return 0;
	}
	/* far from the window (a jump over message data): read only n */
	int jump = w->len > 0 && off > w->start + (off_t)w->len + 4096;
	if (n > sizeof(w->buf) || jump)
		return read_exact(w->fd, p, n, off);
	ssize_t r;
	do
		r = pread(w->fd, w->buf, sizeof(w->buf), off);
	while (r < 0 && errno == EINTR);
	if (r < (ssize_t)n)
		return -1;
	w->start = off;
	w->len = (size_t)r;
	memcpy(p, w->buf, n);
	return 0;
}

static int
bad(char *err, size_t errlen, const char *what, off_t at)
{
	snprintf(err, errlen, "%s at offset %lld", what, (long long)at);
	return -1;
}

/* short - the file ends early: still being written, or its writer died */
static int
short_file(char *err, size_t errlen, const char *what, off_t at)
{
	bad(err, errlen, what, at);
	return QF_INCOMPLETE;
}

/* env_slot - where an envelope record's string goes, or NULL. */
static char **
env_slot(struct qf_envelope *e, int type)
{
	switch (type) {
	case QF_ID: return &e->id;
	case QF_SENDER: return &e->sender;
	case QF_CLIENT_ADDR: return &e->client_addr;
	case QF_CLIENT_NAME: return &e->client_name;
	case QF_HELO: return &e->helo;
	case QF_PROTOCOL: return &e->protocol;
	case QF_AUTH_USER: return &e->auth_user;
	case QF_BODY_TYPE: return &e->body_type;
	case QF_ENVID: return &e->envid;
	case QF_RET: return &e->ret;
	default: return NULL;
	}
}

/* parse_arrival - "SECONDS.MICROSECONDS" (or older "SECONDS"), both in
 * range, so that arithmetic on them cannot overflow. */
static int
parse_arrival(struct qf_envelope *e, const char *val)
{
	/* up to the year 9999 */
	const long long max_sec = 253402300799LL;
	char *end;
	long long sec, usec = 0;

	if (!isdigit((unsigned char)val[0]))
		return -1;
	errno = 0;
	sec = strtoll(val, &end, 10);
	if (errno != 0 || sec > max_sec)
		return -1;
	if (*end == '.') {
		const char *u = end + 1;
		if (!isdigit((unsigned char)*u))
			return -1;
		usec = strtoll(u, &end, 10);
		if (errno != 0 || usec > 999999)
			return -1;
	}
	if (*end != 0)
		return -1;
	e->arrival = sec;
	e->arrival_us = sec * 1000000 + usec;
	return 0;
}

static int
env_record(struct qf_envelope *e, int type, char *val, off_t at, char *err,
	   size_t errlen)
{
	char **slot;

	if (type == QF_RCPT) {
		if (e->nrcpt >= LIM_QF_RCPTS)
			return free(val), bad(err, errlen, "too many recipients", at);
		struct qf_rcpt *r = realloc(e->rcpt, (size_t)(e->nrcpt + 1) *
							     sizeof(*r));
		if (r == NULL)
			return free(val), bad(err, errlen, "out of memory", at);
		e->rcpt = r;
		r[e->nrcpt++] = (struct qf_rcpt){.addr = val};
		return 0;
	}
	if (type == QF_ORCPT || type == QF_NOTIFY) {
		if (e->nrcpt == 0)
			return free(val), bad(err, errlen, "DSN record before "
					      "a recipient", at);
		struct qf_rcpt *r = &e->rcpt[e->nrcpt - 1];
		slot = type == QF_ORCPT ? &r->orcpt : &r->notify;
	} else if (type == QF_TRACE) {
		/* files written before it existed simply have none */
		free(val);
		e->trace = 1;
		return 0;
	} else if (type == QF_ARRIVAL) {
		int rc = parse_arrival(e, val);
		free(val);
		return rc == 0 ? 0 : bad(err, errlen, "bad arrival time", at);
	} else if ((slot = env_slot(e, type)) == NULL) {
		free(val);
		return type == QF_VERSION_REC ? 0 : bad(err, errlen,
			"unknown envelope record", at);
	}
	free(*slot);
	*slot = val;
	return 0;
}

/* walk_message - check every data record's framing up to END. */
static int
walk_message(struct window *w, off_t pos, off_t fsize, struct qf_envelope *e,
	     char *err, size_t errlen)
{
	unsigned char h[5];
	long long total = 0;
	char num[32];

	e->msg_offset = pos;
	for (;;) {
		if (pos + 5 > fsize || win_read(w, h, 5, pos) != 0)
			return short_file(err, errlen, "no END record "
					  "(incomplete)", pos);
		size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 |
			     (size_t)h[3] << 8 | h[4];
		if (len > LIM_QF_RECORD)
			return bad(err, errlen, "record past end of file", pos);
		if (pos + 5 + (off_t)len > fsize)
			return short_file(err, errlen, "record past end of "
					  "file", pos);
		if (h[0] == QF_END) {
			if (len >= sizeof(num) || win_read(w, num, len,
							   pos + 5) != 0)
				return bad(err, errlen, "bad END record", pos);
			num[len] = 0;
			char *end;
			if (len == 0 || num[0] < '0' || num[0] > '9' ||
			    strtoll(num, &end, 10) != total || *end != 0)
				return bad(err, errlen, "message size does "
					   "not match END", pos);
			if (pos + 5 + (off_t)len != fsize)
				return bad(err, errlen, "data after END", pos);
			e->msg_size = total;
			return 0;
		}
		if (h[0] != QF_DATA)
			return bad(err, errlen, "unexpected record in message",
				   pos);
		total += (long long)len;
		pos += 5 + (off_t)len;
	}
}

int
qf_read_envelope(int fd, struct qf_envelope *e, char *err, size_t errlen)
{
	struct stat st;
	unsigned char h[5];
	off_t pos = 4;
	char magic[4];
	struct window w = {.fd = fd};

	memset(e, 0, sizeof(*e));
	if (fstat(fd, &st) != 0)
		return snprintf(err, errlen, "fstat: %s", strerror(errno)), -1;
	if (st.st_size < 4)
		return short_file(err, errlen, "no magic (incomplete)", 0);
	if (win_read(&w, magic, 4, 0) != 0 || memcmp(magic, QF_MAGIC, 4))
		return bad(err, errlen, "not a queue file", 0);
	for (;;) {
		if (pos + 5 > st.st_size || win_read(&w, h, 5, pos) != 0)
			return short_file(err, errlen, "no END record "
					  "(incomplete)", pos);
		size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 |
			     (size_t)h[3] << 8 | h[4];
		if (len > LIM_QF_RECORD)
			return bad(err, errlen, "record past end of file", pos);
		if (pos + 5 + (off_t)len > st.st_size)
			return short_file(err, errlen, "record past end of "
					  "file", pos);
		if (h[0] == QF_MESSAGE) {
			if (len != 0)
				return bad(err, errlen, "MESSAGE record with a payload", pos);
			break;
		}
		char *val = malloc(len + 1);
		if (val == NULL || win_read(&w, val, len, pos + 5) != 0) {
			free(val);
			return bad(err, errlen, "read error", pos);
		}
		val[len] = 0;
		if (memchr(val, 0, len) != NULL) {
			free(val);
			return bad(err, errlen, "NUL in envelope record", pos);
		}
		if (env_record(e, h[0], val, pos, err, errlen) != 0)
			return -1;
		pos += 5 + (off_t)len;
	}
	if (e->id == NULL || e->sender == NULL || e->nrcpt == 0)
		return bad(err, errlen, "envelope lacks ID, sender or "
			   "recipients", pos);
	return walk_message(&w, pos + 5, st.st_size, e, err, errlen);
}

void
qf_envelope_free(struct qf_envelope *e)
{
	char **strs[] = {&e->id, &e->sender, &e->client_addr, &e->client_name,
			 &e->helo, &e->protocol, &e->auth_user, &e->body_type,
			 &e->envid, &e->ret};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	for (int i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i].addr);
		free(e->rcpt[i].orcpt);
		free(e->rcpt[i].notify);
	}
	free(e->rcpt);
	memset(e, 0, sizeof(*e));
}

void
qf_reader_init(struct qf_reader *r, int fd, const struct qf_envelope *e)
{
	r->fd = fd;
	r->pos = e->msg_offset;
	r->left = 0;
	r->done = 0;
}

ssize_t
qf_reader_read(struct qf_reader *r, char *buf, size_t cap)
{
	unsigned char h[5];

	while (r->left == 0) {
		if (r->done)
			return 0;
		if (read_exact(r->fd, h, 5, r->pos) != 0)
			return -1;
		r->pos += 5;
		r->left = (size_t)h[1] << 24 | (size_t)h[2] << 16 |
			  (size_t)h[3] << 8 | h[4];
		if (h[0] == QF_END) {
			r->done = 1;
			r->left = 0;
			return 0;
		}
		if (h[0] != QF_DATA || r->left > LIM_QF_RECORD)
			return -1;
	}
	size_t n = r->left < cap ? r->left : cap;
	if (read_exact(r->fd, buf, n, r->pos) != 0)
		return -1;
	r->pos += (off_t)n;
	r->left -= n;
	return (ssize_t)n;
}
