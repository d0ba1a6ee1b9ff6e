/*
 * smtpload.c - the bench's own SMTP load generator (make bench, issue 8).
 *
 * One process, poll(2): N concurrent sessions send M messages of S bytes
 * to R recipients each (optionally at most P per session, then QUIT and a
 * new session), using PIPELINING when the server offers it.  For each
 * accepted message it records the wall-clock time of the 250 after the
 * body and the queue ID from that reply (-o file: "seq sec.nsec qid").
 * Prints accepted msgs/s and the count of 4xx/5xx replies and timeouts.
 *
 * Trusts: nothing the server says beyond the reply code; a reply line
 * longer than the buffer ends the session as an error.
 * Never: retries a rejected message (it is counted, not resent).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX 8192		/* bytes of server replies buffered */
#define LINE_LEN 76		/* body line length */

struct sess {
	int fd;
	int state;		/* S_* below */
	int pipelining;
	int sent_in_session;
	long seq;		/* message being sent, -1 none */
	int txn_ok;		/* MAIL accepted */
	int rcpt_ok;		/* recipients accepted */
	int k;			/* replies received in this transaction */
	char in[REPLY_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outpos, outcap;
	double deadline;
};

enum { S_FREE, S_GREET, S_EHLO, S_TXN, S_BODY, S_RSET, S_QUIT };

static const char *host = "127.0.0.1", *port = "25", *from = "bench@localhost";
static const char *rcpt = "user@localhost", *outpath;
static int nsess = 1, nrcpt = 1, per_sess = 0;
static long nmsg = 100, msize = 2048;
static double step_timeout = 60;
static long next_seq, done_msgs, accepted, rej4, rej5, timeouts, errors;
static FILE *outf;

static double now_mono(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "smtpload: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void put(struct sess *s, const char *buf, size_t len)
{
	if (s->outlen + len > s->outcap) {
		size_t cap = (s->outlen + len) * 2;
		char *p = realloc(s->out, cap);

		if (p == NULL)
			die("realloc");
		s->out = p;
		s->outcap = cap;
	}
	memcpy(s->out + s->outlen, buf, len);
	s->outlen += len;
}

static void putf(struct sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(struct sess *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		fprintf(stderr, "smtpload: command too long\n");
		exit(2);
	}
	put(s, buf, (size_t)n);
}

static int connect_one(void)
{
	struct addrinfo hints = { 0 }, *ai;
	int fd, rc;

	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "smtpload: %s: %s\n", host, gai_strerror(rc));
		exit(2);
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		freeaddrinfo(ai);
		close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl");
	return fd;
}

static void sess_close(struct sess *s)
{
	if (s->fd >= 0 && close(s->fd) < 0)
		die("close");
	s->fd = -1;
	s->state = S_FREE;
	s->outlen = s->outpos = s->inlen = 0;
	if (s->seq >= 0)
		done_msgs++;	/* a message lost with its session: counted */
	s->seq = -1;
}

static void sess_open(struct sess *s)
{
	s->fd = connect_one();
	s->seq = -1;
	s->pipelining = 0;
	s->sent_in_session = 0;
	s->inlen = s->outlen = s->outpos = 0;
	if (s->fd < 0) {
		errors++;
		s->state = S_FREE;
		return;
	}
	s->state = S_GREET;
	s->deadline = now_mono() + step_timeout;
}

static void body(struct sess *s)
{
	static char line[LINE_LEN + 3];
	long left, start = (long)s->outlen;

	putf(s, "From: <%s>\r\nTo: <%s>\r\nSubject: bench %ld\r\n"
	     "Message-ID: <bench.%ld.%ld@smtpload>\r\nX-Bench-Seq: %ld\r\n\r\n",
	     from, rcpt, s->seq, s->seq, (long)getpid(), s->seq);
	memset(line, 'x', LINE_LEN);
	memcpy(line + LINE_LEN, "\r\n", 3);
	for (left = msize - ((long)s->outlen - start); left > 0; left -= LINE_LEN + 2)
		put(s, line, LINE_LEN + 2);
	put(s, ".\r\n", 3);
}

/* recipient i: the -t address, or with -r > 1 "local<i+1>@domain" */
static void put_rcpt(struct sess *s, int i)
{
	const char *at = strrchr(rcpt, '@');

	if (nrcpt == 1 || at == NULL)
		putf(s, "RCPT TO:<%s>\r\n", rcpt);
	else
		putf(s, "RCPT TO:<%.*s%d%s>\r\n", (int)(at - rcpt), rcpt,
		     i + 1, at);
}

static void next_message(struct sess *s)
{
	int i;

	if (next_seq >= nmsg || (per_sess > 0 && s->sent_in_session >= per_sess)) {
		put(s, "QUIT\r\n", 6);
		s->state = S_QUIT;
		return;
	}
	s->seq = next_seq++;
	s->sent_in_session++;
	s->txn_ok = 1;
	s->rcpt_ok = 0;
	s->k = 0;
	s->state = S_TXN;
	/* without PIPELINING the commands go out one reply at a time */
	putf(s, "MAIL FROM:<%s>\r\n", from);
	if (!s->pipelining)
		return;
	for (i = 0; i < nrcpt; i++) {
		put_rcpt(s, i);
	}
	put(s, "DATA\r\n", 6);
}

/* the step of a non-pipelining transaction after reply number k */
static void txn_step(struct sess *s, int k)
{
	if (k <= nrcpt) {
		put_rcpt(s, k - 1);
	} else {
		put(s, "DATA\r\n", 6);
	}
}

static void count_reply(int code)
{
	if (code >= 400 && code < 500)
		rej4++;
	else if (code >= 500)
		rej5++;
}

static void record(struct sess *s, const char *text)
{
	struct timespec ts;
	const char *q = strstr(text, "queued as ");
	char qid[64] = "-";

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		die("clock_gettime");
	if (q != NULL && sscanf(q + 10, "%63[A-Za-z0-9]", qid) != 1)
		strcpy(qid, "-");
	if (outf != NULL)
		fprintf(outf, "%ld %lld.%09ld %s\n", s->seq, (long long)ts.tv_sec,
			ts.tv_nsec, qid);
}

/* one complete reply (last line in text) in the current state */
static void on_reply(struct sess *s, int code, const char *all)
{
	int k;

	if (code == 421) {
		count_reply(code);
		sess_close(s);
		return;
	}
	switch (s->state) {
	case S_GREET:
		if (code != 220) {
			count_reply(code);
			put(s, "QUIT\r\n", 6);
			s->state = S_QUIT;
			return;
		}
		put(s, "EHLO smtpload.example\r\n", 23);
		s->state = S_EHLO;
		return;
	case S_EHLO:
		if (code != 250) {
			count_reply(code);
			sess_close(s);
			return;
		}
		s->pipelining = strcasestr(all, "PIPELINING") != NULL;
		next_message(s);
		return;
	case S_TXN:
		k = s->k++;	/* 0 MAIL, 1..R RCPT, R+1 DATA */
		if (code >= 400)
			count_reply(code);
		if (k == 0 && code >= 400)
			s->txn_ok = 0;
		if (k >= 1 && k <= nrcpt && code < 400)
			s->rcpt_ok++;
		if (k <= nrcpt && s->pipelining)
			return;
		if (k < nrcpt && s->txn_ok) {
			txn_step(s, k + 1);
			return;
		}
		if (k == nrcpt && s->txn_ok && s->rcpt_ok > 0) {
			txn_step(s, k + 1);
			return;
		}
		if (k > nrcpt && code == 354 && s->txn_ok && s->rcpt_ok > 0) {
			body(s);
			s->state = S_BODY;
			return;
		}
		if (k > nrcpt && code == 354) {	/* cannot happen: end it */
			put(s, ".\r\n", 3);
			s->state = S_BODY;
			return;
		}
		put(s, "RSET\r\n", 6);
		s->state = S_RSET;
		done_msgs++;
		s->seq = -1;
		return;
	case S_BODY:
		if (code == 250) {
			accepted++;
			record(s, all);
		} else {
			count_reply(code);
		}
		done_msgs++;
		s->seq = -1;
		next_message(s);
		return;
	case S_RSET:
		next_message(s);
		return;
	case S_QUIT:
		sess_close(s);
		return;
	}
}

/* split s->in into replies; returns 0 if the session was closed */
static int parse(struct sess *s)
{
	char *nl;

	while ((nl = memchr(s->in, '\n', s->inlen)) != NULL) {
		size_t len = (size_t)(nl - s->in) + 1;
		/* a multi-line reply: wait for the line whose 4th char is ' ' */
		char *line = s->in;
		char *last = line;

		while (len >= 4 && last[3] == '-') {
			char *n2 = memchr(nl + 1, '\n', s->inlen - len);

			if (n2 == NULL)
				return 1;
			last = nl + 1;
			nl = n2;
			len = (size_t)(nl - s->in) + 1;
		}
		*nl = '\0';
		int code = atoi(last);

		s->deadline = now_mono() + step_timeout;
		on_reply(s, code, s->in);
		if (s->state == S_FREE)
			return 0;
		memmove(s->in, s->in + len, s->inlen - len);
		s->inlen -= len;
	}
	if (s->inlen >= sizeof(s->in) - 1) {
		fprintf(stderr, "smtpload: reply longer than %d bytes\n", REPLY_MAX);
		errors++;
		sess_close(s);
		return 0;
	}
	return 1;
}

static void do_read(struct sess *s)
{
	ssize_t n = read(s->fd, s->in + s->inlen, sizeof(s->in) - 1 - s->inlen);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (s->state != S_QUIT)
			errors++;
		sess_close(s);
		return;
	}
	s->inlen += (size_t)n;
	parse(s);
}

