/*
 * cleanup.c - cleanup(8): turn a submission into a durable queue file.
 *
 * Reads the envelope and the message from smtpd (or another submitter)
 * over private/cleanup, normalises headers (cleanup_headers.c), writes
 * incoming/ID under an exclusive lock, fsyncs it and the directory, and
 * only then answers "250"; then it tells qmgr(8).
 * Trusts: the submitter for framing only; every envelope value is checked.
 * Never: answers 250 before the file and its name are on disk; leaves a
 * file behind for a message it did not accept.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "fsync_pair.h"
#include "ipc.h"
#include "log.h"
#include "stats.h"
#include "queue_id.h"
#include "service.h"

#define CLEANUP_TIMEOUT_MS 600000 /* between records from the submitter */
#define CLEANUP_IDLE_MS 10000 /* for the next message on a connection */
#define QMGR_TIMEOUT_MS 10000
#define LIM_DSN_VALUE 1024 /* ORCPT, NOTIFY, ENVID values (smtpd: 500) */

/* value_ok - an envelope value: bounded, no control characters. */
static int
value_ok(const char *v, size_t max)
{
	size_t n = strlen(v);

	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 32 || v[i] == 127)
			return 0;
	return 1;
}

static const char *
get_or(const struct attrs *a, const char *name, const char *dflt)
{
	const char *v = attrs_get(a, name);
	return (v && value_ok(v, LIM_HOSTNAME)) ? v : dflt;
}

/* dsn_envelope - ENVID and RET (RFC 3461) when the submitter gave them. */
static int
dsn_envelope(struct cleanup_msg *m, const struct attrs *a)
{
	const char *envid = attrs_get(a, "envid"), *ret = attrs_get(a, "ret");

	if (envid != NULL) {
		if (!value_ok(envid, LIM_DSN_VALUE) || envid[0] == 0)
			return -1;
		qf_put_str(&m->w, QF_ENVID, envid);
	}
	if (ret != NULL) {
		if (strcmp(ret, "FULL") != 0 && strcmp(ret, "HDRS") != 0)
			return -1;
		qf_put_str(&m->w, QF_RET, ret);
	}
	return 0;
}

/* trace - a trusted smtpd client asked for VERB: qmgr(8) mails the
 * sender a delivery trace when every recipient is final */
static int
trace(struct cleanup_msg *m, const struct attrs *a)
{
	const char *why = attrs_get(a, "trace");

	if (why == NULL)
		return 0;
	if (strcmp(why, "VERB") != 0)
		return -1;
	return qf_put_str(&m->w, QF_TRACE, why) == 0 ? 0 : -1;
}

