/*
 * resolve.c - from one recipient to the mailboxes it names: aliases
 * (recursive, with :include: files), the virtual mailbox map (with the
 * "@domain" catch-all), else mailbox_base/mailbox_template.
 *
 * A system user (local_users = system) without an alias may have a
 * ~/.forward (allow_forward; dotforward.c reads and checks it), expanded
 * like an alias with the same loop detection: one chain of the aliases
 * and .forward files being expanded.  The walk itself (recursion, loop
 * chain, depth) is common/alias_walk.c, shared with smtpd's EXPN; the
 * hooks here decide what each target delivers to.
 *
 * Targets of an alias or .forward: other aliases and local names,
 * "\name" (a mailbox, no further aliasing or .forward), user@our-domain,
 * :include:/file.  A target that names the alias (or .forward owner)
 * itself is its own mailbox (the "alice: \alice, alice@x" idiom).
 * Remote addresses are forwarded (forward.c); |commands run (pipe.c)
 * only with allow_mail_to_commands, /file (mbox) and /dir/ (Maildir)
 * targets only with allow_mail_to_files, and neither from :include:
 * files (5.7.1).  Files and commands of a .forward run as its user; a
 * file of an alias, in root mode, as the owner of the alias database,
 * or command_user when that is root (as Postfix's default_privs).
 * Trusts: the compiled maps; nothing in include or .forward files
 * (bounded reads).
 * Never: follows a loop (5.4.6), nests deeper than alias_max_depth or
 * expands to more than alias_max_targets; builds a path from a map value
 * that is absolute or holds ".."; writes a file target as root in root
 * mode.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "addr_class.h"
#include "alias_walk.h"
#include "config.h"
#include "local.h"
#include "log.h"
#include "mta_limits.h"

/* where the targets being expanded came from: the rights their files
 * and commands get */
struct source {
	int forward; /* a user's .forward (else an alias map) */
	int as_user; /* files (and, from a .forward, commands) as uid/gid */
	uid_t uid;
	gid_t gid;
	char err[200]; /* no usable identity: why (file targets defer) */
};

struct ctx {
	struct alias_walk w; /* its stop flag: the whole expansion failed */
	struct dests *out;
	struct source src;
	struct result fatal; /* a failure of the whole expansion */
	int in_include;	     /* expanding an :include: file */
};

static void
fail_all(struct ctx *c, int code, const char *dsn, const char *text)
{
	if (!c->w.stopped)
		result_set(&c->fatal, code, dsn, "%s", text);
	alias_walk_stop(&c->w);
}

