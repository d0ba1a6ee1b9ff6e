/*
 * smtp_auth.c - remote(8)'s side of SMTP AUTH (RFC 4954): the
 * credentials for a peer from smtp_sasl_password_map, and the AUTH
 * dialogue after EHLO (after the EHLO that follows STARTTLS when TLS is
 * on): PLAIN (RFC 4616) with an initial response, or LOGIN and its two
 * 334 challenges, as smtp_sasl_mechanisms prefers and the peer offers.
 * A peer that offers no AUTH gets the mail without (as Postfix does);
 * credentials go only over TLS unless smtp_sasl_tls_only = no.
 *
 * The map is opened as root before the chroot, so it may be readable by
 * root alone; a map replaced on disk is reopened by path, or, inside the
 * chroot, by a new process (smtp_auth_check).
 *
 * Trusts: the map's values only as "username:password", each part
 * length-checked; nothing the peer says beyond its reply codes.
 * Never: logs a password or puts it in a delivery status; sends one in
 * plaintext while smtp_sasl_tls_only is on; keeps one in a buffer after
 * it was sent (wiped).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "map.h"
#include "remote.h"
#include "service.h"

_Static_assert(SMTP_CRED_ID == crypto_generichash_BYTES,
	       "SMTP_CRED_ID is a generichash");

static struct map pw_map;
static int pw_map_set; /* smtp_sasl_password_map is set */
/* the key of the credentials hash: per process, as the connections it
 * tells apart are (remote_cache.c); no hash of a password outlives it */
static unsigned char id_key[crypto_generichash_KEYBYTES];
static int id_key_set;

void
smtp_auth_open(void)
{
	char db[4200], err[512];

	if (cfg.smtp_sasl_password_map[0] == 0)
		return;
	if (map_db_path(cfg.smtp_sasl_password_map, db, sizeof(db)) != 0)
		log_fatal("smtp_sasl_password_map: path too long");
	pw_map_set = 1;
	/* a map not built yet is tried again at each lookup (and defers
	 * the mail for hosts that would need it) */
	if (map_open(&pw_map, db, err, sizeof(err)) != 0)
		log_warn("%s (run mtactl makemap %s)", err,
			 cfg.smtp_sasl_password_map);
}

void
smtp_auth_check(void)
{
	if (pw_map_set)
		service_map_check(&pw_map);
}

void
smtp_cred_clear(struct smtp_cred *c)
{
	sodium_memzero(c, sizeof(*c));
}

int
smtp_cred_parse(const char *value, struct smtp_cred *c)
{
	size_t n = strlen(value);
	const char *colon = memchr(value, ':', n);
	size_t ulen = colon ? (size_t)(colon - value) : 0;
	size_t plen = colon ? n - ulen - 1 : 0;
	crypto_generichash_state h;

	smtp_cred_clear(c);
	if (!id_key_set) {
		randombytes_buf(id_key, sizeof(id_key));
		id_key_set = 1;
	}
	if (n >= LIM_SASL_CRED || ulen == 0 || plen == 0 ||
	    ulen > LIM_SASL_FIELD || plen > LIM_SASL_FIELD)
		return -1;
	memcpy(c->user, value, ulen);
	memcpy(c->pass, colon + 1, plen);
	if (crypto_generichash_init(&h, id_key, sizeof(id_key),
				    sizeof(c->id)) != 0 ||
	    crypto_generichash_update(&h, (const unsigned char *)value,
				      n + 1) != 0 ||
	    crypto_generichash_final(&h, c->id, sizeof(c->id)) != 0) {
		smtp_cred_clear(c);
		return -1;
	}
	sodium_memzero(&h, sizeof(h));
	c->set = 1;
	return 0;
}

/* found - the value of key k into c; 0, or -1 with r (a bad value) */
static int
found(const char *k, char *value, struct smtp_cred *c, struct result *r)
{
	int rc = smtp_cred_parse(value, c);

	sodium_memzero(value, LIM_SASL_CRED + 1);
	if (rc != 0) {
		remote_result(r, 4, "4.3.5",
			      "smtp_sasl_password_map: bad value for \"%.200s\""
			      ": expected username:password, each of 1 to %d "
			      "octets",
			      k, LIM_SASL_FIELD);
		return -1;
	}
	snprintf(c->key, sizeof(c->key), "%.*s", LIM_MAP_KEY - 1, k);
	return 0;
}

