/*
 * sendmail_submit.c - hand a message to pickup(8) over public/submit; when
 * the system is down, drop it into maildrop/ (format in pickup.h) for
 * pickup to take in at the next start.
 * Trusts: pickup's answer for its framing.  Never: writes anywhere in the
 * queue but maildrop/, or leaves a half-written file under a final name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "ipc.h"
#include "queue_id.h"
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

/* via_maildrop - the file pickup reads at its next start. */
static int
via_maildrop(struct sm_job *j, char *id, size_t idlen)
{
	char tmp[4300], final[4300];
	int fd, bad;

	queue_id_new(id);
	(void)idlen; /* QUEUE_ID_LEN + 1 <= idlen, checked by the caller */
	snprintf(tmp, sizeof(tmp), "%s/maildrop/.%s.tmp", cfg.queue_directory,
		 id);
	snprintf(final, sizeof(final), "%s/maildrop/%s", cfg.queue_directory,
		 id);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "sendmail: the mail system is down and %s is "
			"not writable: %s\n", tmp, strerror(errno));
		return errno == EACCES ? EX_NOPERM_ : EX_CANTCREAT_;
	}
	bad = write_all(fd, MAILDROP_MAGIC, sizeof(MAILDROP_MAGIC)) != 0 ||
	      (j->sender && put_field(fd, "sender", j->sender) != 0) ||
	      (j->full_name && put_field(fd, "full_name", j->full_name) != 0) ||
	      put_field(fd, "extract", j->extract ? "1" : "0") != 0;
	for (int i = 0; !bad && i < j->nrcpt; i++)
		bad = put_field(fd, "rcpt", j->rcpts[i]) != 0;
	bad = bad || write_all(fd, "", 1) != 0 ||
	      write_all(fd, j->msg.p ? j->msg.p : "", j->msg.len) != 0 ||
	      fsync(fd) != 0;
	if (close(fd) != 0 || bad || rename(tmp, final) != 0) {
		fprintf(stderr, "sendmail: writing %s: %s\n", tmp,
			strerror(errno));
		if (unlink(tmp) != 0 && errno != ENOENT)
			fprintf(stderr, "sendmail: unlink %s: %s\n", tmp,
				strerror(errno));
		return EX_CANTCREAT_;
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
