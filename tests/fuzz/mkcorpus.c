/*
 * mkcorpus.c - write the binary seeds of tests/fuzz/corpus: queue files
 * made by qf_writer and IPC records made by ipc_put, so the seeds are
 * exactly what the daemons write.  The text seeds are kept as files.
 *
 * Build and run from the top of the tree:
 *   clang -std=c11 -D_GNU_SOURCE -Icommon -o build-fuzz/mkcorpus \
 *     tests/fuzz/mkcorpus.c $(ls common/?*.c) -lsodium -llmdb
 *   build-fuzz/mkcorpus tests/fuzz/corpus
 * Trusts: its one argument names an existing directory.
 * Never: writes outside DIR/fuzz_queue_file and DIR/fuzz_ipc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "ipc.h"
#include "queue_file.h"

static struct qf_writer w; /* 128 KB of buffers: not on the stack */

static int
open_seed(const char *dir, const char *sub, const char *name)
{
	char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

/* queue_file - one queue file as cleanup writes it. */
static void
queue_file(const char *dir, const char *name, int nrcpt, const char *msg,
	   int dsn)
{
	int fd = open_seed(dir, "fuzz_queue_file", name), rc = 0;

	qf_writer_init(&w, fd);
	rc |= qf_put_str(&w, QF_ID, "1NGP10F0EJZJK77");
	rc |= qf_put_str(&w, QF_ARRIVAL, "1700000000.123456");
	rc |= qf_put_str(&w, QF_SENDER, "sender@client.example");
	for (int i = 0; i < nrcpt; i++) {
		char r[64];
		snprintf(r, sizeof(r), "rcpt%d@example.com", i);
		rc |= qf_put_str(&w, QF_RCPT, r);
		if (dsn) {
			rc |=
			    qf_put_str(&w, QF_ORCPT, "rfc822;Rcpt@example.com");
			rc |= qf_put_str(&w, QF_NOTIFY, "SUCCESS,FAILURE");
		}
	}
	rc |= qf_put_str(&w, QF_CLIENT_ADDR, "192.0.2.10");
	rc |= qf_put_str(&w, QF_CLIENT_NAME, "client.example.net");
	rc |= qf_put_str(&w, QF_HELO, "client.example");
	rc |= qf_put_str(&w, QF_PROTOCOL, "ESMTP");
	rc |= qf_put_str(&w, QF_BODY_TYPE, "8BITMIME");
	if (dsn) {
		rc |= qf_put_str(&w, QF_ENVID, "envid-1");
		rc |= qf_put_str(&w, QF_RET, "HDRS");
	}
	rc |= qf_begin_message(&w);
	rc |= qf_put_data(&w, msg, strlen(msg));
	rc |= qf_finish(&w);
	if (rc != 0 || close(fd) != 0) {
		perror(name);
		exit(1);
	}
}

/* ipc_seed - the records a peer would send, captured off a socketpair. */
static void
ipc_seed(const char *dir, const char *name, void (*put)(struct ipc *))
{
	int sv[2], fd = open_seed(dir, "fuzz_ipc", name);
	char buf[65536];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		perror("socketpair");
		exit(1);
	}
	struct ipc *c = ipc_new(sv[0], 1000);
	put(c);
	ipc_free(c);
	while ((n = read(sv[1], buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, (size_t)n) != 0) {
			perror(name);
			exit(1);
		}
	close(sv[1]);
	close(fd);
}

static void
put_submit(struct ipc *c)
{
	ipc_put_str(c, "req", "submit");
	ipc_put_str(c, "sender", "sender@client.example");
	ipc_put_str(c, "rcpt", "rcpt@example.com");
	ipc_put_str(c, "client_addr", "192.0.2.10");
	ipc_put_str(c, "helo", "client.example");
	ipc_end(c);
	ipc_put(c, "data", "Subject: hi\n\nbody\n", 18);
	ipc_end(c);
	ipc_put_str(c, "end", "");
	ipc_end(c);
}

static void
put_status(struct ipc *c)
{
	ipc_put_long(c, "status", 250);
	ipc_put_str(c, "queue_id", "1NGP10F0EJZJK77");
	ipc_put(c, "bin", "a\0b\xff", 4);
	ipc_end(c);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus DIR\n");
		return 2;
	}
	queue_file(argv[1], "simple", 1, "Subject: test\n\nhello\n", 0);
	queue_file(argv[1], "dsn-3rcpt", 3,
		   "Received: from x\n\tby y\nSubject: dsn\n\nbody\n.\n", 1);
	queue_file(argv[1], "empty-message", 1, "", 0);
	ipc_seed(argv[1], "submit", put_submit);
	ipc_seed(argv[1], "status", put_status);
	return 0;
}
