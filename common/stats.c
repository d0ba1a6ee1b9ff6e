/*
 * stats.c - the shared counter file (see stats.h).
 *
 * Trusts: nothing in the file when reading it (magic, version and size
 * are checked); a daemon that cannot map it just counts nothing.
 * Never: blocks, allocates or talks to another process on stats_inc;
 * stops mail because a counter is missing.
 */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

const struct stat_name stat_names[ST_COUNT] = {
    [ST_SMTPD_CONNECT] = {"smtpd", "connections",
			  "connections accepted (sessions)"},
    [ST_SMTPD_TLS_OK] = {"smtpd", "tls_ok", "TLS handshakes completed"},
    [ST_SMTPD_TLS_FAIL] = {"smtpd", "tls_failed", "TLS handshakes failed"},
    [ST_SMTPD_AUTH_OK] = {"smtpd", "auth_ok", "AUTH succeeded"},
    [ST_SMTPD_AUTH_FAIL] = {"smtpd", "auth_failed", "AUTH failed"},
    [ST_SMTPD_ACCEPTED] = {"smtpd", "messages", "messages accepted"},
    [ST_SMTPD_DNSWL_PASS] = {"smtpd", "dnswl_pass",
			     "clients listed in a DNSWL (block lists "
			     "skipped)"},
    [ST_REJECT_RELAY] = {"reject", "relay_denied", "relay access denied"},
    [ST_REJECT_UNKNOWN_USER] = {"reject", "unknown_user", "recipient unknown"},
    [ST_REJECT_ERRORS] = {"reject", "too_many_errors",
			  "sessions ended for too many errors"},
    [ST_REJECT_SIZE] = {"reject", "size", "message too big"},
    [ST_REJECT_BARE_LF] = {"reject", "bare_lf",
			   "bare LF in the data (smuggling)"},
    [ST_REJECT_PIPELINING] = {"reject", "pipelining",
			      "improper command pipelining"},
    [ST_REJECT_PREGREET] = {"reject", "early_talker",
			    "client talked before the greeting"},
    [ST_REJECT_CONN_LIMIT] = {"reject", "conn_limit",
			      "connection count or rate limit"},
    [ST_REJECT_SYNTAX] = {"reject", "bad_syntax", "bad command or syntax"},
    [ST_REJECT_CLIENT_ACCESS] = {"reject", "client_access",
				 "client refused by the client access map"},
    [ST_REJECT_SENDER_ACCESS] = {"reject", "sender_access",
				 "sender refused by the sender access map"},
    [ST_REJECT_DNSBL] = {"reject", "dnsbl", "client listed in a DNSBL"},
    [ST_REJECT_HELO_ACCESS] = {"reject", "helo_access",
			       "HELO name refused by the HELO access map"},
    [ST_REJECT_RCPT_ACCESS] = {"reject", "recipient_access",
			       "recipient refused by the recipient access map"},
    [ST_REJECT_RHSBL] = {"reject", "rhsbl",
			 "sender domain listed in a domain block list"},
    [ST_REJECT_RHSBL_CLIENT] = {"reject", "rhsbl_client",
				"client host name listed in a domain block "
				"list"},
    [ST_REJECT_RHSBL_HELO] = {"reject", "rhsbl_helo",
			      "HELO name listed in a domain block list"},
    [ST_PICKUP_ACCEPTED] = {"pickup", "messages",
			    "local submissions (sendmail)"},
    [ST_CLEANUP_QUEUED] = {"cleanup", "queued", "queue files written"},
    [ST_QMGR_DELIVERED] = {"qmgr", "delivered", "recipients delivered"},
    [ST_QMGR_DEFERRED] = {"qmgr", "deferred", "delivery attempts deferred"},
    [ST_QMGR_BOUNCED] = {"qmgr", "bounced", "recipients failed"},
    [ST_QMGR_EXPIRED] = {"qmgr", "expired",
			 "recipients expired (among failed)"},
    [ST_QMGR_BOUNCE_NOTICES] = {"qmgr", "bounce_notices",
				"non-delivery notices sent"},
    [ST_QMGR_DELAY_WARNINGS] = {"qmgr", "delay_warnings",
				"delay warnings sent"},
    [ST_QMGR_SUCCESS_NOTICES] = {"qmgr", "success_notices",
				 "success notices sent"},
};

_Static_assert(sizeof(struct stats_header) == 64, "header of 64 bytes");
_Static_assert(ST_COUNT <= STATS_SLOTS, "room for every counter");

static uint64_t *counters; /* the mapping's counters, or NULL */

int
stats_create(const char *path, long gid)
{
	struct stats_header h;
	char zero[STATS_SLOTS * 8];
	int fd, bad;

	/* a new inode: whatever mapped the old file counts into it alone */
	if (unlink(path) != 0 && errno != ENOENT) {
		log_error("unlink %s: %m", path);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		       0600)) < 0) {
		log_error("create %s: %m", path);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, STATS_MAGIC, sizeof(h.magic));
	h.version = 1;
	h.count = ST_COUNT;
	h.since = (int64_t)time(NULL);
	memset(zero, 0, sizeof(zero));
	bad =
	    (gid >= 0 && fchown(fd, (uid_t)-1, (gid_t)gid) != 0) ||
	    fchmod(fd, gid >= 0 ? 0640 : 0600) != 0 ||
	    pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    pwrite(fd, zero, sizeof(zero), sizeof(h)) != (ssize_t)sizeof(zero);
	if (bad)
		log_error("write %s: %m", path);
	if (close(fd) != 0 && !bad) {
		log_error("close %s: %m", path);
		bad = 1;
	}
	return bad ? -1 : 0;
}

void
stats_attach(const char *path)
{
	struct stats_header h;
	struct stat st;
	void *p;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		log_warn("open %s: %m (not counting for mtactl stats)", path);
		return;
	}
	if (fstat(fd, &st) != 0 || st.st_size != (off_t)STATS_SIZE ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, STATS_MAGIC, sizeof(h.magic)) != 0) {
		log_warn("%s is not a counter file (not counting)", path);
		close(fd);
		return;
	}
	p = mmap(NULL, STATS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (close(fd) != 0)
		log_warn("close %s: %m", path);
	if (p == MAP_FAILED) {
		log_warn("mmap %s: %m (not counting)", path);
		return;
	}
	counters = (uint64_t *)((char *)p + sizeof(struct stats_header));
}

void
stats_inc(enum stat_id id)
{
	if (counters != NULL && (unsigned)id < ST_COUNT)
		__atomic_fetch_add(&counters[id], 1, __ATOMIC_RELAXED);
}

int
stats_read(const char *path, uint64_t *v, int n, int64_t *since)
{
	struct stats_header h;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), saved;
	ssize_t want = (ssize_t)(sizeof(uint64_t) * (size_t)n);

	if (fd < 0)
		return -1;
	memset(v, 0, sizeof(uint64_t) * (size_t)n);
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, STATS_MAGIC, sizeof(h.magic)) != 0 ||
	    h.version != 1 || h.count != (uint32_t)n || n > STATS_SLOTS ||
	    pread(fd, v, (size_t)want, sizeof(h)) != want) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	saved = errno;
	if (close(fd) != 0)
		errno = saved; /* read only: nothing lost */
	*since = h.since;
	return 0;
}
