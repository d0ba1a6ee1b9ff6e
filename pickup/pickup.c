/*
 * pickup.c - pickup(8): the way local mail enters the queue.
 *
 * sendmail(1) submits over public/submit (mode 0666): the submitter's
 * uid comes from the socket's peer credentials.  When the system is down
 * sendmail has mtadrop(8) drop a file into maildrop/ instead; pickup
 * takes those in when it starts (and each time master restarts it), the
 * uid being the one mtadrop recorded from getuid() (maildrop/ is
 * writable by mtadrop's group alone, so no one else wrote the file).
 * Either way pickup_queue() hands the message to cleanup.
 * Trusts: the kernel for the uid; nothing in a submission.  Never: takes
 * a maildrop file that is not a regular file, or deletes one that was not
 * accepted or refused for good.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "pickup.h"
#include "service.h"
#include "strbuf.h"

/* take_fields - sender, extract and rcpt from request attributes. */
static void
take_fields(struct submission *s, const char *name, const char *v)
{
	if (strcmp(name, "sender") == 0)
		s->sender = v[0] ? v : NULL;
	else if (strcmp(name, "full_name") == 0)
		s->full_name = v;
	else if (strcmp(name, "extract") == 0)
		s->extract = strcmp(v, "1") == 0;
	else if (strcmp(name, "rcpt") == 0)
		rcpt_add(&s->rcpts, v, strlen(v), cfg.myhostname);
}

static void
answer(struct ipc *c, int status, const char *text, const char *id)
{
	ipc_put_long(c, "status", status);
	ipc_put_str(c, "text", text);
	ipc_put_str(c, "queue_id", id);
	if (ipc_end(c) != IPC_OK)
		log_warn("could not answer sendmail");
}

/* serve - one submission over public/submit. */
static void
serve(int fd)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct ipc *c = ipc_new(fd, PICKUP_TIMEOUT_MS);
	struct attrs req, a;
	struct submission s;
	struct strbuf msg;
	char text[256], id[64];
	int ok = 0;

	memset(&s, 0, sizeof(s));
	attrs_init(&req);
	attrs_init(&a);
	strbuf_init(&msg, (size_t)cfg.message_size_limit);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
	    ipc_read(c, &req) != IPC_OK || attrs_get(&req, "req") == NULL)
		goto out;
	for (int i = 0; i < req.n; i++)
		take_fields(&s, req.a[i].name, req.a[i].value);
	while (ipc_read(c, &a) == IPC_OK) {
		const struct attr *d = attrs_find(&a, "data");
		if (d == NULL) {
			ok = attrs_get(&a, "end") != NULL;
			break;
		}
		if (strbuf_add(&msg, d->value, d->len) != 0) {
			answer(c, 552, "5.3.4 message too big", "");
			goto out;
		}
	}
	if (ok) {
		s.data = msg.p ? msg.p : "";
		s.len = msg.len;
		int st = pickup_queue(&s, cr.uid, text, sizeof(text), id,
				      sizeof(id));
		answer(c, st, text, id);
	}
out:
	rcpt_free(&s.rcpts);
	strbuf_free(&msg);
	attrs_free(&a);
	attrs_free(&req);
	ipc_free(c);
}

/* read_file - the whole maildrop file, bounded. */
static char *
read_file(int fd, size_t size)
{
	char *p = malloc(size + 1);
	size_t got = 0;

	while (p != NULL && got < size) {
		ssize_t n = read(fd, p + got, size - got);
		if (n <= 0) {
			free(p);
			return NULL;
		}
		got += (size_t)n;
	}
	if (p != NULL)
		p[size] = 0;
	return p;
}

/* drop_uid - the uid field mtadrop(8) put first; -1 when missing or
 * not a number */
static long
drop_uid(const char *f, size_t n)
{
	char *end;
	long uid;

	if (n < 5 || strncmp(f, "uid=", 4) != 0 || f[4] < '0' || f[4] > '9')
		return -1;
	errno = 0;
	uid = strtol(f + 4, &end, 10);
	return errno != 0 || *end != 0 || uid < 0 ? -1 : uid;
}

