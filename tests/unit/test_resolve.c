/*
 * test_resolve.c - unit tests for local/resolve.c: from a recipient to
 * its destinations through aliases (lists, quoting, self-reference,
 * "\\name", :include:, loops, limits), the virtual mailbox map (Maildir,
 * mbox, catch-all, unknown, unsafe values) and mailbox_template.
 * Trusts: common/map.c (tested in its own suite).
 * Never: leaves cfg or the open maps changed for the suites after it.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr_class.h"
#include "config.h"
#include "../../local/local.h"
#include "map.h"
#include "suites.h"

static char tmpdir[256];

static void
set(const char *key, const char *value)
{
	char err[256];

	if (config_set(key, value, err, sizeof(err)) != 0)
		fprintf(stderr, "test_resolve: %s\n", err);
}

static int
put(const char *name, const char *text, int compile)
{
	char path[512], db[600], err[512];
	FILE *f;

	unit_path(path, sizeof(path), tmpdir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	if (!compile)
		return 0;
	map_db_path(path, db, sizeof(db));
	return map_compile(path, db, compile == 2 ? MAP_SYNTAX_ALIASES :
			   MAP_SYNTAX_PLAIN, err, sizeof(err)) < 0 ? -1 : 0;
}

static int
init(void)
{
	char p[512], inc[600], inc2[600], aliases[2048];

	if (unit_tmpdir(tmpdir, sizeof(tmpdir), "resolve") != 0)
		return -1;
	unit_path(inc, sizeof(inc), tmpdir, "inc.txt");
	unit_path(inc2, sizeof(inc2), tmpdir, "inc2.txt");
	snprintf(aliases, sizeof(aliases),
		 "staff: alice, Bob\n"
		 "dup: alice, alice@localhost, \\alice\n"
		 "self: self, other\n"
		 "loop1: loop2\nloop2: loop1\n"
		 "deep1: deep2\ndeep2: deep3\ndeep3: deep4\ndeep4: deep5\n"
		 "fwd: x@remote.example, \"y z\"@remote.example, "
		 "X@remote.example\n"
		 "cmd: \"|cat > /dev/null\"\n"
		 "file: /var/x/box, /var/x/md/\n"
		 "incfile: :include:%s\n"
		 "unbalanced: \"abc\n"
		 "list: :include:%s\n"
		 "vdom@v.example: u@v.example\n"
		 "postmaster: admin\n", inc2, inc);
	if (put("inc.txt", "# members\nerin\n\nfrank, grace@v.example\n", 0) ||
	    put("inc2.txt", "/var/x/inc\n", 0) ||
	    put("aliases", aliases, 2) ||
	    put("virtual", "u@v.example v.example/u/\n"
			   "m@v.example v.example/m\n"
			   "grace@v.example v.example/grace/\n"
			   "bad@v.example ../etc/\n"
			   "@w.example w.example/all/\n", 1))
		return -1;
	config_defaults();
	set("mydestination", "localhost, test.example");
	set("virtual_mailbox_domains", "v.example, w.example");
	set("mailbox_base", "/base");
	set("alias_max_depth", "3");
	unit_path(p, sizeof(p), tmpdir, "aliases");
	set("alias_maps", p);
	unit_path(p, sizeof(p), tmpdir, "virtual");
	set("virtual_mailbox_maps", p);
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

/* describe - the destinations as "addr>path[kind]" or "addr=dsn" */
static void
describe(const struct dests *ds, char *out, size_t len)
{
	size_t n = 0;

	out[0] = 0;
	for (int i = 0; i < ds->n && n < len; i++) {
		const struct dest *d = &ds->d[i];
		if (d->code != 0)
			n += (size_t)snprintf(out + n, len - n, "%s%s=%s",
					      i ? ";" : "", d->addr, d->r.dsn);
		else
			n += (size_t)snprintf(out + n, len - n, "%s%s>%s%s",
					      i ? ";" : "", d->addr,
					      d->forward ? "" : d->path,
					      d->forward ? "[fwd]" :
					      d->pipe    ? "[pipe]" :
					      d->mbox    ? "[mbox]" : "");
	}
}