/* add - one destination; a repeated mailbox is delivered once. */
static struct dest *
add(struct ctx *c, const char *addr, const char *path)
{
	struct dests *o = c->out;
	struct dest *d;

	if (path)
		for (int i = 0; i < o->n; i++)
			if (o->d[i].code == 0 &&
			    strcmp(o->d[i].path, path) == 0)
				return &o->d[i];
	if (o->n >= cfg.alias_max_targets) {
		fail_all(c, 5, "5.3.0",
			 "alias expands to more than "
			 "alias_max_targets addresses");
		return NULL;
	}
	d = realloc(o->d, (size_t)(o->n + 1) * sizeof(*d));
	if (d == NULL) {
		fail_all(c, 4, "4.3.0", "out of memory");
		return NULL;
	}
	o->d = d;
	d = &o->d[o->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	if (path)
		snprintf(d->path, sizeof(d->path), "%s", path);
	return d;
}

static void
add_result(struct ctx *c, const char *addr, int code, const char *dsn,
	   const char *text)
{
	struct dest *d = add(c, addr, NULL);

	if (d == NULL)
		return;
	result_set(&d->r, code, dsn, "%s", text);
	d->code = code;
}

/* virtual_path - mailbox_base + a map value, checked; a value that ends
 * in '/' is a Maildir, else an mbox file (the Postfix convention). */
static int
virtual_path(const char *val, char *out, size_t len, int *mbox)
{
	char tmp[LIM_MAP_VALUE];
	size_t n;

	snprintf(tmp, sizeof(tmp), "%s", val);
	n = strlen(tmp);
	*mbox = n > 0 && tmp[n - 1] != '/';
	while (n > 0 && tmp[n - 1] == '/')
		tmp[--n] = 0;
	if (n == 0 || tmp[0] == '/' || strstr(tmp, "..") != NULL)
		return -1;
	for (const char *p = tmp; *p; p++)
		if (iscntrl((unsigned char)*p))
			return -1;
	n = (size_t)snprintf(out, len, "%s/%s", cfg.mailbox_base, tmp);
	return n >= len ? -1 : 0;
}

/* forward_text - the .forward that applies to local part local: with
 * an extension, ~/.forward+ext when there is one, else ~/.forward (as
 * Postfix's default forward_path); dotforward_read's answer */
static int
forward_text(const char *addr, const char *local, const struct passwd *pw,
	     char *buf, size_t len, char *why, size_t wlen)
{
	char ext[LIM_FORWARD_EXT + 1];
	int r;

	if (dotforward_extension(local, cfg.recipient_delimiter[0], ext,
				 sizeof(ext))) {
		r = dotforward_read(pw, ext, buf, len, why, wlen);
		if (r != 0)
			return r;
		if (why[0])
			log_warn(".forward for <%s> not followed: %s", addr,
				 why);
	}
	return dotforward_read(pw, NULL, buf, len, why, wlen);
}

/* dot_forward - expand pw's ~/.forward for addr: 1 done (expanded, or
 * the recipient deferred), 0 none to follow (deliver to the mailbox) */
static int
dot_forward(struct ctx *c, const char *addr, const char *local,
	    const struct passwd *pw, int depth)
{
	static char buf[LIM_MAP_VALUE + 1];
	char why[600], text[LIM_ERRTEXT];
	const char *key;
	struct source saved;
	int r = forward_text(addr, local, pw, buf, sizeof(buf), why,
			     sizeof(why));

	if (r < 0) {
		snprintf(text, sizeof(text), "cannot read .forward: %.400s",
			 why);
		add_result(c, addr, 4, "4.3.0", text);
		return 1;
	}
	if (r == 0) {
		if (why[0])
			log_warn(".forward for <%s> not followed: %s", addr,
				 why);
		return 0;
	}
	targets_strip_comments(buf);
	if (buf[strspn(buf, ", \t\r\n")] == 0)
		return 0; /* empty: the mailbox */
	char *copy = strdup(buf);
	if (copy == NULL) {
		fail_all(c, 4, "4.3.0", "out of memory");
		return 1;
	}
	if ((key = alias_walk_push(&c->w, addr, depth)) != NULL) {
		saved = c->src;
		memset(&c->src, 0, sizeof(c->src));
		c->src.forward = 1;
		c->src.as_user = 1;
		c->src.uid = pw->pw_uid;
		c->src.gid = pw->pw_gid;
		alias_walk_list(&c->w, copy, depth + 1, key);
		c->src = saved;
		alias_walk_pop(&c->w);
	}
	free(copy);
	return 1;
}

/* system_mailbox - a system user's mailbox (local_users = system), or
 * their .forward unless noalias: 1 done, 0 no such user (the caller
 * decides) */
static int
system_mailbox(struct ctx *c, const char *addr, const struct addr *a,
	       int depth, int noalias)
{
	char user[LIM_LOCAL_PART * 2 + 3], path[4096];
	struct passwd *pw;
	struct dest *d;
	int mbox = 1, w, spool = 0;

	if (addr_mailbox_user(a->local, cfg.recipient_delimiter[0], user,
			      sizeof(user)) != 0 ||
	    (pw = getpwnam(user)) == NULL)
		return 0;
	if (pw->pw_uid == 0) {
		add_result(c, addr, 4, "4.3.0",
			   "will not deliver as root: "
			   "give root an alias (aliases(5))");
		return 1;
	}
	if (!noalias && cfg.allow_forward &&
	    dot_forward(c, addr, a->local, pw, depth))
		return 1;
	if (cfg.home_mailbox[0] != 0) {
		size_t n = strlen(cfg.home_mailbox);
		mbox = cfg.home_mailbox[n - 1] != '/';
		w = snprintf(path, sizeof(path), "%s/%.*s", pw->pw_dir,
			     (int)(mbox ? n : n - 1), cfg.home_mailbox);
	} else {
		w = snprintf(path, sizeof(path), "%s/%s",
			     cfg.mail_spool_directory, user);
		spool = 1;
	}
	if (w < 0 || (size_t)w >= sizeof(path)) {
		add_result(c, addr, 5, "5.3.5", "mailbox path too long");
		return 1;
	}
	if ((d = add(c, addr, path)) != NULL) {
		d->mbox = mbox;
		d->spool = spool;
		d->as_user = 1;
		d->uid = pw->pw_uid;
		d->gid = pw->pw_gid;
	}
	return 1;
}

/* mailbox - the final mailbox of an address in one of our domains
 * (or a system user's .forward) */
static void
mailbox(struct ctx *c, const char *addr, int depth, int noalias)
{
	char path[4096], val[LIM_MAP_VALUE], text[LIM_ERRTEXT];
	struct addr a;
	struct result r;
	struct dest *d;
	int found, mbox;

	if (addr_split(addr, &a) != 0) {
		add_result(c, addr, 5, "5.1.3", "bad address");
		return;
	}
	if (addr_domain_class(a.domain) == AC_LOCAL &&
	    strcmp(cfg.local_users, "system") == 0) {
		if (system_mailbox(c, addr, &a, depth, noalias))
			return;
		/* postmaster without an alias: by mailbox_template */
		if (!addr_is_postmaster(a.local)) {
			add_result(c, addr, 5, "5.1.1", "user unknown");
			return;
		}
	} else if (addr_domain_class(a.domain) == AC_VIRTUAL &&
		   cfg.virtual_mailbox_maps[0] != 0) {
		found =
		    addr_virtual_lookup(a.local, a.domain, val, sizeof(val));
		if (found < 0) {
			snprintf(text, sizeof(text),
				 "mailbox lookup failed: %.300s", val);
			add_result(c, addr, 4, "4.3.0", text);
			return;
		}
		if (found == 1) {
			if (virtual_path(val, path, sizeof(path), &mbox) != 0) {
				add_result(c, addr, 4, "4.3.5",
					   "bad mailbox "
					   "path in virtual_mailbox_maps");
				return;
			}
			if ((d = add(c, addr, path)) != NULL)
				d->mbox = mbox;
			return;
		}
		if (!addr_is_postmaster(a.local)) {
			add_result(c, addr, 5, "5.1.1", "user unknown");
			return;
		}
	}
	if (mailbox_path(addr, path, sizeof(path), &r) != 0) {
		add_result(c, addr, r.code, r.dsn, r.text);
		return;
	}
	add(c, addr, path);
}

/* include - the targets of an :include: file ('#' lines are comments). */
static void
include(struct ctx *c, const char *file, int depth)
{
	static char buf[LIM_MAP_VALUE + 1];
	char text[LIM_ERRTEXT];
	ssize_t n = -1;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || (n = read(fd, buf, sizeof(buf))) < 0) {
		snprintf(text, sizeof(text), ":include:%s: %s", file,
			 strerror(errno));
		fail_all(c, 4, "4.3.0", text);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	if ((size_t)n >= sizeof(buf)) {
		snprintf(text, sizeof(text),
			 ":include:%s: longer than %d "
			 "bytes",
			 file, LIM_MAP_VALUE);
		fail_all(c, 5, "5.3.0", text);
		return;
	}
	buf[n] = 0;
	char *copy = strdup(buf);
	if (copy == NULL) {
		fail_all(c, 4, "4.3.0", "out of memory");
		return;
	}
	targets_strip_comments(copy);
	c->in_include++;
	alias_walk_list(&c->w, copy, depth, NULL);
	c->in_include--;
	free(copy);
}


/* refuse_kind - 5.7.1 for a command or file target where none may be:
 * the kind is off (key), or it comes from an :include: file */
static void
refuse_kind(struct ctx *c, const char *name, const char *kind,
	    const char *key)
{
	char text[LIM_ERRTEXT];

	snprintf(text, sizeof(text),
		 "%s target %.200s: delivery to %s is not allowed%s",
		 c->src.forward ? ".forward" : "alias", name, kind,
		 c->in_include ? " in :include: files" : "");
	if (!c->in_include)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 " (%s)", key);
	add_result(c, name, 5, "5.7.1", text);
}

