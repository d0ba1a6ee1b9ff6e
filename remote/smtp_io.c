/*
 * smtp_io.c - remote(8)'s connection to a peer: connect with a timeout,
 * read reply lines and write commands, each under a deadline (RFC 5321
 * 4.5.3.2 gives the time per phase; the caller passes it).
 *
 * Trusts: nothing the peer sends; a line longer than SMTP_LINE_MAX is an
 * error, not a buffer overrun.
 * Never: blocks without a deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsutil.h"
#include "remote.h"

/* wait_fd - poll fd for ev until the deadline (us): 0, or -1 on timeout */
static int
wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = (deadline - now_us()) / 1000;
		if (left <= 0)
			return errno = ETIMEDOUT, -1;
		struct pollfd p = {.fd = fd, .events = ev};
		int n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
make_addr(const char *addr, int port, struct sockaddr_storage *ss,
	  socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

int
smtp_connect(struct smtp_conn *c, const char *host, const char *addr, int port,
	     long timeout_s)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int e = 0;
	socklen_t el = sizeof(e);

	memset(c, 0, offsetof(struct smtp_conn, rbuf));
	c->rpos = c->rlen = c->wlen = 0;
	c->err[0] = 0;
	snprintf(c->host, sizeof(c->host), "%s", host);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->port = port;
	if (make_addr(addr, port, &ss, &sl) != 0) {
		snprintf(c->err, sizeof(c->err), "bad address %s", addr);
		return c->fd = -1;
	}
	c->fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(c->err, sizeof(c->err), "socket: %s", strerror(errno));
		return -1;
	}
	/* every write is a whole command group or body block of ours:
	 * Nagle would hold the final ".\r\n" for the peer's delayed ACK
	 * (40 ms per message) */
	int one = 1;
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		e = errno;
	else if (connect(c->fd, (struct sockaddr *)&ss, sl) != 0 &&
		 errno != EINPROGRESS)
		e = errno;
	else if (wait_fd(c->fd, POLLOUT, now_us() + timeout_s * 1000000LL))
		e = errno;
	else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
		e = errno;
	if (e != 0) {
		snprintf(c->err, sizeof(c->err), "connect to %s[%s]:%d: %s",
			 host, addr, port,
			 e == ETIMEDOUT ? "Connection timed out" : strerror(e));
		smtp_close(c);
		return -1;
	}
	return 0;
}

void
smtp_close(struct smtp_conn *c)
{
	if (c->fd >= 0 && close(c->fd) != 0 && errno != EINTR)
		snprintf(c->err, sizeof(c->err), "close: %s", strerror(errno));
	c->fd = -1;
}

/* read_line - one line without CRLF into buf; -1 on error/timeout/EOF */
static int
read_line(struct smtp_conn *c, long long deadline, char *buf, size_t *len)
{
	size_t n = 0;

	for (;;) {
		while (c->rpos < c->rlen) {
			char ch = c->rbuf[c->rpos++];
			if (ch == '\n') {
				if (n > 0 && buf[n - 1] == '\r')
					n--;
				*len = n;
				return 0;
			}
			if (n + 1 >= SMTP_LINE_MAX) {
				snprintf(c->err, sizeof(c->err),
					 "reply line "
					 "too long");
				return -1;
			}
			buf[n++] = ch;
		}
		if (wait_fd(c->fd, POLLIN, deadline) != 0) {
			snprintf(c->err, sizeof(c->err), "%s",
				 errno == ETIMEDOUT ? "conversation timed out"
						    : strerror(errno));
			return -1;
		}
		ssize_t got = read(c->fd, c->rbuf, sizeof(c->rbuf));
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0) {
			snprintf(c->err, sizeof(c->err), "lost connection");
			return -1;
		}
		c->rpos = 0;
		c->rlen = (size_t)got;
	}
}

int
smtp_read_reply(struct smtp_conn *c, long timeout_s, struct smtp_reply *r)
{
	long long deadline = now_us() + timeout_s * 1000000LL;
	char line[SMTP_LINE_MAX];
	size_t len;
	int rc = 0;

	smtp_reply_init(r);
	while (rc == 0) {
		if (read_line(c, deadline, line, &len) != 0)
			return -1;
		if ((rc = smtp_reply_line(r, line, len)) < 0) {
			snprintf(c->err, sizeof(c->err),
				 "malformed reply: "
				 "%.60s",
				 line);
			return -1;
		}
	}
	return 0;
}

int
smtp_write(struct smtp_conn *c, const char *p, size_t n, long timeout_s)
{
	long long deadline = now_us() + timeout_s * 1000000LL;

	while (n > 0) {
		ssize_t w = write(c->fd, p, n);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(c->fd, POLLOUT, deadline) != 0) {
				snprintf(c->err, sizeof(c->err),
					 "conversation timed out");
				return -1;
			}
			continue;
		}
		if (w <= 0) {
			snprintf(c->err, sizeof(c->err), "lost connection");
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
smtp_printf(struct smtp_conn *c, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(c->wbuf + c->wlen, sizeof(c->wbuf) - c->wlen, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(c->wbuf) - c->wlen) {
		snprintf(c->err, sizeof(c->err), "command buffer full");
		return -1;
	}
	c->wlen += (size_t)w;
	return 0;
}

int
smtp_flush(struct smtp_conn *c, long timeout_s)
{
	int rc = smtp_write(c, c->wbuf, c->wlen, timeout_s);

	c->wlen = 0;
	return rc;
}
