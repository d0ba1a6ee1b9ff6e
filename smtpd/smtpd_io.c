/*
 * smtpd_io.c - buffered, bounded line I/O with the SMTP client.
 *
 * Replies are buffered and flushed only when no pipelined command waits in
 * the input buffer (RFC 2920), so a pipelining client gets one write.
 * After STARTTLS the descriptor is tlsproxy(8)'s plaintext end (the same
 * number, see smtpd_tls.c): this file never sees a TLS record.
 * Trusts: nothing the client sends.  Never: holds more than SMTPD_IN_BUF
 * of input, or blocks longer than the session's timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "smtpd.h"

/* io_init - the buffers are left as they are: writing 24 KB of zeros
 * would make every page of them private to this process while the
 * session idles (smtpd(8), memory); pos, len and olen bound every read */
void
io_init(struct smtpd_io *io, int fd, int timeout_s)
{
	io->fd = fd;
	io->pos = io->len = io->olen = 0;
	io->timeout_s = timeout_s;
	io->eof = io->error = 0;
	io->on_idle = NULL;
	io->idle_ctx = NULL;
	io->idle_ms = 0;
	io->spill = NULL;
	io->spill_len = io->spill_pos = 0;
}

void
io_on_idle(struct smtpd_io *io, int ms, void (*fn)(void *ctx), void *ctx)
{
	io->on_idle = fn;
	io->idle_ctx = ctx;
	io->idle_ms = ms;
}

/* wait_input - poll for input up to the session's timeout; the idle
 * call, when one is set, comes after its own shorter wait */
static int
wait_input(struct smtpd_io *io)
{
	struct pollfd p = {.fd = io->fd, .events = POLLIN};
	int left = io->timeout_s * 1000, n;

	if (io->on_idle != NULL && io->idle_ms < left) {
		do
			n = poll(&p, 1, io->idle_ms);
		while (n < 0 && errno == EINTR);
		if (n != 0)
			return n;
		void (*fn)(void *) = io->on_idle;
		io->on_idle = NULL;
		fn(io->idle_ctx);
		left -= io->idle_ms;
	}
	do
		n = poll(&p, 1, left);
	while (n < 0 && errno == EINTR);
	return n;
}

int
io_input_pending(const struct smtpd_io *io)
{
	return io->pos < io->len || io->spill != NULL;
}