/* command - a "|command" target: only from alias maps, when allowed */
static void
command(struct ctx *c, const char *cmd)
{
	char name[LIM_PATH + 8];
	struct dest *d;

	snprintf(name, sizeof(name), "|%.250s", cmd);
	if (!cfg.allow_mail_to_commands || c->in_include) {
		refuse_kind(c, name, "commands", "allow_mail_to_commands");
		return;
	}
	if (*cmd == 0 || strlen(cmd) >= sizeof(d->path)) {
		add_result(c, name, 5, "5.3.0", "bad command in alias");
		return;
	}
	if ((d = add(c, name, cmd)) != NULL) {
		d->pipe = 1;
		/* an alias's command runs as command_user (deliver_as.c) */
		if (c->src.forward) {
			d->as_user = 1;
			d->uid = c->src.uid;
			d->gid = c->src.gid;
		}
	}
}

/* source_alias - the rights a file target of the alias just looked up
 * gets: in root mode the owner of the alias database that answered, or
 * command_user when root owns it; else local's own */
static void
source_alias(struct ctx *c)
{
	const char *db = addr_alias_source();
	struct passwd *pw;
	struct stat st;

	memset(&c->src, 0, sizeof(c->src));
	if (geteuid() != 0 || strcmp(cfg.run_mode, "root") != 0)
		return;
	c->src.as_user = 1;
	if (db != NULL && stat(db, &st) == 0 && st.st_uid != 0) {
		pw = getpwuid(st.st_uid);
		c->src.uid = st.st_uid;
		c->src.gid = pw ? pw->pw_gid : st.st_gid;
		return;
	}
	if ((pw = getpwnam(cfg.command_user)) == NULL || pw->pw_uid == 0) {
		snprintf(c->src.err, sizeof(c->src.err),
			 "command_user %.64s does not exist or is root",
			 cfg.command_user);
		return;
	}
	c->src.uid = pw->pw_uid;
	c->src.gid = pw->pw_gid;
}