int
smtp_cred_lookup(const char *route, const char *host, int port,
		 const char *nexthop, struct smtp_cred *c, struct result *r)
{
	char keys[4][LIM_MAP_KEY], value[LIM_SASL_CRED + 1];
	int nk = 0;

	smtp_cred_clear(c);
	if (!pw_map_set)
		return 0;
	snprintf(keys[nk++], LIM_MAP_KEY, "%s", route);
	snprintf(keys[nk++], LIM_MAP_KEY, "[%s]:%d", host, port);
	snprintf(keys[nk++], LIM_MAP_KEY, "%s", host);
	snprintf(keys[nk++], LIM_MAP_KEY, "%s", nexthop);
	for (int i = 0; i < nk; i++) {
		/* a longer value comes cut to LIM_SASL_CRED octets, which
		 * smtp_cred_parse refuses */
		int rc = map_get(&pw_map, keys[i], value, sizeof(value));
		if (rc == 1)
			return found(keys[i], value, c, r);
		if (rc < 0) {
			remote_result(r, 4, "4.3.0",
				      "smtp_sasl_password_map lookup error: %s",
				      value);
			return -1;
		}
	}
	return 0;
}

unsigned
smtp_auth_pick(const char *prefs, unsigned offered)
{
	for (const char *p = prefs; *(p += strspn(p, ", \t"));) {
		size_t len = strcspn(p, ", \t");
		unsigned m = 0;
		if (len == 5 && strncasecmp(p, "PLAIN", 5) == 0)
			m = SMTP_AUTH_PLAIN;
		else if (len == 5 && strncasecmp(p, "LOGIN", 5) == 0)
			m = SMTP_AUTH_LOGIN;
		if (m & offered)
			return m;
		p += len;
	}
	return 0;
}

