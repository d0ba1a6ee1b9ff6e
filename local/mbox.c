/*
 * mbox.c - append to an mbox file the way mail readers expect: a "From "
 * line, the message with ">From " quoting (mboxrd: any number of '>'
 * before "From " gains one more), a blank line; under an fcntl lock and a
 * dotlock (PATH.lock), fsynced; on any failure the file is truncated back
 * to its old size, so a failed delivery leaves the mailbox as it was.
 * The same code writes a "/file" target of an alias or .forward.
 *
 * Trusts: the queue file descriptor from qmgr (already checked).
 * Never: follows a symbolic link at the mailbox path; blocks opening a
 * FIFO or device named as a target; leaves a partial message; waits for
 * a lock longer than mbox_lock_timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "local.h"
#include "log.h"

#define MBOX_BUF 65536
#define MBOX_LOCK_POLL_MS 50   /* between tries for a held lock */
#define MBOX_DOTLOCK_STALE 300 /* seconds: an older dotlock is stale */

static void
mbox_error(struct result *r, const char *what, const char *path)
{
	int e = errno;
	const char *dsn = (e == ENOSPC || e == EDQUOT) ? "4.3.1" : "4.2.0";
	result_set(r, 4, dsn, "mbox delivery failed: %s %s: %s", what, path,
		   strerror(e));
}

/* make_parent - the directory of a virtual mbox, on first delivery */
static int
make_parent(const char *path)
{
	char dir[4200];
	const char *s = strrchr(path, '/');

	if (s == NULL || s == path)
		return -1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(s - path), path);
	return mkdir_p(dir, 0700);
}

static void
pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* dotlock - create PATH.lock; 1 taken, 0 not possible in this directory
 * (no write permission: the fcntl lock alone protects; no directory:
 * opening the mailbox says so), -1 timed out, -2 another error */
static int
dotlock(const char *lock, long tries)
{
	struct stat st;

	for (long i = 0; i < tries; i++) {
		int fd =
		    open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 1;
		}
		if (errno == EACCES || errno == EPERM || errno == EROFS ||
		    errno == ENOENT)
			return 0;
		if (errno != EEXIST)
			return -2;
		if (stat(lock, &st) == 0 &&
		    time(NULL) - st.st_mtime > MBOX_DOTLOCK_STALE)
			unlink(lock); /* left by a crashed writer */
		pause_ms(MBOX_LOCK_POLL_MS);
	}
	errno = EWOULDBLOCK;
	return -1;
}

static int
fcntl_lock(int fd, long tries)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	for (long i = 0; i < tries; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		pause_ms(MBOX_LOCK_POLL_MS);
	}
	errno = EWOULDBLOCK;
	return -1;
}

/* a buffered writer: quoting looks at single bytes */
struct out {
	int fd, err;
	size_t n;
	char buf[MBOX_BUF];
};

static void
out_put(struct out *o, const char *p, size_t n)
{
	if (o->err)
		return;
	if (o->n + n > sizeof(o->buf)) {
		if (write_all(o->fd, o->buf, o->n) != 0) {
			o->err = 1;
			return;
		}
		o->n = 0;
	}
	if (n > sizeof(o->buf)) {
		o->err = write_all(o->fd, p, n) != 0;
		return;
	}
	memcpy(o->buf + o->n, p, n);
	o->n += n;
}

static int
out_flush(struct out *o)
{
	if (!o->err && o->n > 0 && write_all(o->fd, o->buf, o->n) != 0)
		o->err = 1;
	o->n = 0;
	return o->err ? -1 : 0;
}

/* quoting state: the bytes of a line start that may yet read ">*From " */
struct quote {
	int bol;
	size_t nheld;
	char held[80];
};

/* put_quoted - bytes with mboxrd quoting */
static void
put_quoted(struct out *o, struct quote *q, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (!q->bol && q->nheld == 0) {
			out_put(o, &ch, 1);
			q->bol = ch == '\n';
			continue;
		}
		q->held[q->nheld++] = ch;
		q->bol = 0;
		size_t k = 0;
		while (k < q->nheld && q->held[k] == '>')
			k++;
		size_t rl = q->nheld - k;
		if (rl < 5 && q->nheld < sizeof(q->held) &&
		    memcmp(q->held + k, "From ", rl) == 0)
			continue; /* still undecided */
		if (rl == 5 && memcmp(q->held + k, "From ", 5) == 0)
			out_put(o, ">", 1);
		out_put(o, q->held, q->nheld);
		q->nheld = 0;
		q->bol = ch == '\n';
	}
}