/* parse_drop - fields of a maildrop file into s and *uid; -1 when
 * malformed.  Only the first field may be the uid: mtadrop writes it
 * before what sendmail gave it.  The last field, size, is the message's
 * length: a message cut short (sendmail killed while it wrote) is
 * malformed, never delivered in part. */
static int
parse_drop(char *p, size_t n, struct submission *s, uid_t *uid)
{
	size_t m = strlen(MAILDROP_MAGIC) + 1, i;
	long u, size = -1;

	if (n < m || memcmp(p, MAILDROP_MAGIC, m) != 0 ||
	    (u = drop_uid(p + m, strnlen(p + m, n - m))) < 0)
		return -1;
	*uid = (uid_t)u;
	m += strlen(p + m) + 1;
	for (i = m; i < n && i < MAILDROP_ENVELOPE_MAX;) {
		char *f = p + i, *eq;
		size_t fl = strnlen(f, n - i);
		if (fl == n - i)
			return -1; /* no NUL: truncated */
		i += fl + 1;
		if (fl == 0) {
			s->data = p + i;
			s->len = n - i;
			return size >= 0 && (size_t)size == s->len ? 0 : -1;
		}
		if ((eq = strchr(f, '=')) == NULL || strncmp(f, "uid=", 4) == 0)
			return -1;
		*eq = 0;
		if (strcmp(f, "size") == 0)
			size = strtol(eq + 1, NULL, 10);
		else
			take_fields(s, f, eq + 1);
	}
	return -1;
}

/* take_drop - one maildrop file; unlinked once accepted or refused. */
static void
take_drop(const char *name)
{
	char path[300], text[256], id[64];
	struct stat st;
	struct submission s;
	char *p = NULL;
	int fd, status = 0;
	uid_t uid = 0;

	snprintf(path, sizeof(path), "maildrop/%s", name);
	memset(&s, 0, sizeof(s));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK))
	    < 0) {
		log_warn("open %s: %m", path);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > cfg.message_size_limit + MAILDROP_ENVELOPE_MAX ||
	    (p = read_file(fd, (size_t)st.st_size)) == NULL ||
	    parse_drop(p, (size_t)st.st_size, &s, &uid) != 0) {
		log_warn("%s: malformed or unreadable maildrop file, removed",
			 path);
		status = 554;
	} else {
		status = pickup_queue(&s, uid, text, sizeof(text), id,
				      sizeof(id));
		if (status >= 500)
			log_warn("%s: uid=%ld refused: %d %s", path,
				 (long)uid, status, text);
		else if (status != 250)
			log_warn("%s: deferred: %d %s", path, status, text);
	}
	if (status != 250 && status < 500)
		log_info("%s: left for the next pickup", path);
	else if (unlink(path) != 0)
		log_warn("unlink %s: %m", path);
	rcpt_free(&s.rcpts);
	free(p);
	close(fd);
}

/* scan_maildrop - what sendmail left while the system was down.  The
 * uid a file records is trusted because only mtadrop's group (and the
 * mail owner) may write the directory: when others may, nothing there
 * is taken. */
static void
scan_maildrop(void)
{
	DIR *d = opendir("maildrop");
	struct dirent *e;
	struct stat st;

	if (d != NULL && (fstat(dirfd(d), &st) != 0 || (st.st_mode & 0002))) {
		log_warn("maildrop/ is writable by every user: its files are "
			 "not taken in (see mtactl check)");
		closedir(d);
		return;
	}
	if (d == NULL) {
		log_warn("opendir maildrop: %m");
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') /* .tmp files are being written */
			take_drop(e->d_name);
	if (closedir(d) != 0)
		log_warn("closedir maildrop: %m");
}

int
main(int argc, char **argv)
{
	service_init("pickup", argc, argv);
	scan_maildrop();
	service_loop(serve);
	return 0;
}
