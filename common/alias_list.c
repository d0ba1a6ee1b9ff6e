/*
 * alias_list.c - split an alias value into its targets (aliases(5)).
 *
 * Used by alias_walk.c, the one walk local(8) delivers by and smtpd(8)
 * lists EXPN answers by, so that both read an alias the same way.
 * Trusts: nothing in the value (a compiled map entry, bounded by
 * LIM_MAP_VALUE); cfg for the default domain.
 * Never: reads past the value's NUL; returns an empty target.
 */
#include <stdio.h>
#include <string.h>

#include "alias_list.h"
#include "config.h"
#include "mta_limits.h"

#define ALIAS_SEPARATORS ", \t\r\n"

/* token_end - the end of one target: separators outside double quotes
 * end it; NULL for an unbalanced quote */
static char *
token_end(char *p)
{
	while (*p && !strchr(ALIAS_SEPARATORS, *p)) {
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
alias_list_next(char **cursor, char **target)
{
	char *p = *cursor;

	for (;;) {
		p += strspn(p, ALIAS_SEPARATORS);
		if (*p == 0) {
			*cursor = p;
			return 0;
		}
		char *t = p, *e = token_end(p);
		if (e == NULL) {
			*cursor = p + strlen(p);
			return -1;
		}
		p = *e ? e + 1 : e;
		*e = 0;
		/* a target quoted whole loses its quotes */
		size_t n = strlen(t);
		if (n >= 2 && t[0] == '"' && t[n - 1] == '"' &&
		    strchr(t + 1, '"') == t + n - 1) {
			t[n - 1] = 0;
			t++;
		}
		if (*t) {
			*cursor = p;
			*target = t;
			return 1;
		}
	}
}

void
alias_target_qualify(const char *t, char *out, size_t len)
{
	char dom[LIM_DOMAIN + 2] = "localhost";

	if (strchr(t, '@')) {
		snprintf(out, len, "%s", t);
		return;
	}
	config_list_next(cfg.mydestination, dom, sizeof(dom));
	snprintf(out, len, "%s@%s", t, dom);
}
