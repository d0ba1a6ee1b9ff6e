/*
 * targets.c - what an :include: file and a ~/.forward file add to the
 * syntax of an alias's right-hand side (common/alias_list.c splits the
 * targets): a line whose first character is '#' is a comment.
 *
 * Trusts: nothing; the text may come from a user's .forward.
 * Never: reads past the terminating NUL.
 */
#include <string.h>

#include "local.h"

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
