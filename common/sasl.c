/*
 * sasl.c - AUTH PLAIN and AUTH LOGIN responses (see sasl.h).
 *
 * Trusts: nothing in the lines; they come from an unauthenticated client.
 * Never: reads past len; writes past a field; leaves a decoded password in
 * a scratch buffer (every scratch copy is wiped before return).
 */
#include "sasl.h"

#include <sodium.h>
#include <string.h>

/* b64_value - the 6-bit value of an alphabet character, or -1. */
static int
b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int
sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
		size_t *outlen)
{
	size_t n = 0;

	*outlen = 0;
	if (len > LIM_SASL_LINE)
		return SASL_TOOLONG;
	if (len % 4 != 0)
		return SASL_BADB64;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char ch = (unsigned char)in[i + k];
			if (ch == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(ch)) < 0)
				return SASL_BADB64;
		}
		unsigned long w = (unsigned long)v[0] << 18 |
				  (unsigned long)v[1] << 12 |
				  (unsigned long)v[2] << 6 | (unsigned long)v[3];
		/* canonical form: the bits cut off by padding must be zero */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return SASL_BADB64;
		if (n + 3 - (size_t)pad + 1 > cap)
			return SASL_TOOLONG;
		out[n++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)w;
	}
	out[n] = 0;
	*outlen = n;
	return SASL_OK;
}

/* copy_field - p[0..n) into a field; SASL_BADMSG if empty (when it must
 * not be) or too long. */
static int
copy_field(char *dst, const unsigned char *p, size_t n, int may_be_empty)
{
	if ((n == 0 && !may_be_empty) || n > LIM_SASL_FIELD)
		return SASL_BADMSG;
	memcpy(dst, p, n);
	dst[n] = 0;
	return SASL_OK;
}

/* PLAIN decodes to at most three fields and two NULs */
#define PLAIN_MAX (3 * LIM_SASL_FIELD + 2)

int
sasl_plain(const char *line, size_t len, struct sasl_cred *c)
{
	unsigned char buf[PLAIN_MAX + 1];
	size_t n;
	int rc;

	memset(c, 0, sizeof(*c));
	if (len > LIM_SASL_LINE)
		return SASL_TOOLONG;
	if (len == 1 && line[0] == '*')
		return SASL_CANCEL;
	if (len == 1 && line[0] == '=')
		return SASL_BADMSG; /* an empty message has no authcid */
	rc = sasl_b64_decode(line, len, buf, sizeof(buf), &n);
	if (rc == SASL_TOOLONG && len <= LIM_SASL_LINE)
		rc = SASL_BADMSG; /* valid length for SMTP, too long for PLAIN */
	if (rc != SASL_OK)
		goto out;
	const unsigned char *z1 = memchr(buf, 0, n);
	const unsigned char *z2 = z1 ? memchr(z1 + 1, 0, n - (size_t)(z1 + 1 - buf)) : NULL;
	rc = SASL_BADMSG;
	if (z1 == NULL || z2 == NULL ||
	    memchr(z2 + 1, 0, n - (size_t)(z2 + 1 - buf)) != NULL)
		goto out;
	if (copy_field(c->authzid, buf, (size_t)(z1 - buf), 1) != SASL_OK ||
	    copy_field(c->authcid, z1 + 1, (size_t)(z2 - z1 - 1), 0) != SASL_OK ||
	    copy_field(c->passwd, z2 + 1, n - (size_t)(z2 + 1 - buf), 0) != SASL_OK)
		goto out;
	rc = SASL_OK;
out:
	sodium_memzero(buf, sizeof(buf));
	if (rc != SASL_OK)
		sasl_cred_clear(c);
	return rc;
}

int
sasl_login_field(const char *line, size_t len, char out[LIM_SASL_FIELD + 1])
{
	unsigned char buf[LIM_SASL_FIELD + 1];
	size_t n;
	int rc;

	out[0] = 0;
	if (len > LIM_SASL_LINE)
		return SASL_TOOLONG;
	if (len == 1 && line[0] == '*')
		return SASL_CANCEL;
	rc = sasl_b64_decode(line, len, buf, sizeof(buf), &n);
	if (rc == SASL_TOOLONG)
		rc = SASL_BADMSG; /* fits the line, not the field */
	if (rc == SASL_OK && (n == 0 || memchr(buf, 0, n) != NULL))
		rc = SASL_BADMSG;
	if (rc == SASL_OK)
		rc = copy_field(out, buf, n, 0);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

const char *
sasl_reply(int rc)
{
	switch (rc) {
	case SASL_OK:
		return "235 2.7.0 Authentication successful";
	case SASL_CANCEL:
		return "501 5.0.0 Authentication cancelled";
	case SASL_BADB64:
		return "501 5.5.2 Cannot decode response";
	case SASL_TOOLONG:
		return "500 5.5.6 Authentication exchange line is too long";
	default:
		return "501 5.5.2 Malformed authentication response";
	}
}

void
sasl_cred_clear(struct sasl_cred *c)
{
	sodium_memzero(c, sizeof(*c));
}
