/*
 * smtpd_cmd.c - the SMTP commands of smtpd(8) other than DATA.
 *
 * Every command has one defined answer with an enhanced status code
 * (RFC 3463).  Recipients are checked here, at RCPT time, so mail we
 * cannot deliver is refused in the session, never bounced later.
 * Trusts: nothing in the command line.  Never: accepts a recipient it
 * has not classified; lets a client exceed the recipient limit.
 */
#include <errno.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "addr_class.h"
#include "config.h"
#include "log.h"
#include "smtpd.h"

void
smtpd_client_label(const struct smtpd_session *s, char *out, size_t len)
{
	snprintf(out, len, "%s[%s]", s->client_name, s->client_addr);
}

void
smtpd_reset(struct smtpd_session *s)
{
	for (int i = 0; i < s->nrcpt; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpt = 0;
	s->have_mail = 0;
	s->sender[0] = 0;
	snprintf(s->body_type, sizeof(s->body_type), "7BIT");
}

/* smtpd_error - count an error; 1 when the session must end. */
int
smtpd_error(struct smtpd_session *s)
{
	if (++s->errors < cfg.smtpd_error_limit)
		return 0;
	io_printf(&s->io, "421 4.7.0 %s Error: too many errors\r\n",
		  cfg.myhostname);
	s->quit = 1;
	return 1;
}

static void reply_error(struct smtpd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* reply_error - an error reply that counts toward smtpd_error_limit. */
static void
reply_error(struct smtpd_session *s, const char *fmt, ...)
{
	char buf[LIM_SMTP_LINE_EXT + 128];
	va_list ap;

	if (smtpd_error(s))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	io_printf(&s->io, "%s", buf);
}

static void
reject_log(struct smtpd_session *s, const char *cmd, const char *reply,
	   const char *to)
{
	char client[400];

	smtpd_client_label(s, client, sizeof(client));
	log_info("NOQUEUE: reject: %s from %s: %s; from=<%s> to=<%s> "
		 "proto=%s helo=<%s>", cmd, client, reply, s->sender, to,
		 s->esmtp ? "ESMTP" : "SMTP", s->helo);
}

static void
cmd_helo(struct smtpd_session *s, char *arg, int esmtp)
{
	while (*arg == ' ')
		arg++;
	if (*arg == 0) {
		reply_error(s, "501 5.5.4 Syntax: %s hostname\r\n",
			    esmtp ? "EHLO" : "HELO");
		return;
	}
	smtpd_reset(s);
	snprintf(s->helo, sizeof(s->helo), "%s", strtok(arg, " "));
	for (char *p = s->helo; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?'; /* it goes into headers and logs */
	s->esmtp = esmtp;
	if (!esmtp) {
		io_printf(&s->io, "250 %s\r\n", cfg.myhostname);
		return;
	}
	io_printf(&s->io, "250-%s\r\n250-PIPELINING\r\n250-SIZE %ld\r\n"
		  "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
		  cfg.myhostname, cfg.message_size_limit);
}

/* mail_params - SIZE= and BODY=; 0, or -1 after a reply was given. */
static int
mail_params(struct smtpd_session *s, const char *p)
{
	char param[LIM_SMTP_LINE_EXT];

	while (*p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		snprintf(param, sizeof(param), "%.*s", (int)n, p);
		p += n;
		if (!s->esmtp) {
			reply_error(s, "555 5.5.4 %s: parameters need EHLO\r\n",
				    param);
			return -1;
		}
		if (strncasecmp(param, "SIZE=", 5) == 0) {
			/* RFC 1870: 1*20DIGIT, no sign, no space */
			const char *d = param + 5;
			size_t nd = strspn(d, "0123456789");
			errno = 0;
			unsigned long long v = strtoull(d, NULL, 10);
			if (nd == 0 || nd > 20 || d[nd] != 0) {
				reply_error(s, "501 5.5.4 Bad SIZE parameter: "
					    "%s\r\n", param);
				return -1;
			}
			if (errno == ERANGE ||
			    v > (unsigned long long)cfg.message_size_limit) {
				io_printf(&s->io, "552 5.3.4 Message size "
					  "exceeds fixed limit\r\n");
				return -1;
			}
		} else if (strncasecmp(param, "BODY=", 5) == 0) {
			if (strcasecmp(param + 5, "7BIT") != 0 &&
			    strcasecmp(param + 5, "8BITMIME") != 0) {
				reply_error(s, "501 5.5.4 Bad BODY parameter: "
					    "%s\r\n", param);
				return -1;
			}
			snprintf(s->body_type, sizeof(s->body_type), "%.15s",
				 param + 5);
		} else {
			reply_error(s, "555 5.5.4 Unsupported option: %s\r\n",
				    param);
			return -1;
		}
	}
	return 0;
}

/* path_arg - the text after "FROM:" / "TO:", or NULL. */
static const char *
path_arg(const char *arg, const char *word)
{
	size_t n = strlen(word);

	while (*arg == ' ')
		arg++;
	if (strncasecmp(arg, word, n) != 0)
		return NULL;
	arg += n;
	while (*arg == ' ')
		arg++; /* "MAIL FROM: <a@b>" is common; accept it */
	return arg;
}

static void
cmd_mail(struct smtpd_session *s, char *arg)
{
	const char *p = path_arg(arg, "FROM:"), *rest, *why;
	struct addr a;

	if (s->helo[0] == 0)
		return reply_error(s, "503 5.5.1 Error: send HELO/EHLO first"
				   "\r\n");
	if (s->have_mail)
		return reply_error(s, "503 5.5.1 Error: nested MAIL command"
				   "\r\n");
	if (p == NULL)
		return reply_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>"
				   "\r\n");
	if (addr_parse_path(p, ADDR_ALLOW_NULL, &a, &rest, &why) != 0)
		return reply_error(s, "501 5.1.7 Bad sender address syntax: "
				   "%s\r\n", why);
	snprintf(s->body_type, sizeof(s->body_type), "7BIT");
	if (mail_params(s, rest) != 0)
		return;
	if (addr_format(&a, s->sender, sizeof(s->sender)) != 0)
		return reply_error(s, "501 5.1.7 Sender address too long%s\r\n",
				   "");
	s->have_mail = 1;
	io_printf(&s->io, "250 2.1.0 Ok\r\n");
}

/* first_destination - the domain that bare "postmaster" belongs to. */
static void
first_destination(char *out, size_t len)
{
	if (config_list_next(cfg.mydestination, out, len) == NULL)
		snprintf(out, len, "%s", cfg.myhostname);
}

static void
cmd_rcpt(struct smtpd_session *s, char *arg)
{
	const char *p = path_arg(arg, "TO:"), *rest, *why;
	char rcpt[LIM_PATH + 1], reply[LIM_PATH + 128];
	struct addr a;
	char **grown;

	if (!s->have_mail)
		return reply_error(s, "503 5.5.1 Error: need MAIL command%s\r\n",
				   "");
	if (p == NULL)
		return reply_error(s, "501 5.5.4 Syntax: RCPT TO:<address>"
				   "\r\n");
	if (addr_parse_path(p, ADDR_ALLOW_NODOMAIN, &a, &rest, &why) != 0)
		return reply_error(s, "501 5.1.3 Bad recipient address "
				   "syntax: %s\r\n", why);
	while (*rest == ' ')
		rest++;
	if (*rest)
		return reply_error(s, "555 5.5.4 Unsupported option: %s\r\n",
				   rest);
	if (a.domain[0] == 0)
		first_destination(a.domain, sizeof(a.domain));
	if (addr_format(&a, rcpt, sizeof(rcpt)) != 0)
		return reply_error(s, "501 5.1.3 Recipient address too long"
				   "\r\n");
	if (addr_domain_class(a.domain) == AC_REMOTE) {
		snprintf(reply, sizeof(reply), "554 5.7.1 <%s>: Relay access "
			 "denied", rcpt);
		reject_log(s, "RCPT", reply, rcpt);
		return reply_error(s, "%s\r\n", reply);
	}
	char user[sizeof(a.local)];
	if (addr_mailbox_user(a.local, cfg.recipient_delimiter[0], user,
			      sizeof(user)) != 0) {
		snprintf(reply, sizeof(reply), "550 5.1.3 <%s>: Recipient "
			 "address rejected: not a valid mailbox name", rcpt);
		reject_log(s, "RCPT", reply, rcpt);
		return reply_error(s, "%s\r\n", reply);
	}
	int known = addr_recipient_known(a.local, a.domain);
	if (known <= 0) {
		snprintf(reply, sizeof(reply), known < 0 ? "451 4.3.0 <%s>: "
			 "Temporary lookup failure" : "550 5.1.1 <%s>: "
			 "Recipient address rejected: User unknown", rcpt);
		reject_log(s, "RCPT", reply, rcpt);
		return reply_error(s, "%s\r\n", reply);
	}
	if (s->nrcpt >= cfg.smtpd_recipient_limit) {
		io_printf(&s->io, "452 4.5.3 Error: too many recipients\r\n");
		return;
	}
	grown = realloc(s->rcpts, (size_t)(s->nrcpt + 1) * sizeof(char *));
	if (grown == NULL || (grown[s->nrcpt] = strdup(rcpt)) == NULL) {
		if (grown)
			s->rcpts = grown;
		io_printf(&s->io, "451 4.3.0 Error: out of memory\r\n");
		return;
	}
	s->rcpts = grown;
	s->nrcpt++;
	io_printf(&s->io, "250 2.1.5 Ok\r\n");
}


void
smtpd_command(struct smtpd_session *s, char *line)
{
	char *arg = line;
	size_t n = strcspn(line, " ");
	char verb[16];

	snprintf(verb, sizeof(verb), "%.*s", (int)(n < 15 ? n : 15), line);
	arg = line + n;
	s->n_commands++;
	if (strcasecmp(verb, "EHLO") == 0) {
		s->n_ehlo++;
		cmd_helo(s, arg, 1);
	} else if (strcasecmp(verb, "HELO") == 0) {
		s->n_helo++;
		cmd_helo(s, arg, 0);
	} else if (strcasecmp(verb, "MAIL") == 0) {
		s->n_mail++;
		cmd_mail(s, arg);
	} else if (strcasecmp(verb, "RCPT") == 0) {
		s->n_rcpt++;
		cmd_rcpt(s, arg);
	} else if (strcasecmp(verb, "DATA") == 0) {
		s->n_data++;
		if (*arg)
			reply_error(s, "501 5.5.4 Syntax: DATA\r\n");
		else
			smtpd_data(s);
	} else if (strcasecmp(verb, "RSET") == 0) {
		s->n_rset++;
		smtpd_reset(s);
		io_printf(&s->io, "250 2.0.0 Ok\r\n");
	} else if (strcasecmp(verb, "NOOP") == 0) {
		s->n_other++;
		io_printf(&s->io, "250 2.0.0 Ok\r\n");
	} else if (strcasecmp(verb, "QUIT") == 0) {
		s->n_quit++;
		io_printf(&s->io, "221 2.0.0 Bye\r\n");
		s->quit = 1;
	} else if (strcasecmp(verb, "HELP") == 0) {
		s->n_other++;
		io_printf(&s->io, "214 2.0.0 Commands: EHLO HELO MAIL RCPT "
			  "DATA RSET NOOP QUIT HELP VRFY\r\n");
	} else if (strcasecmp(verb, "VRFY") == 0) {
		s->n_other++;
		io_printf(&s->io, "252 2.5.2 Cannot VRFY user, but will "
			  "accept message and attempt delivery\r\n");
	} else {
		s->n_commands--;
		reply_error(s, "500 5.5.2 Error: command not recognized\r\n");
	}
}
