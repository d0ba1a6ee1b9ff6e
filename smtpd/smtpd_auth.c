/*
 * smtpd_auth.c - SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and
 * LOGIN mechanisms, checked against the Argon2id password map
 * smtpd_passwd_map (mtactl passwd).
 *
 * Offered only after STARTTLS unless smtpd_tls_auth_only is off; an
 * authenticated client may relay and its mail is recorded with its user
 * name (queue file, log) and the protocol ESMTPA/ESMTPSA.  Every failure
 * is told to anvil(8), which answers the delay owed (doubling per failure
 * of the address or the account, across sessions and processes) and the
 * address's failures within smtpd_auth_failure_window: 535 comes after
 * the delay, and at smtpd_auth_failure_limit 421 ends the session (and
 * every later AUTH from there, until the window passes).  Without anvil
 * the delay grows within the session only.  A failure also counts as an
 * error toward smtpd_error_limit.
 * Trusts: nothing the client sends (common/sasl.c decodes strictly).
 * Never: logs a password; keeps one in memory after the check.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth_limit.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "passwd.h"
#include "sasl.h"
#include "smtpd.h"
#include "stats.h"

#define AUTH_ANVIL_MS 1000 /* for one answer of anvil */

/*
 * passwd_map - the map's path as this process sees it: in root mode
 * smtpd is chrooted into queue_directory (and its cwd is the root), so
 * "/var/spool/mta/passwd" is "passwd" here; other paths are unreachable
 * and fail with 454 and a log line.
 */
static const char *
passwd_map(void)
{
	const char *m = cfg.smtpd_passwd_map;
	size_t n = strlen(cfg.queue_directory);

	if (strcmp(cfg.run_mode, "root") == 0 &&
	    strncmp(m, cfg.queue_directory, n) == 0 && m[n] == '/')
		return m + n + 1;
	return m;
}

/* this session's connection to anvil for AUTH, opened at the first AUTH */
static struct ipc *anvil;

/* smtpd_auth_end - the session is over */
void
smtpd_auth_end(void)
{
	if (anvil != NULL)
		ipc_free(anvil);
	anvil = NULL;
}

/* anvil_auth - one auth_* request; 0 with delay and failures, or -1 when
 * anvil cannot be asked (then the session counts alone). */
static int
anvil_auth(struct smtpd_session *s, const char *req, const char *account,
	   long *delay, long *failures)
{
	struct attrs a;
	int ok1 = 0, ok2 = 0;

	if (anvil == NULL) {
		int fd = ipc_connect_unix("private/anvil");
		if (fd < 0 || (anvil = ipc_new(fd, AUTH_ANVIL_MS)) == NULL) {
			log_warn("connect to private/anvil: %m (AUTH failures "
				 "counted in this session only)");
			return -1;
		}
	}
	ipc_put_str(anvil, "req", req);
	ipc_put_str(anvil, "addr", s->client_addr);
	if (account != NULL)
		ipc_put_str(anvil, "account", account);
	attrs_init(&a);
	if (ipc_end(anvil) == IPC_OK && ipc_read(anvil, &a) == IPC_OK) {
		*delay = attrs_get_long(&a, "delay", &ok1);
		*failures = attrs_get_long(&a, "failures", &ok2);
	}
	attrs_free(&a);
	if (!ok1 || !ok2) {
		log_warn("no answer from anvil (AUTH failures counted in this "
			 "session only)");
		smtpd_auth_end();
		return -1;
	}
	return 0;
}

/* too_many - the address reached smtpd_auth_failure_limit: 421 given. */
static int
too_many(struct smtpd_session *s, long failures, const char *client)
{
	if (cfg.smtpd_auth_failure_limit == 0 ||
	    failures < cfg.smtpd_auth_failure_limit)
		return 0;
	log_warn("%s: too many failed authentications (%ld within %lds)",
		 client, failures, cfg.smtpd_auth_failure_window);
	io_printf(&s->io, "421 4.7.0 %s Error: too many failed "
		  "authentications\r\n", cfg.myhostname);
	s->quit = 1;
	return 1;
}

int
smtpd_auth_offered(const struct smtpd_session *s)
{
	/* the submission roles never take a password in the clear */
	return cfg.smtpd_passwd_map[0] != 0 &&
	       (smtpd_tls_active(s) ||
		(!cfg.smtpd_tls_auth_only && smtpd_role == ROLE_SMTPD));
}

/* response - the client's next line, without CRLF; -1 if none. */
static int
response(struct smtpd_session *s, char *buf, size_t cap, size_t *len)
{
	enum io_line rc = io_read_line(&s->io, buf, cap, len);

	if (rc != LINE_OK) {
		/* over 12288 octets: said, not just a dropped connection */
		if (rc == LINE_PART || rc == LINE_LONG) {
			io_printf(&s->io, "500 5.5.6 Error: authentication "
				  "exchange line is too long\r\n");
			s->quit = 1;
		} else if (rc == LINE_TIMEOUT) {
			io_printf(&s->io, "421 4.4.2 %s Error: timeout "
				  "exceeded\r\n", cfg.myhostname);
			s->quit = 1;
		}
		return -1;
	}
	while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
		buf[--*len] = 0;
	return 0;
}

/* challenge - "334 text", then the client's answer. */
static int
challenge(struct smtpd_session *s, const char *text, char *buf, size_t cap,
	  size_t *len)
{
	io_printf(&s->io, "334 %s\r\n", text);
	if (io_flush(&s->io) != 0)
		return -1;
	return response(s, buf, cap, len);
}