int
io_flush(struct smtpd_io *io)
{
	size_t off = 0;

	while (off < io->olen && !io->error) {
		struct pollfd p = {.fd = io->fd, .events = POLLOUT};
		int n = poll(&p, 1, io->timeout_s * 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			io->error = 1;
			break;
		}
		ssize_t w = send(io->fd, io->out + off, io->olen - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			io->error = 1;
		else
			off += (size_t)w;
	}
	io->olen = 0;
	return io->error ? -1 : 0;
}

void
io_printf(struct smtpd_io *io, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (int tries = 0; tries < 2; tries++) {
		va_start(ap, fmt);
		n = vsnprintf(io->out + io->olen, sizeof(io->out) - io->olen,
			      fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(io->out) - io->olen) {
			io->olen += (size_t)n;
			return;
		}
		if (io_flush(io) != 0)
			return;
	}
	log_warn("reply longer than %d bytes dropped", SMTPD_OUT_BUF);
}

int
io_input_ready(struct smtpd_io *io)
{
	char c;

	if (io->pos < io->len || io->spill != NULL)
		return 1;
	/* bytes, not the end of input: a client may close after QUIT */
	return recv(io->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

/* io_recv - one read into buf, polling only when nothing is there yet
 * (the message data of a client that sends quickly often is). */
static int
io_recv(struct smtpd_io *io, char *buf, size_t cap, size_t *got)
{
	for (;;) {
		ssize_t r = recv(io->fd, buf, cap, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int n = wait_input(io);
			if (n == 0)
				return LINE_TIMEOUT;
			if (n < 0)
				return LINE_EOF;
			continue;
		}
		if (r <= 0) {
			io->eof = 1;
			return LINE_EOF;
		}
		*got = (size_t)r;
		return LINE_OK;
	}
}

/* spill_take - input put back by io_unread that did not fit in. */
static void
spill_take(struct smtpd_io *io)
{
	size_t k = sizeof(io->in) - io->len;

	if (k > io->spill_len - io->spill_pos)
		k = io->spill_len - io->spill_pos;
	memcpy(io->in + io->len, io->spill + io->spill_pos, k);
	io->len += k;
	io->spill_pos += k;
	if (io->spill_pos == io->spill_len)
		io_spill_free(io);
}

/* io_fill - read more input, flushing replies first if we would block. */
int
io_fill(struct smtpd_io *io)
{
	size_t got;

	if (io->pos > 0) {
		memmove(io->in, io->in + io->pos, io->len - io->pos);
		io->len -= io->pos;
		io->pos = 0;
	}
	if (io->spill != NULL) {
		spill_take(io);
		return LINE_OK;
	}
	if (io->olen > 0 && io_flush(io) != 0)
		return LINE_EOF;
	int rc = io_recv(io, io->in + io->len, sizeof(io->in) - io->len, &got);
	if (rc == LINE_OK)
		io->len += got;
	return rc;
}

int
io_read_into(struct smtpd_io *io, char *buf, size_t cap, size_t *got)
{
	if (io->pos < io->len || io->spill != NULL) {
		/* what is buffered first, through the usual buffer */
		int rc = io->pos < io->len ? LINE_OK : io_fill(io);
		size_t k = io->len - io->pos;
		if (k > cap)
			k = cap;
		memcpy(buf, io->in + io->pos, k);
		io->pos += k;
		*got = k;
		return rc;
	}
	if (io->olen > 0 && io_flush(io) != 0)
		return LINE_EOF;
	io->pos = io->len = 0;
	return io_recv(io, buf, cap, got);
}

int
io_unread(struct smtpd_io *io, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	/* only after io_read_into, which left the buffer empty */
	io->pos = io->len = 0;
	size_t k = n < sizeof(io->in) ? n : sizeof(io->in);
	memcpy(io->in, p, k);
	io->len = k;
	if (k == n)
		return 0;
	/* more pipelined after the data than the buffer holds: kept aside
	 * until the buffer has room (io_fill); bounded by the caller's
	 * read size */
	if ((io->spill = malloc(n - k)) == NULL) {
		io->error = 1;
		return -1;
	}
	memcpy(io->spill, p + k, n - k);
	io->spill_len = n - k;
	io->spill_pos = 0;
	return 0;
}

void
io_spill_free(struct smtpd_io *io)
{
	free(io->spill);
	io->spill = NULL;
	io->spill_len = io->spill_pos = 0;
}

/*
 * io_read_line - copy the next line, LF included, into buf.  A line longer
 * than cap comes back in pieces as LINE_PART (the last piece LINE_OK), so
 * callers choose to keep it (message data) or refuse it (commands).
 */
enum io_line
io_read_line(struct smtpd_io *io, char *buf, size_t cap, size_t *len)
{
	for (;;) {
		char *s = io->in + io->pos;
		size_t avail = io->len - io->pos;
		char *lf = memchr(s, '\n', avail);
		size_t take = lf ? (size_t)(lf - s) + 1 : avail;
		/* a full buffer is one long line only when the line starts
		 * it: a line that began after others is moved down and
		 * completed (more than a buffer of pipelined commands) */
		if (take > cap - 1 || (!lf && avail >= cap - 1) ||
		    (!lf && io->len == sizeof(io->in) && io->pos == 0 &&
		     avail > 0)) {
			if (take > cap - 1)
				take = cap - 1;
			memcpy(buf, s, take);
			buf[take] = 0;
			io->pos += take;
			*len = take;
			return LINE_PART;
		}
		if (lf) {
			memcpy(buf, s, take);
			buf[take] = 0;
			io->pos += take;
			*len = take;
			return LINE_OK;
		}
		int rc = io_fill(io);
		if (rc != LINE_OK)
			return (enum io_line)rc;
	}
}
