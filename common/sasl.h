/*
 * sasl.h - decode the client's side of SMTP AUTH PLAIN (RFC 4616) and
 * AUTH LOGIN, as carried by RFC 4954: base64 responses, "*" to cancel,
 * "=" for an empty initial response.
 *
 * The caller (smtpd) owns the dialogue: it sends the 334 challenges and
 * reads the lines; this module only checks and decodes what came back.
 * Replies for each result are given by sasl_reply().
 */
#ifndef MTA_SASL_H
#define MTA_SASL_H

#include <stddef.h>

#include "mta_limits.h"

enum sasl_rc {
	SASL_OK = 0,
	SASL_CANCEL = -1,  /* the client sent "*": 501 5.0.0 */
	SASL_BADB64 = -2,  /* not strict base64: 501 5.5.2 */
	SASL_TOOLONG = -3, /* line over LIM_SASL_LINE: 500 5.5.6 */
	SASL_BADMSG = -4,  /* decoded, but not a valid PLAIN/LOGIN message */
};

/* credentials; every field is NUL-free, NUL-terminated, 0..255 octets */
struct sasl_cred {
	char authzid[LIM_SASL_FIELD + 1]; /* "" when the client sent none */
	char authcid[LIM_SASL_FIELD + 1];
	char passwd[LIM_SASL_FIELD + 1];
};

/* challenges of AUTH LOGIN, already in base64 ("Username:", "Password:") */
#define SASL_LOGIN_USER_CHALLENGE "VXNlcm5hbWU6"
#define SASL_LOGIN_PASS_CHALLENGE "UGFzc3dvcmQ6"

/*
 * sasl_b64_decode - strict base64 (RFC 4648 4: the standard alphabet,
 * padding required, no white space, unused bits zero) of in[0..len) into
 * out (cap octets, NUL added after).  SASL_OK, SASL_BADB64 or
 * SASL_TOOLONG (the input is over LIM_SASL_LINE or out is too small).
 */
int sasl_b64_decode(const char *in, size_t len, unsigned char *out,
		    size_t cap, size_t *outlen);

/*
 * sasl_plain - one AUTH PLAIN response (the initial response or the line
 * after "334 "), without its CRLF: "*" cancels, "=" is empty (and so
 * SASL_BADMSG).  Decoded, it must be authzid NUL authcid NUL passwd with
 * authcid and passwd not empty and every field within LIM_SASL_FIELD.
 */
int sasl_plain(const char *line, size_t len, struct sasl_cred *c);

/*
 * sasl_login_field - one AUTH LOGIN response (user name or password),
 * without its CRLF, into out (LIM_SASL_FIELD + 1 octets): not empty, no
 * NUL inside.  "*" cancels.
 */
int sasl_login_field(const char *line, size_t len,
		     char out[LIM_SASL_FIELD + 1]);

/* sasl_reply - the SMTP reply for a result other than SASL_OK */
const char *sasl_reply(int rc);

/* sasl_cred_clear - wipe the credentials (the password above all). */
void sasl_cred_clear(struct sasl_cred *c);

#endif
