/*
 * ipc.c - attribute records over UNIX stream sockets (see ipc.h).
 *
 * Trusts: nothing from the peer.  Every length is checked against the
 * limits in mta_limits.h before memory is used; a malformed record is an error
 * for the whole connection, since framing is lost.
 * Never: leaks a passed descriptor (unclaimed ones are closed), reads past
 * the record limit, or blocks longer than the connection's timeout.
 */
#include "ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (q == NULL)
		log_fatal("out of memory (%zu bytes)", n);
	return q;
}

struct ipc *
ipc_new(int fd, int timeout_ms)
{
	struct ipc *c = calloc(1, sizeof(*c));

	if (c == NULL)
		log_fatal("out of memory");
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	c->wfd = -1;
	return c;
}

void
ipc_free(struct ipc *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

static void
wbuf_add(struct ipc *c, const void *p, size_t n)
{
	if (c->wlen + n > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 4096;
		while (cap < c->wlen + n)
			cap *= 2;
		c->wbuf = xrealloc(c->wbuf, cap);
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
}

/* put_header - an attribute's name and value length into the write
 * buffer; a bad size is the caller's bug (fatal) */
static void
put_header(struct ipc *c, const char *who, const char *name, size_t len)
{
	size_t nl = strlen(name);
	unsigned char hdr[1 + LIM_IPC_NAME + 4];

	if (nl == 0 || nl >= LIM_IPC_NAME || len > LIM_IPC_VALUE)
		log_fatal("%s: attribute %s: bad size %zu", who, name, len);
	hdr[0] = (unsigned char)nl;
	memcpy(hdr + 1, name, nl);
	hdr[1 + nl] = (unsigned char)(len >> 24);
	hdr[2 + nl] = (unsigned char)(len >> 16);
	hdr[3 + nl] = (unsigned char)(len >> 8);
	hdr[4 + nl] = (unsigned char)len;
	wbuf_add(c, hdr, nl + 5);
}

void
ipc_put(struct ipc *c, const char *name, const void *v, size_t len)
{
	put_header(c, "ipc_put", name, len);
	wbuf_add(c, v, len);
}

void
ipc_put_str(struct ipc *c, const char *name, const char *v)
{
	ipc_put(c, name, v, strlen(v));
}

void
ipc_put_long(struct ipc *c, const char *name, long v)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%ld", v);
	ipc_put(c, name, num, (size_t)n);
}

void
ipc_attach_fd(struct ipc *c, int fd)
{
	c->wfd = fd;
}

size_t
ipc_pending(const struct ipc *c)
{
	return c->wlen;
}

static int
wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return IPC_ERR;
	return n == 0 ? IPC_TIMEOUT : IPC_OK;
}

/* send_some - one sendmsg(), carrying the pending descriptor if any. */
static ssize_t
send_some(struct ipc *c)
{
	struct iovec iov = {.iov_base = c->wbuf, .iov_len = c->wlen};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;

	if (c->wfd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.space;
		m.msg_controllen = sizeof(ctl.space);
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &c->wfd, sizeof(int));
	}
	ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0)
		c->wfd = -1;
	return n;
}

int
ipc_flush(struct ipc *c)
{
	while (c->wlen > 0) {
		ssize_t n = send_some(c);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(c->fd, POLLOUT, c->timeout_ms);
			if (rc != IPC_OK)
				return rc;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return IPC_ERR;
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
	return IPC_OK;
}

/* iov_advance - drop the first n bytes of iov[0..*cnt). */
static struct iovec *
iov_advance(struct iovec *iov, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++, (*cnt)--;
	}
	if (*cnt > 0) {
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	return iov;
}

int
ipc_send_value(struct ipc *c, const char *name, const void *v, size_t len)
{
	static const unsigned char zero = 0;

	if (c->wfd >= 0) { /* a descriptor rides on the first byte */
		ipc_put(c, name, v, len);
		return ipc_end(c);
	}
	put_header(c, "ipc_send_value", name, len);
	struct iovec vec[3] = {{.iov_base = c->wbuf, .iov_len = c->wlen},
			       {.iov_base = (void *)v, .iov_len = len},
			       {.iov_base = (void *)&zero, .iov_len = 1}};
	struct iovec *iov = vec;
	int cnt = 3, rc = IPC_OK;
	while (cnt > 0) {
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
		ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_fd(c->fd, POLLOUT, c->timeout_ms)) !=
			    IPC_OK)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = IPC_ERR;
			break;
		}
		iov = iov_advance(iov, &cnt, (size_t)n);
	}
	/* after a failure the connection is useless: nothing is kept */
	c->wlen = 0;
	return rc;
}

