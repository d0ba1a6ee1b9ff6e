/*
 * test_cleanup_client.c - common/cleanup_client.c against a fake cleanup.
 *
 * A forked child plays cleanup(8) on the other end of a socketpair (or of
 * private/cleanup in a temporary directory) and writes what it read to a
 * transcript: the envelope as name=value words, one "data N" line a data
 * record, then "end" or "eof"; the message bytes go to a second file.
 * Covers: the envelope in order (req and sender first, NULL values left
 * out), the queue ID and its truncation, chunking at CLEANUP_CLIENT_CHUNK,
 * 250, a refusal with and without text, a status that is not one, a
 * cleanup that refuses the envelope, hangs up during the data or never
 * answers (bounded by the timeout), an abort (no end sent), and no socket.
 * Trusts: ipc.c (its own suite).  Never: needs a running cleanup.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup_client.h"
#include "ipc.h"
#include "suites.h"

#define WAIT_MS 5000 /* for answers that must come: never hit */
#define FAKE_ID "4XyZ0AbCdEfGh"

enum fake_mode {
	FAKE_ACCEPT,     /* queue ID, data until end, 250 */
	FAKE_NO_ID,      /* reads the envelope and hangs up */
	FAKE_REJECT,     /* 554 with a text */
	FAKE_NO_TEXT,    /* 451 without one */
	FAKE_BAD_STATUS, /* status=2500 */
	FAKE_HANGUP,     /* queue ID, one data record, hangs up */
	FAKE_SILENT,     /* never answers the envelope */
};

static char dir[512], transcript[600], body[600];

static int
init(void)
{
	if (unit_tmpdir(dir, sizeof(dir), "cleanup_client") != 0)
		return -1;
	unit_path(transcript, sizeof(transcript), dir, "transcript");
	unit_path(body, sizeof(body), dir, "body");
	return 0;
}

static int
fini(void)
{
	return unit_rm_rf(dir);
}

static void
put_status(struct ipc *c, const char *status, const char *text)
{
	ipc_put_str(c, "status", status);
	if (text != NULL)
		ipc_put_str(c, "text", text);
	if (ipc_end(c) != IPC_OK)
		_exit(2);
}

/* fake_data - data records until end; 1 on end, 0 on EOF or mode's cut. */
static int
fake_data(struct ipc *c, FILE *t, FILE *b, enum fake_mode mode)
{
	struct attrs a;
	int end = 0;

	for (;;) {
		attrs_init(&a);
		if (ipc_read(c, &a) != IPC_OK)
			break;
		const struct attr *d = attrs_find(&a, "data");
		if (d == NULL) {
			end = attrs_get(&a, "end") != NULL;
			break;
		}
		fprintf(t, "data %zu\n", d->len);
		fwrite(d->value, 1, d->len, b);
		attrs_free(&a);
		if (mode == FAKE_HANGUP)
			break;
	}
	attrs_free(&a);
	fprintf(t, "%s\n", end ? "end" : "eof");
	return end;
}

/* fake_serve - the child's side of one conversation on fd. */
static void
fake_serve(int fd, enum fake_mode mode)
{
	FILE *t = fopen(transcript, "w"), *b = fopen(body, "w");
	struct ipc *c = ipc_new(fd, WAIT_MS);
	struct attrs a;

	if (t == NULL || b == NULL)
		_exit(2);
	attrs_init(&a);
	if (ipc_read(c, &a) != IPC_OK)
		_exit(2);
	for (int i = 0; i < a.n; i++)
		fprintf(t, "%s%s=%s", i ? " " : "", a.a[i].name, a.a[i].value);
	fprintf(t, "\n");
	fflush(t);
	if (mode == FAKE_SILENT) {
		/* the client gives up and hangs up: that EOF ends us */
		attrs_free(&a);
		attrs_init(&a);
		fprintf(t, "%s\n", ipc_read(c, &a) == IPC_EOF ? "eof" : "?");
		_exit(fclose(t) == 0 ? 0 : 2);
	}
	if (mode == FAKE_NO_ID)
		_exit(fclose(t) == 0 ? 0 : 2);
	ipc_put_str(c, "queue_id", FAKE_ID);
	if (ipc_end(c) != IPC_OK)
		_exit(2);
	if (fake_data(c, t, b, mode)) {
		if (mode == FAKE_ACCEPT)
			put_status(c, "250", NULL);
		else if (mode == FAKE_REJECT)
			put_status(c, "554", "5.7.1 Error: no thanks");
		else if (mode == FAKE_NO_TEXT)
			put_status(c, "451", NULL);
		else
			put_status(c, "2500", "what");
	}
	_exit(fclose(t) == 0 && fclose(b) == 0 ? 0 : 2);
}

