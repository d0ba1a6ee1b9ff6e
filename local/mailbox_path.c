/*
 * mailbox_path.c - where a recipient's mailbox is: mailbox_base plus
 * mailbox_template with %d (domain), %u (user: the local part in lower
 * case without its extension after recipient_delimiter) and %%.
 *
 * Trusts: nothing in the address (it came from an SMTP client).
 * Never: returns a path that leaves mailbox_base: a user or domain that
 * is empty, starts with a dot, or holds '/' or a control character is
 * refused.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "local.h"

static int
component_ok(const char *s)
{
	if (*s == 0 || *s == '.')
		return 0;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 32 || *s == 127)
			return 0;
	return 1;
}

/* user_part - the unquoted, lower-cased local part without extension. */
static int
user_part(const struct addr *a, char *out, size_t len)
{
	if (addr_unquote_local(a->local, out, len) != 0)
		return -1;
	if (cfg.recipient_delimiter[0] != 0) {
		char *ext = strchr(out, cfg.recipient_delimiter[0]);
		if (ext != NULL && ext != out)
			*ext = 0;
	}
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

int
mailbox_path(const char *rcpt, char *out, size_t len, struct result *r)
{
	struct addr a;
	char user[LIM_LOCAL_PART * 2 + 3];
	size_t n;
	int w;

	if (addr_split(rcpt, &a) != 0 || a.null ||
	    user_part(&a, user, sizeof(user)) != 0 || !component_ok(user) ||
	    !component_ok(a.domain)) {
		result_set(r, 5, "5.1.3", "recipient address not usable as a "
			   "mailbox name");
		return -1;
	}
	w = snprintf(out, len, "%s/", cfg.mailbox_base);
	n = (size_t)w;
	for (const char *t = cfg.mailbox_template; *t && n < len; t++) {
		const char *ins = NULL;
		if (*t == '%' && t[1] == 'd')
			ins = a.domain;
		else if (*t == '%' && t[1] == 'u')
			ins = user;
		else if (*t == '%' && t[1] == '%')
			ins = "%";
		if (ins) {
			w = snprintf(out + n, len - n, "%s", ins);
			n += (size_t)w;
			t++;
		} else
			out[n++] = *t;
	}
	if (n >= len) {
		result_set(r, 5, "5.3.5", "mailbox path too long");
		return -1;
	}
	out[n] = 0;
	return 0;
}
