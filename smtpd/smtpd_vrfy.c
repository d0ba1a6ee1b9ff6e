/*
 * smtpd_vrfy.c - VRFY, EXPN and VERB: the commands that disclose what a
 * stranger must not learn (which users exist, who is on a list, how mail
 * travels inside), so each is answered truthfully only to a trusted
 * client (mynetworks or authenticated) and only when its key is on:
 * smtpd_vrfy_trusted, smtpd_expn_trusted, smtpd_verb_trusted.
 *
 * Everyone else gets VRFY 252 2.5.2 (nothing said either way), EXPN and
 * VERB 502 5.5.1.  The answers use the recipient maps RCPT uses
 * (addr_class.c) and walk aliases as local(8) does (alias_walk.c),
 * read-only.
 * Trusts: nothing in the argument; the compiled maps.
 * Never: tells an untrusted client whether an address exists; reads an
 * :include: file or runs anything; lists more than SMTPD_EXPN_MAX lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "addr_class.h"
#include "alias_walk.h"
#include "config.h"
#include "log.h"
#include "smtpd.h"

#define EXPN_ITEM ALIAS_WALK_ADDR

/* first_domain - where a bare name lives: the first mydestination, as
 * at RCPT */
static void
first_domain(char *out, size_t len)
{
	if (config_list_next(cfg.mydestination, out, len) == NULL)
		snprintf(out, len, "%s", cfg.myhostname);
}

/* word_len - up to the first space outside double quotes */
static size_t
word_len(const char *p)
{
	size_t n = 0;
	int quoted = 0;

	for (; p[n] && (quoted || p[n] != ' '); n++) {
		if (p[n] == '\\' && quoted && p[n + 1])
			n++;
		else if (p[n] == '"')
			quoted = !quoted;
	}
	return n;
}

int
smtpd_vrfy_addr(const char *arg, char *out, size_t len, const char **why)
{
	char buf[SMTPD_CMD_BUF + LIM_DOMAIN + 2], dom[LIM_DOMAIN + 1];
	const char *rest;
	struct addr a;

	while (*arg == ' ')
		arg++;
	*why = "address missing";
	if (*arg == 0)
		return VRFY_SYNTAX;
	/* "name" or "<name>": a user at our first domain */
	size_t n = word_len(arg);
	if (memchr(arg, '@', n) == NULL && n > 0) {
		int br = n >= 2 && arg[0] == '<' && arg[n - 1] == '>';
		first_domain(dom, sizeof(dom));
		int w = snprintf(buf, sizeof(buf), "<%.*s@%s>%s",
				 (int)(br ? n - 2 : n), arg + br, dom, arg + n);
		if (w < 0 || (size_t)w >= sizeof(buf)) {
			*why = "address too long";
			return VRFY_BAD_ADDRESS;
		}
		arg = buf;
	}
	if (addr_parse_path(arg, ADDR_LENIENT, &a, &rest, why) != 0)
		return VRFY_BAD_ADDRESS;
	rest += strspn(rest, " ");
	if (*rest != 0) {
		*why = "text after the address";
		return VRFY_SYNTAX;
	}
	if (addr_format(&a, out, len) != 0) {
		*why = "address too long";
		return VRFY_BAD_ADDRESS;
	}
	return VRFY_OK;
}

/* log_answer - who asked what: truthful answers are worth an audit line */
static void
log_answer(struct smtpd_session *s, const char *verb, const char *addr,
	   int code)
{
	char client[400];

	smtpd_client_label(s, client, sizeof(client));
	log_info("%s <%s> from %s: %d", verb, addr, client, code);
}

/*
 * parse_local - the argument as one of our addresses: 0 with addr set,
 * or 1 after a reply (syntax, bad mailbox name, or 252 for an address
 * that is not ours to judge).
 */