/* write_envelope - the records before the message; -1 on a bad request. */
static int
write_envelope(struct cleanup_msg *m, const struct attrs *a)
{
	const char *sender = attrs_get(a, "sender");
	char num[32];
	int nrcpt = 0;

	if (sender == NULL || !value_ok(sender, LIM_PATH))
		return -1;
	qf_put_str(&m->w, QF_ID, m->id);
	snprintf(num, sizeof(num), "%lld.%06lld", m->arrival_us / 1000000,
		 m->arrival_us % 1000000);
	qf_put_str(&m->w, QF_ARRIVAL, num);
	qf_put_str(&m->w, QF_SENDER, sender);
	for (int i = 0; i < a->n; i++) {
		const char *name = a->a[i].name, *v = a->a[i].value;
		if (strcmp(name, "orcpt") == 0 || strcmp(name, "notify") == 0) {
			/* DSN parameters of the recipient just written */
			if (nrcpt == 0 || !value_ok(v, LIM_DSN_VALUE) ||
			    v[0] == 0)
				return -1;
			qf_put_str(&m->w, name[0] == 'o' ? QF_ORCPT : QF_NOTIFY,
				   v);
			continue;
		}
		if (strcmp(name, "rcpt") != 0)
			continue;
		if (!value_ok(v, LIM_PATH) || v[0] == 0 ||
		    ++nrcpt > LIM_QF_RCPTS)
			return -1;
		qf_put_str(&m->w, QF_RCPT, v);
		snprintf(m->single_rcpt, sizeof(m->single_rcpt), "%s",
			 nrcpt == 1 ? v : "");
	}
	if (nrcpt == 0)
		return -1;
	if (dsn_envelope(m, a) != 0 || trace(m, a) != 0)
		return -1;
	/* copies: the request's attributes are reused for data records */
	snprintf(m->client_addr, sizeof(m->client_addr), "%s",
		 get_or(a, "client_addr", "unknown"));
	snprintf(m->client_name, sizeof(m->client_name), "%s",
		 get_or(a, "client_name", "unknown"));
	snprintf(m->helo, sizeof(m->helo), "%s", get_or(a, "helo", "unknown"));
	snprintf(m->protocol, sizeof(m->protocol), "%s",
		 get_or(a, "protocol", "ESMTP"));
	snprintf(m->tls, sizeof(m->tls), "%s", get_or(a, "tls", ""));
	qf_put_str(&m->w, QF_CLIENT_ADDR, m->client_addr);
	qf_put_str(&m->w, QF_CLIENT_NAME, m->client_name);
	qf_put_str(&m->w, QF_HELO, m->helo);
	qf_put_str(&m->w, QF_PROTOCOL, m->protocol);
	const char *auth = get_or(a, "auth_user", "");
	if (auth[0]) /* the SMTP AUTH user name (smtpd) */
		qf_put_str(&m->w, QF_AUTH_USER, auth);
	qf_put_str(&m->w, QF_BODY_TYPE, get_or(a, "body_type", "7BIT"));
	return qf_begin_message(&m->w);
}

/* incoming_dir - incoming/, opened once per process for its fsyncs
 * (an open and a close per message saved); -1 when it cannot be */