void
ipc_next(struct ipc *c)
{
	unsigned char zero = 0;
	wbuf_add(c, &zero, 1);
}

int
ipc_end(struct ipc *c)
{
	ipc_next(c);
	return ipc_flush(c);
}

/* keep_fds - store received descriptors, closing any over the limit. */
static int
keep_fds(struct ipc *c, struct msghdr *m)
{
	int bad = (m->msg_flags & MSG_CTRUNC) != 0;

	for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
			if (c->nfds < LIM_IPC_FDS)
				c->fds[c->nfds++] = fd;
			else {
				close(fd);
				bad = 1;
			}
		}
	}
	return bad ? IPC_BAD : IPC_OK;
}

int
ipc_fill(struct ipc *c)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * LIM_IPC_FDS)];
	} ctl;
	struct iovec iov;
	struct msghdr m;
	ssize_t n;

	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rcap - c->rlen < 4096) {
		size_t cap = c->rcap ? c->rcap * 2 : 16384;
		if (cap > LIM_IPC_RECORD + 16384)
			cap = LIM_IPC_RECORD + 16384;
		if (cap <= c->rlen)
			return IPC_BAD;
		c->rbuf = xrealloc(c->rbuf, cap);
		c->rcap = cap;
	}
	iov.iov_base = c->rbuf + c->rlen;
	iov.iov_len = c->rcap - c->rlen;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.space;
	m.msg_controllen = sizeof(ctl.space);
	do
		n = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? IPC_AGAIN
								 : IPC_ERR;
	if (keep_fds(c, &m) != IPC_OK)
		return IPC_BAD;
	if (n == 0) {
		c->eof = 1;
		return IPC_EOF;
	}
	c->rlen += (size_t)n;
	return (int)n;
}

void
attrs_init(struct attrs *a)
{
	memset(a, 0, sizeof(*a));
}

void
attrs_free(struct attrs *a)
{
	free(a->a);
	free(a->buf);
	attrs_init(a);
}

static void
attrs_add(struct attrs *a, const char *name, size_t nl, const char *v,
	  size_t vl)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->a = xrealloc(a->a, (size_t)a->cap * sizeof(*a->a));
	}
	struct attr *t = &a->a[a->n++];
	memcpy(t->name, name, nl);
	t->name[nl] = 0;
	/* values point into buf; offsets are fixed up after all are copied */
	t->value = (char *)(uintptr_t)a->buflen;
	t->len = vl;
	memcpy(a->buf + a->buflen, v, vl);
	a->buf[a->buflen + vl] = 0;
	a->buflen += vl + 1;
}

/* record_size - bytes of the first whole record in p, 0 if incomplete. */
static int
record_size(const unsigned char *p, size_t len, size_t *size, int *nattrs)
{
	size_t i = 0;

	*nattrs = 0;
	for (;;) {
		if (i >= len)
			return IPC_AGAIN;
		size_t nl = p[i];
		if (nl == 0) {
			*size = i + 1;
			return IPC_OK;
		}
		if (nl >= LIM_IPC_NAME || ++*nattrs > LIM_IPC_ATTRS)
			return IPC_BAD;
		if (i + 1 + nl + 4 > len)
			return i + 1 + nl + 4 > LIM_IPC_RECORD ? IPC_BAD
							       : IPC_AGAIN;
		const unsigned char *l = p + i + 1 + nl;
		size_t vl = (size_t)l[0] << 24 | (size_t)l[1] << 16 |
			    (size_t)l[2] << 8 | l[3];
		if (vl > LIM_IPC_VALUE)
			return IPC_BAD;
		i += 1 + nl + 4 + vl;
		if (i > LIM_IPC_RECORD)
			return IPC_BAD;
	}
}