static int
parse_local(struct smtpd_session *s, const char *verb, const char *arg,
	    char *addr, size_t len, struct addr *a)
{
	char user[LIM_LOCAL_PART * 2 + 3];
	const char *why;
	int r = smtpd_vrfy_addr(arg, addr, len, &why);

	if (r == VRFY_SYNTAX) {
		reply_error(s, "501 5.5.4 Syntax: %s address\r\n", verb);
		return 1;
	}
	if (r == VRFY_BAD_ADDRESS) {
		reply_error(s, "553 5.1.3 Bad address syntax: %s\r\n", why);
		return 1;
	}
	if (addr_split(addr, a) != 0) {
		reply_error(s, "553 5.1.3 Bad address syntax\r\n");
		return 1;
	}
	enum addr_class c = addr_domain_class(a->domain);
	if (c != AC_LOCAL && c != AC_VIRTUAL) {
		io_printf(&s->io, "252 2.5.2 <%s>: not a local address; will "
			  "accept message and attempt delivery\r\n", addr);
		log_answer(s, verb, addr, 252);
		return 1;
	}
	if (addr_mailbox_user(a->local, cfg.recipient_delimiter[0], user,
			      sizeof(user)) != 0) {
		reply_error(s, "553 5.1.3 <%s>: not a valid mailbox name\r\n",
			    addr);
		return 1;
	}
	return 0;
}

/* answer_known - 250, 550 or 451 for one address by the recipient maps */
static void
answer_known(struct smtpd_session *s, const char *verb, const char *addr,
	     const struct addr *a)
{
	int known = addr_recipient_known(a->local, a->domain);

	if (known > 0)
		io_printf(&s->io, "250 2.1.5 <%s>\r\n", addr);
	else if (known == 0)
		io_printf(&s->io, "550 5.1.1 <%s>: User unknown\r\n", addr);
	else
		io_printf(&s->io, "451 4.3.0 <%s>: Temporary lookup failure"
			  "\r\n", addr);
	log_answer(s, verb, addr, known > 0 ? 250 : known == 0 ? 550 : 451);
}

void
smtpd_vrfy(struct smtpd_session *s, const char *arg)
{
	char addr[LIM_PATH + 1];
	struct addr a;

	if (arg[strspn(arg, " ")] == 0)
		return reply_error(s, "501 5.5.4 Syntax: VRFY address\r\n");
	if (!cfg.smtpd_vrfy_trusted || !s->trusted) {
		io_printf(&s->io, "252 2.5.2 Cannot VRFY user, but will "
			  "accept message and attempt delivery\r\n");
		return;
	}
	if (parse_local(s, "VRFY", arg, addr, sizeof(addr), &a) == 0)
		answer_known(s, "VRFY", addr, &a);
}

/* the lines of one EXPN answer, built before any is sent */
struct expn {
	struct alias_walk w; /* stopped once fail is set */
	char item[SMTPD_EXPN_MAX][EXPN_ITEM];
	int n;
	char fail[LIM_ERRTEXT]; /* the whole reply when it failed */
};