/* fake_open - a handle to a fresh fake cleanup in the given mode. */
static struct cleanup_client *
fake_open(enum fake_mode mode, int timeout_ms, pid_t *pid)
{
	int sp[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	*pid = fork();
	CU_ASSERT_FATAL(*pid >= 0);
	if (*pid == 0) {
		close(sp[0]);
		fake_serve(sp[1], mode);
	}
	close(sp[1]);
	return cleanup_client_open_fd(sp[0], "sender@example.com", timeout_ms);
}

/* reap - wait for the fake; its exit status must be 0. */
static void
reap(pid_t pid)
{
	int status;

	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static char *
read_transcript(void)
{
	char *s = unit_read_file(transcript, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static void
test_envelope(void)
{
	pid_t pid;
	char id[LIM_QUEUE_ID], small[5];
	const char *text = "x";
	struct cleanup_client *cc = fake_open(FAKE_ACCEPT, WAIT_MS, &pid);

	cleanup_client_attr(cc, "rcpt", "a@example.com");
	cleanup_client_attr(cc, "orcpt", NULL);
	cleanup_client_attr(cc, "notify", "NEVER");
	cleanup_client_attr(cc, "rcpt", "b@example.com");
	cleanup_client_attr(cc, "helo", "");
	cleanup_client_attr(cc, "protocol", "ESMTP");
	CU_ASSERT_EQUAL(cleanup_client_start(cc, id, sizeof(id)), 0);
	CU_ASSERT_STRING_EQUAL(id, FAKE_ID);
	cleanup_client_write(cc, "Subject: x\n\nhi\n", 15);
	CU_ASSERT_EQUAL(cleanup_client_finish(cc, &text), 250);
	CU_ASSERT_PTR_NULL(text);
	CU_ASSERT_FALSE(cleanup_client_failed(cc));
	cleanup_client_close(cc);
	reap(pid);
	char *t = read_transcript();
	CU_ASSERT_STRING_EQUAL(t, "req=submit sender=sender@example.com "
			       "rcpt=a@example.com notify=NEVER "
			       "rcpt=b@example.com helo= protocol=ESMTP\n"
			       "data 15\nend\n");
	free(t);

	/* a queue ID longer than the caller's buffer is cut to fit */
	cc = fake_open(FAKE_ACCEPT, WAIT_MS, &pid);
	CU_ASSERT_EQUAL(cleanup_client_start(cc, small, sizeof(small)), 0);
	CU_ASSERT_STRING_EQUAL(small, "4XyZ");
	cleanup_client_close(cc); /* an abort */
	reap(pid);
	t = read_transcript();
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\neof\n"));
	free(t);
}

static void
test_chunks(void)
{
	size_t total = 3 * CLEANUP_CLIENT_CHUNK + 1234, off = 0, piece = 1;
	char *msg = malloc(total), id[LIM_QUEUE_ID];
	const char *text;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	for (size_t i = 0; i < total; i++)
		msg[i] = (char)('a' + i % 23);
	struct cleanup_client *cc = fake_open(FAKE_ACCEPT, WAIT_MS, &pid);
	CU_ASSERT_EQUAL(cleanup_client_start(cc, id, sizeof(id)), 0);
	/* pieces of growing size: 1, 2, 4 ... bytes, across chunk edges */
	while (off < total) {
		size_t k = total - off < piece ? total - off : piece;
		cleanup_client_write(cc, msg + off, k);
		off += k, piece *= 2;
	}
	CU_ASSERT_EQUAL(cleanup_client_finish(cc, &text), 250);
	cleanup_client_close(cc);
	reap(pid);

	/* small pieces are gathered into chunks, large ones go out as
	 * they came: records of at most a chunk, all the bytes, then end */
	char *t = read_transcript();
	const char *d = strstr(t, "data ");
	size_t sum = 0, records = 0;
	int over = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while (strncmp(d, "data ", 5) == 0) {
		long n = strtol(d + 5, NULL, 10);
		over |= n <= 0 || n > CLEANUP_CLIENT_CHUNK;
		sum += (size_t)n, records++;
		d = strchr(d, '\n') + 1;
	}
	CU_ASSERT(!over);
	CU_ASSERT_EQUAL(sum, total);
	CU_ASSERT(records >= 4);
	CU_ASSERT_EQUAL(strncmp(d, "end\n", 4), 0);
	free(t);
	size_t len = 0;
	char *got = unit_read_file(body, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(len, total);
	CU_ASSERT(len == total && memcmp(got, msg, total) == 0);
	free(got);
	free(msg);
}

/* refused - the answer to a one-line message from a fake in mode. */
static int
refused(enum fake_mode mode, char *text, size_t tl)
{
	char id[LIM_QUEUE_ID];
	const char *t;
	pid_t pid;
	struct cleanup_client *cc = fake_open(mode, WAIT_MS, &pid);

	CU_ASSERT_EQUAL(cleanup_client_start(cc, id, sizeof(id)), 0);
	cleanup_client_write(cc, "x\n", 2);
	int status = cleanup_client_finish(cc, &t);
	snprintf(text, tl, "%s", t ? t : "(none)");
	cleanup_client_close(cc);
	reap(pid);
	return status;
}

static void
test_refusals(void)
{
	char text[200];

	CU_ASSERT_EQUAL(refused(FAKE_REJECT, text, sizeof(text)), 554);
	CU_ASSERT_STRING_EQUAL(text, "5.7.1 Error: no thanks");
	CU_ASSERT_EQUAL(refused(FAKE_NO_TEXT, text, sizeof(text)), 451);
	CU_ASSERT_STRING_EQUAL(text, "(none)");
	CU_ASSERT_EQUAL(refused(FAKE_BAD_STATUS, text, sizeof(text)),
			CLEANUP_NO_ANSWER);
	CU_ASSERT_STRING_EQUAL(text, "(none)");
}

static void
test_broken(void)
{
	char id[LIM_QUEUE_ID] = "", *t;
	const char *text;
	pid_t pid;

	/* no queue ID: start fails and the handle refuses data */
	struct cleanup_client *cc = fake_open(FAKE_NO_ID, WAIT_MS, &pid);
	CU_ASSERT_EQUAL(cleanup_client_start(cc, id, sizeof(id)), -1);
	CU_ASSERT_STRING_EQUAL(id, "");
	CU_ASSERT_TRUE(cleanup_client_failed(cc));
	cleanup_client_close(cc);
	reap(pid);

	/* a hang-up in the data: later writes are dropped, no end is sent,
	 * and finish reports no answer (a socket buffer's worth and more) */
	static char big[8 * CLEANUP_CLIENT_CHUNK];
	memset(big, 'x', sizeof(big));
	cc = fake_open(FAKE_HANGUP, WAIT_MS, &pid);
	CU_ASSERT_EQUAL(cleanup_client_start(cc, id, sizeof(id)), 0);
	for (int i = 0; i < 8; i++)
		cleanup_client_write(cc, big, sizeof(big));
	CU_ASSERT_TRUE(cleanup_client_failed(cc));
	CU_ASSERT_EQUAL(cleanup_client_flush(cc), -1);
	CU_ASSERT_EQUAL(cleanup_client_finish(cc, &text), CLEANUP_NO_ANSWER);
	CU_ASSERT_PTR_NULL(text);
	cleanup_client_close(cc);
	reap(pid);
	t = read_transcript();
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\neof\n"));
	free(t);

	/* a cleanup that never answers: the timeout bounds the wait */
	struct timespec t0, t1;
	CU_ASSERT_FATAL(clock_gettime(CLOCK_MONOTONIC, &t0) == 0);
	cc = fake_open(FAKE_SILENT, 200, &pid);
	CU_ASSERT_EQUAL(cleanup_client_start(cc, id, sizeof(id)), -1);
	CU_ASSERT_FATAL(clock_gettime(CLOCK_MONOTONIC, &t1) == 0);
	CU_ASSERT(t1.tv_sec - t0.tv_sec < 3);
	cleanup_client_close(cc);
	reap(pid);
	t = read_transcript();
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\neof\n"));
	free(t);
}

/* test_socket - cleanup_client_open() finds private/cleanup in the cwd. */
static void
test_socket(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char priv[700], id[LIM_QUEUE_ID];
	const char *text;
	int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), l;
	pid_t pid;

	CU_ASSERT_FATAL(here >= 0);
	CU_ASSERT_FATAL(chdir(dir) == 0);
	errno = 0;
	CU_ASSERT_PTR_NULL(cleanup_client_open("s@example.com", WAIT_MS));
	CU_ASSERT_EQUAL(errno, ENOENT);

	unit_path(priv, sizeof(priv), dir, "private");
	CU_ASSERT_FATAL(mkdir(priv, 0700) == 0);
	memcpy(sun.sun_path, CLEANUP_SOCKET, sizeof(CLEANUP_SOCKET));
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(l >= 0);
	CU_ASSERT_FATAL(bind(l, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CU_ASSERT_FATAL(listen(l, 1) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			_exit(2);
		fake_serve(c, FAKE_ACCEPT);
	}
	close(l);
	struct cleanup_client *cc = cleanup_client_open("s@example.com",
							WAIT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
	CU_ASSERT_EQUAL(cleanup_client_start(cc, id, sizeof(id)), 0);
	CU_ASSERT_EQUAL(cleanup_client_finish(cc, &text), 250);
	cleanup_client_close(cc);
	reap(pid);
	CU_ASSERT(fchdir(here) == 0);
	close(here);
	char *t = read_transcript();
	CU_ASSERT_STRING_EQUAL(t, "req=submit sender=s@example.com\nend\n");
	free(t);
}

CU_ErrorCode
suite_cleanup_client(void)
{
	CU_pSuite s = CU_add_suite("cleanup_client", init, fini);

	if (s == NULL ||
	    !CU_add_test(s, "envelope, queue ID, abort", test_envelope) ||
	    !CU_add_test(s, "data in chunks", test_chunks) ||
	    !CU_add_test(s, "refusals", test_refusals) ||
	    !CU_add_test(s, "broken cleanup", test_broken) ||
	    !CU_add_test(s, "private/cleanup", test_socket))
		return CU_get_error();
	return CUE_SUCCESS;
}