/* file - a "/file" (mbox) or "/dir/" (Maildir) target, when allowed */
static void
file(struct ctx *c, const char *t)
{
	char path[4096];
	struct dest *d;
	size_t n = strlen(t);
	int dir = t[n - 1] == '/';

	if (!cfg.allow_mail_to_files || c->in_include) {
		refuse_kind(c, t, "files", "allow_mail_to_files");
		return;
	}
	snprintf(path, sizeof(path), "%s", t);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	for (const char *p = t; *p; p++)
		if (iscntrl((unsigned char)*p))
			n = 1;
	if (n <= 1 || n >= sizeof(path) - 64) {
		add_result(c, t, 5, "5.3.0", "bad file name in alias");
		return;
	}
	if (c->src.err[0]) {
		add_result(c, t, 4, "4.3.0", c->src.err);
		return;
	}
	if ((d = add(c, t, path)) == NULL)
		return;
	d->file = 1;
	d->mbox = !dir;
	d->as_user = c->src.as_user;
	d->uid = c->src.uid;
	d->gid = c->src.gid;
}

/* forward - an address outside our domains: resubmitted (forward.c). */
static void
forward(struct ctx *c, const char *addr)
{
	struct dest *d;

	for (int i = 0; i < c->out->n; i++)
		if (c->out->d[i].forward &&
		    strcasecmp(c->out->d[i].addr, addr) == 0)
			return;
	if ((d = add(c, addr, NULL)) != NULL)
		d->forward = 1;
}