static void expn_fail(struct expn *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* expn_fail - the first failure is the whole answer */
static void
expn_fail(struct expn *e, const char *fmt, ...)
{
	va_list ap;

	if (e->fail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(e->fail, sizeof(e->fail), fmt, ap);
	va_end(ap);
	alias_walk_stop(&e->w);
}

/* expn_item - one line of the answer; a repeated address is listed once */
static void
expn_item(struct expn *e, const char *text, int quote)
{
	char line[EXPN_ITEM];

	snprintf(line, sizeof(line), quote ? "<\"%.250s\">" : "<%s>", text);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			*p = '?'; /* a reply line ends only at our CRLF */
	for (int i = 0; i < e->n; i++)
		if (strcasecmp(e->item[i], line) == 0)
			return;
	if (e->n >= SMTPD_EXPN_MAX) {
		expn_fail(e, "550 5.5.3 Error: the expansion has more than "
			  "%d addresses", SMTPD_EXPN_MAX);
		return;
	}
	memcpy(e->item[e->n++], line, sizeof(line));
}

/* The hooks of the alias walk (common/alias_walk.h): everything it
 * finds is a line of the answer; nothing is opened or run. */

static void
hook_bad(struct alias_walk *w, const char *addr)
{
	expn_item(w->arg, addr, 1);
}

static void
hook_remote(struct alias_walk *w, const char *addr)
{
	expn_item(w->arg, addr, 0);
}

static void
hook_mailbox(struct alias_walk *w, const char *addr, int depth, int noalias)
{
	(void)depth; /* a mailbox ends the walk at any depth */
	(void)noalias;
	expn_item(w->arg, addr, 0);
}

/* hook_special - commands, files and include files are shown, quoted */
static void
hook_special(struct alias_walk *w, enum alias_walk_special kind,
	     const char *t, int depth)
{
	(void)kind;
	(void)depth;
	expn_item(w->arg, t, 1);
}

static void
hook_fail(struct alias_walk *w, const struct alias_walk_fail *f)
{
	static const char *const what[] = {
	    [AW_LOOP] = "alias loop",
	    [AW_DEPTH] = "alias nesting deeper than alias_max_depth",
	    [AW_QUOTE] = "alias target with an unbalanced quote",
	    [AW_LOOKUP] = "Temporary lookup failure",
	};

	expn_fail(w->arg, "%d %s <%s>: %s", f->code == 4 ? 451 : 550, f->dsn,
		  f->key, what[f->what]);
}

static const struct alias_walk_ops expn_ops = {
    .bad = hook_bad,
    .remote = hook_remote,
    .mailbox = hook_mailbox,
    .special = hook_special,
    .fail = hook_fail,
};

/* expn_send - the answer: one line per target (RFC 5321 3.5.2) */
static void
expn_send(struct smtpd_session *s, const struct expn *e)
{
	for (int i = 0; i < e->n; i++)
		io_printf(&s->io, "250%c2.1.5 %s\r\n",
			  i + 1 < e->n ? '-' : ' ', e->item[i]);
}

void
smtpd_expn(struct smtpd_session *s, const char *arg)
{
	char addr[LIM_PATH + 1], val[LIM_MAP_VALUE];
	struct addr a;

	if (!cfg.smtpd_expn_trusted || !s->trusted)
		return reply_error(s, "502 5.5.1 Error: EXPN is disabled\r\n");
	if (parse_local(s, "EXPN", arg, addr, sizeof(addr), &a) != 0)
		return;
	int r = addr_alias_lookup(a.local, a.domain, val, sizeof(val));
	if (r == 0)
		return answer_known(s, "EXPN", addr, &a); /* not a list */
	struct expn *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		io_printf(&s->io, "451 4.3.0 Error: out of memory\r\n");
		return;
	}
	alias_walk_init(&e->w, &expn_ops, e);
	if (r < 0)
		expn_fail(e, "451 4.3.0 <%s>: Temporary lookup failure", addr);
	else
		alias_walk_nest(&e->w, addr, val, 0);
	if (e->fail[0] == 0 && e->n == 0)
		expn_fail(e, "550 5.1.1 <%s>: alias has no targets", addr);
	if (e->fail[0])
		io_printf(&s->io, "%s\r\n", e->fail);
	else
		expn_send(s, e);
	log_answer(s, "EXPN", addr, e->fail[0] ? atoi(e->fail) : 250);
	free(e);
}

void
smtpd_verb(struct smtpd_session *s)
{
	if (!cfg.smtpd_verb_trusted || !s->trusted)
		return reply_error(s, "502 5.5.1 Error: VERB is disabled\r\n");
	/* qmgr(8) mails the trace when every recipient is final */
	s->verbose = 1;
	io_printf(&s->io, "250 2.0.0 Verbose mode\r\n");
}