/* clang-format off */
static const struct {
	const char *rcpt;
	const char *want; /* destinations, or "!dsn" for a whole failure */
} cases[] = {
	{"alice@localhost", "alice@localhost>/base/localhost/alice/Maildir"},
	{"Staff+x@localhost", "alice@localhost>/base/localhost/alice/Maildir;"
	 "Bob@localhost>/base/localhost/bob/Maildir"},
	{"dup@localhost", "alice@localhost>/base/localhost/alice/Maildir"},
	{"self@localhost", "self@localhost>/base/localhost/self/Maildir;"
	 "other@localhost>/base/localhost/other/Maildir"},
	{"loop1@localhost", "!5.4.6"},
	{"deep1@localhost", "!5.4.6"},
	{"fwd@localhost", "x@remote.example>[fwd];"
	 "\"y z\"@remote.example>[fwd]"},
	{"cmd@localhost", "|cat > /dev/null=5.7.1"},
	{"file@localhost", "/var/x/box=5.7.1;/var/x/md/=5.7.1"},
	{"unbalanced@localhost", "!5.3.0"},
	{"list@localhost", "erin@localhost>/base/localhost/erin/Maildir;"
	 "frank@localhost>/base/localhost/frank/Maildir;"
	 "grace@v.example>/base/v.example/grace"},
	{"u@v.example", "u@v.example>/base/v.example/u"},
	{"u+tag@v.example", "u+tag@v.example>/base/v.example/u"},
	{"M@v.example", "M@v.example>/base/v.example/m[mbox]"},
	{"nobody@v.example", "nobody@v.example=5.1.1"},
	{"bad@v.example", "bad@v.example=4.3.5"},
	{"any@w.example", "any@w.example>/base/w.example/all"},
	{"vdom@v.example", "u@v.example>/base/v.example/u"},
	{"postmaster@v.example", "admin@localhost>/base/localhost/admin/Maildir"},
	{"someone@test.example", "someone@test.example>"
	 "/base/test.example/someone/Maildir"},
	{"x@remote.example", "!4.3.0"},
};
/* clang-format on */

static void
test_cases(void)
{
	char got[4096];
	struct dests ds;
	struct result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		if (local_resolve(cases[i].rcpt, &ds, &r) != 0)
			snprintf(got, sizeof(got), "!%s", r.dsn);
		else
			describe(&ds, got, sizeof(got));
		free(ds.d);
		if (strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "\nresolve %s:\n  got  %s\n  want %s\n",
				cases[i].rcpt, got, cases[i].want);
		CU_ASSERT_STRING_EQUAL(got, cases[i].want);
	}
}

/* with allow_mail_to_files: /file is an mbox, /dir/ a Maildir; never
 * from an :include: file */
static void
test_files(void)
{
	static const struct {
		const char *rcpt, *want;
	} c[] = {
		{"file@localhost", "/var/x/box>/var/x/box[mbox];"
				   "/var/x/md/>/var/x/md"},
		{"incfile@localhost", "/var/x/inc=5.7.1"},
	};
	char got[1024];
	struct dests ds;
	struct result r;

	set("allow_mail_to_files", "yes");
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(local_resolve(c[i].rcpt, &ds, &r), 0);
		describe(&ds, got, sizeof(got));
		CU_ASSERT_TRUE(i > 0 || (ds.n == 2 && ds.d[1].file));
		free(ds.d);
		if (strcmp(got, c[i].want) != 0)
			fprintf(stderr, "\nresolve %s:\n  got  %s\n  want %s\n",
				c[i].rcpt, got, c[i].want);
		CU_ASSERT_STRING_EQUAL(got, c[i].want);
	}
	set("allow_mail_to_files", "no");
}

static void
test_recipient_known(void)
{
	static const struct {
		const char *local, *domain;
		int want;
	} k[] = {
		{"anyone", "localhost", 1},   {"staff", "localhost", 1},
		{"u+x", "v.example", 1},      {"nobody", "v.example", 0},
		{"vdom", "v.example", 1},     {"PostMaster", "v.example", 1},
		{"mailer-daemon", "v.example", 1}, {"z", "w.example", 1},
		{"z", "remote.example", 1},
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		CU_ASSERT_EQUAL(addr_recipient_known(k[i].local, k[i].domain),
				k[i].want);
}

CU_ErrorCode
suite_resolve(void)
{
	CU_pSuite s = CU_add_suite("resolve", init, cleanup);

	if (s == NULL ||
	    !CU_add_test(s, "recipients to destinations", test_cases) ||
	    !CU_add_test(s, "file targets", test_files) ||
	    !CU_add_test(s, "addr_recipient_known", test_recipient_known))
		return CU_get_error();
	return CUE_SUCCESS;
}
