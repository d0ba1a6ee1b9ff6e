/*
 * smtpd.c - smtpd(8): the SMTP server, the only program that reads bytes
 * from strangers.
 *
 * Each process serves one session at a time and many sessions in its life
 * (service_loop); master starts more processes while clients wait.
 * Trusts: nothing from the client.  Never: writes anything but requests
 * to cleanup(8); holds more input than its fixed buffers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "service.h"
#include "smtpd.h"

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
		/* discard the rest of an overlong line, answer once */
		char junk[256];
		while ((rc = io_read_line(&s->io, junk, sizeof(junk), &len)) ==
		       LINE_PART)
			;
		if (rc != LINE_OK)
			return -1;
		if (!smtpd_error(s))
			io_printf(&s->io, "500 5.5.2 Error: line too long\r\n");
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
	}
	return 0;
}

static void
serve(int fd)
{
	struct smtpd_session s;
	char line[LIM_SMTP_LINE_EXT + 2], client[400];

	memset(&s, 0, sizeof(s));
	io_init(&s.io, fd, (int)cfg.smtpd_timeout);
	client_address(&s, fd);
	smtpd_reset(&s);
	smtpd_client_label(&s, client, sizeof(client));
	log_info("connect from %s", client);
	io_printf(&s.io, "220 %s %s\r\n", cfg.myhostname, cfg.smtpd_banner);
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
	log_disconnect(&s);
	smtpd_reset(&s);
	if (close(fd) != 0)
		log_warn("close: %m");
}

int
main(int argc, char **argv)
{
	service_init("smtpd", argc, argv);
	service_loop(serve);
	return 0;
}
