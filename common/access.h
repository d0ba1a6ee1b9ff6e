/*
 * access.h - the access maps of smtpd(8) (mta-maps(5), "The access
 * maps"): which keys a client or a sender is looked up under, and what
 * a value says.  Mail knowledge only: no map, no socket, no session.
 *
 * Client keys: the address as the system prints it (an IPv4-mapped IPv6
 * address as its IPv4 form), then that text cut at each '.' (IPv4) or
 * ':' (IPv6) from the right; then the verified host name and
 * ".parent.domain" for each of its parents.  Sender keys: the address,
 * the address without its extension, the domain, ".parent.domain" for
 * each parent, "local@", then "base@" without the extension; the null
 * sender is the one key ACCESS_NULL_SENDER_KEY.
 */
#ifndef MTA_ACCESS_H
#define MTA_ACCESS_H

#include <stddef.h>

#include "mta_limits.h"

#define ACCESS_KEYS_MAX 140 /* keys for one client or sender: 8 + 1 + 128 */
#define ACCESS_TEXT_MAX 200 /* octets of text from a map or DNS in a reply */
#define ACCESS_NULL_SENDER_KEY "<>"

enum access_action {
	ACCESS_DUNNO,  /* no entry, or DUNNO: nothing decided */
	ACCESS_OK,     /* accept: skip the later checks of this kind */
	ACCESS_REJECT, /* code, dsn and text filled */
	ACCESS_BAD,    /* a value we do not know: a configuration error */
};

struct access_verdict {
	enum access_action action;
	int code;     /* 4NN or 5NN */
	char dsn[16]; /* "5.7.1" */
	/* cleaned; "Access denied" by default */
	char text[ACCESS_TEXT_MAX + 1];
};

/* access_clean - copy at most ACCESS_TEXT_MAX octets of text into out
 * (cap >= ACCESS_TEXT_MAX + 1): control characters are dropped, octets
 * above 126 become '?', leading and trailing white space goes. */
void access_clean(const char *in, char *out, size_t cap);

/*
 * access_value_parse - one map value: OK, DUNNO, REJECT [text],
 * DEFER [text] (450 4.7.1), or "4NN text" / "5NN text" where the text
 * may begin with an enhanced status code of the same class.  Keywords
 * in any case.  ACCESS_BAD for anything else.
 */
void access_value_parse(const char *value, struct access_verdict *v);

/* access_client_keys - the client lookup keys, most specific first;
 * name "unknown" or "" adds none.  Returns how many (at most max). */
int access_client_keys(const char *addr, const char *name,
		       char keys[][LIM_MAP_KEY], int max);

/* access_helo_keys - the HELO/EHLO name's lookup keys: the name and its
 * parent domains (".example.com"); for an address literal "[addr]" the
 * literal, then the address and its shorter prefixes.  Returns how many. */
int access_helo_keys(const char *helo, char keys[][LIM_MAP_KEY], int max);

/* access_sender_keys - the sender lookup keys (an empty local and domain:
 * the null sender); delim 0 means no extensions.  Returns how many. */
int access_sender_keys(const char *local, const char *domain, char delim,
		       char keys[][LIM_MAP_KEY], int max);

#endif