/* append - the From line, our headers, the quoted message, a blank line */
static int
append(int fd, int qfd, const struct qf_envelope *e, const char *sender,
       const char *top)
{
	static char buf[MBOX_BUF];
	static struct out o;
	struct quote q = {.bol = 1};
	char from[LIM_PATH + 64], date[32];
	time_t t = time(NULL);
	struct qf_reader rd;
	struct tm tm;
	ssize_t n;

	o.fd = fd;
	o.err = 0;
	o.n = 0;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	snprintf(from, sizeof(from), "From %s %s\n",
		 sender[0] ? sender : "MAILER-DAEMON", date);
	out_put(&o, from, strlen(from));
	put_quoted(&o, &q, top, strlen(top));
	qf_reader_init(&rd, qfd, e);
	while ((n = qf_reader_read(&rd, buf, sizeof(buf))) > 0)
		put_quoted(&o, &q, buf, (size_t)n);
	if (n < 0) {
		errno = EIO;
		return -1;
	}
	out_put(&o, q.held, q.nheld);
	/* the message ends with a newline, then one empty line */
	if (q.nheld > 0 || !q.bol)
		out_put(&o, "\n", 1);
	out_put(&o, "\n", 1);
	return out_flush(&o);
}

void
mbox_deliver(const char *path, int file, int qfd, const struct qf_envelope *e,
	     const char *sender, const char *rcpt, struct result *r)
{
	char lock[4200], top[2 * LIM_PATH + 64];
	long tries = cfg.mbox_lock_timeout * 1000 / MBOX_LOCK_POLL_MS + 1;
	struct stat st;
	int fd = -1, dl;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	snprintf(top, sizeof(top), "Return-Path: <%s>\nDelivered-To: %s\n",
		 sender, rcpt);
	/* a virtual mbox's directory is ours to make; a /file target's is
	 * the administrator's or the user's */
	if (!file && access(path, F_OK) != 0 && errno == ENOENT &&
	    make_parent(path) != 0) {
		mbox_error(r, "create the directory of", path);
		return;
	}
	if ((dl = dotlock(lock, tries)) == -2) {
		mbox_error(r, "create the lock file", lock);
		return;
	}
	if (dl < 0) {
		result_set(r, 4, "4.2.0", "mbox %s is locked (%s)", path, lock);
		return;
	}
	/* O_NONBLOCK: a FIFO (or a device) named as a /file target must
	 * not hold the delivery process; fstat below refuses it */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
			  O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENXIO)
		errno = EINVAL; /* a FIFO without a reader */
	if (fd < 0) {
		mbox_error(r, "open", path);
		goto out;
	}
	if (fcntl_lock(fd, tries) != 0) {
		result_set(r, 4, "4.2.0",
			   "mbox %s is locked by another "
			   "process",
			   path);
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (errno == 0 || S_ISREG(st.st_mode) == 0)
			errno = EINVAL;
		mbox_error(r, "not a regular file:", path);
		goto out;
	}
	if (cfg.mailbox_quota > 0 &&
	    st.st_size + e->msg_size + (long long)strlen(top) >
		cfg.mailbox_quota) {
		result_set(r, cfg.mailbox_quota_bounce ? 5 : 4,
			   cfg.mailbox_quota_bounce ? "5.2.2" : "4.2.2",
			   "mailbox full: %lld bytes used, quota %ld",
			   (long long)st.st_size, cfg.mailbox_quota);
		goto out;
	}
	if (append(fd, qfd, e, sender, top) != 0 || fsync(fd) != 0) {
		mbox_error(r, "write", path);
		/* leave the mailbox as it was */
		if (ftruncate(fd, st.st_size) != 0 || fsync(fd) != 0)
			log_warn("mbox %s: truncate after a failed delivery: "
				 "%m",
				 path);
		goto out;
	}
	result_set(r, 2, "2.0.0", "delivered to %s %s",
		   file ? "file" : "mailbox", path);
out:
	if (fd >= 0 && close(fd) != 0 && r->code == 2)
		mbox_error(r, "close", path);
	if (dl == 1)
		unlink(lock);
}
