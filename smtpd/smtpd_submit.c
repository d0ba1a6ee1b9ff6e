/*
 * smtpd_submit.c - the roles of smtpd(8) and what they demand of MAIL:
 * port 25 (role smtpd), message submission on 587 (role submission,
 * RFC 6409: STARTTLS, then AUTH, before MAIL) and implicit TLS on 465
 * (role smtps, RFC 8314: TLS from the first byte, then as submission);
 * and the sender login map (smtpd_sender_login_map, mta-maps(5)), which
 * says which logins may use which envelope senders.
 *
 * The role is the service name master(8) runs smtpd under (argv[0]).
 * Trusts: the map, opened read-only before the chroot.
 * Never: lets an unauthenticated client start a transaction on the
 * submission ports; lets an authenticated user send as an address the
 * map does not give it, when the check is on.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "map.h"
#include "service.h"
#include "smtpd.h"

enum smtpd_role smtpd_role = ROLE_SMTPD;
static struct map login_map;
static int login_map_set;

/* smtpd_role_set - the role from the service name master gave us. */
void
smtpd_role_set(const char *service)
{
	const char *base = strrchr(service, '/');

	base = base ? base + 1 : service;
	if (strcmp(base, "submission") == 0)
		smtpd_role = ROLE_SUBMISSION;
	else if (strcmp(base, "smtps") == 0)
		smtpd_role = ROLE_SMTPS;
	else
		smtpd_role = ROLE_SMTPD;
}

const char *
smtpd_role_name(void)
{
	return smtpd_role == ROLE_SUBMISSION ? "submission"
	       : smtpd_role == ROLE_SMTPS    ? "smtps"
					     : "smtpd";
}

/* smtpd_submit_init - open the sender login map (as root, before the
 * chroot); warn about a role that cannot serve anyone. */
void
smtpd_submit_init(void)
{
	char db[4200], err[512];

	if (smtpd_role != ROLE_SMTPD && !smtpd_tls_available())
		log_warn("%s: no smtpd_tls_cert_file: every client will be "
			 "refused (TLS is required here)", smtpd_role_name());
	if (smtpd_role != ROLE_SMTPD && cfg.smtpd_passwd_map[0] == 0)
		log_warn("%s: no smtpd_passwd_map: every MAIL will be refused "
			 "(AUTH is required here)", smtpd_role_name());
	if (cfg.smtpd_sender_login_map[0] == 0)
		return;
	if (map_db_path(cfg.smtpd_sender_login_map, db, sizeof(db)) != 0)
		log_fatal("smtpd_sender_login_map: path too long");
	login_map_set = 1;
	/* a map not built yet is tried again at each lookup */
	if (map_open(&login_map, db, err, sizeof(err)) != 0)
		log_warn("%s (run mtactl makemap %s)", err,
			 cfg.smtpd_sender_login_map);
}

/* smtpd_mail_gate - the submission roles: TLS and AUTH before MAIL.
 * 1 after a refusal was sent. */
int
smtpd_mail_gate(struct smtpd_session *s)
{
	if (smtpd_role == ROLE_SMTPD)
		return 0;
	if (!smtpd_tls_active(s)) {
		reply_error(s, "530 5.7.0 Must issue a STARTTLS command "
			    "first\r\n");
		return 1;
	}
	if (s->auth_user[0] == 0) {
		reply_error(s, "530 5.7.0 Authentication required\r\n");
		return 1;
	}
	return 0;
}

/* login_listed - login is one of the names in the list (commas and/or
 * white space between them; compared without regard to case) */
static int
login_listed(const char *list, const char *login)
{
	size_t n = strlen(login);

	while (*list) {
		list += strspn(list, ", \t");
		size_t len = strcspn(list, ", \t");
		if (len == n && len > 0 && strncasecmp(list, login, n) == 0)
			return 1;
		list += len;
	}
	return 0;
}

/*
 * smtpd_sender_refused - an authenticated MAIL FROM checked against the
 * sender login map when this role's check is on: the address (without
 * its extension), then "@domain", must list the user.  The null sender
 * passes.  1 after a refusal was sent.
 */
int
smtpd_sender_refused(struct smtpd_session *s, const struct addr *a)
{
	static char val[LIM_MAP_VALUE];
	long check = smtpd_role == ROLE_SMTPD
			     ? cfg.smtpd_sender_login_check
			     : cfg.submission_sender_login_check;

	if (!check || !login_map_set || s->auth_user[0] == 0 || a->null)
		return 0;
	int r = map_get_addr(&login_map, a->local, a->domain,
			     cfg.recipient_delimiter[0], val, sizeof(val),
			     NULL, 0);
	service_map_check(&login_map);
	if (r < 0) {
		log_warn("smtpd_sender_login_map: %s", val);
		io_printf(&s->io, "451 4.3.0 Temporary lookup failure\r\n");
		return 1;
	}
	if (r == 1 && login_listed(val, s->auth_user))
		return 0;
	char client[400];
	smtpd_client_label(s, client, sizeof(client));
	log_info("NOQUEUE: reject: MAIL from %s: 553 5.7.1 Sender address "
		 "rejected: not owned by user %s; from=<%s@%s>", client,
		 s->auth_user, a->local, a->domain);
	reply_error(s, "553 5.7.1 Sender address rejected: not owned by "
		    "user %s\r\n", s->auth_user);
	return 1;
}
