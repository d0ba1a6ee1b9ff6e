/*
 * fuzz_ipc.c - libFuzzer target for common/ipc.c, the reader of the
 * attribute records every daemon takes from its peers.
 *
 * Input: the bytes a peer writes on a UNIX stream socket, then end of
 * file.  They go through a real socketpair into ipc_read, which is called
 * until it reports anything but IPC_OK; every record it returns must keep
 * the promises of ipc.h: at most LIM_IPC_ATTRS attributes, names of 1..31
 * printable bytes with a NUL after them, values of at most LIM_IPC_VALUE
 * bytes with a NUL after them, whether copied or (inputs of odd size)
 * left in the read buffer (view).  The writer end is non-blocking and writes
 * between reads, so input larger than the socket buffer cannot deadlock.
 * Trusts: nothing in the input.  Never: blocks (timeout_ms is 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_ipc", LOG_DEST_FILE, "/dev/null");
	return 0;
}

/* check_record - the promises of ipc.h about one record read. */
static void
check_record(const struct attrs *a, const struct ipc *c)
{
	int ok;

	check(a->n >= 0 && a->n <= LIM_IPC_ATTRS);
	for (int i = 0; i < a->n; i++) {
		const struct attr *t = &a->a[i];
		size_t nl = strnlen(t->name, sizeof(t->name));
		check(nl > 0 && nl < sizeof(t->name));
		for (size_t k = 0; k < nl; k++)
			check(t->name[k] > ' ' && t->name[k] < 127);
		check(t->len <= LIM_IPC_VALUE);
		if (c->view && a->n == 1) /* left in the read buffer */
			check(t->value >= c->rbuf &&
			      t->value + t->len < c->rbuf + c->rpos);
		else
			check(t->value >= a->buf &&
			      t->value + t->len < a->buf + a->bufcap);
		check(t->value[t->len] == 0);
		check(attrs_find(a, t->name) != NULL);
	}
	/* what the daemons ask of a request */
	attrs_get(a, "req");
	attrs_get_long(a, "status", &ok);
	attrs_get_long(a, "size", &ok);
}

/* feed - write what the socket takes now; 1 once all is written. */
static int
feed(int fd, const uint8_t *data, size_t size, size_t *off)
{
	while (*off < size) {
		ssize_t n = write(fd, data + *off, size - *off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		check(n > 0);
		*off += (size_t)n;
	}
	check(shutdown(fd, SHUT_WR) == 0);
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], rc, done = 0, records = 0;
	struct attrs a;
	struct ipc *c;
	size_t off = 0;

	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	check(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	c = ipc_new(sv[0], 0);
	/* odd sizes: records of one attribute are read in place (view) */
	c->view = (int)(size & 1);
	attrs_init(&a);
	for (;;) {
		if (!done)
			done = feed(sv[1], data, size, &off);
		rc = ipc_read(c, &a);
		if (rc == IPC_OK) {
			check_record(&a, c);
			records++;
			continue;
		}
		/* nothing to read yet: only while bytes wait to be written */
		if (rc == IPC_TIMEOUT && !done)
			continue;
		break;
	}
	check(rc == IPC_EOF || rc == IPC_BAD);
	/* a record is at least its terminating zero byte */
	check((size_t)records <= size);
	check(ipc_take_fd(c) == -1);
	attrs_free(&a);
	ipc_free(c);
	close(sv[1]);
	return 0;
}
