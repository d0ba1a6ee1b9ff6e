/*
 * smtpd_cmd.c - the SMTP commands of smtpd(8) other than DATA and BDAT.
 *
 * Every command has one defined answer with an enhanced status code
 * (RFC 3463); smtpd(8) lists them all.  Recipients are checked here, at
 * RCPT time, so mail we cannot deliver is refused in the session, never
 * bounced later.  ESMTP parameters: SIZE, BODY (RFC 1870, 6152),
 * SMTPUTF8 (RFC 6531), RET, ENVID, NOTIFY, ORCPT (RFC 3461).
 * Trusts: nothing in the command line.  Never: accepts a recipient it
 * has not classified; lets a client exceed the recipient limit; accepts
 * an 8-bit address without SMTPUTF8.
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
#include "stats.h"

void
smtpd_client_label(const struct smtpd_session *s, char *out, size_t len)
{
	snprintf(out, len, "%s[%s]", s->client_name, s->client_addr);
}

void
smtpd_reset(struct smtpd_session *s)
{
	smtpd_bdat_abort(s);
	for (int i = 0; i < s->nrcpt; i++) {
		free(s->rcpts[i]);
		free(s->orcpts[i]);
		free(s->notify[i]);
	}
	free(s->rcpts);
	free(s->orcpts);
	free(s->notify);
	s->rcpts = s->orcpts = s->notify = NULL;
	s->nrcpt = 0;
	s->have_mail = 0;
	s->sender[0] = 0;
	s->smtputf8 = 0;
	s->ret[0] = 0;
	s->envid[0] = 0;
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
	stats_inc(ST_REJECT_ERRORS);
	s->quit = 1;
	return 1;
}

void reply_error(struct smtpd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* reply_error - an error reply that counts toward smtpd_error_limit. */
void
reply_error(struct smtpd_session *s, const char *fmt, ...)
{
	char buf[SMTPD_CMD_BUF + 128];
	va_list ap;

	if (smtpd_error(s))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strncmp(buf, "500 ", 4) == 0 || strncmp(buf, "501 ", 4) == 0)
		stats_inc(ST_REJECT_SYNTAX); /* RFC 5321's syntax errors */
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
		  "250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
		  "250-DSN\r\n%s%s250 ENHANCEDSTATUSCODES\r\n",
		  cfg.myhostname, cfg.message_size_limit,
		  smtpd_tls_available() && !smtpd_tls_active(s) ? "250-STARTTLS\r\n"
							      : "",
		  smtpd_auth_offered(s) ? "250-AUTH PLAIN LOGIN\r\n" : "");
}

/*
 * xtext_decode - RFC 3461 4: "+XX" (upper-case hex) stands for one octet;
 * other characters are printable ASCII but "+" and "=".  The decoded
 * text must be printable ASCII too (it goes into a bounce's headers).
 * -1 on bad syntax or when it does not fit in max octets.
 */
static int
xtext_decode(const char *in, char *out, size_t max)
{
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '+') {
			const char *hex = "0123456789ABCDEF";
			const char *h = p[1] ? strchr(hex, p[1]) : NULL;
			const char *l = h && p[2] ? strchr(hex, p[2]) : NULL;
			if (l == NULL)
				return -1;
			c = (unsigned char)((h - hex) * 16 + (l - hex));
			p += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return -1;
		}
		if (c < 32 || c > 126 || n >= max)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = 0;
	return 0;
}

/*
 * shown - a client's parameter as a reply may quote it: RFC 5321 4.2
 * allows only printable ASCII in reply text and 4.5.3.1.5 512 octets in
 * a reply line, and a MAIL or RCPT line may be longer and hold UTF-8.
 * One buffer: one quote per reply.
 */
static const char *
shown(const char *param)
{
	static char buf[SMTPD_SHOWN_MAX + 4];
	size_t n = 0;

	for (; *param && n < SMTPD_SHOWN_MAX; param++, n++)
		buf[n] = *param > 32 && *param < 127 ? *param : '?';
	snprintf(buf + n, sizeof(buf) - n, "%s", *param ? "..." : "");
	return buf;
}