/* The hooks of the alias walk (common/alias_walk.h): what local does
 * with each thing an alias leads to. */

static void
hook_bad(struct alias_walk *w, const char *addr)
{
	add_result(w->arg, addr, 5, "5.1.3", "bad address in alias");
}

/* hook_claim - a bounce (or reply) to a sender we rewrote (SRS) */
static int
hook_claim(struct alias_walk *w, const char *addr, const struct addr *a)
{
	char val[LIM_MAP_VALUE];

	if (strncasecmp(a->local, "SRS0=", 5) != 0 ||
	    strcasecmp(a->domain, forward_srs_domain()) != 0)
		return 0;
	if (forward_srs_reverse(a->local, val, sizeof(val)) != 0)
		add_result(w->arg, addr, 5, "5.1.1",
			   "invalid or expired "
			   "SRS address");
	else
		forward(w->arg, val);
	return 1;
}

static void
hook_remote(struct alias_walk *w, const char *addr)
{
	forward(w->arg, addr);
}

static void
hook_mailbox(struct alias_walk *w, const char *addr, int depth, int noalias)
{
	mailbox(w->arg, addr, depth, noalias);
}

/* hook_alias - an alias's files and commands get its database's rights */
static void
hook_alias(struct alias_walk *w, const char *addr, char *val, int depth)
{
	struct ctx *c = w->arg;
	const char *key = alias_walk_push(w, addr, depth);

	if (key == NULL)
		return;
	struct source saved = c->src;
	source_alias(c);
	alias_walk_list(w, val, depth + 1, key);
	c->src = saved;
	alias_walk_pop(w);
}

static void
hook_special(struct alias_walk *w, enum alias_walk_special kind,
	     const char *t, int depth)
{
	if (kind == AW_COMMAND)
		command(w->arg, t + 1);
	else if (kind == AW_FILE)
		file(w->arg, t);
	else
		include(w->arg, t + 9, depth + 1);
}

static void
hook_fail(struct alias_walk *w, const struct alias_walk_fail *f)
{
	fail_all(w->arg, f->code, f->dsn, f->text);
}

static const struct alias_walk_ops resolve_ops = {
    .bad = hook_bad,
    .claim = hook_claim,
    .remote = hook_remote,
    .mailbox = hook_mailbox,
    .alias = hook_alias,
    .special = hook_special,
    .fail = hook_fail,
};

int
local_resolve(const char *rcpt, struct dests *out, struct result *r)
{
	struct ctx *c = calloc(1, sizeof(*c));

	out->d = NULL;
	out->n = 0;
	if (c == NULL) {
		result_set(r, 4, "4.3.0", "out of memory");
		return -1;
	}
	c->out = out;
	alias_walk_init(&c->w, &resolve_ops, c);
	/* qmgr sends remote recipients elsewhere once remote(8) exists; a
	 * remote recipient here is never forwarded (that would loop) */
	struct addr a;
	enum addr_class cl = AC_REMOTE;
	memset(&a, 0, sizeof(a));
	if (addr_split(rcpt, &a) == 0 && a.domain[0])
		cl = addr_domain_class(a.domain);
	if (cl != AC_LOCAL && cl != AC_VIRTUAL &&
	    !(strncasecmp(a.local, "SRS0=", 5) == 0 &&
	      strcasecmp(a.domain, forward_srs_domain()) == 0)) {
		free(c);
		result_set(r, 4, "4.3.0",
			   "%s is not in a local or virtual "
			   "domain: local does not relay",
			   rcpt);
		return -1;
	}
	alias_walk_addr(&c->w, rcpt, 0, 0);
	if (c->w.stopped) {
		*r = c->fatal;
		free(out->d);
		out->d = NULL;
		out->n = 0;
	}
	int failed = c->w.stopped;
	free(c);
	return failed ? -1 : 0;
}
