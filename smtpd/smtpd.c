/*
 * smtpd.c - smtpd(8): the SMTP server, the only program that reads bytes
 * from strangers.
 *
 * A process per session: the process master starts is the listener, which
 * has read the config, opened maps and log, chrooted and dropped
 * privileges, and forks (without exec, as master's child) a process for
 * each client that serves that one session and exits (service_fork.c,
 * smtpd(8) "Processes"): sessions share every loaded page copy-on-write
 * and none ever sees another's memory.
 * Trusts: nothing from the client.  Never: writes anything but requests
 * to cleanup(8); holds more input than its fixed buffers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr_class.h"
#include "cidr.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "service.h"
#include "smtpd.h"
#include "stats.h"

static struct cidr_list mynetworks;

#define ANVIL_TIMEOUT_MS 1000

/*
 * The connection limits are counted by anvil(8), one process for all of
 * smtpd: each session of an untrusted client holds one connection to it,
 * and its closing (even by a crash) gives the slot back.  When anvil
 * cannot be reached the session goes on: a missing counter must not stop
 * mail.
 */
static struct ipc *anvil;

static void
anvil_done(void)
{
	if (anvil != NULL)
		ipc_free(anvil);
	anvil = NULL;
}

/* anvil_ask - this session's count and rate; -1 when anvil is away. */
static int
anvil_ask(const char *addr, long *count, long *rate)
{
	struct attrs a;
	int fd = ipc_connect_unix("private/anvil"), ok1 = 0, ok2 = 0;

	if (fd < 0) {
		log_warn("connect to private/anvil: %m (session not counted)");
		return -1;
	}
	anvil = ipc_new(fd, ANVIL_TIMEOUT_MS);
	ipc_put_str(anvil, "req", "connect");
	ipc_put_str(anvil, "addr", addr);
	attrs_init(&a);
	if (ipc_end(anvil) == IPC_OK && ipc_read(anvil, &a) == IPC_OK) {
		*count = attrs_get_long(&a, "count", &ok1);
		*rate = attrs_get_long(&a, "rate", &ok2);
	}
	attrs_free(&a);
	if (!ok1 || !ok2) {
		log_warn("no answer from anvil (session not counted)");
		anvil_done();
		return -1;
	}
	return 0;
}

/* session_limited - over a per-client connection limit: 421 given. */
static int
session_limited(struct smtpd_session *s, const char *client)
{
	long count = 0, rate = 0;
	const char *what;

	if (s->trusted || (cfg.smtpd_client_connection_count_limit == 0 &&
			   cfg.smtpd_client_connection_rate_limit == 0))
		return 0;
	if (anvil_ask(s->client_addr, &count, &rate) != 0)
		return 0;
	if (cfg.smtpd_client_connection_count_limit > 0 &&
	    count > cfg.smtpd_client_connection_count_limit)
		what = "count";
	else if (cfg.smtpd_client_connection_rate_limit > 0 &&
		 rate > cfg.smtpd_client_connection_rate_limit)
		what = "rate";
	else
		return 0;
	io_printf(&s->io, "421 4.7.0 %s Error: too many connections from %s"
		  "\r\n", cfg.myhostname, s->client_addr);
	log_warn("connection %s limit exceeded: %ld from %s for service "
		 "smtpd", what, what[0] == 'c' ? count : rate, client);
	stats_inc(ST_REJECT_CONN_LIMIT);
	return 1;
}

static void
client_address(struct smtpd_session *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	snprintf(s->client_addr, sizeof(s->client_addr), "unknown");
	snprintf(s->client_name, sizeof(s->client_name), "unknown");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			  s->client_addr, sizeof(s->client_addr));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			  s->client_addr, sizeof(s->client_addr));
}

static void
log_disconnect(struct smtpd_session *s)
{
	char line[512], client[400];
	int n = 0;
	const struct {
		const char *name;
		int v;
	} c[] = {{"ehlo", s->n_ehlo}, {"helo", s->n_helo},
		 {"mail", s->n_mail}, {"rcpt", s->n_rcpt},
		 {"data", s->n_data}, {"rset", s->n_rset},
		 {"quit", s->n_quit}};

	line[0] = 0;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (c[i].v && n < (int)sizeof(line))
			n += snprintf(line + n, sizeof(line) - (size_t)n,
				      " %s=%d", c[i].name, c[i].v);
	smtpd_client_label(s, client, sizeof(client));
	log_info("disconnect from %s%s commands=%d", client, line,
		 s->n_commands);
}

/* read_command - one command line; 0, or -1 when the session ends. */
static int
read_command(struct smtpd_session *s, char *line, size_t cap)
{
	size_t len;
	enum io_line rc = io_read_line(&s->io, line, cap, &len);

	if (rc == LINE_PART) {
		/* answer once, at once, then discard the rest of the line
		 * in pieces: memory stays bounded however long it is */
		char junk[256];
		if (smtpd_error(s))
			return -1;
		io_printf(&s->io, "500 5.5.2 Error: line too long\r\n");
		stats_inc(ST_REJECT_SYNTAX);
		while ((rc = io_read_line(&s->io, junk, sizeof(junk), &len)) ==
		       LINE_PART)
			;
		if (rc != LINE_OK)
			return -1;
		line[0] = 0;
		s->answered = 1;
		return 0;
	}
	if (rc == LINE_TIMEOUT)
		io_printf(&s->io, "421 4.4.2 %s Error: timeout exceeded\r\n",
			  cfg.myhostname);
	if (rc != LINE_OK)
		return -1;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = 0;
	if (memchr(line, 0, len) != NULL) {
		line[0] = 0;
		s->answered = 1;
		if (!smtpd_error(s))
			io_printf(&s->io, "500 5.5.2 Error: NUL in command\r\n");
		stats_inc(ST_REJECT_SYNTAX);
	}
	return 0;
}