/* size_param - SIZE=; 0, or -1 after a reply was given. */
static int
size_param(struct smtpd_session *s, const char *param, const char *d)
{
	/* RFC 1870: 1*20DIGIT, no sign, no space */
	size_t nd = strspn(d, "0123456789");
	errno = 0;
	unsigned long long v = strtoull(d, NULL, 10);

	if (nd == 0 || nd > 20 || d[nd] != 0) {
		reply_error(s, "501 5.5.4 Bad SIZE parameter: %s\r\n",
			    shown(param));
		return -1;
	}
	if (errno == ERANGE ||
	    v > (unsigned long long)cfg.message_size_limit) {
		io_printf(&s->io, "552 5.3.4 Message size exceeds fixed "
			  "limit\r\n");
		stats_inc(ST_REJECT_SIZE);
		return -1;
	}
	return 0;
}

/* what a MAIL command gave already: a parameter twice is an error */
enum { SEEN_SIZE = 1, SEEN_BODY = 2 };

/* mail_param - one MAIL parameter; 0, or -1 after a reply was given. */
static int
mail_param(struct smtpd_session *s, const char *param, unsigned *seen)
{
	const char *eq = strchr(param, '=');
	const char *v = eq ? eq + 1 : "";
	size_t kn = eq ? (size_t)(eq - param) : strlen(param);

#define KEY(k) (kn == sizeof(k) - 1 && strncasecmp(param, k, kn) == 0)
	if (KEY("SIZE")) {
		if (*seen & SEEN_SIZE)
			goto bad;
		*seen |= SEEN_SIZE;
		return size_param(s, param, v);
	}
	if (KEY("BODY")) {
		if ((*seen & SEEN_BODY) || (strcasecmp(v, "7BIT") != 0 &&
					    strcasecmp(v, "8BITMIME") != 0))
			goto bad;
		*seen |= SEEN_BODY;
		snprintf(s->body_type, sizeof(s->body_type), "%s", v);
		for (char *p = s->body_type; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		return 0;
	}
	if (KEY("SMTPUTF8") && eq == NULL) {
		s->smtputf8 = 1;
		return 0;
	}
	if (KEY("RET")) {
		if (s->ret[0] ||
		    (strcasecmp(v, "FULL") != 0 && strcasecmp(v, "HDRS") != 0))
			goto bad;
		snprintf(s->ret, sizeof(s->ret), "%s",
			 toupper((unsigned char)v[0]) == 'F' ? "FULL" : "HDRS");
		return 0;
	}
	if (KEY("ENVID")) {
		if (s->envid[0] || *v == 0 ||
		    xtext_decode(v, s->envid, SMTPD_ENVID_MAX) != 0) {
			s->envid[0] = 0;
			goto bad;
		}
		return 0;
	}
#undef KEY
	reply_error(s, "555 5.5.4 Unsupported option: %s\r\n",
		    shown(param));
	return -1;
bad:
	reply_error(s, "501 5.5.4 Bad parameter: %s\r\n", shown(param));
	return -1;
}

/* each_param - call fn for each space-separated parameter in p. */
static int
each_param(struct smtpd_session *s, const char *p,
	   int (*fn)(struct smtpd_session *, const char *, void *), void *ctx)
{
	char param[SMTPD_CMD_BUF];

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
				    shown(param));
			return -1;
		}
		if (fn(s, param, ctx) != 0)
			return -1;
	}
	return 0;
}

