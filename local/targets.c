/*
 * targets.c - the syntax shared by an alias's right-hand side, an
 * :include: file and a ~/.forward file (aliases(5)): targets separated
 * by commas or white space, "..." quoting a whole target ("|cmd arg") or
 * a local part ("a b"@example.org); in files, a line whose first
 * character is '#' is a comment.
 *
 * Trusts: nothing; the text may come from a user's .forward.
 * Never: reads past the terminating NUL; returns a target with its
 * enclosing quotes.
 */
#include <string.h>

#include "local.h"

/* token_end - the end of one target: separators outside double quotes
 * end it; NULL for an unbalanced quote */
static char *
token_end(char *p)
{
	while (*p && !strchr(", \t\r\n", *p)) {
		if (*p == '"') {
			char *q = strchr(p + 1, '"');
			if (q == NULL)
				return NULL;
			p = q;
		}
		p++;
	}
	return p;
}

int
targets_next(char **pos, char **target)
{
	char *p = *pos, *t, *e;
	size_t n;

	p += strspn(p, ", \t\r\n");
	if (*p == 0) {
		*pos = p;
		return 0;
	}
	t = p;
	if ((e = token_end(p)) == NULL)
		return -1;
	*pos = *e ? e + 1 : e;
	*e = 0;
	/* a target quoted whole loses its quotes */
	n = strlen(t);
	if (n >= 2 && t[0] == '"' && t[n - 1] == '"' &&
	    strchr(t + 1, '"') == t + n - 1) {
		t[n - 1] = 0;
		t++;
	}
	*target = t;
	return 1;
}

void
targets_strip_comments(char *text)
{
	for (char *l = text; *l;) {
		char *e = l + strcspn(l, "\n");
		if (*l == '#')
			memset(l, ' ', (size_t)(e - l));
		l = *e ? e + 1 : e;
	}
}
