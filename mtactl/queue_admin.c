/*
 * queue_admin.c - mtactl flush, hold, release, delete, requeue: requests
 * to qmgr(8), which owns the queue, over private/qmgr.
 *
 * Trusts: qmgr's answers for their framing.  Never: touches the queue or
 * the index itself; acts when the mail system is not running (it says so
 * and exits EX_UNAVAILABLE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ipc.h"
#include "mtactl.h"
#include "queue_id.h"

/* qmgr answers a selection when it has done every message: a million
 * take about 40 s on a quiet disk and minutes on a busy one (it took
 * over the 120 s this was before, which reported a failure while the
 * work went on) */
#define QMGR_TIMEOUT_MS 1800000

/* ask - one request; prints qmgr's count; an exit status. */
static int
ask(const char *op, const char *key, const char *value)
{
	char path[4200];
	struct attrs a;
	int fd, rc = EX_UNAVAILABLE_;

	snprintf(path, sizeof(path), "%s/private/qmgr", cfg.queue_directory);
	if (master_pid() == 0 || (fd = ipc_connect_unix(path)) < 0) {
		fprintf(stderr, "mtactl: the mail system is not running\n");
		return EX_UNAVAILABLE_;
	}
	struct ipc *c = ipc_new(fd, QMGR_TIMEOUT_MS);
	ipc_put_str(c, "req", op);
	ipc_put_str(c, key, value);
	attrs_init(&a);
	if (ipc_end(c) == IPC_OK && ipc_read(c, &a) == IPC_OK) {
		const char *st = attrs_get(&a, "status");
		const char *count = attrs_get(&a, "count");
		if (st && strcmp(st, "0") == 0) {
			printf("mtactl: %s: %s message%s\n", op,
			       count ? count : "0",
			       count && strcmp(count, "1") == 0 ? "" : "s");
			rc = count && strcmp(count, "0") != 0 ? 0 : 1;
		} else {
			const char *t = attrs_get(&a, "text");
			fprintf(stderr, "mtactl: %s refused: %s\n", op,
				t ? t : "unknown error");
			rc = EX_NOPERM_;
		}
	} else
		fprintf(stderr, "mtactl: no answer from qmgr\n");
	attrs_free(&a);
	ipc_free(c);
	return rc;
}

/* each_id - op for every ID argument; the worst exit status. */
static int
each_id(const char *op, int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: mtactl %s ID...\n", op);
		return EX_USAGE_;
	}
	for (int i = 1; i < argc; i++) {
		if (!queue_id_valid(argv[i])) {
			fprintf(stderr, "mtactl: %s: not a queue ID\n", argv[i]);
			rc = rc ? rc : EX_DATAERR_;
			continue;
		}
		int r = ask(op, "queue_id", argv[i]);
		if (r == 1)
			fprintf(stderr, "mtactl: %s: no such message%s\n",
				argv[i], strcmp(op, "flush") == 0 ?
				" (or it is on hold)" : "");
		if (r > rc)
			rc = r;
	}
	return rc;
}

/* selection - op for every message a selection names; none is fine. */
static int
selection(const char *op, const char *key, const char *value)
{
	int rc = ask(op, key, value);
	return rc == 1 ? 0 : rc;
}

int
cmd_flush(int argc, char **argv)
{
	if (argc < 2)
		return selection("flush", "all", "1");
	if (argc == 2 && !queue_id_valid(argv[1]))
		return selection("flush", "domain", argv[1]);
	return each_id("flush", argc, argv);
}

int
cmd_hold(int argc, char **argv)
{
	return each_id("hold", argc, argv);
}

int
cmd_release(int argc, char **argv)
{
	return each_id("release", argc, argv);
}

int
cmd_requeue(int argc, char **argv)
{
	return each_id("requeue", argc, argv);
}

int
cmd_delete(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--all") == 0)
		return selection("delete", "all", "1");
	if (argc == 3 && strcmp(argv[1], "--sender") == 0)
		return selection("delete", "sender", argv[2]);
	if (argc == 3 && strcmp(argv[1], "--rcpt") == 0)
		return selection("delete", "rcpt", argv[2]);
	if (argc >= 2 && argv[1][0] == '-') {
		fprintf(stderr, "usage: mtactl delete ID... | --all | "
				"--sender ADDR | --rcpt ADDR\n");
		return EX_USAGE_;
	}
	return each_id("delete", argc, argv);
}