/* credentials - run the mechanism's dialogue; SASL_OK or an error. */
static int
credentials(struct smtpd_session *s, const char *mech, const char *initial,
	    struct sasl_cred *c)
{
	static char buf[LIM_SASL_LINE + 3];
	size_t len;

	memset(c, 0, sizeof(*c));
	if (strcasecmp(mech, "PLAIN") == 0) {
		if (initial)
			return sasl_plain(initial, strlen(initial), c);
		if (challenge(s, "", buf, sizeof(buf), &len) != 0)
			return SASL_CANCEL;
		return sasl_plain(buf, len, c);
	}
	/* LOGIN: user name (perhaps as the initial response), password */
	int rc;
	if (initial)
		rc = sasl_login_field(initial, strlen(initial), c->authcid);
	else if (challenge(s, SASL_LOGIN_USER_CHALLENGE, buf, sizeof(buf),
			   &len) != 0)
		return SASL_CANCEL;
	else
		rc = sasl_login_field(buf, len, c->authcid);
	if (rc != SASL_OK)
		return rc;
	if (challenge(s, SASL_LOGIN_PASS_CHALLENGE, buf, sizeof(buf), &len) !=
	    0)
		return SASL_CANCEL;
	rc = sasl_login_field(buf, len, c->passwd);
	memset(buf, 0, sizeof(buf));
	return rc;
}

static void
failed(struct smtpd_session *s, const char *mech, const char *client,
       const char *account)
{
	long delay = 0, failures = 0;

	s->auth_failures++;
	if (anvil_auth(s, "auth_fail", account, &delay, &failures) != 0) {
		/* alone: base, 2 * base ... within this session */
		delay = auth_limit_backoff(cfg.smtpd_auth_failure_delay,
					   AUTH_LIMIT_DELAY_MAX,
					   (unsigned)s->auth_failures);
		failures = 0;
	}
	if (delay > AUTH_LIMIT_DELAY_MAX)
		delay = AUTH_LIMIT_DELAY_MAX;
	log_warn("%s: SASL %s authentication failed: delay=%lds, "
		 "failures=%ld", client, mech, delay, failures);
	stats_inc(ST_SMTPD_AUTH_FAIL);
	/* slows a password guesser down, whichever session it uses; the
	 * session stays bounded by the error limit */
	struct timespec ts = {delay, 0};
	while (nanosleep(&ts, &ts) != 0)
		;
	if (!smtpd_error(s))
		io_printf(&s->io, "535 5.7.8 Error: authentication failed\r\n");
	if (!s->quit)
		too_many(s, failures, client);
}

void
smtpd_auth(struct smtpd_session *s, char *arg)
{
	char client[400], err[256], *initial;
	struct sasl_cred c;

	smtpd_client_label(s, client, sizeof(client));
	while (*arg == ' ')
		arg++;
	if (cfg.smtpd_passwd_map[0] == 0)
		return reply_error(s, "503 5.5.1 Error: authentication not "
				   "enabled\r\n");
	if (!smtpd_auth_offered(s))
		return reply_error(s, "530 5.7.0 Must issue a STARTTLS command "
				   "first\r\n");
	if (s->auth_user[0])
		return reply_error(s, "503 5.5.1 Error: already authenticated"
				   "\r\n");
	if (s->have_mail)
		return reply_error(s, "503 5.5.1 Error: MAIL transaction in "
				   "progress\r\n");
	long delay, failures;
	if (anvil_auth(s, "auth_check", NULL, &delay, &failures) == 0 &&
	    too_many(s, failures, client))
		return;
	char *mech = strtok_r(arg, " ", &initial);
	if (mech == NULL)
		return reply_error(s, "501 5.5.4 Syntax: AUTH mechanism\r\n");
	initial = strtok_r(NULL, " ", &initial);
	if (strcasecmp(mech, "PLAIN") != 0 && strcasecmp(mech, "LOGIN") != 0)
		return reply_error(s, "504 5.5.4 Error: unsupported "
				   "authentication mechanism\r\n");
	int rc = credentials(s, mech, initial, &c);
	if (s->quit || s->io.error) {
		sasl_cred_clear(&c);
		return;
	}
	if (rc != SASL_OK) {
		sasl_cred_clear(&c);
		return reply_error(s, "%s\r\n", sasl_reply(rc));
	}
	int v = passwd_verify(passwd_map(), c.authcid, c.passwd, err,
			      sizeof(err));
	if (v == PASSWD_OK && c.authzid[0] && strcmp(c.authzid, c.authcid))
		v = PASSWD_BAD; /* no proxy authorisation */
	if (v == PASSWD_OK) {
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", c.authcid);
		if (anvil_auth(s, "auth_ok", c.authcid, &delay, &failures))
			log_debug("anvil not told of the success");
		s->trusted = 1; /* may relay */
		log_info("%s: sasl_method=%s, sasl_username=%s", client, mech,
			 s->auth_user);
		io_printf(&s->io, "235 2.7.0 Authentication successful\r\n");
		stats_inc(ST_SMTPD_AUTH_OK);
	} else if (v == PASSWD_TEMP) {
		log_warn("%s: SASL %s: password map: %s", client, mech, err);
		io_printf(&s->io, "454 4.7.0 Temporary authentication "
			  "failure\r\n");
	} else
		failed(s, mech, client, c.authcid);
	sasl_cred_clear(&c);
}