/*
 * pregreet - an untrusted client that talks before our greeting is a
 * bot that does not wait for the server (RFC 5321 3.1 says to wait):
 * wait smtpd_pregreet_wait_ms for its first bytes, and refuse it with a
 * 554 greeting, after which the session only waits for QUIT (3.1).
 */
static int
pregreet(struct smtpd_session *s, const char *client)
{
	struct pollfd p = {.fd = s->io.fd, .events = POLLIN};
	char c;
	int n;

	if (s->trusted || cfg.smtpd_pregreet_wait_ms == 0)
		return 0;
	while ((n = poll(&p, 1, (int)cfg.smtpd_pregreet_wait_ms)) < 0 &&
	       errno == EINTR)
		;
	if (n <= 0 || recv(s->io.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 1)
		return 0;
	io_printf(&s->io, "554 5.5.0 %s Error: talking before the greeting"
		  "\r\n", cfg.myhostname);
	log_info("reject: pregreet from %s", client);
	stats_inc(ST_REJECT_PREGREET);
	return 1;
}

/* implicit_tls - role smtps (RFC 8314): the handshake before anything
 * else; 0, or -1 when the session must end (no reply: no TLS). */
static int
implicit_tls(struct smtpd_session *s, const char *client)
{
	if (!smtpd_tls_available()) {
		log_warn("smtps: no smtpd_tls_cert_file: connection from %s "
			 "closed", client);
		return -1;
	}
	if (smtpd_tls_start(s) != 0) {
		stats_inc(ST_SMTPD_TLS_FAIL);
		return -1;
	}
	log_info("Anonymous TLS connection established from %s: %s", client,
		 s->tls);
	stats_inc(ST_SMTPD_TLS_OK);
	return 0;
}

/* serve() clears the session after its I/O buffers */
_Static_assert(offsetof(struct smtpd_session, io) == 0,
	       "struct smtpd_session must begin with its io");

static void
serve(int fd)
{
	struct smtpd_session s;
	char line[SMTPD_CMD_BUF], client[400];

	/* all but the I/O buffers, which io_init leaves untouched */
	memset((char *)&s + sizeof(s.io), 0, sizeof(s) - sizeof(s.io));
	io_init(&s.io, fd, (int)cfg.smtpd_timeout);
	client_address(&s, fd);
	smtpd_client_hostname(s.client_addr, s.client_name,
			      sizeof(s.client_name));
	s.trusted = cidr_match(&mynetworks, s.client_addr);
	smtpd_access_connect(&s);
	smtpd_reset(&s);
	smtpd_client_label(&s, client, sizeof(client));
	log_info("connect from %s", client);
	stats_inc(ST_SMTPD_CONNECT);
	if (smtpd_role == ROLE_SMTPS && implicit_tls(&s, client) != 0) {
		s.quit = 1;
	} else if (smtpd_role != ROLE_SMTPS && pregreet(&s, client)) {
		s.refused = 1;
	} else if (session_limited(&s, client)) {
		s.quit = 1;
	} else {
		io_printf(&s.io, "220 %s %s\r\n", cfg.myhostname,
			  cfg.smtpd_banner);
	}
	/* on the submission ports only AUTH opens relaying, not mynetworks
	 * (smtpd_mail_gate asks for AUTH before MAIL anyway) */
	if (smtpd_role != ROLE_SMTPD)
		s.trusted = 0;
	s.net_trusted = s.trusted;
	while (!s.quit && !s.io.error) {
		if (read_command(&s, line, sizeof(line)) != 0)
			break;
		if (line[0] == 0) {
			/* an empty line, or one already answered */
			if (!s.answered && !smtpd_error(&s))
				io_printf(&s.io, "500 5.5.2 Error: bad syntax\r\n");
			s.answered = 0;
			continue;
		}
		smtpd_command(&s, line);
	}
	io_flush(&s.io);
	anvil_done();
	smtpd_data_end(&s);
	smtpd_auth_end();
	log_disconnect(&s);
	smtpd_reset(&s);
	if (close(fd) != 0)
		log_warn("close: %m");
}

/* open_maps - the maps smtpd reads, opened before the chroot */
static void
open_maps(void)
{
	smtpd_submit_init();
	smtpd_access_init();
}

int
main(int argc, char **argv)
{
	char err[256];

	/* master runs us under the service's name: smtpd, submission, smtps */
	smtpd_role_set(argc > 0 ? argv[0] : "smtpd");
	service_before_drop = open_maps;
	addr_srs_verify = 1; /* refuse forged SRS bounces at RCPT */
	service_init(smtpd_role_name(), argc, argv);
	if (cidr_list_parse(cfg.mynetworks, &mynetworks, err, sizeof(err)))
		log_fatal("mynetworks: %s", err);
	service_fork_loop(serve);
	return 0;
}
