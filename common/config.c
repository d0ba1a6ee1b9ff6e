/*
 * config.c - parse mta.conf(5).
 *
 * The table below is the single list of keys: its name, type, default and
 * bounds; mta.conf(5) documents each row.  Lines are "key = value"; "#"
 * starts a comment at the start of a line; a line that begins with white
 * space continues the previous value.
 * Trusts: nothing in the file; every value is checked against its type.
 * Never: accepts an unknown key or a value out of bounds silently.
 */
#include "config.h"
#include "cidr.h"
#include "dnsbl.h"
#include "mta_limits.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONFIG_LINE_MAX 4096 /* bytes in one logical line */
#define CONFIG_LINES_MAX 10000

enum ctype { C_STR, C_INT, C_TIME, C_SIZE, C_BOOL };

struct ckey {
	const char *name;
	enum ctype type;
	size_t off;
	const char *def;
	long min, max;
};

struct config cfg;
static char default_host[LIM_HOSTNAME];
char config_file[4096];

#define S(n, d) {#n, C_STR, offsetof(struct config, n), d, 0, 0}
#define N(n, t, d, lo, hi) {#n, t, offsetof(struct config, n), d, lo, hi}

static const struct ckey keys[] = {
	S(run_mode, "root"),
	S(queue_directory, "/var/spool/mta"),
	S(daemon_directory, "/usr/libexec/mta"),
	S(maillog_file, ""),
	S(myhostname, ""),
	S(mydestination, "localhost"),
	S(virtual_mailbox_domains, ""),
	S(relay_domains, ""),
	S(mailbox_base, "/var/mail/vhosts"),
	S(mailbox_template, "%d/%u/Maildir"),
	S(recipient_delimiter, "+"),
	S(smtpd_listen, "0.0.0.0:25"),
	S(smtpd_banner, "ESMTP"),
	S(mail_owner, "mta"),
	S(smtpd_user, "mta-smtpd"),
	S(local_user, "vmail"),
	S(remote_user, "mta-remote"),
	S(smtpd_passwd_map, ""),
	N(smtpd_tls_auth_only, C_BOOL, "yes", 0, 1),
	S(tlsproxy_user, "mta-tls"),
	S(setgid_group, "mtadrop"),
	S(smtpd_tls_cert_file, ""),
	S(smtpd_tls_key_file, ""),
	S(smtpd_tls_protocols, "TLSv1.2"),
	S(smtpd_tls_ciphers, "HIGH:!aNULL:!MD5:!RC4:!3DES:!CAMELLIA:!ARIA"),
	S(submission_listen, ""),
	S(smtps_listen, ""),
	S(smtpd_sender_login_map, ""),
	N(smtpd_sender_login_check, C_BOOL, "no", 0, 1),
	N(submission_sender_login_check, C_BOOL, "yes", 0, 1),
	N(smtpd_auth_failure_delay, C_TIME, "1s", 0, 60),
	N(smtpd_auth_failure_limit, C_INT, "10", 0, 64),
	N(smtpd_auth_failure_window, C_TIME, "15m", 1, 86400),
	S(smtp_tls_cafile, ""),
	S(smtp_tls_capath, ""),
	N(message_size_limit, C_SIZE, "52428800", 1024, LONG_MAX / 2),
	N(header_size_limit, C_SIZE, "102400", 1024, 64 << 20),
	N(hop_count_limit, C_INT, "100", 1, 1000),
	N(smtpd_recipient_limit, C_INT, "1000", 1, 10000),
	N(smtpd_error_limit, C_INT, "20", 1, 1000),
	N(smtpd_timeout, C_TIME, "300s", 1, 3600),
	N(smtpd_data_timeout, C_TIME, "600s", 1, 7200),
	N(smtpd_client_lookup_timeout, C_TIME, "5s", 0, 60),
	N(smtpd_process_limit, C_INT, "100", 1, 10000),
	N(cleanup_process_limit, C_INT, "100", 1, 10000),
	N(local_process_limit, C_INT, "20", 1, 1000),
	N(remote_process_limit, C_INT, "100", 1, 10000),
	N(local_concurrency_limit, C_INT, "10", 1, 1000),
	N(qmgr_message_active_limit, C_INT, "10000", 1, 1000000),
	N(qmgr_recipient_limit, C_INT, "50", 1, 1000),
	N(remote_concurrency_limit, C_INT, "100", 1, 10000),
	N(initial_destination_concurrency, C_INT, "5", 1, 1000),
	N(default_destination_concurrency_limit, C_INT, "20", 1, 1000),
	N(destination_dead_limit, C_INT, "3", 1, 1000),
	N(delay_warning_time, C_TIME, "4h", 0, 365L * 86400),
	N(maximal_queue_lifetime, C_TIME, "5d", 1, 365L * 86400),
	N(max_use, C_INT, "100", 1, 1000000),
	N(max_idle, C_TIME, "100s", 1, 86400),
	N(minimal_backoff_time, C_TIME, "300s", 1, 86400),
	N(maximal_backoff_time, C_TIME, "3600s", 1, 7 * 86400),
	N(queue_run_delay, C_TIME, "60s", 1, 86400),
	N(qmgr_agent_accept_timeout, C_TIME, "30s", 1, 3600),
	N(lmdb_map_size, C_SIZE, "16m", 1 << 20, 1L << 40),
	N(maildir_size_in_name, C_BOOL, "yes", 0, 1),
	N(service_restart_delay, C_TIME, "1s", 0, 3600),
	N(shutdown_timeout, C_TIME, "30s", 1, 3600),
	N(verbose, C_BOOL, "no", 0, 1),
	S(mynetworks, "127.0.0.0/8, ::1/128"),
	S(smtpd_bare_lf, "normalize"),
	N(smtpd_pregreet_wait_ms, C_INT, "300", 0, 10000),
	N(smtpd_line_limit, C_INT, "512", 512, 4096),
	N(smtpd_client_connection_count_limit, C_INT, "50", 0, 100000),
	N(smtpd_client_connection_rate_limit, C_INT, "300", 0, 1000000),
	N(smtpd_verb_trusted, C_BOOL, "no", 0, 1),
	N(smtpd_vrfy_trusted, C_BOOL, "no", 0, 1),
	N(smtpd_expn_trusted, C_BOOL, "no", 0, 1),
	S(smtpd_client_access_map, ""),
	S(smtpd_sender_access_map, ""),
	S(smtpd_helo_access_map, ""),
	S(smtpd_recipient_access_map, ""),
	S(smtpd_dnsbl_sites, ""),
	S(smtpd_rhsbl_sender_sites, ""),
	S(smtpd_dnswl_sites, ""),
	S(smtpd_rhsbl_client_sites, ""),
	S(smtpd_rhsbl_helo_sites, ""),
	N(smtpd_dnsbl_timeout, C_TIME, "5s", 0, 60),
	S(resolver_user, "mta-dns"),
	S(resolver_nameservers, ""),
	N(resolver_timeout, C_TIME, "5s", 1, 300),
	N(resolver_retries, C_INT, "2", 0, 10),
	N(resolver_cache_size, C_INT, "10000", 1, 10000000),
	N(resolver_cache_max_ttl, C_TIME, "1d", 0, 7 * 86400),
	N(resolver_negative_ttl_max, C_TIME, "1h", 0, 86400),
	N(resolver_process_limit, C_INT, "1", 1, 1000),
	N(resolver_threads, C_INT, "32", 1, 256),
	S(relayhost, ""),
	S(transport_maps, ""),
	S(smtp_helo_name, ""),
	N(smtp_port, C_INT, "25", 1, 65535),
	N(smtp_connect_timeout, C_TIME, "30s", 1, 3600),
	N(smtp_helo_timeout, C_TIME, "300s", 1, 3600),
	N(smtp_mail_timeout, C_TIME, "300s", 1, 3600),
	N(smtp_rcpt_timeout, C_TIME, "300s", 1, 3600),
	N(smtp_data_init_timeout, C_TIME, "120s", 1, 3600),
	N(smtp_data_block_timeout, C_TIME, "180s", 1, 3600),
	N(smtp_data_done_timeout, C_TIME, "600s", 1, 3600),
	N(smtp_quit_timeout, C_TIME, "300s", 1, 3600),
	N(smtp_recipient_limit, C_INT, "50", 1, 1000),
	N(smtp_send_8bit_anyway, C_BOOL, "no", 0, 1),
	N(smtp_mime_downgrade, C_BOOL, "yes", 0, 1),
	N(smtp_line_length_limit, C_INT, "998", 0, 100000),
	N(smtp_mx_session_limit, C_INT, "2", 1, 32),
	S(remote_tls_security_level, "may"),
	S(remote_tls_policy_map, ""),
	S(remote_tls_cafile, ""),
	N(remote_connection_reuse_time, C_TIME, "5s", 0, 3600),
	N(remote_connection_reuse_limit, C_INT, "100", 1, 100000),
	S(smtp_sasl_password_map, ""),
	N(smtp_sasl_tls_only, C_BOOL, "yes", 0, 1),
	S(smtp_sasl_mechanisms, "PLAIN LOGIN"),
	N(resolver_dnssec_trust_ad, C_BOOL, "no", 0, 1),
	S(virtual_mailbox_maps, ""),
	S(alias_maps, ""),
	N(alias_max_depth, C_INT, "20", 1, 100),
	N(alias_max_targets, C_INT, "1000", 1, 100000),
	N(mailbox_quota, C_SIZE, "0", 0, LONG_MAX / 2),
	N(mailbox_quota_bounce, C_BOOL, "no", 0, 1),
	N(mailbox_quota_count, C_INT, "0", 0, 1000000000),
	N(mbox_lock_timeout, C_TIME, "10s", 0, 3600),
	S(local_users, "any"),
	S(home_mailbox, "Maildir/"),
	S(mail_spool_directory, "/var/mail"),
	S(srs_secret_file, "/etc/mta/srs.key"),
	S(srs_domain, ""),
	N(srs_max_age, C_TIME, "21d", 86400, 1000 * 86400L),
	N(allow_mail_to_commands, C_BOOL, "no", 0, 1),
	S(command_user, "nobody"),
	N(command_time_limit, C_TIME, "60s", 1, 86400),
	N(allow_mail_to_files, C_BOOL, "no", 0, 1),
	N(allow_forward, C_BOOL, "yes", 0, 1),
	N(tls_handshake_timeout, C_TIME, "60s", 1, 3600),
	N(tlsproxy_idle_timeout, C_TIME, "600s", 1, 86400),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct ckey *
key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
parse_number(const char *s, long *out, const char *units, const long *mult)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	if (*end != 0) {
		const char *u = strchr(units, tolower((unsigned char)*end));
		if (u == NULL || end[1] != 0)
			return -1;
		long m = mult[u - units];
		if (v > LONG_MAX / m)
			return -1;
		v *= m;
	}
	*out = v;
	return 0;
}

