/*
 * test_local_targets.c - unit tests for the target list syntax shared by
 * aliases, :include: and ~/.forward files (common/alias_list.c, local/targets.c) and for the
 * checks a .forward must pass before it is followed (local/dotforward.c).
 * Trusts: nothing.
 * Never: touches a real home directory.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../../local/local.h"
#include "alias_list.h"
#include "suites.h"

/* clang-format off */
static const struct {
	const char *in;
	const char *want; /* targets joined by '|', "!" after an error */
} lists[] = {
	{"", ""},
	{" \t\n, ,", ""},
	{"alice", "alice"},
	{"alice, bob\tcarol\n dave", "alice|bob|carol|dave"},
	{"\\alice, /var/mail/box", "\\alice|/var/mail/box"},
	{"\"|/usr/bin/procmail -a x\"", "|/usr/bin/procmail -a x"},
	{"\"a b\"@example.org, c", "\"a b\"@example.org|c"},
	{"\"/home/u/my box\"", "/home/u/my box"},
	{"x@y, \"unbalanced", "x@y|!"},
	{":include:/etc/list", ":include:/etc/list"},
	{"a,,b", "a|b"},
	{"/home/u/Maildir/\r\n", "/home/u/Maildir/"},
};
/* clang-format on */

static void
test_lists(void)
{
	char buf[256], got[512];

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char *p = buf, *t;
		size_t n = 0;
		int r;

		snprintf(buf, sizeof(buf), "%s", lists[i].in);
		got[0] = 0;
		while ((r = alias_list_next(&p, &t)) != 0) {
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s",
					      n ? "|" : "", r < 0 ? "!" : t);
			if (r < 0)
				break;
		}
		if (strcmp(got, lists[i].want) != 0)
			fprintf(stderr, "\ntargets \"%s\": got %s want %s\n",
				lists[i].in, got, lists[i].want);
		CU_ASSERT_STRING_EQUAL(got, lists[i].want);
	}
}

static void
test_comments(void)
{
	static const struct {
		const char *in, *want;
	} c[] = {
	    {"# all\nalice\n", "     \nalice\n"},
	    {"bob # not a comment\n", "bob # not a comment\n"},
	    {"a\n#b\n #c", "a\n  \n #c"},
	    {"#", " "},
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", c[i].in);
		targets_strip_comments(buf);
		CU_ASSERT_STRING_EQUAL(buf, c[i].want);
	}
}

static void
test_unsafe(void)
{
	static const struct {
		mode_t mode;
		uid_t owner;
		const char *want; /* NULL: may be followed */
	} c[] = {
	    {S_IFREG | 0644, 1000, NULL},
	    {S_IFREG | 0600, 0, NULL},
	    {S_IFREG | 0400, 1000, NULL},
	    {S_IFREG | 0664, 1000, "writable by group or others"},
	    {S_IFREG | 0646, 0, "writable by group or others"},
	    {S_IFREG | 0644, 1001, "not owned by the user or root"},
	    {S_IFDIR | 0755, 1000, "not a regular file"},
	    {S_IFIFO | 0600, 1000, "not a regular file"},
	};
	struct stat st;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.st_mode = c[i].mode;
		st.st_uid = c[i].owner;
		const char *got = dotforward_unsafe(&st, 1000);
		if (c[i].want == NULL) {
			CU_ASSERT_PTR_NULL(got);
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(got);
			CU_ASSERT_STRING_EQUAL(got, c[i].want);
		}
	}
}

static void
test_extension(void)
{
	static const struct {
		const char *local, *want; /* want NULL: no extension file */
	} c[] = {
	    {"joe+lists", "lists"},
	    {"joe+Lists.Debian", "lists.debian"},
	    {"joe+a=b_c-d", "a=b_c-d"},
	    {"joe+one+two", NULL}, /* '+' is not in the file name set */
	    {"joe", NULL},
	    {"joe+", NULL},
	    {"joe+.profile", NULL},
	    {"joe+../../etc/x", NULL},
	    {"joe+a..b", NULL},
	    {"joe+a/b", NULL},
	    {"joe+a b", NULL},
	    {"\"joe+x\"", NULL},
	    {"joe+0123456789012345678901234567890123456789012345678901234567"
	     "8901234",
	     NULL}, /* 65 octets: over LIM_FORWARD_EXT */
	};
	char out[LIM_FORWARD_EXT + 1];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int got = dotforward_extension(c[i].local, '+', out,
					       sizeof(out));
		CU_ASSERT_EQUAL(got, c[i].want != NULL);
		if (got && c[i].want)
			CU_ASSERT_STRING_EQUAL(out, c[i].want);
	}
	CU_ASSERT_EQUAL(dotforward_extension("joe+x", 0, out, sizeof(out)),
			0); /* no recipient_delimiter */
}

CU_ErrorCode
suite_local_targets(void)
{
	CU_pSuite s = CU_add_suite("local_targets", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "target lists", test_lists) ||
	    !CU_add_test(s, "comment lines", test_comments) ||
	    !CU_add_test(s, ".forward checks", test_unsafe) ||
	    !CU_add_test(s, ".forward+extension names", test_extension))
		return CU_get_error();
	return CUE_SUCCESS;
}
