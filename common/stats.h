/*
 * stats.h - the counters of mtactl stats: one fixed-layout file,
 * pid/stats in the queue directory, made afresh by master(8) at each
 * start and mapped shared by every daemon before it chroots and drops
 * its privileges.  An increment is one atomic add in that mapping: no
 * message to anyone, so the hot path stays cheap.
 */
#ifndef MTA_STATS_H
#define MTA_STATS_H

#include <stdint.h>
#include <sys/types.h>

#define STATS_FILE "pid/stats" /* relative to queue_directory */
#define STATS_MAGIC "MTASTAT1"
#define STATS_SLOTS 128 /* counters the file has room for */

/* The counters, a group's together (mtactl stats prints them in this
 * order).  The position is the slot in the file; master makes the file
 * afresh at each start, and a reader checks the count, so a new counter
 * may go anywhere. */
enum stat_id {
	ST_SMTPD_CONNECT,	 /* connections accepted by smtpd */
	ST_SMTPD_TLS_OK,	 /* TLS handshakes completed (STARTTLS, 465) */
	ST_SMTPD_TLS_FAIL,	 /* TLS handshakes failed (STARTTLS, 465) */
	ST_SMTPD_AUTH_OK,	 /* AUTH succeeded */
	ST_SMTPD_AUTH_FAIL,	 /* AUTH failed (535) */
	ST_SMTPD_ACCEPTED,	 /* messages queued (250 after DATA/BDAT) */
	ST_SMTPD_DNSWL_PASS,	 /* client in a DNSWL: block lists skipped */
	ST_REJECT_RELAY,	 /* 554 5.7.1 relay access denied */
	ST_REJECT_UNKNOWN_USER,	 /* 550 5.1.1 user unknown */
	ST_REJECT_ERRORS,	 /* 421 too many errors */
	ST_REJECT_SIZE,		 /* 552 5.3.4 too big */
	ST_REJECT_BARE_LF,	 /* 550 5.5.2 bare LF (smuggling) */
	ST_REJECT_PIPELINING,	 /* 554 5.5.0 improper pipelining */
	ST_REJECT_PREGREET,	 /* 554 early talker */
	ST_REJECT_CONN_LIMIT,	 /* 421 connection count/rate limit */
	ST_REJECT_SYNTAX,	 /* 500/501 bad command or syntax */
	ST_REJECT_CLIENT_ACCESS, /* refused by the client access map */
	ST_REJECT_SENDER_ACCESS, /* refused by the sender access map */
	ST_REJECT_DNSBL,	 /* 554 client listed in a DNSBL */
	ST_REJECT_HELO_ACCESS,	 /* refused by the HELO access map */
	ST_REJECT_RCPT_ACCESS,	 /* refused by the recipient access map */
	ST_REJECT_RHSBL,	 /* 554 sender domain listed in a domain list */
	ST_REJECT_RHSBL_CLIENT,	 /* 554 client name listed in a domain list */
	ST_REJECT_RHSBL_HELO,	 /* 554 HELO name listed in a domain list */
	ST_PICKUP_ACCEPTED,	 /* local submissions queued by pickup */
	ST_CLEANUP_QUEUED,	 /* queue files written by cleanup */
	ST_QMGR_DELIVERED,	 /* recipients delivered */
	ST_QMGR_DEFERRED,	 /* delivery attempts deferred (4xx) */
	ST_QMGR_BOUNCED,	 /* recipients failed for good (5xx) */
	ST_QMGR_EXPIRED,	 /* recipients expired (also bounced) */
	ST_QMGR_BOUNCE_NOTICES,	 /* non-delivery notices sent */
	ST_QMGR_DELAY_WARNINGS,	 /* delay warnings sent */
	ST_QMGR_SUCCESS_NOTICES, /* DSN success notices sent */
	ST_COUNT
};

/* the file: a header, then STATS_SLOTS counters of 8 bytes */
struct stats_header {
	char magic[8];
	uint32_t version, count; /* 1; ST_COUNT of the writer */
	int64_t since;		 /* master start, seconds since the epoch */
	char pad[40];		 /* the counters start on 64 bytes */
};
#define STATS_SIZE (sizeof(struct stats_header) + STATS_SLOTS * 8)

/* one counter's names: group, key (mtactl stats --json) and meaning */
struct stat_name {
	const char *group, *key, *text;
};
extern const struct stat_name stat_names[ST_COUNT];

/* stats_create - master: the file afresh (counters reset, since now),
 * mode 0640 with group gid when gid >= 0, else 0600; -1 logged. */
int stats_create(const char *path, long gid);
/* stats_attach - a daemon: map the file; on failure counting is off
 * (a warning is logged) and the daemon goes on. */
void stats_attach(const char *path);
/* stats_inc - count one event; nothing when no file is mapped. */
void stats_inc(enum stat_id id);
/* stats_read - mtactl: the counters (n of them) and since; -1 when the
 * file is missing or not ours (errno kept for the message). */
int stats_read(const char *path, uint64_t *v, int n, int64_t *since);

#endif