static void do_write(struct sess *s)
{
	ssize_t n = write(s->fd, s->out + s->outpos, s->outlen - s->outpos);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		errors++;
		sess_close(s);
		return;
	}
	s->outpos += (size_t)n;
	if (s->outpos == s->outlen)
		s->outpos = s->outlen = 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: smtpload [-s sessions] [-m messages] [-S bytes]"
		" [-r recipients] [-p msgs-per-session] [-T step-timeout]\n"
		"  [-f sender] [-t recipient] [-o record-file] host:port\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sess *ss;
	struct pollfd *pf;
	double t0, t1;
	int c, i;
	char *colon;

	while ((c = getopt(argc, argv, "s:m:S:r:p:T:f:t:o:")) != -1) {
		switch (c) {
		case 's': nsess = atoi(optarg); break;
		case 'm': nmsg = atol(optarg); break;
		case 'S': msize = atol(optarg); break;
		case 'r': nrcpt = atoi(optarg); break;
		case 'p': per_sess = atoi(optarg); break;
		case 'T': step_timeout = atof(optarg); break;
		case 'f': from = optarg; break;
		case 't': rcpt = optarg; break;
		case 'o': outpath = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || nsess < 1 || nrcpt < 1 || nmsg < 0)
		usage();
	host = argv[optind];
	colon = strrchr(argv[optind], ':');
	if (colon == NULL)
		usage();
	*colon = '\0';
	port = colon + 1;
	if (outpath != NULL && (outf = fopen(outpath, "w")) == NULL)
		die(outpath);
	ss = calloc((size_t)nsess, sizeof(*ss));
	pf = calloc((size_t)nsess, sizeof(*pf));
	if (ss == NULL || pf == NULL)
		die("calloc");
	t0 = now_mono();
	for (i = 0; i < nsess; i++)
		sess_open(&ss[i]);
	for (;;) {
		int live = 0;
		double now = now_mono();

		for (i = 0; i < nsess; i++) {
			struct sess *s = &ss[i];

			if (s->state == S_FREE && next_seq < nmsg && errors < 100)
				sess_open(s);
			if (s->state != S_FREE && now > s->deadline) {
				timeouts++;
				sess_close(s);
			}
			pf[i].fd = s->state == S_FREE ? -1 : s->fd;
			pf[i].events = POLLIN | (s->outlen > s->outpos ? POLLOUT : 0);
			pf[i].revents = 0;
			live += s->state != S_FREE;
		}
		if (live == 0)
			break;
		if (poll(pf, (nfds_t)nsess, 1000) < 0 && errno != EINTR)
			die("poll");
		for (i = 0; i < nsess; i++) {
			if (pf[i].fd < 0 || ss[i].state == S_FREE)
				continue;
			if (pf[i].revents & POLLOUT)
				do_write(&ss[i]);
			if (ss[i].state != S_FREE &&
			    (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				do_read(&ss[i]);
		}
	}
	t1 = now_mono();
	if (outf != NULL && fclose(outf) != 0)
		die(outpath);
	printf("smtpload: %ld accepted of %ld in %.3f s: %.1f msgs/s; "
	       "4xx replies %ld, 5xx replies %ld, timeouts %ld, errors %ld\n",
	       accepted, nmsg, t1 - t0, accepted / (t1 - t0 > 0 ? t1 - t0 : 1),
	       rej4, rej5, timeouts, errors);
	return accepted == nmsg ? 0 : 1;
}
