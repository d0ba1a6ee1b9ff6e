/*
 * dotforward.c - a system user's ~/.forward (local_users = system,
 * allow_forward = yes): read with the user's own rights (in root mode a
 * child process that has become the user opens it, so a .forward the
 * user could not read is not read for them), and followed only when it
 * is a regular file, not a symbolic link, owned by the user or root, and
 * writable by neither group nor others: anyone else who could change it
 * could send the user's mail elsewhere, or, with files and commands
 * allowed, write and run things as the user.
 *
 * Trusts: nothing in the file (resolve.c parses it, bounded).
 * Never: reads it as root; follows one that fails the checks above
 * (the log says which check); reads more than LIM_MAP_VALUE bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "local.h"

/* what the reading child sends back before the text */
struct reply {
	int rc;
	size_t n;
	char why[256];
};

const char *
dotforward_unsafe(const struct stat *st, uid_t user)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_uid != user && st->st_uid != 0)
		return "not owned by the user or root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	return NULL;
}

/* read_here - with this process's rights; fills q and buf */
static void
read_here(const char *path, uid_t user, char *buf, size_t len, struct reply *q)
{
	struct stat st;
	const char *bad;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	q->rc = 0;
	q->n = 0;
	q->why[0] = 0;
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(q->why, sizeof(q->why), "a symbolic link");
		else if (errno == EACCES)
			snprintf(q->why, sizeof(q->why), "%s", strerror(errno));
		else if (errno != ENOENT && errno != ENOTDIR) {
			q->rc = -1;
			snprintf(q->why, sizeof(q->why), "open: %s",
				 strerror(errno));
		}
		return;
	}
	if (fstat(fd, &st) != 0) {
		q->rc = -1;
		snprintf(q->why, sizeof(q->why), "fstat: %s", strerror(errno));
	} else if ((bad = dotforward_unsafe(&st, user)) != NULL) {
		snprintf(q->why, sizeof(q->why), "%s", bad);
	} else if (st.st_size >= (off_t)len) {
		snprintf(q->why, sizeof(q->why), "longer than %zu bytes",
			 len - 1);
	} else {
		while ((n = read(fd, buf + q->n, len - 1 - q->n)) > 0)
			q->n += (size_t)n;
		if (n < 0) {
			q->rc = -1;
			snprintf(q->why, sizeof(q->why), "read: %s",
				 strerror(errno));
		} else
			q->rc = 1;
	}
	close(fd);
}

/* read_pipe - exactly n bytes from fd; -1 when fewer came */
static int
read_pipe(int fd, void *p, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = read(fd, (char *)p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* read_as - in a child process that has become uid/gid */
static void
read_as(const char *path, uid_t uid, gid_t gid, char *buf, size_t len,
	struct reply *q)
{
	struct result r;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		q->rc = -1;
		snprintf(q->why, sizeof(q->why), "cannot start a process: %s",
			 strerror(errno));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_IGN);
		if (local_become(uid, gid, &r) != 0) {
			q->rc = -1;
			snprintf(q->why, sizeof(q->why), "%.200s", r.text);
			q->n = 0;
		} else
			read_here(path, uid, buf, len, q);
		_exit(write_all(p[1], q, sizeof(*q)) == 0 &&
			      write_all(p[1], buf, q->n) == 0
			  ? 0
			  : 1);
	}
	close(p[1]);
	if (read_pipe(p[0], q, sizeof(*q)) != 0 || q->n >= len ||
	    read_pipe(p[0], buf, q->n) != 0) {
		q->rc = -1;
		q->n = 0;
		snprintf(q->why, sizeof(q->why), "the reading process failed");
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

int
dotforward_extension(const char *local, char delim, char *out, size_t len)
{
	const char *ext = delim ? strchr(local, delim) : NULL;
	size_t n = 0;

	if (ext == NULL || ext[1] == 0 || ext[1] == '.')
		return 0;
	/* a file name in the user's home: no '/', no "..", nothing a
	 * shell or a terminal would read otherwise */
	for (ext++; *ext; ext++) {
		unsigned char ch = (unsigned char)tolower((unsigned char)*ext);
		if (n + 1 >= len || n >= LIM_FORWARD_EXT ||
		    !(isalnum(ch) || ch == '-' || ch == '_' || ch == '.' ||
		      ch == '='))
			return 0;
		if (ch == '.' && n > 0 && out[n - 1] == '.')
			return 0;
		out[n++] = (char)ch;
	}
	out[n] = 0;
	return 1;
}

int
dotforward_read(const struct passwd *pw, const char *ext, char *buf,
		size_t len, char *why, size_t wlen)
{
	char path[4096];
	struct reply q = {0};

	*why = 0;
	if (snprintf(path, sizeof(path), "%s/.forward%s%s", pw->pw_dir,
		     ext ? cfg.recipient_delimiter : "",
		     ext ? ext : "") >= (int)sizeof(path)) {
		snprintf(why, wlen, "home directory path too long");
		return 0;
	}
	if (geteuid() == 0 && strcmp(cfg.run_mode, "root") == 0)
		read_as(path, pw->pw_uid, pw->pw_gid, buf, len, &q);
	else if (pw->pw_uid == geteuid())
		read_here(path, pw->pw_uid, buf, len, &q);
	else
		return 0; /* not ours to read; delivery defers anyway */
	buf[q.rc == 1 ? q.n : 0] = 0;
	if (q.why[0])
		snprintf(why, wlen, "%s: %s", path, q.why);
	return q.rc;
}