int
config_parse_time(const char *s, long *out)
{
	static const long mult[] = {1, 60, 3600, 86400, 604800};
	return parse_number(s, out, "smhdw", mult);
}

int
config_parse_size(const char *s, long *out)
{
	static const long mult[] = {1024, 1L << 20, 1L << 30};
	return parse_number(s, out, "kmg", mult);
}

int
config_parse_bool(const char *s, long *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int
key_assign(const struct ckey *k, const char *value, char *err, size_t errlen)
{
	char *slot = (char *)&cfg + k->off;
	long v;
	int rc;

	if (k->type == C_STR) {
		char *copy = strdup(value);
		if (copy == NULL)
			return snprintf(err, errlen, "out of memory"), -1;
		free(*(char **)slot);
		*(char **)slot = copy;
		return 0;
	}
	switch (k->type) {
	case C_INT:
		rc = config_parse_size(value, &v); /* plain or k/m/g */
		break;
	case C_TIME:
		rc = config_parse_time(value, &v);
		break;
	case C_SIZE:
		rc = config_parse_size(value, &v);
		break;
	default:
		rc = config_parse_bool(value, &v);
		break;
	}
	if (rc != 0) {
		static const char *what[] = {"", "a number", "a time (e.g. 300s, "
			"5m, 4h, 5d)", "a size (e.g. 1048576, 512k, 50m)",
			"yes or no"};
		snprintf(err, errlen, "%s: bad value \"%s\": expected %s",
			 k->name, value, what[k->type]);
		return -1;
	}
	if (v < k->min || v > k->max) {
		snprintf(err, errlen, "%s: value \"%s\" out of range [%ld..%ld]",
			 k->name, value, k->min, k->max);
		return -1;
	}
	*(long *)slot = v;
	return 0;
}

/* value_check - string keys whose values have a syntax of their own. */
static int
value_check(const char *key, const char *value, char *err, size_t errlen)
{
	char why[256];
	struct cidr_list l;
	static struct dnsbl_sites bl;

	if (strcmp(key, "mynetworks") == 0 &&
	    cidr_list_parse(value, &l, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	if ((strcmp(key, "smtpd_dnsbl_sites") == 0 ||
	     strcmp(key, "smtpd_dnswl_sites") == 0 ||
	     strcmp(key, "smtpd_rhsbl_client_sites") == 0 ||
	     strcmp(key, "smtpd_rhsbl_helo_sites") == 0 ||
	     strcmp(key, "smtpd_rhsbl_sender_sites") == 0) &&
	    dnsbl_sites_parse(value, &bl, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	if (strcmp(key, "smtpd_bare_lf") == 0 &&
	    strcmp(value, "normalize") != 0 && strcmp(value, "reject") != 0) {
		snprintf(err, errlen, "%s: bad value \"%s\": expected "
			 "normalize or reject", key, value);
		return -1;
	}
	return 0;
}

int
config_set(const char *key, const char *value, char *err, size_t errlen)
{
	const struct ckey *k = key_find(key);

	if (k == NULL) {
		snprintf(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	if (value_check(key, value, err, errlen) != 0)
		return -1;
	return key_assign(k, value, err, errlen);
}

/* sasl_mechanisms_check - smtp_sasl_mechanisms: one or more of PLAIN
 * and LOGIN (remote(8) speaks no other), white space or commas between */
static int
sasl_mechanisms_check(const char *list, char *err, size_t errlen)
{
	int n = 0;

	for (const char *p = list; *(p += strspn(p, ", \t")); n++) {
		size_t len = strcspn(p, ", \t");
		if (!(len == 5 && strncasecmp(p, "PLAIN", 5) == 0) &&
		    !(len == 5 && strncasecmp(p, "LOGIN", 5) == 0)) {
			snprintf(err, errlen, "smtp_sasl_mechanisms: unknown "
				 "mechanism \"%.*s\": expected PLAIN or LOGIN",
				 (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		p += len;
	}
	if (n == 0)
		snprintf(err, errlen, "smtp_sasl_mechanisms: empty: expected "
			 "PLAIN and/or LOGIN");
	return n == 0 ? -1 : 0;
}

static int
config_check(char *err, size_t errlen)
{
	if (strcmp(cfg.local_users, "any") != 0 &&
	    strcmp(cfg.local_users, "system") != 0) {
		snprintf(err, errlen, "local_users: bad value \"%s\": expected "
			 "any or system", cfg.local_users);
		return -1;
	}
	if (strcmp(cfg.run_mode, "root") != 0 &&
	    strcmp(cfg.run_mode, "user") != 0) {
		snprintf(err, errlen, "run_mode: bad value \"%s\": expected "
			 "root or user", cfg.run_mode);
		return -1;
	}
	if (strcmp(cfg.remote_tls_security_level, "none") != 0 &&
	    strcmp(cfg.remote_tls_security_level, "may") != 0 &&
	    strcmp(cfg.remote_tls_security_level, "encrypt") != 0 &&
	    strcmp(cfg.remote_tls_security_level, "verify") != 0 &&
	    strcmp(cfg.remote_tls_security_level, "dane") != 0) {
		snprintf(err, errlen, "remote_tls_security_level: bad value "
			 "\"%s\": expected none, may, encrypt, verify or dane",
			 cfg.remote_tls_security_level);
		return -1;
	}
	if (sasl_mechanisms_check(cfg.smtp_sasl_mechanisms, err, errlen) != 0)
		return -1;
	if (cfg.queue_directory[0] != '/') {
		snprintf(err, errlen, "queue_directory: \"%s\" is not an "
			 "absolute path", cfg.queue_directory);
		return -1;
	}
	if (strlen(cfg.recipient_delimiter) > 1) {
		snprintf(err, errlen, "recipient_delimiter: \"%s\" must be "
			 "one character or empty", cfg.recipient_delimiter);
		return -1;
	}
	if (dnsbl_connect_check(cfg.smtpd_dnsbl_sites, cfg.smtpd_dnswl_sites,
				cfg.smtpd_rhsbl_client_sites, err,
				errlen) != 0)
		return -1;
	if (cfg.minimal_backoff_time > cfg.maximal_backoff_time) {
		snprintf(err, errlen, "minimal_backoff_time is greater than "
			 "maximal_backoff_time");
		return -1;
	}
	return 0;
}

void
config_defaults(void)
{
	char err[256], host[LIM_HOSTNAME];

	for (size_t i = 0; i < NKEYS; i++)
		if (key_assign(&keys[i], keys[i].def, err, sizeof(err)) != 0)
			abort(); /* a bad default is a bug in the table */
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	free(cfg.myhostname);
	cfg.myhostname = strdup(host);
	snprintf(default_host, sizeof(default_host), "%s", host);
}

/* trim - strip white space at both ends, in place. */
static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int
config_line(const char *path, int lineno, char *line, char *err,
	    size_t errlen)
{
	char *eq = strchr(line, '='), *key, *value, msg[512];

	if (eq == NULL) {
		snprintf(err, errlen, "%s:%d: missing \"=\" in \"%.60s\"", path,
			 lineno, trim(line));
		return -1;
	}
	*eq = 0;
	key = trim(line);
	value = trim(eq + 1);
	if (config_set(key, value, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
		return -1;
	}
	return 0;
}

int
config_load(const char *path, char *err, size_t errlen)
{
	FILE *fp;
	char buf[CONFIG_LINE_MAX], logical[CONFIG_LINE_MAX];
	int lineno = 0, start = 0, have = 0, rc = 0;

	config_defaults();
	if (realpath(path, config_file) == NULL)
		snprintf(config_file, sizeof(config_file), "%s", path);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(buf, sizeof(buf), fp) != NULL) {
		size_t len = strlen(buf);
		if (++lineno > CONFIG_LINES_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d lines",
				 path, lineno, CONFIG_LINES_MAX);
			rc = -1;
			break;
		}
		if (len == sizeof(buf) - 1 && buf[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%d: line longer than %d "
				 "bytes", path, lineno, CONFIG_LINE_MAX - 2);
			rc = -1;
			break;
		}
		char *t = trim(buf);
		if (*t == '#' || *t == 0)
			continue;
		if (isspace((unsigned char)buf[0]) && have) {
			/* continuation of the previous value */
			if (strlen(logical) + strlen(t) + 2 >= sizeof(logical)) {
				snprintf(err, errlen, "%s:%d: value longer "
					 "than %d bytes", path, lineno,
					 CONFIG_LINE_MAX - 2);
				rc = -1;
				break;
			}
			strcat(logical, " ");
			strcat(logical, t);
			continue;
		}
		if (have)
			rc = config_line(path, start, logical, err, errlen);
		snprintf(logical, sizeof(logical), "%s", t);
		start = lineno;
		have = 1;
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: read error: %s", path,
			 strerror(errno));
		rc = -1;
	}
	fclose(fp);
	if (rc == 0 && have)
		rc = config_line(path, start, logical, err, errlen);
	if (rc == 0) {
		char msg[512];
		if (config_check(msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s: %s", path, msg);
			rc = -1;
		}
	}
	return rc;
}

void
config_print(int fd, int only_changed)
{
	FILE *fp = fdopen(dup(fd), "w");

	if (fp == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct ckey *k = &keys[i];
		const char *slot = (const char *)&cfg + k->off;
		if (k->type == C_STR) {
			const char *v = *(char *const *)slot;
			if (only_changed && strcmp(v, k->off == offsetof(struct
			    config, myhostname) ? default_host : k->def) == 0)
				continue;
			fprintf(fp, "%s = %s\n", k->name, v);
			continue;
		}
		long v = *(const long *)slot, d = 0;
		if (k->type == C_TIME)
			config_parse_time(k->def, &d);
		else if (k->type == C_BOOL)
			config_parse_bool(k->def, &d);
		else
			config_parse_size(k->def, &d);
		if (only_changed && v == d)
			continue;
		if (k->type == C_BOOL)
			fprintf(fp, "%s = %s\n", k->name, v ? "yes" : "no");
		else if (k->type == C_TIME)
			fprintf(fp, "%s = %lds\n", k->name, v);
		else
			fprintf(fp, "%s = %ld\n", k->name, v);
	}
	fclose(fp);
}

const char *
config_list_next(const char *p, char *item, size_t itemlen)
{
	size_t n = 0;

	while (*p == ',' || isspace((unsigned char)*p))
		p++;
	if (*p == 0)
		return NULL;
	while (*p && *p != ',' && !isspace((unsigned char)*p)) {
		if (n + 1 < itemlen)
			item[n++] = *p;
		p++;
	}
	item[n] = 0;
	return p;
}

int
config_list_has(const char *list, const char *item)
{
	/* one byte more than any item may have, so a longer one shows */
	char one[LIM_DOMAIN + 2];
	int count = 0;

	while ((list = config_list_next(list, one, sizeof(one))) != NULL &&
	       count++ < CONFIG_LIST_MAX)
		if (strlen(one) <= LIM_DOMAIN && strcasecmp(one, item) == 0)
			return 1;
	return 0;
}