static int
incoming_dir(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("incoming", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

/*
 * commit - make the file and its directory entry durable, with one
 * journal commit on ext4.  There a directory's fsync commits the whole
 * running transaction, whatever it holds (directories are
 * journalled-data inodes: ext4_force_commit), so after the file's fsync
 * it would commit again whatever other processes wrote meanwhile.  So
 * the file's blocks are written out and waited for first (its extents
 * are final then), the directory's fsync commits them with its entry,
 * and the file's fsync, made at the same time (fsync_pair), waits for
 * that commit instead of sending a flush of its own after it.  Both
 * fsyncs are still made, before the 250, on every file system.
 * Readers know a file is complete by its END record, and that it is
 * still being written by our lock.
 */
static int
commit(struct cleanup_msg *m, int fd)
{
	int dir = incoming_dir();

	if (qf_finish(&m->w) != 0 ||
	    sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE |
			    SYNC_FILE_RANGE_WAIT_AFTER) != 0 ||
	    dir < 0 || fsync_pair(dir, fd) != 0) {
		log_warn("%s: write queue file: %m", m->id);
		return -1;
	}
	return 0;
}

/* the connection to qmgr, kept for the next messages of this process,
 * and how many answers qmgr still owes on it */
static struct ipc *qmgr_conn;
static int qmgr_owed;

/* qmgr_drop - forget a broken connection (and the answers it owed) */
static void
qmgr_drop(void)
{
	ipc_free(qmgr_conn);
	qmgr_conn = NULL;
	qmgr_owed = 0;
}

/* qmgr_take_answers - the answers that are there, without waiting;
 * -1 when the connection broke. */
static int
qmgr_take_answers(void)
{
	struct attrs a;
	int rc = 0;

	attrs_init(&a);
	while (qmgr_owed > 0) {
		int r = ipc_parse(qmgr_conn, &a);
		if (r == IPC_OK) { /* its status: as before, not looked at */
			qmgr_owed--;
			continue;
		}
		if (r != IPC_AGAIN) {
			rc = -1;
			break;
		}
		r = ipc_fill(qmgr_conn);
		if (r == IPC_AGAIN)
			break;
		if (r <= 0) {
			rc = -1;
			break;
		}
	}
	attrs_free(&a);
	return rc;
}

/* notify_once - one request to qmgr ("new" with the ID, or "scan");
 * 0 when it was sent, 1 when qmgr owes LIM_QMGR_NOTIFY_OWED answers
 * already (it is busy or stuck: not sent, and not waited for). */
static int
notify_once(const char *req, const char *id)
{
	if (qmgr_conn != NULL && qmgr_take_answers() != 0)
		qmgr_drop();
	if (qmgr_conn == NULL) {
		int fd = ipc_connect_unix("private/qmgr");
		if (fd < 0)
			return -1;
		qmgr_conn = ipc_new(fd, QMGR_TIMEOUT_MS);
	}
	if (qmgr_owed >= LIM_QMGR_NOTIFY_OWED)
		return 1;
	ipc_put_str(qmgr_conn, "req", req);
	if (id != NULL)
		ipc_put_str(qmgr_conn, "queue_id", id);
	if (ipc_end(qmgr_conn) != IPC_OK) {
		qmgr_drop();
		return -1;
	}
	qmgr_owed++;
	return 0;
}

/*
 * notify_qmgr - tell qmgr about the new file; its scan finds it anyway
 * (and its start-up, when it was restarted before it read this).  The
 * notification is sent without waiting for qmgr's answer, which is
 * taken at the next one: this process goes on to the next message of
 * its connection at once (a wait for qmgr per message before).  A
 * connection that broke is replaced once.  While qmgr answers none of
 * LIM_QMGR_NOTIFY_OWED notifications (a long administrative request, a
 * stopped process), the next ones are skipped rather than waited for,
 * so that intake goes on at full speed (it waited QMGR_TIMEOUT_MS per
 * message before).  qmgr, finding that many waiting on the connection,
 * scans incoming/ once it has read them; and the next message that
 * finds qmgr answering again asks it to (req=scan).
 */
static void
notify_qmgr(const char *id)
{
	static long skipped;
	int rc;

	if (skipped > 0 && notify_once("scan", NULL) == 0) {
		log_info("qmgr answers again: asked it to scan incoming/ for "
			 "%ld message%s not notified", skipped,
			 skipped == 1 ? "" : "s");
		skipped = 0;
	}
	if ((rc = notify_once("new", id)) < 0)
		rc = notify_once("new", id);
	if (rc < 0)
		log_warn("%s: could not notify qmgr: %m (the queue scan "
			 "will find the message)", id);
	else if (rc > 0 && skipped++ == 0)
		log_warn("%s: qmgr has not answered %d notifications; new mail "
			 "waits in incoming/ for its scan", id,
			 LIM_QMGR_NOTIFY_OWED);
}

static void
reply(struct ipc *c, int status, const char *text)
{
	ipc_put_long(c, "status", status);
	if (text)
		ipc_put_str(c, "text", text);
	if (ipc_end(c) != IPC_OK)
		log_warn("could not answer the submitter");
}

/* receive - data records until end; 1 on end, 0 on abort. */
static int
receive(struct cleanup_msg *m, struct ipc *c, struct attrs *a)
{
	for (;;) {
		if (ipc_read(c, a) != IPC_OK)
			return 0;
		const struct attr *d = attrs_find(a, "data");
		if (d != NULL) {
			if (headers_feed(m, d->value, d->len) != 0 && !m->bad) {
				m->bad = 451;
				snprintf(m->bad_text, sizeof(m->bad_text),
					 "4.3.0 Error: queue file write error");
			}
			continue;
		}
		if (attrs_get(a, "end") != NULL)
			return 1;
		return 0;
	}
}

/*
 * serve_message - one message; 1 when it ended with an answer to a whole
 * request (250, a refusal, or a refused envelope), so that the next
 * request may follow on the connection; 0 when the submitter went away
 * or broke the framing.
 */
static int
serve_message(struct ipc *c, struct attrs *a)
{
	struct cleanup_msg m;
	char path[64];
	int fd, done, in_step;

	memset(&m, 0, offsetof(struct cleanup_msg, w));
	m.arrival_us = now_us();
	m.arrival = (long)(m.arrival_us / 1000000);
	/* O_EXCL: an ID collision must fail, never reuse a message's file */
	do {
		queue_id_new(m.id);
		snprintf(path, sizeof(path), "incoming/%s", m.id);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	} while (fd < 0 && errno == EEXIST);
	/* held until the file is complete: qmgr's scan leaves it alone */
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		log_warn("create %s: %m", path);
		if (fd >= 0 && (unlink(path) != 0 || close(fd) != 0))
			log_warn("remove %s: %m", path);
		reply(c, 451, "4.3.0 Error: queue file write error");
		return 1;
	}
	qf_writer_init(&m.w, fd);
	headers_begin(&m);
	if (write_envelope(&m, a) != 0) {
		log_warn("%s: malformed envelope from the submitter", m.id);
		reply(c, 451, "4.3.0 Error: malformed envelope");
		done = 0;
		in_step = 1;
	} else {
		ipc_put_str(c, "queue_id", m.id);
		done = ipc_end(c) == IPC_OK && receive(&m, c, a);
		in_step = done;
	}
	if (done && !m.bad && headers_end(&m) != 0)
		m.bad = 451;
	if (done && !m.bad && commit(&m, fd) == 0) {
		if (close(fd) != 0)
			log_warn("%s: close: %m", m.id);
		log_info("%s: message-id=%s", m.id, m.message_id);
		stats_inc(ST_CLEANUP_QUEUED);
		reply(c, 250, NULL);
		notify_qmgr(m.id);
		strbuf_free(&m.hdr);
		return 1;
	}
	if (done) {
		if (!m.bad) {
			m.bad = 451;
			snprintf(m.bad_text, sizeof(m.bad_text),
				 "4.3.0 Error: queue file write error");
		}
		log_info("%s: reject: %d %s", m.id, m.bad, m.bad_text);
		reply(c, m.bad, m.bad_text);
	}
	/* unlinked while still locked: no reader ever sees it unlocked */
	if (unlink(path) != 0)
		log_warn("unlink %s: %m", path);
	if (close(fd) != 0)
		log_warn("%s: close: %m", m.id);
	strbuf_free(&m.hdr);
	return in_step;
}