int
smtp_auth_b64(const void *in, size_t n, char *out, size_t len)
{
	if (len < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	sodium_bin2base64(out, len, in, n, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int
smtp_auth_plain(const struct smtp_cred *c, char *out, size_t len)
{
	unsigned char msg[LIM_SASL_CRED + 1];
	size_t u = strlen(c->user), p = strlen(c->pass);
	int rc;

	/* authzid (empty) NUL authcid NUL passwd: at most 2 + 2 * 255 */
	msg[0] = 0;
	memcpy(msg + 1, c->user, u);
	msg[1 + u] = 0;
	memcpy(msg + 2 + u, c->pass, p);
	rc = smtp_auth_b64(msg, 2 + u + p, out, len);
	sodium_memzero(msg, sizeof(msg));
	return rc;
}

/*
 * The dialogue.  Every reply waits smtp_helo_timeout, as EHLO's.
 */
struct auth {
	struct smtp_conn *c;
	const struct smtp_cred *cred;
	const char *id, *mech;
	struct result *fail;
	struct smtp_reply rep;
};

/* bye - QUIT and its reply, briefly: the peer is given up on (as
 * remote_smtp.c's smtp_quit, kept here so this file stands alone in
 * the unit tests) */
static void
bye(struct smtp_conn *c)
{
	struct smtp_reply rep;

	if (smtp_write(c, "QUIT\r\n", 6, REMOTE_CACHE_QUIT_S) != 0 ||
	    smtp_read_reply(c, REMOTE_CACHE_QUIT_S, &rep) != 0)
		return; /* nothing was delivered: a lost QUIT changes nothing */
}

/* say - one line (a secret one: wiped after) and the reply to it */
static int
say(struct auth *a, char *line, size_t n)
{
	int rc = smtp_write(a->c, line, n, cfg.smtp_helo_timeout);

	sodium_memzero(line, n);
	return rc != 0 ? -1
		       : smtp_read_reply(a->c, cfg.smtp_helo_timeout, &a->rep);
}

/* refused - the peer's 4xx or 5xx: deferred with its words (Postfix
 * soft-bounces SASL failures by default: a wrong password in our map is
 * ours to fix, not the sender's mail to return) */
static int
refused(struct auth *a)
{
	char flat[LIM_ERRTEXT], dsn[16] = "4.7.0";
	struct smtp_conn *c = a->c;

	smtp_reply_flat(&a->rep, flat, sizeof(flat));
	if (a->rep.code / 100 == 4) {
		smtp_reply_dsn(&a->rep, dsn, sizeof(dsn));
		if (dsn[0] != '4')
			snprintf(dsn, sizeof(dsn), "4.7.0");
	}
	remote_result(a->fail, 4, dsn,
		      "SASL authentication failed; server %s[%s] said: %s",
		      c->host, c->addr, flat);
	log_warn("%s: SASL %s authentication failed for sasl_username=%s "
		 "(map key %s) with %s[%s]:%d: %s",
		 a->id, a->mech, a->cred->user, a->cred->key, c->host, c->addr,
		 c->port, flat);
	bye(c); /* in step: the session ends politely */
	return -1;
}

/* out_of_step - a reply the dialogue has no place for: the session
 * cannot go on (no QUIT: the peer waits for something else) */
static int
out_of_step(struct auth *a, const char *after)
{
	char flat[LIM_ERRTEXT];

	smtp_reply_flat(&a->rep, flat, sizeof(flat));
	remote_result(a->fail, 4, "4.5.0",
		      "SASL authentication failed; protocol error: host "
		      "%s[%s] said: %s (in reply to %s)",
		      a->c->host, a->c->addr, flat, after);
	log_warn("%s: SASL %s authentication with %s[%s]:%d for "
		 "sasl_username=%s: protocol error: %s",
		 a->id, a->mech, a->c->host, a->c->addr, a->c->port,
		 a->cred->user, flat);
	return -1;
}

static int
io_failed(struct auth *a)
{
	remote_result(a->fail, 4, "4.4.2",
		      "lost connection with %s[%s] while performing the AUTH "
		      "dialogue: %s",
		      a->c->host, a->c->addr, a->c->err);
	return -1;
}

/* verdict - the reply after the last response: 235 goes on */
static int
verdict(struct auth *a, const char *after)
{
	if (a->rep.code == 235) {
		log_debug("%s: SASL %s authentication as %s with %s[%s]:%d",
			  a->id, a->mech, a->cred->user, a->c->host, a->c->addr,
			  a->c->port);
		return 0;
	}
	if (a->rep.code / 100 == 4 || a->rep.code / 100 == 5)
		return refused(a);
	return out_of_step(a, after);
}

static int
auth_plain(struct auth *a)
{
	/* "AUTH PLAIN " base64 CRLF: under 1000 octets, RFC 5321's 512
	 * does not bind AUTH (RFC 4954 4) */
	char line[16 + SMTP_AUTH_B64(LIM_SASL_CRED + 1)];
	size_t n = (size_t)snprintf(line, sizeof(line), "AUTH PLAIN ");

	if (smtp_auth_plain(a->cred, line + n, sizeof(line) - n - 2) != 0)
		return io_failed(a); /* cannot happen: sized above */
	n += strlen(line + n);
	memcpy(line + n, "\r\n", 2);
	if (say(a, line, n + 2) != 0)
		return io_failed(a);
	return verdict(a, "AUTH PLAIN with its initial response");
}

/* login_step - one LOGIN response (user name or password) after a 334 */
static int
login_step(struct auth *a, const char *field, const char *what)
{
	char line[SMTP_AUTH_B64(LIM_SASL_FIELD) + 2];
	size_t n;

	if (a->rep.code != 334)
		return a->rep.code / 100 == 4 || a->rep.code / 100 == 5
			   ? refused(a)
			   : out_of_step(a, what);
	if (smtp_auth_b64(field, strlen(field), line, sizeof(line) - 2) != 0)
		return io_failed(a); /* cannot happen: sized above */
	n = strlen(line);
	memcpy(line + n, "\r\n", 2);
	return say(a, line, n + 2) != 0 ? io_failed(a) : 1;
}

static int
auth_login(struct auth *a)
{
	char cmd[] = "AUTH LOGIN\r\n";
	int rc;

	if (say(a, cmd, sizeof(cmd) - 1) != 0)
		return io_failed(a);
	if ((rc = login_step(a, a->cred->user, "AUTH LOGIN")) != 1 ||
	    (rc = login_step(a, a->cred->pass, "the user name")) != 1)
		return rc;
	return verdict(a, "the password");
}

/* not_now - credentials that are not sent: the peer fails, politely
 * (the caller logs the reason with the queue ID) */
static int
not_now(struct smtp_conn *c)
{
	bye(c);
	return -1;
}

int
smtp_auth(struct smtp_conn *c, const struct smtp_ext *x,
	  const struct smtp_cred *cred, const char *id, struct result *fail)
{
	struct auth a = {.c = c, .cred = cred, .id = id, .fail = fail};
	unsigned m;

	if (cred == NULL || !cred->set || !x->auth)
		return 0; /* nothing to send, or a peer that wants none */
	if (cfg.smtp_sasl_tls_only && !c->tls) {
		remote_result(fail, 4, "4.7.0",
			      "SASL authentication not attempted: server "
			      "%s[%s] offers AUTH, but not over TLS "
			      "(smtp_sasl_tls_only = yes)",
			      c->host, c->addr);
		return not_now(c);
	}
	if ((m = smtp_auth_pick(cfg.smtp_sasl_mechanisms, x->auth_mechs)) ==
	    0) {
		remote_result(fail, 4, "4.7.0",
			      "SASL authentication not attempted: server "
			      "%s[%s] offers none of smtp_sasl_mechanisms (%s)",
			      c->host, c->addr, cfg.smtp_sasl_mechanisms);
		return not_now(c);
	}
	a.mech = m == SMTP_AUTH_PLAIN ? "PLAIN" : "LOGIN";
	return m == SMTP_AUTH_PLAIN ? auth_plain(&a) : auth_login(&a);
}
