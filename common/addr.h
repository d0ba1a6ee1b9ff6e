/*
 * addr.h - RFC 5321 paths: parse "<local@domain>" as MAIL and RCPT give it.
 */
#ifndef MTA_ADDR_H
#define MTA_ADDR_H

#include <stddef.h>

#include "mta_limits.h"

struct addr {
	int null;                             /* "<>" */
	char local[LIM_LOCAL_PART * 2 + 3];   /* as written (quoted if so) */
	char domain[LIM_DOMAIN + 1];          /* lower-cased; "" if none */
};

enum {
	ADDR_ALLOW_NULL = 1,   /* "<>" is acceptable (MAIL FROM) */
	ADDR_ALLOW_UTF8 = 2,   /* SMTPUTF8: UTF-8 in local part and domain */
	ADDR_ALLOW_NODOMAIN = 4, /* "<postmaster>" (RCPT TO) */
	ADDR_LENIENT = 8,      /* accept a path without angle brackets */
};

/*
 * addr_parse_path - parse a path at the start of s, with an optional
 * source route (ignored, RFC 5321 4.1.1.3).  On success returns 0 and sets
 * *rest to the text after the path (ESMTP parameters).  On failure returns
 * -1 and sets *why to a reason for the SMTP reply.
 */
int addr_parse_path(const char *s, int flags, struct addr *out,
		    const char **rest, const char **why);
/* addr_format - "local@domain", "local" or "" into out. */
int addr_format(const struct addr *a, char *out, size_t len);
/* addr_split - split a formatted address at its last '@'. */
int addr_split(const char *addr, struct addr *out);
/* addr_unquote_local - local part without quoting, for lookups. */
int addr_unquote_local(const char *local, char *out, size_t len);
/*
 * addr_mailbox_user - the mailbox name of a local part: unquoted, without
 * its extension after delim (when delim is set), lower-cased.  Returns -1
 * when that name cannot name a mailbox safely: empty, starting with '.',
 * or holding '/' or a control character.  smtpd refuses such recipients
 * at RCPT time; local(8) never builds a path from them.
 */
int addr_mailbox_user(const char *local, char delim, char *out, size_t len);
/* addr_path_component_ok - a non-empty name without '/', control
 * characters or a leading dot (safe as one path component). */
int addr_path_component_ok(const char *s);
/* addr_domain_valid - a domain name or an address literal. */
int addr_domain_valid(const char *d, size_t len, int utf8);

#endif