static int
mail_param_cb(struct smtpd_session *s, const char *param, void *ctx)
{
	return mail_param(s, param, ctx);
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

/* utf8_valid - well-formed UTF-8 (RFC 3629), no overlongs/surrogates. */
static int
utf8_valid(const unsigned char *p)
{
	while (*p) {
		int n;
		unsigned c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return 0;
		unsigned v = c & (0x3f >> n);
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			v = (v << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
		    (n == 3 && (v < 0x10000 || v > 0x10ffff)))
			return 0;
		p += n + 1;
	}
	return 1;
}

static int
has_8bit(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return 1;
	return 0;
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
	if (smtpd_mail_gate(s))
		return;
	if (p == NULL)
		return reply_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>"
				   "\r\n");
	if (addr_parse_path(p, ADDR_ALLOW_NULL | ADDR_ALLOW_UTF8, &a, &rest,
			    &why) != 0)
		return reply_error(s, "501 5.1.7 Bad sender address syntax: "
				   "%s\r\n", why);
	if (!utf8_valid((const unsigned char *)p))
		return reply_error(s, "501 5.1.7 Bad sender address syntax: "
				   "not UTF-8\r\n");
	if (smtpd_sender_refused(s, &a))
		return;
	smtpd_reset(s);
	unsigned seen = 0;
	if (each_param(s, rest, mail_param_cb, &seen) != 0) {
		smtpd_reset(s);
		return;
	}
	if (has_8bit(a.local) || has_8bit(a.domain)) {
		if (!s->smtputf8) {
			smtpd_reset(s);
			return reply_error(s, "553 5.6.7 Must declare SMTPUTF8 "
					   "to send a UTF-8 address\r\n");
		}
	}
	if (addr_format(&a, s->sender, sizeof(s->sender)) != 0) {
		smtpd_reset(s);
		return reply_error(s, "501 5.1.7 Sender address too long\r\n");
	}
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

struct rcpt_dsn {
	char notify[40];
	char orcpt[SMTPD_ORCPT_MAX + 1];
};

/* notify_param - NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY. */
static int
notify_param(const char *v, char *out, size_t len)
{
	char item[16];
	int seen = 0, never = 0;
	const char *names[] = {"SUCCESS", "FAILURE", "DELAY"};

	out[0] = 0;
	while (*v) {
		size_t n = strcspn(v, ",");
		if (n == 0 || n >= sizeof(item))
			return -1;
		snprintf(item, sizeof(item), "%.*s", (int)n, v);
		v += n + (v[n] == ',');
		if (strcasecmp(item, "NEVER") == 0) {
			never = 1;
			seen |= 8;
			continue;
		}
		int i = 0;
		while (i < 3 && strcasecmp(item, names[i]) != 0)
			i++;
		if (i == 3 || (seen & (1 << i)))
			return -1;
		seen |= 1 << i;
	}
	if (seen == 0 || (never && seen != 8))
		return -1;
	if (never)
		return snprintf(out, len, "NEVER"), 0;
	for (int i = 0; i < 3; i++)
		if (seen & (1 << i))
			snprintf(out + strlen(out), len - strlen(out), "%s%s",
				 out[0] ? "," : "", names[i]);
	return 0;
}

/* orcpt_param - "addr-type;xtext"; out: "type;decoded". */
static int
orcpt_param(const char *v, char *out, size_t len)
{
	const char *semi = strchr(v, ';');
	char dec[SMTPD_ORCPT_MAX + 1];
	size_t tn = semi ? (size_t)(semi - v) : 0;

	if (tn == 0 || tn > 20 || semi[1] == 0)
		return -1;
	for (size_t i = 0; i < tn; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			return -1;
	if (xtext_decode(semi + 1, dec, sizeof(dec) - 1) != 0)
		return -1;
	int n = snprintf(out, len, "%.*s;%s", (int)tn, v, dec);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
rcpt_param_cb(struct smtpd_session *s, const char *param, void *ctx)
{
	struct rcpt_dsn *d = ctx;

	if (strncasecmp(param, "NOTIFY=", 7) == 0) {
		if (d->notify[0] == 0 &&
		    notify_param(param + 7, d->notify, sizeof(d->notify)) == 0)
			return 0;
	} else if (strncasecmp(param, "ORCPT=", 6) == 0) {
		if (d->orcpt[0] == 0 &&
		    orcpt_param(param + 6, d->orcpt, sizeof(d->orcpt)) == 0)
			return 0;
	} else {
		reply_error(s, "555 5.5.4 Unsupported option: %s\r\n",
			    shown(param));
		return -1;
	}
	reply_error(s, "501 5.5.4 Bad parameter: %s\r\n", shown(param));
	return -1;
}

/* rcpt_refuse - the recipient cannot be accepted: the reply, or NULL. */
static const char *
rcpt_refuse(struct smtpd_session *s, struct addr *a, const char *rcpt,
	    char *reply, size_t len)
{
	char user[sizeof(a->local)];

	if (addr_domain_class(a->domain) == AC_REMOTE && !s->trusted) {
		snprintf(reply, len, "554 5.7.1 <%s>: Relay access denied",
			 rcpt);
		stats_inc(ST_REJECT_RELAY);
		return reply;
	}
	if (addr_domain_class(a->domain) != AC_REMOTE &&
	    addr_mailbox_user(a->local, cfg.recipient_delimiter[0], user,
			      sizeof(user)) != 0) {
		snprintf(reply, len, "550 5.1.3 <%s>: Recipient address "
			 "rejected: not a valid mailbox name", rcpt);
		return reply;
	}
	return NULL;
}

/* rcpt_add - keep an accepted recipient; -1 when out of memory. */
static int
rcpt_add(struct smtpd_session *s, const char *rcpt, const struct rcpt_dsn *d)
{
	size_t n = (size_t)s->nrcpt + 1;
	char **r = realloc(s->rcpts, n * sizeof(char *));

	if (r != NULL)
		s->rcpts = r;
	char **o = realloc(s->orcpts, n * sizeof(char *));
	if (o != NULL)
		s->orcpts = o;
	char **t = realloc(s->notify, n * sizeof(char *));
	if (t != NULL)
		s->notify = t;
	if (r == NULL || o == NULL || t == NULL)
		return -1;
	r[s->nrcpt] = strdup(rcpt);
	o[s->nrcpt] = d->orcpt[0] ? strdup(d->orcpt) : NULL;
	t[s->nrcpt] = d->notify[0] ? strdup(d->notify) : NULL;
	if (r[s->nrcpt] == NULL || (d->orcpt[0] && o[s->nrcpt] == NULL) ||
	    (d->notify[0] && t[s->nrcpt] == NULL)) {
		free(r[s->nrcpt]);
		free(o[s->nrcpt]);
		free(t[s->nrcpt]);
		return -1;
	}
	s->nrcpt++;
	return 0;
}

static void
cmd_rcpt(struct smtpd_session *s, char *arg)
{
	const char *p = path_arg(arg, "TO:"), *rest, *why, *no;
	char rcpt[LIM_PATH + 1], reply[LIM_PATH + 128];
	struct addr a;
	struct rcpt_dsn d;

	if (!s->have_mail)
		return reply_error(s, "503 5.5.1 Error: need MAIL command\r\n");
	if (s->bdat != NULL)
		return reply_error(s, "503 5.5.1 Error: RCPT during BDAT\r\n");
	if (p == NULL)
		return reply_error(s, "501 5.5.4 Syntax: RCPT TO:<address>"
				   "\r\n");
	if (addr_parse_path(p, ADDR_ALLOW_NODOMAIN | ADDR_ALLOW_UTF8, &a,
			    &rest, &why) != 0)
		return reply_error(s, "501 5.1.3 Bad recipient address "
				   "syntax: %s\r\n", why);
	if (!utf8_valid((const unsigned char *)p))
		return reply_error(s, "501 5.1.3 Bad recipient address "
				   "syntax: not UTF-8\r\n");
	if ((has_8bit(a.local) || has_8bit(a.domain)) && !s->smtputf8)
		return reply_error(s, "553 5.6.7 Must declare SMTPUTF8 to "
				   "send a UTF-8 address\r\n");
	memset(&d, 0, sizeof(d));
	if (each_param(s, rest, rcpt_param_cb, &d) != 0)
		return;
	if (a.domain[0] == 0)
		first_destination(a.domain, sizeof(a.domain));
	if (addr_format(&a, rcpt, sizeof(rcpt)) != 0)
		return reply_error(s, "501 5.1.3 Recipient address too long"
				   "\r\n");
	char refused[SMTPD_ACCESS_REPLY];
	if ((no = smtpd_access_refuse(s, refused, sizeof(refused))) != NULL ||
	    (no = rcpt_refuse(s, &a, rcpt, reply, sizeof(reply))) != NULL ||
	    (no = smtpd_access_refuse_rcpt(s, a.local, a.domain, rcpt, refused,
					   sizeof(refused))) != NULL) {
		reject_log(s, "RCPT", no, rcpt);
		if (strncmp(no, "421", 3) == 0) {
			/* RFC 5321 3.8: a 421 announces the close */
			io_printf(&s->io, "%s\r\n", no);
			s->quit = 1;
			return;
		}
		return reply_error(s, "%s\r\n", no);
	}
	int known = addr_recipient_known(a.local, a.domain);
	if (known <= 0) {
		snprintf(reply, sizeof(reply), known < 0 ? "451 4.3.0 <%s>: "
			 "Temporary lookup failure" : "550 5.1.1 <%s>: "
			 "Recipient address rejected: User unknown", rcpt);
		stats_inc(known == 0 ? ST_REJECT_UNKNOWN_USER : ST_COUNT);
		reject_log(s, "RCPT", reply, rcpt);
		return reply_error(s, "%s\r\n", reply);
	}
	if (s->nrcpt >= cfg.smtpd_recipient_limit) {
		io_printf(&s->io, "452 4.5.3 Error: too many recipients\r\n");
		return;
	}
	if (rcpt_add(s, rcpt, &d) != 0) {
		io_printf(&s->io, "451 4.3.0 Error: out of memory\r\n");
		return;
	}
	io_printf(&s->io, "250 2.1.5 Ok\r\n");
}

/* line_limit - the longest line (CRLF included) this verb may use. */
static size_t
line_limit(const char *verb)
{
	size_t n = (size_t)cfg.smtpd_line_limit;

	if (strcasecmp(verb, "MAIL") == 0)
		return n + SMTPD_MAIL_EXTRA;
	if (strcasecmp(verb, "RCPT") == 0)
		return n + SMTPD_RCPT_EXTRA;
	return n;
}

/* line_refused - length and bytes every command must respect. */
static int
line_refused(struct smtpd_session *s, const char *verb, const char *line)
{
	size_t len = strlen(line);
	int addr_cmd = strcasecmp(verb, "MAIL") == 0 ||
		       strcasecmp(verb, "RCPT") == 0;

	if (len + 2 > line_limit(verb)) {
		reply_error(s, "500 5.5.2 Error: line too long\r\n");
		return 1;
	}
	for (const char *p = line; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 32 && c != '\t') || c == 127 ||
		    (c >= 0x80 && !addr_cmd)) {
			reply_error(s, "500 5.5.2 Error: bad character in "
				    "command\r\n");
			return 1;
		}
	}
	return 0;
}

/* pipelining_abuse - bytes after a command that must end a group. */
static int
pipelining_abuse(struct smtpd_session *s, const char *verb)
{
	char client[400];

	if (!io_input_ready(&s->io))
		return 0;
	io_printf(&s->io, "554 5.5.0 Error: improper command pipelining "
		  "after %s\r\n", verb);
	smtpd_client_label(s, client, sizeof(client));
	log_info("improper command pipelining after %s from %s", verb,
		 client);
	stats_inc(ST_REJECT_PIPELINING);
	s->quit = 1;
	return 1;
}

static void
cmd_other(struct smtpd_session *s, const char *verb, const char *arg)
{
	s->n_other++;
	if (strcasecmp(verb, "NOOP") == 0) {
		io_printf(&s->io, "250 2.0.0 Ok\r\n");
	} else if (strcasecmp(verb, "HELP") == 0) {
		io_printf(&s->io, "214 2.0.0 Commands: EHLO HELO MAIL RCPT "
			  "DATA BDAT RSET NOOP QUIT HELP VRFY\r\n");
	} else if (strcasecmp(verb, "VRFY") == 0) {
		smtpd_vrfy(s, arg);
	} else if (strcasecmp(verb, "EXPN") == 0) {
		smtpd_expn(s, arg);
	} else {
		smtpd_verb(s);
	}
}

/*
 * cmd_starttls - RFC 3207.  Whatever the client pipelined behind the
 * command was sent in plaintext and could have been injected by anyone
 * on the path (CVE-2011-0411): the session is refused, not continued.
 * After the handshake every earlier state is forgotten.
 */
static void
cmd_starttls(struct smtpd_session *s, const char *arg)
{
	char client[400];

	if (!smtpd_tls_available())
		return reply_error(s, "502 5.5.1 Error: STARTTLS is not "
				   "offered\r\n");
	if (smtpd_tls_active(s))
		return reply_error(s, "503 5.5.1 Error: TLS already active"
				   "\r\n");
	if (*arg)
		return reply_error(s, "501 5.5.4 Syntax: STARTTLS\r\n");
	if (io_input_pending(&s->io)) {
		smtpd_client_label(s, client, sizeof(client));
		log_info("reject: plaintext pipelined after STARTTLS from %s",
			 client);
		io_printf(&s->io, "554 5.5.0 Error: command pipelined after "
			  "STARTTLS\r\n");
		stats_inc(ST_REJECT_PIPELINING);
		s->quit = 1;
		return;
	}
	io_printf(&s->io, "220 2.0.0 Ready to start TLS\r\n");
	if (io_flush(&s->io) != 0 || smtpd_tls_start(s) != 0) {
		stats_inc(ST_SMTPD_TLS_FAIL);
		s->quit = 1;
		s->io.error = 1;
		return;
	}
	smtpd_reset(s);
	s->helo[0] = 0;
	s->esmtp = 0;
	s->verbose = 0;
	s->auth_user[0] = 0; /* an AUTH in the clear is forgotten too */
	s->trusted = s->net_trusted;
	smtpd_client_label(s, client, sizeof(client));
	log_info("Anonymous TLS connection established from %s: %s", client,
		 s->tls);
	stats_inc(ST_SMTPD_TLS_OK);
}

void
smtpd_command(struct smtpd_session *s, char *line)
{
	char *arg = line;
	size_t n = strcspn(line, " ");
	char verb[16];

	snprintf(verb, sizeof(verb), "%.*s", (int)(n < 15 ? n : 15), line);
	arg = line + n;
	if (line_refused(s, verb, line))
		return;
	if (s->refused) {
		/* RFC 5321 3.1: after a 554 greeting, 503 until QUIT */
		if (strcasecmp(verb, "QUIT") != 0 || arg[strspn(arg, " ")])
			return reply_error(s, "503 5.5.1 Error: this session "
					   "was refused; send QUIT\r\n");
		io_printf(&s->io, "221 2.0.0 Bye\r\n");
		s->quit = 1;
		return;
	}
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
		else if (s->bdat != NULL)
			reply_error(s, "503 5.5.1 Error: DATA during BDAT\r\n");
		else if (s->have_mail && s->nrcpt > 0 &&
			 pipelining_abuse(s, "DATA"))
			return;
		else
			smtpd_data(s);
	} else if (strcasecmp(verb, "BDAT") == 0) {
		s->n_data++;
		smtpd_bdat(s, arg);
	} else if (strcasecmp(verb, "AUTH") == 0) {
		s->n_other++;
		smtpd_auth(s, arg);
	} else if (strcasecmp(verb, "STARTTLS") == 0) {
		s->n_other++;
		cmd_starttls(s, arg);
	} else if (strcasecmp(verb, "RSET") == 0) {
		s->n_rset++;
		/* RFC 5321 4.1.1.5: "RSET" CRLF, no parameters */
		if (arg[strspn(arg, " ")])
			return reply_error(s, "501 5.5.4 Syntax: RSET\r\n");
		smtpd_reset(s);
		io_printf(&s->io, "250 2.0.0 Ok\r\n");
	} else if (strcasecmp(verb, "QUIT") == 0) {
		s->n_quit++;
		/* RFC 5321 4.1.1.10: "QUIT" CRLF, no parameters */
		if (arg[strspn(arg, " ")])
			return reply_error(s, "501 5.5.4 Syntax: QUIT\r\n");
		if (pipelining_abuse(s, "QUIT"))
			return;
		io_printf(&s->io, "221 2.0.0 Bye\r\n");
		s->quit = 1;
	} else if (strcasecmp(verb, "NOOP") == 0 ||
		   strcasecmp(verb, "HELP") == 0 ||
		   strcasecmp(verb, "VRFY") == 0 ||
		   strcasecmp(verb, "EXPN") == 0 ||
		   strcasecmp(verb, "VERB") == 0) {
		cmd_other(s, verb, arg);
	} else {
		s->n_commands--;
		reply_error(s, "500 5.5.2 Error: command not recognized\r\n");
	}
}
