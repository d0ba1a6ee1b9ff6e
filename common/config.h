/*
 * config.h - mta.conf(5): every key, its type, its default.
 */
#ifndef MTA_CONFIG_H
#define MTA_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/mta/mta.conf"
#define CONFIG_LIST_MAX 64 /* entries in a list-valued key */

struct config {
	char *run_mode;   /* "root" or "user" */
	char *queue_directory;
	char *daemon_directory;
	char *maillog_file;
	char *myhostname;
	char *mydestination; /* list */
	char *virtual_mailbox_domains; /* list */
	char *relay_domains;           /* list */
	char *mailbox_base;
	char *mailbox_template;
	char *recipient_delimiter;
	char *smtpd_listen;
	char *smtpd_banner;
	char *mail_owner;
	char *smtpd_user;
	char *local_user;
	char *remote_user;
	char *smtpd_passwd_map; /* LMDB directory of AUTH hashes; "" = none */
	long smtpd_tls_auth_only; /* AUTH offered only after STARTTLS */
	char *tlsproxy_user;
	char *setgid_group; /* mtadrop's group, maildrop/'s (root mode) */
	char *smtpd_tls_cert_file, *smtpd_tls_key_file; /* "" = no TLS */
	char *smtpd_tls_protocols; /* lowest version: TLSv1.2 or TLSv1.3 */
	char *smtpd_tls_ciphers;   /* OpenSSL list for TLS 1.2 */
	char *submission_listen, *smtps_listen; /* ports 587, 465; "" = off */
	char *smtpd_sender_login_map; /* address or @domain -> logins */
	long smtpd_sender_login_check;      /* on port 25 */
	long submission_sender_login_check; /* on 587 and 465 */
	long smtpd_auth_failure_delay;  /* first delay; doubles per failure */
	long smtpd_auth_failure_limit;  /* failures per address: 421 */
	long smtpd_auth_failure_window; /* failures older than this forgotten */
	char *smtp_tls_cafile, *smtp_tls_capath; /* "" = system default */
	long message_size_limit;
	long header_size_limit;
	long hop_count_limit;
	long smtpd_recipient_limit;
	long smtpd_error_limit;
	long smtpd_timeout;
	long smtpd_data_timeout;
	long smtpd_client_lookup_timeout;
	long smtpd_process_limit;
	long cleanup_process_limit;
	long local_process_limit;
	long remote_process_limit;
	long local_concurrency_limit;
	long qmgr_message_active_limit;
	long qmgr_recipient_limit;
	long remote_concurrency_limit;
	long initial_destination_concurrency;
	long default_destination_concurrency_limit;
	long destination_dead_limit;
	long delay_warning_time;
	long maximal_queue_lifetime;
	long tls_handshake_timeout, tlsproxy_idle_timeout;
	long max_use;
	long max_idle;
	long minimal_backoff_time;
	long maximal_backoff_time;
	long queue_run_delay;
	long qmgr_agent_accept_timeout;
	long lmdb_map_size;
	long maildir_size_in_name;
	long service_restart_delay;
	long shutdown_timeout;
	long verbose;
	/* smtpd(8) */
	char *mynetworks;       /* CIDR list of trusted clients */
	char *smtpd_bare_lf;    /* normalize | reject */
	long smtpd_pregreet_wait_ms;
	long smtpd_line_limit;
	long smtpd_client_connection_count_limit;
	long smtpd_client_connection_rate_limit;
	long smtpd_verb_trusted;
	long smtpd_vrfy_trusted;
	long smtpd_expn_trusted;
	char *smtpd_client_access_map; /* address, net, host name -> action */
	char *smtpd_sender_access_map; /* address, domain, local@ -> action */
	char *smtpd_helo_access_map;   /* HELO name, parents -> action */
	char *smtpd_recipient_access_map; /* as the sender map */
	char *smtpd_dnsbl_sites;       /* list of zone[=pattern] */
	char *smtpd_rhsbl_sender_sites; /* the same, for sender domains */
	char *smtpd_dnswl_sites;	/* allow lists of client addresses */
	char *smtpd_rhsbl_client_sites; /* lists of client host names */
	char *smtpd_rhsbl_helo_sites;	/* lists of HELO names */
	long smtpd_dnsbl_timeout;      /* all DNSBL queries of a connection */
	char *resolver_user;
	char *resolver_nameservers; /* list of addr[:port] */
	long resolver_timeout;
	long resolver_retries;
	long resolver_cache_size;
	long resolver_cache_max_ttl;
	long resolver_negative_ttl_max;
	long resolver_process_limit;
	long resolver_threads;
	char *relayhost;
	char *transport_maps;
	char *smtp_helo_name;
	long smtp_port;
	long smtp_connect_timeout;
	long smtp_helo_timeout;
	long smtp_mail_timeout;
	long smtp_rcpt_timeout;
	long smtp_data_init_timeout;
	long smtp_data_block_timeout;
	long smtp_data_done_timeout;
	long smtp_quit_timeout;
	long smtp_recipient_limit;
	long smtp_send_8bit_anyway;
	long smtp_mime_downgrade; /* 8-bit to 7-bit MIME for peers without 8BITMIME */
	long smtp_line_length_limit; /* remote breaks longer lines; 0 = never */
	long smtp_mx_session_limit;  /* sessions per request: next MX on 4xx */
	char *remote_tls_security_level; /* none, may, encrypt, verify, dane */
	char *remote_tls_policy_map;      /* LMDB: domain -> level; "" = none */
	char *remote_tls_cafile;          /* CAs for verify ("": smtp_...) */
	long remote_connection_reuse_time;  /* s an idle SMTP connection is kept; 0: off */
	long remote_connection_reuse_limit; /* messages per SMTP connection */
	char *smtp_sasl_password_map; /* text file; its .lmdb: AUTH to peers */
	long smtp_sasl_tls_only;      /* send credentials over TLS only */
	char *smtp_sasl_mechanisms;   /* "PLAIN LOGIN", in order of preference */
	long resolver_dnssec_trust_ad;    /* believe the nameserver's AD bit */
	char *virtual_mailbox_maps; /* text file; its .lmdb is read */
	char *alias_maps;           /* text file; its .lmdb is read */
	long alias_max_depth;       /* alias nesting */
	long alias_max_targets;     /* addresses one recipient expands to */
	long mailbox_quota;         /* bytes per mailbox, 0: none */
	long mailbox_quota_bounce;  /* over quota: 5.2.2 (yes) or 4.2.2 */
	long mailbox_quota_count;   /* messages per Maildir, 0: no limit */
	long mbox_lock_timeout;     /* seconds to wait for an mbox lock */
	char *local_users;          /* mydestination users: any or system */
	char *home_mailbox;         /* relative to a system user's home */
	char *mail_spool_directory; /* mbox files when home_mailbox is "" */
	char *srs_secret_file;      /* HMAC key for SRS (made if missing) */
	char *srs_domain;           /* SRS addresses' domain ("": myhostname) */
	long srs_max_age;           /* seconds an SRS address stays valid */
	long allow_mail_to_commands; /* "|command" alias targets */
	char *command_user;          /* they run as this user (as root) */
	long command_time_limit;     /* seconds before they are killed */
	long allow_mail_to_files;    /* "/file" and "/dir/" alias targets */
	long allow_forward;          /* follow system users' ~/.forward */
};

extern struct config cfg;

/* config_defaults - fill cfg with every key's default. */
void config_defaults(void);
/*
 * config_load - read a file over the defaults.  On error, writes
 * "file:line: message" into err and returns -1; cfg then holds defaults
 * and whatever lines came before the error.
 */
int config_load(const char *path, char *err, size_t errlen);
/* config_set - set one key from text; returns -1 with a reason in err. */
int config_set(const char *key, const char *value, char *err, size_t errlen);
/* config_print - write "key = value" for every key (only changed: 1). */
void config_print(int fd, int only_changed);

/* config_parse_time - "300", "300s", "5m", "4h", "5d" into seconds. */
int config_parse_time(const char *s, long *out);
/* config_parse_size - "1048576", "512k", "50m", "1g" into bytes. */
int config_parse_size(const char *s, long *out);
/* config_parse_bool - yes/no, true/false, on/off, 1/0. */
int config_parse_bool(const char *s, long *out);

/* config_list_next - split lists on commas and white space. */
const char *config_list_next(const char *p, char *item, size_t itemlen);
/* config_list_has - whether a list holds item (case-insensitive). */
int config_list_has(const char *list, const char *item);

/* config_path - where this process read its config (absolute). */
extern char config_file[4096];

#endif