/*
 * wait_request - wait for the next request on a kept connection; 0 when
 * it is time to hang up instead: a reload (SIGHUP interrupts the wait,
 * so the new configuration is not held off by an idle submitter), or
 * CLEANUP_IDLE_MS without a request.
 */
static int
wait_request(struct ipc *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	for (;;) {
		if (service_stop)
			return 0;
		if (c->rlen > c->rpos)
			return 1; /* already here */
		int n = poll(&p, 1, CLEANUP_IDLE_MS);
		if (n < 0 && errno == EINTR)
			continue;
		return n > 0;
	}
}

/*
 * serve - the messages of one connection: a submitter such as smtpd
 * keeps it for all the messages of its session, so this process is not
 * started anew for every few of them.  Between messages it waits at most
 * CLEANUP_IDLE_MS; after a reload (service_stop) it takes no more, and
 * the submitter opens a new connection to a new process.
 */
static void
serve(int fd)
{
	struct ipc *c = ipc_new(fd, CLEANUP_TIMEOUT_MS);
	struct attrs a;

	/* data records are used where they were read (receive takes each
	 * before it reads the next; write_envelope copies what it keeps) */
	c->view = 1;
	attrs_init(&a);
	while (wait_request(c) && ipc_read(c, &a) == IPC_OK) {
		const char *req = attrs_get(&a, "req");
		if (req == NULL || strcmp(req, "submit") != 0) {
			log_warn("unknown request on private/cleanup");
			break;
		}
		if (!serve_message(c, &a))
			break;
	}
	attrs_free(&a);
	ipc_free(c);
}

int
main(int argc, char **argv)
{
	service_init("cleanup", argc, argv);
	service_loop(serve);
	return 0;
}
