/*
 * test_alias_walk.c - unit tests for common/alias_walk.c, the alias
 * recursion local(8) and smtpd's EXPN share: which hook each target
 * reaches (nesting, "\name", self-reference, remote, bad, commands,
 * files, :include:), loops (case folded, with the loop's path), the
 * alias_max_depth limit at and past its edge (aliases and :include:),
 * unbalanced quotes, a map that cannot answer, a claim hook, and that a
 * stopped walk calls no hook.
 * Trusts: common/map.c and alias_list.c (tested in their own suites).
 * Never: opens a target; leaves cfg or the open maps changed.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr_class.h"
#include "alias_walk.h"
#include "config.h"
#include "map.h"
#include "suites.h"

static char tmpdir[256];

/* what the hooks saw, "kind:arg@depth;" each */
static char seen[4096];
static int stop_after; /* the mailbox hook stops the walk at this many */
static int mailboxes;

/* note - "kind:arg@depth;", or "kind:arg;" for depth -1 */
static void
note(const char *kind, const char *arg, int depth)
{
	size_t n = strlen(seen);

	if (depth < 0)
		snprintf(seen + n, sizeof(seen) - n, "%s:%s;", kind, arg);
	else
		snprintf(seen + n, sizeof(seen) - n, "%s:%s@%d;", kind, arg,
			 depth);
}

static void
h_bad(struct alias_walk *w, const char *addr)
{
	(void)w;
	note("bad", addr, -1);
}

static int
h_claim(struct alias_walk *w, const char *addr, const struct addr *a)
{
	(void)w;
	if (strcmp(a->local, "taken") != 0)
		return 0;
	note("claim", addr, -1);
	return 1;
}

static void
h_remote(struct alias_walk *w, const char *addr)
{
	(void)w;
	note("remote", addr, -1);
}

static void
h_mailbox(struct alias_walk *w, const char *addr, int depth, int noalias)
{
	note(noalias ? "mailbox!" : "mailbox", addr, depth);
	if (++mailboxes == stop_after)
		alias_walk_stop(w);
}

static void
h_special(struct alias_walk *w, enum alias_walk_special kind, const char *t,
	  int depth)
{
	(void)w;
	note(kind == AW_COMMAND ? "command" :
	     kind == AW_FILE	? "file" :
				  "include",
	     t, depth);
}

static void
h_fail(struct alias_walk *w, const struct alias_walk_fail *f)
{
	size_t n = strlen(seen);

	(void)w;
	snprintf(seen + n, sizeof(seen) - n, "fail%d:%d %s <%s> %s;",
		 (int)f->what, f->code, f->dsn, f->key, f->text);
}

static const struct alias_walk_ops ops = {
    .bad = h_bad,
    .claim = h_claim,
    .remote = h_remote,
    .mailbox = h_mailbox,
    .special = h_special,
    .fail = h_fail,
};

static int
set(const char *key, const char *value)
{
	char err[256];

	return config_set(key, value, err, sizeof(err));
}

static int
init(void)
{
	char path[512], db[600], err[512];
	FILE *f;

	if (unit_tmpdir(tmpdir, sizeof(tmpdir), "alias_walk") != 0)
		return -1;
	unit_path(path, sizeof(path), tmpdir, "aliases");
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs("staff: alice, team\n"
	      "team: bob, \\carol, x@remote.example, taken\n"
	      "self: Self, other\n"
	      "loop1: loop2\nloop2: LOOP1\n"
	      "deep1: deep2\ndeep2: deep3\ndeep3: deep4\ndeep4: deep5\n"
	      "special: \"|/bin/false\", /nonexistent/box, "
	      ":include:/nonexistent/list\n"
	      "unbalanced: alice, \"abc\n"
	      "bad: x@\n"
	      "two: alice, bob, loop1\n",
	      f);
	if (fclose(f) != 0)
		return -1;
	map_db_path(path, db, sizeof(db));
	if (map_compile(path, db, MAP_SYNTAX_ALIASES, err, sizeof(err)) < 0)
		return -1;
	config_defaults();
	if (set("mydestination", "localhost") || set("alias_max_depth", "3") ||
	    set("alias_maps", path))
		return -1;
	addr_maps_close();
	return 0;
}

static int
cleanup(void)
{
	config_defaults();
	addr_maps_close();
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* walk - rcpt through the walk; what the hooks saw */
static const char *
walk(const char *rcpt, int stop)
{
	static struct alias_walk w;

	seen[0] = 0;
	mailboxes = 0;
	stop_after = stop;
	alias_walk_init(&w, &ops, NULL);
	alias_walk_addr(&w, rcpt, 0, 0);
	CU_ASSERT_EQUAL(w.nchain, 0); /* every push popped */
	return seen;
}

/* clang-format off */
static const struct {
	const char *rcpt, *want;
} cases[] = {
	{"alice@localhost", "mailbox:alice@localhost@0;"},
	{"Staff@localhost", "mailbox:alice@localhost@1;"
	 "mailbox:bob@localhost@2;mailbox!:carol@localhost@2;"
	 "remote:x@remote.example;claim:taken@localhost;"},
	{"self@localhost", "mailbox!:Self@localhost@1;"
	 "mailbox:other@localhost@1;"},
	{"loop1@localhost", "fail0:5 5.4.6 <loop1@localhost> alias loop: "
	 "loop1@localhost -> loop2@localhost -> loop1@localhost;"},
	/* alias_max_depth 3: three aliases deep is allowed, four is not */
	{"deep2@localhost", "mailbox:deep5@localhost@3;"},
	{"deep1@localhost", "fail1:5 5.4.6 <deep4@localhost> alias nesting "
	 "deeper than alias_max_depth;"},
	/* shown to the hook whole, never opened */
	{"special@localhost", "command:|/bin/false@1;"
	 "file:/nonexistent/box@1;include::include:/nonexistent/list@1;"},
	{"unbalanced@localhost", "mailbox:alice@localhost@1;"
	 "fail2:5 5.3.0 <unbalanced@localhost> alias target with an "
	 "unbalanced quote;"},
	{"bad@localhost", "bad:x@;"},
	{"<>", "bad:<>;"},
	{"someone@remote.example", "remote:someone@remote.example;"},
};
/* clang-format on */

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = walk(cases[i].rcpt, 0);
		if (strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "\nwalk %s:\n  got  %s\n  want %s\n",
				cases[i].rcpt, got, cases[i].want);
		CU_ASSERT_STRING_EQUAL(got, cases[i].want);
	}
}

