/*
 * test_map.c - unit tests for common/map.c (lookup tables).
 *
 * Covers: plain and aliases syntax compile and look up (case folding,
 * comments, continuations); the address lookup order (full, without
 * extension, @domain catch-all); a bad line names file:line and leaves the
 * old map in place; a map replaced on disk is seen by an open reader; no
 * temporary file is left behind.
 * Trusts: LMDB itself; only the temporary directory it makes.
 * Never: writes outside that directory.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "map.h"
#include "suites.h"

static char tmpdir[256];

static int
init(void)
{
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "map");
}

static int
cleanup(void)
{
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

/* compile - text into NAME.lmdb; returns the entry count or -1. */
static long
compile(const char *name, const char *text, enum map_syntax syn, char *db,
	size_t dblen, char *err, size_t errlen)
{
	char src[512];

	unit_path(src, sizeof(src), tmpdir, name);
	write_file(src, text);
	CU_ASSERT_FATAL(map_db_path(src, db, dblen) == 0);
	return map_compile(src, db, syn, err, errlen);
}

static void
test_plain(void)
{
	char db[600], err[512], val[256];
	struct map m;
	static const struct {
		const char *key, *want; /* want NULL: absent */
	} cases[] = {
	    {"alice@example.org", "example.org/alice/Maildir"},
	    {"ALICE@Example.ORG", "example.org/alice/Maildir"},
	    {"bob@example.org", "example.org/bob/ with spaces"},
	    {"@example.net", "example.net/catchall/"},
	    {"carol@example.org", NULL},
	    {"# comment", NULL},
	    {"", NULL},
	};

	CU_ASSERT_EQUAL_FATAL(
	    compile("plain",
		    "# a comment\n\n"
		    "Alice@Example.org example.org/alice/Maildir\n"
		    "bob@example.org\t example.org/bob/ with spaces  \n"
		    "   # indented comment\n"
		    "@example.net example.net/catchall/\n",
		    MAP_SYNTAX_PLAIN, db, sizeof(db), err, sizeof(err)),
	    3);
	CU_ASSERT_FATAL(map_open(&m, db, err, sizeof(err)) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = map_get(&m, cases[i].key, val, sizeof(val));
		CU_ASSERT_EQUAL(r, cases[i].want ? 1 : 0);
		if (r == 1 && cases[i].want)
			CU_ASSERT_STRING_EQUAL(val, cases[i].want);
	}
	map_close(&m);
}

static void
test_addr_order(void)
{
	char db[600], err[512], val[256], hit[600];
	struct map m;
	static const struct {
		const char *local, *domain, *want, *key;
	} cases[] = {
	    {"a+x", "d.org", "exact", "a+x@d.org"},
	    {"a+y", "d.org", "base", "a@d.org"},
	    {"a", "d.org", "base", "a@d.org"},
	    {"zz", "d.org", "all", "@d.org"},
	    {"zz+q", "D.ORG", "all", "@D.ORG"},
	    {"a", "e.org", NULL, NULL},
	    {"+x", "e.org", NULL, NULL},
	};

	CU_ASSERT_FATAL(compile("addr",
				"a+x@d.org exact\na@d.org base\n"
				"@d.org all\n",
				MAP_SYNTAX_PLAIN, db, sizeof(db), err,
				sizeof(err)) == 3);
	CU_ASSERT_FATAL(map_open(&m, db, err, sizeof(err)) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = map_get_addr(&m, cases[i].local, cases[i].domain, '+',
				     val, sizeof(val), hit, sizeof(hit));
		CU_ASSERT_EQUAL(r, cases[i].want ? 1 : 0);
		if (r == 1 && cases[i].want) {
			CU_ASSERT_STRING_EQUAL(val, cases[i].want);
			CU_ASSERT_STRING_EQUAL(hit, cases[i].key);
		}
	}
	map_close(&m);
}

