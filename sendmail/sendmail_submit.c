/*
 * sendmail_submit.c - hand a message to pickup(8) over public/submit; when
 * the system is down, have mtadrop(8) drop it into maildrop/ (format in
 * pickup.h) for pickup to take in at the next start.
 * Trusts: pickup's and mtadrop's answers for their framing.  Never:
 * writes into the queue itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "ipc.h"
#include "sendmail.h"
#include "../pickup/pickup.h"

#define SUBMIT_TIMEOUT_MS 120000
#define SUBMIT_CHUNK 65536

static void
put_envelope(struct ipc *c, const struct sm_job *j)
{
	ipc_put_str(c, "req", "submit");
	if (j->sender)
		ipc_put_str(c, "sender", j->sender);
	if (j->full_name)
		ipc_put_str(c, "full_name", j->full_name);
	ipc_put_str(c, "extract", j->extract ? "1" : "0");
	for (int i = 0; i < j->nrcpt; i++)
		ipc_put_str(c, "rcpt", j->rcpts[i]);
}

/* status_exit - pickup's SMTP-like status as a sysexits code. */
static int
status_exit(int status, const char *text)
{
	if (status == 250)
		return 0;
	fprintf(stderr, "sendmail: not sent: %d %s\n", status, text);
	if (status >= 500)
		return strstr(text, "5.1.") ? EX_NOUSER_ : EX_DATAERR_;
	return EX_TEMPFAIL_;
}

/* via_socket - -1 when nobody listens (the system is down). */
static int
via_socket(struct sm_job *j, char *id, size_t idlen)
{
	char path[4200];
	struct attrs a;
	const char *st;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/public/submit", cfg.queue_directory);
	if ((fd = ipc_connect_unix(path)) < 0)
		return -1;
	struct ipc *c = ipc_new(fd, SUBMIT_TIMEOUT_MS);
	put_envelope(c, j);
	rc = ipc_end(c) == IPC_OK ? 0 : EX_TEMPFAIL_;
	for (size_t off = 0; rc == 0 && off < j->msg.len; off += SUBMIT_CHUNK) {
		size_t k = j->msg.len - off;
		ipc_put(c, "data", j->msg.p + off, k < SUBMIT_CHUNK ? k :
			SUBMIT_CHUNK);
		rc = ipc_end(c) == IPC_OK ? 0 : EX_TEMPFAIL_;
	}
	ipc_put_str(c, "end", "1");
	attrs_init(&a);
	if (rc == 0 && ipc_end(c) == IPC_OK && ipc_read(c, &a) == IPC_OK &&
	    (st = attrs_get(&a, "status")) != NULL) {
		const char *t = attrs_get(&a, "text"), *q = attrs_get(&a,
								"queue_id");
		snprintf(id, idlen, "%s", q ? q : "");
		rc = status_exit(atoi(st), t ? t : "");
	} else {
		fprintf(stderr, "sendmail: no answer from pickup at %s\n", path);
		rc = EX_TEMPFAIL_;
	}
	attrs_free(&a);
	ipc_free(c);
	return rc;
}

static int
put_field(int fd, const char *name, const char *v)
{
	return write_all(fd, name, strlen(name)) || write_all(fd, "=", 1) ||
	       write_all(fd, v, strlen(v) + 1) ? -1 : 0;
}

/* put_drop - the fields and the message, as mtadrop takes them on
 * stdin (pickup.h; mtadrop puts the magic and the uid in front) */
static int
put_drop(int fd, const struct sm_job *j)
{
	int bad = (j->sender && put_field(fd, "sender", j->sender) != 0) ||
		  (j->full_name && put_field(fd, "full_name", j->full_name)
		   != 0) ||
		  put_field(fd, "extract", j->extract ? "1" : "0") != 0;

	char size[32];

	for (int i = 0; !bad && i < j->nrcpt; i++)
		bad = put_field(fd, "rcpt", j->rcpts[i]) != 0;
	snprintf(size, sizeof(size), "%zu", j->msg.len);
	return bad || put_field(fd, "size", size) != 0 || write_all(fd, "", 1) != 0 ||
	       write_all(fd, j->msg.p ? j->msg.p : "", j->msg.len) != 0 ? -1
									: 0;
}

/* run_mtadrop - start daemon_directory/mtadrop with pipes on its stdin
 * (*in) and stdout (*out); its pid, or -1. */
static pid_t
run_mtadrop(int *in, int *out)
{
	char path[4200];
	char *argv[] = {"mtadrop", "-c", (char *)conf_path, NULL};
	int a[2], b[2];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/mtadrop", cfg.daemon_directory);
	if (pipe2(a, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(b, O_CLOEXEC) != 0) {
		close(a[0]);
		close(a[1]);
		return -1;
	}
	if ((pid = fork()) == 0) {
		if (dup2(a[0], 0) == 0 && dup2(b[1], 1) == 1)
			execv(path, argv);
		fprintf(stderr, "sendmail: cannot run %s: %s\n", path,
			strerror(errno));
		_exit(EX_UNAVAILABLE_);
	}
	close(a[0]);
	close(b[1]);
	if (pid < 0) {
		close(a[1]);
		close(b[0]);
		return -1;
	}
	*in = a[1];
	*out = b[0];
	return pid;
}

/* via_maildrop - the system is down: mtadrop(8), set-group-ID, writes
 * the file pickup reads at its next start (maildrop/ is writable by
 * its group alone).  Its exit code is ours. */
static int
via_maildrop(struct sm_job *j, char *id, size_t idlen)
{
	int in, out, status, bad;
	ssize_t n;
	pid_t pid;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	if ((pid = run_mtadrop(&in, &out)) < 0) {
		fprintf(stderr, "sendmail: cannot start mtadrop: %s\n",
			strerror(errno));
		return EX_OSERR_;
	}
	bad = put_drop(in, j) != 0;
	if (close(in) != 0)
		bad = 1;
	n = read(out, id, idlen - 1);
	id[n > 0 ? n : 0] = 0;
	id[strcspn(id, "\n")] = 0;
	close(out);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EX_OSERR_;
	if (signal(SIGPIPE, old) == SIG_ERR)
		return EX_OSERR_;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE_;
	if (bad || id[0] == 0) {
		fprintf(stderr, "sendmail: mtadrop did not take the message\n");
		return EX_SOFTWARE_;
	}
	return 0;
}

int
submit(struct sm_job *j, char *id, size_t idlen)
{
	int rc = via_socket(j, id, idlen);

	if (rc >= 0)
		return rc;
	return via_maildrop(j, id, idlen);
}