/*
 * parse_view - the record of one attribute at rpos (size bytes, framing
 * checked), with its value left where it is: message data, 64 KB a
 * record, is not copied once more.  The byte after the value is the
 * record's terminating zero, so the value is NUL-terminated as ever.
 */
static int
parse_view(struct ipc *c, struct attrs *out, size_t size)
{
	unsigned char *p = (unsigned char *)c->rbuf + c->rpos;
	size_t nl = p[0];

	for (size_t k = 0; k < nl; k++)
		if (p[1 + k] <= ' ' || p[1 + k] >= 127) {
			out->n = 0;
			return IPC_BAD;
		}
	if (out->cap == 0) {
		out->cap = 16;
		out->a = xrealloc(out->a, (size_t)out->cap * sizeof(*out->a));
	}
	struct attr *t = &out->a[0];
	memcpy(t->name, p + 1, nl);
	t->name[nl] = 0;
	t->value = (char *)p + 1 + nl + 4;
	t->len = size - (1 + nl + 4) - 1;
	out->n = 1;
	c->rpos += size;
	return IPC_OK;
}

int
ipc_parse(struct ipc *c, struct attrs *out)
{
	if (c->rbuf == NULL)
		return IPC_AGAIN; /* nothing read yet */
	const unsigned char *p = (unsigned char *)c->rbuf + c->rpos;
	size_t size, i = 0;
	int nattrs, rc = record_size(p, c->rlen - c->rpos, &size, &nattrs);

	if (rc != IPC_OK)
		return rc;
	if (c->view && nattrs == 1)
		return parse_view(c, out, size);
	out->n = 0;
	out->buflen = 0;
	if (out->bufcap < size + 1) {
		out->buf = xrealloc(out->buf, size + 1);
		out->bufcap = size + 1;
	}
	while (p[i] != 0) {
		size_t nl = p[i];
		const unsigned char *l = p + i + 1 + nl;
		size_t vl = (size_t)l[0] << 24 | (size_t)l[1] << 16 |
			    (size_t)l[2] << 8 | l[3];
		for (size_t k = 0; k < nl; k++)
			if (p[i + 1 + k] <= ' ' || p[i + 1 + k] >= 127) {
				out->n = 0; /* values hold offsets yet */
				return IPC_BAD;
			}
		attrs_add(out, (const char *)p + i + 1, nl,
			  (const char *)l + 4, vl);
		i += 1 + nl + 4 + vl;
	}
	for (int k = 0; k < out->n; k++)
		out->a[k].value = out->buf + (uintptr_t)out->a[k].value;
	c->rpos += size;
	return IPC_OK;
}

int
ipc_read(struct ipc *c, struct attrs *out)
{
	for (;;) {
		int rc = ipc_parse(c, out);
		if (rc != IPC_AGAIN)
			return rc;
		if (c->eof)
			return c->rlen > c->rpos ? IPC_BAD : IPC_EOF;
		rc = ipc_fill(c);
		if (rc == IPC_AGAIN) {
			rc = wait_fd(c->fd, POLLIN, c->timeout_ms);
			if (rc != IPC_OK)
				return rc;
			continue;
		}
		if (rc == IPC_EOF)
			continue;
		if (rc < 0)
			return rc;
	}
}

int
ipc_take_fd(struct ipc *c)
{
	if (c->nfds == 0)
		return -1;
	int fd = c->fds[0];
	memmove(c->fds, c->fds + 1, (size_t)(c->nfds - 1) * sizeof(int));
	c->nfds--;
	return fd;
}

const struct attr *
attrs_find(const struct attrs *a, const char *name)
{
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->a[i].name, name) == 0)
			return &a->a[i];
	return NULL;
}

const char *
attrs_get(const struct attrs *a, const char *name)
{
	const struct attr *t = attrs_find(a, name);
	return t ? t->value : NULL;
}

long
attrs_get_long(const struct attrs *a, const char *name, int *ok)
{
	const char *v = attrs_get(a, name);
	char *end;
	long n;

	*ok = 0;
	if (v == NULL || *v == 0)
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != 0)
		return -1;
	*ok = 1;
	return n;
}

int
ipc_connect_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