static void
test_aliases(void)
{
	char db[600], err[512], val[256];
	struct map m;

	CU_ASSERT_FATAL(compile("aliases",
				"# aliases\n"
				"postmaster: root\n"
				"Staff: alice,\n"
				"   bob, \"|/bin/cat\"\n"
				"\tcarol@example.net\n"
				"sales@example.org: :include:/etc/mta/sales\n",
				MAP_SYNTAX_ALIASES, db, sizeof(db), err,
				sizeof(err)) == 3);
	CU_ASSERT_FATAL(map_open(&m, db, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(map_get(&m, "staff", val, sizeof(val)), 1);
	CU_ASSERT_STRING_EQUAL(val, "alice, bob, \"|/bin/cat\" "
				    "carol@example.net");
	CU_ASSERT_EQUAL(map_get(&m, "SALES@example.org", val, sizeof(val)), 1);
	CU_ASSERT_STRING_EQUAL(val, ":include:/etc/mta/sales");
	CU_ASSERT_EQUAL(map_get(&m, "postmaster", val, sizeof(val)), 1);
	CU_ASSERT_STRING_EQUAL(val, "root");
	map_close(&m);
}

static void
test_errors(void)
{
	static const struct {
		const char *text, *err;
		enum map_syntax syn;
	} cases[] = {
	    {"a b\nlonely\n", "bad1:2: expected \"key value\"",
	     MAP_SYNTAX_PLAIN},
	    {"a b\nA c\n", "bad2:2: duplicate key \"a\"", MAP_SYNTAX_PLAIN},
	    {" x: y\n", "bad3:1: continuation line", MAP_SYNTAX_ALIASES},
	    {"x y\n", "bad4:1: expected \"name: target", MAP_SYNTAX_ALIASES},
	    {"x:\n", "bad5:1: expected", MAP_SYNTAX_ALIASES},
	    {"a b c: d\n", "bad6:1: expected", MAP_SYNTAX_ALIASES},
	};
	char db[600], err[512], name[16], val[64];
	struct map m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "bad%zu", i + 1);
		err[0] = 0;
		CU_ASSERT_EQUAL(compile(name, cases[i].text, cases[i].syn, db,
					sizeof(db), err, sizeof(err)),
				-1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].err));
		CU_ASSERT_EQUAL(access(db, F_OK), -1);
	}
	/* a bad new text leaves the old map in place */
	CU_ASSERT_FATAL(compile("keep", "k v1\n", MAP_SYNTAX_PLAIN, db,
				sizeof(db), err, sizeof(err)) == 1);
	CU_ASSERT(compile("keep", "k v2\nbroken\n", MAP_SYNTAX_PLAIN, db,
			  sizeof(db), err, sizeof(err)) == -1);
	CU_ASSERT_FATAL(map_open(&m, db, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(map_get(&m, "k", val, sizeof(val)), 1);
	CU_ASSERT_STRING_EQUAL(val, "v1");
	map_close(&m);
	CU_ASSERT_EQUAL(map_open(&m, "/nonexistent/x.lmdb", err, sizeof(err)),
			-1);
}

static void
test_replace_seen(void)
{
	char db[600], err[512], val[64];
	struct map m;
	struct dirent *de;
	DIR *d;

	CU_ASSERT_FATAL(compile("live", "k old\n", MAP_SYNTAX_PLAIN, db,
				sizeof(db), err, sizeof(err)) == 1);
	CU_ASSERT_FATAL(map_open(&m, db, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(map_get(&m, "k", val, sizeof(val)), 1);
	CU_ASSERT_STRING_EQUAL(val, "old");
	CU_ASSERT_FATAL(compile("live", "k new\nn 2\n", MAP_SYNTAX_PLAIN, db,
				sizeof(db), err, sizeof(err)) == 2);
	CU_ASSERT_EQUAL(map_get(&m, "k", val, sizeof(val)), 1);
	CU_ASSERT_STRING_EQUAL(val, "new");
	map_close(&m);
	/* nothing but sources and maps: no temporary or lock files */
	CU_ASSERT_FATAL((d = opendir(tmpdir)) != NULL);
	while ((de = readdir(d)) != NULL) {
		CU_ASSERT_PTR_NULL(strstr(de->d_name, ".tmp"));
		CU_ASSERT_PTR_NULL(strstr(de->d_name, "-lock"));
	}
	closedir(d);
}

CU_ErrorCode
suite_map(void)
{
	CU_pSuite s = CU_add_suite("map", init, cleanup);

	if (s == NULL ||
	    !CU_add_test(s, "plain syntax, case folding", test_plain) ||
	    !CU_add_test(s, "address lookup order", test_addr_order) ||
	    !CU_add_test(s, "aliases syntax", test_aliases) ||
	    !CU_add_test(s, "errors name file:line", test_errors) ||
	    !CU_add_test(s, "replaced map seen by a reader", test_replace_seen))
		return CU_get_error();
	return CUE_SUCCESS;
}
