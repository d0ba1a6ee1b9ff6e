/*
 * fuzz_smtpd.c - libFuzzer target for smtpd/smtpd_cmd.c and the reply
 * side of smtpd/smtpd_io.c: every SMTP command but DATA.
 *
 * Input: an SMTP command script, one command per line.  Each line reaches
 * smtpd_command the way serve() in smtpd.c hands it over: CR and LF
 * stripped, at most LIM_SMTP_LINE_EXT + 1 bytes, no NUL, not empty; a
 * line read_command would refuse (too long, NUL) or an empty line counts
 * an error with smtpd_error as serve() does.  Lines whose verb is DATA or
 * BDAT are skipped: DATA connects to cleanup(8), which is not here;
 * instead the whole input also goes through the body filter
 * (smtpd_body.c) in DATA and BDAT mode, split at a point the input
 * chooses, and the output must hold no CR, and DATA must end exactly
 * after the first CRLF.CRLF; fed again one byte per call, the filter
 * must pass on the same bytes with the same counts.
 * Replies go through io_flush to a socketpair that is drained after every
 * command, so the session never blocks.  The session must keep its
 * limits: at most smtpd_recipient_limit recipients, each a non-empty
 * string, none without MAIL, a NUL-terminated sender and HELO name.
 * Inputs of odd length come from a trusted client, with VRFY, EXPN and
 * VERB turned on (no maps: every lookup finds nothing).
 * Trusts: nothing in the input.  Never: connects anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "smtpd.h"

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static struct smtpd_session s; /* 24 KB of buffers: not on the stack */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	log_open("fuzz_smtpd", LOG_DEST_FILE, "/dev/null");
	config_defaults();
	if (config_set("myhostname", "mx.example.com", err, sizeof(err)) ||
	    config_set("mydestination", "example.com, localhost", err,
		       sizeof(err)) ||
	    /* errors end a session: allow many, to get deeper into one */
	    config_set("smtpd_error_limit", "1000", err, sizeof(err)) ||
	    /* the truthful VRFY, EXPN and VERB of trusted sessions */
	    config_set("smtpd_vrfy_trusted", "yes", err, sizeof(err)) ||
	    config_set("smtpd_expn_trusted", "yes", err, sizeof(err)) ||
	    config_set("smtpd_verb_trusted", "yes", err, sizeof(err)))
		abort();
	return 0;
}

