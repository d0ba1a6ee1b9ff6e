/*
 * alias_walk.h - one walk through the alias maps (aliases(5)) for
 * local(8), which delivers to what it finds, and smtpd(8), which lists
 * it for EXPN: the recursion, the loop chain and the depth limit live
 * here, what is done with each thing found is the caller's (hooks).
 */
#ifndef MTA_ALIAS_WALK_H
#define MTA_ALIAS_WALK_H

#include "addr.h"
#include "mta_limits.h"

#define ALIAS_WALK_CHAIN_MAX 101 /* alias_max_depth is at most 100 */
#define ALIAS_WALK_ADDR (LIM_PATH + 8)

/* the targets that are not addresses: the walk never opens or runs one */
enum alias_walk_special {
	AW_COMMAND, /* "|command" */
	AW_FILE,    /* "/file" or "/dir/" */
	AW_INCLUDE, /* ":include:/file" */
};

/* what ends a walk; code and dsn as local(8) and EXPN report them */
enum alias_walk_error {
	AW_LOOP,   /* 5 5.4.6: an alias that (indirectly) lists itself */
	AW_DEPTH,  /* 5 5.4.6: nested deeper than alias_max_depth */
	AW_QUOTE,  /* 5 5.3.0: a target with an unbalanced quote */
	AW_LOOKUP, /* 4 4.3.0: the alias map did not answer */
};

struct alias_walk_fail {
	enum alias_walk_error what;
	int code;	 /* 4 or 5 */
	const char *dsn; /* "5.4.6" ... */
	const char *key; /* the alias (lower case) or address; may be "" */
	char text[LIM_ERRTEXT]; /* e.g. "alias loop: a@x -> b@x -> a@x" */
};

struct alias_walk;

/* The hooks; each may call alias_walk_stop().  claim and alias may be
 * NULL. */
struct alias_walk_ops {
	/* an address that does not parse, is <> or has no domain */
	void (*bad)(struct alias_walk *w, const char *addr);
	/* first look at a parsed address: 1 when the caller took it */
	int (*claim)(struct alias_walk *w, const char *addr,
		     const struct addr *a);
	/* an address outside our local and virtual domains */
	void (*remote)(struct alias_walk *w, const char *addr);
	/* one of ours without an alias, or noalias ("\name", self) */
	void (*mailbox)(struct alias_walk *w, const char *addr, int depth,
			int noalias);
	/* addr is an alias with value val (writable); NULL: alias_walk_nest */
	void (*alias)(struct alias_walk *w, const char *addr, char *val,
		      int depth);
	/* t, whole: a command, file or include target at depth (for an
	 * include, depth is checked against alias_max_depth first) */
	void (*special)(struct alias_walk *w, enum alias_walk_special kind,
			const char *t, int depth);
	/* the walk fails as a whole; it stops after this */
	void (*fail)(struct alias_walk *w, const struct alias_walk_fail *f);
};

struct alias_walk {
	const struct alias_walk_ops *ops;
	void *arg; /* the caller's */
	int stopped;
	int nchain; /* the aliases being expanded, outermost first */
	char chain[ALIAS_WALK_CHAIN_MAX][ALIAS_WALK_ADDR];
};

/* alias_walk_init - a walk with no chain; w is large (keep it off a
 * small stack) */
void alias_walk_init(struct alias_walk *w, const struct alias_walk_ops *ops,
		     void *arg);

/* alias_walk_stop - no more hooks are called */
void alias_walk_stop(struct alias_walk *w);

/* alias_walk_addr - one address: bad, claim, remote, mailbox, or its
 * alias (looked up here) */
void alias_walk_addr(struct alias_walk *w, const char *addr, int depth,
		     int noalias);

/* alias_walk_push - addr (case folded) is being expanded at depth: the
 * key as the chain holds it, or NULL after a loop or depth failure */
const char *alias_walk_push(struct alias_walk *w, const char *addr,
			    int depth);
void alias_walk_pop(struct alias_walk *w);

/* alias_walk_list - the targets of list (alias_list.c; NULs written
 * in); self: the alias they belong to, a target naming it is its
 * mailbox (NULL for none) */
void alias_walk_list(struct alias_walk *w, char *list, int depth,
		     const char *self);

/* alias_walk_nest - push addr, walk val at depth + 1, pop */
void alias_walk_nest(struct alias_walk *w, const char *addr, char *val,
		     int depth);

#endif
