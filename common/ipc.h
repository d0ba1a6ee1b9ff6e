/*
 * ipc.h - attribute records over UNIX stream sockets, with fd passing.
 *
 * A record is a list of (name, value) attributes.  On the wire each
 * attribute is one byte of name length (1..31), the name, four bytes of
 * value length (big-endian) and the value; a zero name length ends the
 * record.  Values may hold any byte.  A descriptor sent with
 * ipc_attach_fd() travels with the next record's first byte and is claimed
 * by the receiver with ipc_take_fd() once that record is read.
 */
#ifndef MTA_IPC_H
#define MTA_IPC_H

#include <stddef.h>

#include "mta_limits.h"

struct attr {
	char name[LIM_IPC_NAME];
	char *value; /* NUL-terminated copy; may hold NULs inside */
	size_t len;
};

struct attrs {
	int n, cap;
	struct attr *a;
	char *buf;
	size_t buflen, bufcap;
};

struct ipc {
	int fd;
	int timeout_ms; /* for the blocking calls; -1 waits forever */
	char *rbuf;
	size_t rpos, rlen, rcap;
	char *wbuf;
	size_t wlen, wcap;
	int wfd;                /* descriptor to send with the next bytes */
	int fds[LIM_IPC_FDS];   /* received, not yet claimed */
	int nfds;
	int eof;
	/* set by the reader: a record of one attribute is not copied, its
	 * value points into the read buffer (NUL-terminated by the record's
	 * end) and is valid only until the next call on this connection */
	int view;
};

enum { IPC_OK = 0, IPC_EOF = -1, IPC_ERR = -2, IPC_TIMEOUT = -3,
       IPC_BAD = -4, IPC_AGAIN = -5 };

struct ipc *ipc_new(int fd, int timeout_ms);
/* ipc_free - close the socket and any unclaimed descriptors. */
void ipc_free(struct ipc *c);

void ipc_put(struct ipc *c, const char *name, const void *v, size_t len);
void ipc_put_str(struct ipc *c, const char *name, const char *v);
void ipc_put_long(struct ipc *c, const char *name, long v);
/* ipc_attach_fd - send fd (a dup is not made) with the next record. */
void ipc_attach_fd(struct ipc *c, int fd);
/* ipc_send_value - add name=v, close the record and flush everything,
 * as ipc_put and ipc_end do, but with v sent from where it is instead of
 * copied into the write buffer (message data: 64 KB a record). */
int ipc_send_value(struct ipc *c, const char *name, const void *v,
		   size_t len);
/* ipc_next - close the record being built without sending it: it goes
 * with the next ipc_end (two records in one write) */
void ipc_next(struct ipc *c);
/* ipc_end - close the record being built and flush everything. */
int ipc_end(struct ipc *c);
/* ipc_flush - write buffered bytes; blocks up to timeout_ms. */
int ipc_flush(struct ipc *c);
/* ipc_pending - bytes waiting to be written */
size_t ipc_pending(const struct ipc *c);

/* ipc_fill - one read from the socket (non-blocking callers poll first). */
int ipc_fill(struct ipc *c);
/* ipc_parse - take one whole buffered record: IPC_OK, IPC_AGAIN or IPC_BAD */
int ipc_parse(struct ipc *c, struct attrs *out);
/* ipc_read - block (up to timeout_ms) until one record is read. */
int ipc_read(struct ipc *c, struct attrs *out);
/* ipc_take_fd - the oldest received descriptor, or -1. */
int ipc_take_fd(struct ipc *c);

void attrs_init(struct attrs *a);
void attrs_free(struct attrs *a);
const char *attrs_get(const struct attrs *a, const char *name);
/* attrs_get_long - value as a number; -1 and *ok = 0 when missing/bad. */
long attrs_get_long(const struct attrs *a, const char *name, int *ok);
const struct attr *attrs_find(const struct attrs *a, const char *name);

/* ipc_connect_unix - connect to a UNIX socket by path; -1 on failure. */
int ipc_connect_unix(const char *path);

#endif