/* a hook that stops the walk: nothing after it, not even the loop */
static void
test_stop(void)
{
	CU_ASSERT_STRING_EQUAL(walk("two@localhost", 0),
			       "mailbox:alice@localhost@1;"
			       "mailbox:bob@localhost@1;"
			       "fail0:5 5.4.6 <loop1@localhost> alias loop: "
			       "loop1@localhost -> loop2@localhost -> "
			       "loop1@localhost;");
	CU_ASSERT_STRING_EQUAL(walk("two@localhost", 1),
			       "mailbox:alice@localhost@1;");
}

/* an :include: is checked against alias_max_depth before its hook */
static void
test_include_depth(void)
{
	static struct alias_walk w;
	char list[64];

	seen[0] = 0;
	alias_walk_init(&w, &ops, NULL);
	snprintf(list, sizeof(list), ":include:/x/list");
	alias_walk_list(&w, list, 3, "a@localhost");
	CU_ASSERT_STRING_EQUAL(seen, "include::include:/x/list@3;");
	CU_ASSERT_FALSE(w.stopped);
	seen[0] = 0;
	snprintf(list, sizeof(list), ":include:/x/list, alice");
	alias_walk_list(&w, list, 4, "a@localhost");
	CU_ASSERT_STRING_EQUAL(seen, "fail1:5 5.4.6 <a@localhost> alias "
				     "nesting deeper than alias_max_depth;");
	CU_ASSERT_TRUE(w.stopped);
}

/* the chain folds case and is a stack: push, push again (a loop), pop */
static void
test_chain(void)
{
	static struct alias_walk w;
	const char *k;

	seen[0] = 0;
	alias_walk_init(&w, &ops, NULL);
	k = alias_walk_push(&w, "A@LocalHost", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_STRING_EQUAL(k, "a@localhost");
	CU_ASSERT_PTR_NOT_NULL(alias_walk_push(&w, "b@localhost", 1));
	CU_ASSERT_PTR_NULL(alias_walk_push(&w, "a@LOCALHOST", 2));
	CU_ASSERT_STRING_EQUAL(seen, "fail0:5 5.4.6 <a@localhost> alias "
				     "loop: a@localhost -> b@localhost -> "
				     "a@localhost;");
	CU_ASSERT_EQUAL(w.nchain, 2);
	alias_walk_pop(&w);
	alias_walk_pop(&w);
	alias_walk_pop(&w); /* one too many: stays empty */
	CU_ASSERT_EQUAL(w.nchain, 0);
	/* depth: alias_max_depth 3 */
	alias_walk_init(&w, &ops, NULL);
	seen[0] = 0;
	CU_ASSERT_PTR_NOT_NULL(alias_walk_push(&w, "c@localhost", 2));
	CU_ASSERT_PTR_NULL(alias_walk_push(&w, "d@localhost", 3));
	CU_ASSERT_STRING_EQUAL(seen, "fail1:5 5.4.6 <d@localhost> alias "
				     "nesting deeper than alias_max_depth;");
}

/* a map that cannot answer fails the walk with 4.3.0 */
static void
test_lookup_failure(void)
{
	char path[512];

	unit_path(path, sizeof(path), tmpdir, "missing");
	CU_ASSERT_EQUAL_FATAL(set("alias_maps", path), 0);
	addr_maps_close();
	const char *got = walk("Alice@localhost", 0);
	CU_ASSERT_EQUAL(strncmp(got, "fail3:4 4.3.0 <Alice@localhost> alias "
				"lookup failed: ", 51), 0);
	unit_path(path, sizeof(path), tmpdir, "aliases");
	CU_ASSERT_EQUAL(set("alias_maps", path), 0);
	addr_maps_close();
}

CU_ErrorCode
suite_alias_walk(void)
{
	CU_pSuite s = CU_add_suite("alias_walk", init, cleanup);

	if (s == NULL || !CU_add_test(s, "targets to hooks", test_cases) ||
	    !CU_add_test(s, "a stopped walk", test_stop) ||
	    !CU_add_test(s, ":include: depth", test_include_depth) ||
	    !CU_add_test(s, "the loop chain", test_chain) ||
	    !CU_add_test(s, "map failure", test_lookup_failure))
		return CU_get_error();
	return CUE_SUCCESS;
}
