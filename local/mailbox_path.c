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
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "local.h"

int
mailbox_path(const char *rcpt, char *out, size_t len, struct result *r)
{
	struct addr a;
	char user[LIM_LOCAL_PART * 2 + 3];
	size_t n;
	int w;

	if (addr_split(rcpt, &a) != 0 || a.null ||
	    addr_mailbox_user(a.local, cfg.recipient_delimiter[0], user,
			      sizeof(user)) != 0 ||
	    !addr_path_component_ok(a.domain)) {
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
