/*
 * alias_walk.c - the one recursion through aliases (aliases(5)) that
 * local(8) resolves deliveries with and smtpd(8) lists EXPN answers
 * with, so that both follow an alias the same way: the same target
 * kinds, the same "\name" and self-reference rules, the same loop and
 * depth checks (alias_max_depth, ALIAS_WALK_CHAIN_MAX).
 *
 * The walk is read-only: it looks up alias_maps and hands every target
 * to the caller's hooks (alias_walk.h).
 * Trusts: the compiled maps; nothing in a value (alias_list.c splits it).
 * Never: opens, reads or runs a |command, /file or :include: target
 * (the hooks decide); follows a loop; nests deeper than alias_max_depth;
 * calls a hook after the walk stopped.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr_class.h"
#include "alias_list.h"
#include "alias_walk.h"
#include "config.h"

void
alias_walk_init(struct alias_walk *w, const struct alias_walk_ops *ops,
		void *arg)
{
	w->ops = ops;
	w->arg = arg;
	w->stopped = 0;
	w->nchain = 0;
}

void
alias_walk_stop(struct alias_walk *w)
{
	w->stopped = 1;
}

/* fail - the first failure is the walk's; key may be NULL */
static void
fail(struct alias_walk *w, enum alias_walk_error what, const char *key,
     const char *text)
{
	static const struct {
		int code;
		const char *dsn;
	} kind[] = {
	    [AW_LOOP] = {5, "5.4.6"},
	    [AW_DEPTH] = {5, "5.4.6"},
	    [AW_QUOTE] = {5, "5.3.0"},
	    [AW_LOOKUP] = {4, "4.3.0"},
	};
	struct alias_walk_fail f;

	if (w->stopped)
		return;
	f.what = what;
	f.code = kind[what].code;
	f.dsn = kind[what].dsn;
	f.key = key ? key : "";
	snprintf(f.text, sizeof(f.text), "%s", text);
	w->ops->fail(w, &f);
	w->stopped = 1;
}

/* loop_text - "alias loop: a -> b -> a", from where key entered the
 * chain */
static void
loop_text(const struct alias_walk *w, int from, const char *key, char *text,
	  size_t len)
{
	size_t n = (size_t)snprintf(text, len, "alias loop:");

	for (int j = from; j < w->nchain && n < len; j++)
		n += (size_t)snprintf(text + n, len - n, " %s ->",
				      w->chain[j]);
	if (n < len)
		snprintf(text + n, len - n, " %s", key);
}

const char *
alias_walk_push(struct alias_walk *w, const char *addr, int depth)
{
	char key[ALIAS_WALK_ADDR], text[LIM_ERRTEXT];

	snprintf(key, sizeof(key), "%s", addr);
	for (char *k = key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	for (int i = 0; i < w->nchain; i++) {
		if (strcmp(w->chain[i], key) != 0)
			continue;
		loop_text(w, i, key, text, sizeof(text));
		fail(w, AW_LOOP, key, text);
		return NULL;
	}
	if (depth >= cfg.alias_max_depth || w->nchain >= ALIAS_WALK_CHAIN_MAX) {
		fail(w, AW_DEPTH, key,
		     "alias nesting deeper than alias_max_depth");
		return NULL;
	}
	memcpy(w->chain[w->nchain], key, sizeof(key));
	return w->chain[w->nchain++];
}

void
alias_walk_pop(struct alias_walk *w)
{
	if (w->nchain > 0)
		w->nchain--;
}

/* target - one target of a list, by its kind */
static void
target(struct alias_walk *w, const char *t, int depth, const char *self)
{
	char addr[ALIAS_WALK_ADDR];

	if (*t == '|' || *t == '/') {
		w->ops->special(w, *t == '|' ? AW_COMMAND : AW_FILE, t, depth);
		return;
	}
	if (strncasecmp(t, ":include:", 9) == 0) {
		if (depth > cfg.alias_max_depth)
			fail(w, AW_DEPTH, self,
			     "alias nesting deeper than alias_max_depth");
		else
			w->ops->special(w, AW_INCLUDE, t, depth);
		return;
	}
	if (*t == '\\') {
		alias_target_qualify(t + 1, addr, sizeof(addr));
		alias_walk_addr(w, addr, depth, 1);
		return;
	}
	alias_target_qualify(t, addr, sizeof(addr));
	/* an alias that lists itself means its own mailbox */
	alias_walk_addr(w, addr, depth, self && strcasecmp(addr, self) == 0);
}

void
alias_walk_list(struct alias_walk *w, char *list, int depth, const char *self)
{
	char *p = list, *t;
	int r;

	while (!w->stopped && (r = alias_list_next(&p, &t)) != 0) {
		if (r < 0) {
			fail(w, AW_QUOTE, self,
			     "alias target with an unbalanced quote");
			return;
		}
		target(w, t, depth, self);
	}
}

void
alias_walk_nest(struct alias_walk *w, const char *addr, char *val, int depth)
{
	const char *key = alias_walk_push(w, addr, depth);

	if (key == NULL)
		return;
	alias_walk_list(w, val, depth + 1, key);
	alias_walk_pop(w);
}

void
alias_walk_addr(struct alias_walk *w, const char *addr, int depth,
		int noalias)
{
	char val[LIM_MAP_VALUE], text[LIM_ERRTEXT];
	struct addr a;
	enum addr_class cl;

	if (w->stopped)
		return;
	if (addr_split(addr, &a) != 0 || a.null || a.domain[0] == 0) {
		w->ops->bad(w, addr);
		return;
	}
	cl = addr_domain_class(a.domain);
	if (w->ops->claim && w->ops->claim(w, addr, &a))
		return;
	if (cl != AC_LOCAL && cl != AC_VIRTUAL) {
		w->ops->remote(w, addr);
		return;
	}
	if (noalias) {
		w->ops->mailbox(w, addr, depth, 1);
		return;
	}
	int r = addr_alias_lookup(a.local, a.domain, val, sizeof(val));
	if (r < 0) {
		snprintf(text, sizeof(text), "alias lookup failed: %.300s",
			 val);
		fail(w, AW_LOOKUP, addr, text);
		return;
	}
	if (r == 0) {
		w->ops->mailbox(w, addr, depth, 0);
		return;
	}
	if (w->ops->alias)
		w->ops->alias(w, addr, val, depth);
	else
		alias_walk_nest(w, addr, val, depth);
}
