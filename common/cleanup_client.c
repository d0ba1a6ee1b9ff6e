/*
 * cleanup_client.c - submit one message to cleanup(8) (cleanup_client.h).
 *
 * The conversation: a request record (req=submit and the envelope),
 * cleanup's answer with the queue ID, data records, end=1, and cleanup's
 * status, sent only once its queue file is durable.  After that status
 * the connection is in step again and may carry the next message
 * (cleanup_client_next); after anything else it is only good to close.
 * Trusts: cleanup's records for their framing; a status must be a number
 * from 200 to 599 or it counts as no answer.
 * Never: sends end=1 after a failed write (cleanup would queue a cut
 * message); holds more than one chunk of the message; logs (running out
 * of memory is fatal, as everywhere).
 */
#include <stdlib.h>
#include <string.h>

#include "cleanup_client.h"
#include "ipc.h"
#include "log.h"

_Static_assert(CLEANUP_CLIENT_CHUNK <= LIM_IPC_VALUE,
	       "a data chunk must fit one IPC attribute value");

struct cleanup_client {
	struct ipc *c;
	struct attrs reply; /* the last answer; finish's text points here */
	int failed;
	int in_step; /* the last message got its final status */
	size_t len;
	char chunk[CLEANUP_CLIENT_CHUNK];
};

/* begin - start the request record of a message. */
static void
begin(struct cleanup_client *cc, const char *sender)
{
	cc->failed = 0;
	cc->in_step = 0;
	cc->len = 0;
	ipc_put_str(cc->c, "req", "submit");
	ipc_put_str(cc->c, "sender", sender);
}

struct cleanup_client *
cleanup_client_open(const char *sender, int timeout_ms)
{
	int fd = ipc_connect_unix(CLEANUP_SOCKET);

	if (fd < 0)
		return NULL; /* errno from the connect, for the caller's %m */
	return cleanup_client_open_fd(fd, sender, timeout_ms);
}

struct cleanup_client *
cleanup_client_open_fd(int fd, const char *sender, int timeout_ms)
{
	struct cleanup_client *cc = malloc(sizeof(*cc));

	if (cc == NULL)
		log_fatal("out of memory");
	cc->c = ipc_new(fd, timeout_ms);
	attrs_init(&cc->reply);
	begin(cc, sender);
	return cc;
}

int
cleanup_client_next(struct cleanup_client *cc, const char *sender)
{
	if (!cc->in_step || ipc_pending(cc->c) > 0)
		return -1;
	begin(cc, sender);
	return 0;
}

void
cleanup_client_attr(struct cleanup_client *cc, const char *name,
		    const char *value)
{
	if (value != NULL)
		ipc_put_str(cc->c, name, value);
}

/* answer - send the record being built and read cleanup's reply. */
static int
answer(struct cleanup_client *cc)
{
	attrs_free(&cc->reply);
	attrs_init(&cc->reply);
	if (ipc_end(cc->c) != IPC_OK || ipc_read(cc->c, &cc->reply) != IPC_OK)
		return -1;
	return 0;
}

int
cleanup_client_send(struct cleanup_client *cc)
{
	if (ipc_end(cc->c) != IPC_OK) {
		cc->failed = 1;
		return -1;
	}
	return 0;
}

int
cleanup_client_take_id(struct cleanup_client *cc, char *id, size_t idlen)
{
	const char *qid;

	attrs_free(&cc->reply);
	attrs_init(&cc->reply);
	if (cc->failed || ipc_read(cc->c, &cc->reply) != IPC_OK ||
	    (qid = attrs_get(&cc->reply, "queue_id")) == NULL) {
		cc->failed = 1;
		return -1;
	}
	/* an ID longer than the caller's buffer is cut, never overrun */
	size_t n = strnlen(qid, idlen > 0 ? idlen - 1 : 0);
	if (idlen > 0) {
		memcpy(id, qid, n);
		id[n] = 0;
	}
	return 0;
}

int
cleanup_client_start(struct cleanup_client *cc, char *id, size_t idlen)
{
	if (cleanup_client_send(cc) != 0)
		return -1;
	return cleanup_client_take_id(cc, id, idlen);
}

/* send_data - one data record, sent from p without a copy. */
static void
send_data(struct cleanup_client *cc, const void *p, size_t n)
{
	if (ipc_send_value(cc->c, "data", p, n) != IPC_OK)
		cc->failed = 1;
}

int
cleanup_client_flush(struct cleanup_client *cc)
{
	if (cc->len > 0 && !cc->failed)
		send_data(cc, cc->chunk, cc->len);
	cc->len = 0;
	return cc->failed ? -1 : 0;
}

void
cleanup_client_write(struct cleanup_client *cc, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0 && !cc->failed) {
		/* a large piece with nothing held (smtpd's 64 KB blocks)
		 * goes out as it is, without the copy into the chunk */
		if (cc->len == 0 && n >= sizeof(cc->chunk) / 4) {
			size_t k = n < sizeof(cc->chunk) ? n : sizeof(cc->chunk);
			send_data(cc, s, k);
			s += k, n -= k;
			continue;
		}
		size_t k = sizeof(cc->chunk) - cc->len;
		if (k > n)
			k = n;
		memcpy(cc->chunk + cc->len, s, k);
		cc->len += k, s += k, n -= k;
		if (cc->len == sizeof(cc->chunk) && cleanup_client_flush(cc) != 0)
			return;
	}
}

int
cleanup_client_in_step(const struct cleanup_client *cc)
{
	return cc->in_step;
}

int
cleanup_client_failed(const struct cleanup_client *cc)
{
	return cc->failed;
}

int
cleanup_client_finish(struct cleanup_client *cc, const char **text)
{
	long status;
	int ok;

	*text = NULL;
	if (cc->failed)
		return CLEANUP_NO_ANSWER;
	/* the last data and the end in one write: a small message costs
	 * cleanup one wake-up and one read for both */
	if (cc->len > 0) {
		ipc_put(cc->c, "data", cc->chunk, cc->len);
		ipc_next(cc->c);
		cc->len = 0;
	}
	ipc_put_str(cc->c, "end", "1");
	if (answer(cc) != 0) {
		cc->failed = 1;
		return CLEANUP_NO_ANSWER;
	}
	status = attrs_get_long(&cc->reply, "status", &ok);
	if (!ok || status < 200 || status > 599)
		return CLEANUP_NO_ANSWER;
	cc->in_step = 1;
	*text = attrs_get(&cc->reply, "text");
	return (int)status;
}

void
cleanup_client_close(struct cleanup_client *cc)
{
	if (cc == NULL)
		return;
	ipc_free(cc->c);
	attrs_free(&cc->reply);
	free(cc);
}