/* drain - read and drop the replies waiting on the client end. */
static void
drain(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 ||
	       (n < 0 && errno == EINTR))
		;
	check(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* is_data - whether smtpd_command would take the line as DATA or BDAT. */
static int
is_data(const char *line)
{
	size_t n = strcspn(line, " ");

	return n == 4 && (strncasecmp(line, "DATA", 4) == 0 ||
			  strncasecmp(line, "BDAT", 4) == 0);
}

/* check_session - what the rest of smtpd relies on after a command. */
static void
check_session(void)
{
	check(strnlen(s.helo, sizeof(s.helo)) < sizeof(s.helo));
	check(strnlen(s.sender, sizeof(s.sender)) < sizeof(s.sender));
	check(strnlen(s.body_type, sizeof(s.body_type)) < sizeof(s.body_type));
	check(s.nrcpt >= 0 && s.nrcpt <= cfg.smtpd_recipient_limit);
	check(s.nrcpt == 0 || s.have_mail);
	check(s.have_mail == 0 || s.helo[0] != 0);
	for (int i = 0; i < s.nrcpt; i++)
		check(s.rcpts[i] != NULL && s.rcpts[i][0] != 0 &&
		      strlen(s.rcpts[i]) <= LIM_PATH);
	check(s.io.olen <= sizeof(s.io.out));
}

/* one_line - hand one input line to the session as serve() would. */
static void
one_line(char *line, size_t len, int client)
{
	/* read_command's buffer holds SMTPD_CMD_BUF - 1 bytes, LF
	 * included; a last line without LF is taken as if it had one */
	size_t wire = len + (len == 0 || line[len - 1] != '\n');
	int refused =
	    wire > SMTPD_CMD_BUF - 1 || memchr(line, 0, len) != NULL;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = 0;
	if (refused || len == 0) {
		if (!smtpd_error(&s))
			io_printf(&s.io, "500 5.5.2 Error: bad syntax\r\n");
	} else if (!is_data(line)) {
		smtpd_command(&s, line);
	}
	check_session();
	io_flush(&s.io);
	drain(client);
}

/* what the filter passed on, for comparing two ways of feeding it */
struct body_out {
	char p[65536 + 2];
	size_t len;
};

static void
body_sink_check(void *ctx, const char *p, size_t n)
{
	struct body_out *o = ctx;

	check(memchr(p, '\r', n) == NULL);
	check(o->len + n <= sizeof(o->p));
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* body_bytewise - the same input one byte per call: the spans the
 * filter copies at once must change nothing (smtpd_body.c) */
static void
body_bytewise(enum body_mode mode, const char *p, size_t size,
	      const struct body_filter *want, const struct body_out *wout)
{
	static struct body_out out;
	static struct body_filter f;
	size_t used = 0;

	out.len = 0;
	body_init(&f, mode, body_sink_check, &out);
	for (size_t i = 0; i < size && !f.done; i++)
		used += body_feed(&f, p + i, 1);
	if (mode == BODY_BDAT)
		body_finish(&f);
	check(f.done == want->done && f.bare_lf == want->bare_lf &&
	      f.bare_cr == want->bare_cr);
	check(out.len == wout->len && memcmp(out.p, wout->p, out.len) == 0);
	(void)used;
}

/* body_check - the body filter over the input, in two pieces, and
 * again one byte at a time. */
static void
body_check(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *end = memmem(p, size, "\r\n.\r\n", 5);
	size_t split = size ? data[0] % (size + 1) : 0, used;
	static struct body_out out;
	static struct body_filter f; /* 64 KB of output buffer */

	/* DATA: the end is the first CRLF.CRLF, or one at the very start */
	out.len = 0;
	body_init(&f, BODY_DATA, body_sink_check, &out);
	used = body_feed(&f, p, split);
	if (!f.done)
		used += body_feed(&f, p + split, size - split);
	if (size >= 3 && memcmp(p, ".\r\n", 3) == 0)
		check(f.done && used == 3);
	else if (end != NULL)
		check(f.done && used == (size_t)(end - p) + 5);
	else
		check(!f.done && used == size);
	body_bytewise(BODY_DATA, p, size, &f, &out);
	/* BDAT: everything is taken, nothing ends it */
	out.len = 0;
	body_init(&f, BODY_BDAT, body_sink_check, &out);
	check(body_feed(&f, p, split) == split);
	check(body_feed(&f, p + split, size - split) == size - split);
	body_finish(&f);
	check(!f.done);
	body_bytewise(BODY_BDAT, p, size, &f, &out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[65536 + 1];
	int sv[2];
	size_t off = 0;

	if (size > sizeof(line) - 1)
		return -1;
	body_check(data, size);
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	check(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	memset(&s, 0, sizeof(s));
	io_init(&s.io, sv[0], 1);
	snprintf(s.client_addr, sizeof(s.client_addr), "192.0.2.10");
	snprintf(s.client_name, sizeof(s.client_name), "client.example.net");
	s.trusted = size % 2; /* half the inputs from a trusted client */
	smtpd_reset(&s);
	io_printf(&s.io, "220 %s %s\r\n", cfg.myhostname, cfg.smtpd_banner);
	while (off < size && !s.quit && !s.io.error) {
		const uint8_t *lf = memchr(data + off, '\n', size - off);
		size_t n = lf ? (size_t)(lf - (data + off)) + 1 : size - off;
		memcpy(line, data + off, n);
		line[n] = 0;
		off += n;
		one_line(line, n, sv[1]);
	}
	io_flush(&s.io);
	smtpd_reset(&s);
	check(s.nrcpt == 0 && s.rcpts == NULL);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
