/*
 * mtadrop.c - mtadrop(8): put one message into the queue's maildrop/
 * for sendmail(1) while the mail system is stopped; pickup(8) takes it
 * in at the next start.
 *
 * Installed set-group-ID setgid_group (mtactl setup); maildrop/ is mode
 * 1730, owner mail_owner, group setgid_group, so only this program (and
 * the mail owner) can create files there.  That is why pickup may trust
 * the uid field each file starts with: this program writes it from
 * getuid(), the kernel's word for who called.  Postfix's postdrop works
 * the same way.
 * Trusts: nothing from the caller: stdin (sendmail's fields and the
 * message) is copied, bounded, behind the uid field, and pickup parses
 * it; a -c config only when it is root's (or the caller's own when not
 * set-group-ID, or the caller is root) and writable by nobody else.
 * Never: takes the uid from a flag, a field or the environment; leaves
 * a partial file under a final name.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../pickup/pickup.h"
#include "config.h"
#include "fsutil.h"
#include "queue_id.h"

#define EX_USAGE_ 64
#define EX_NOINPUT_ 66
#define EX_CANTCREAT_ 73
#define EX_IOERR_ 74
#define EX_NOPERM_ 77
#define EX_CONFIG_ 78

static char tmp_name[64]; /* removed by a signal while being written */

#ifdef __SANITIZE_ADDRESS__
/* make sanitize: LeakSanitizer cannot trace a set-group-ID process (it
 * is not dumpable) and fails it at exit, and the environment's options
 * are not read in such a process: the leak check is off here alone */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

static void
on_signal(int sig)
{
	(void)sig;
	if (tmp_name[0] != 0)
		unlink(tmp_name); /* async-signal-safe; nothing to report */
	_exit(EX_IOERR_);
}

/* config_allowed - a set-group-ID program must not be pointed at a file
 * the caller wrote: another config could name another directory for
 * our group's writes.  Root's files (and, when we run without the
 * group, the caller's own) not writable by group or others pass. */
static int
config_allowed(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 1; /* config_load says what is wrong */
	if ((st.st_mode & 022) != 0)
		return 0;
	return st.st_uid == 0 || getuid() == 0 ||
	       (getegid() == getgid() && st.st_uid == getuid());
}

/* copy_stdin - stdin onto fd, at most max bytes; -1 on error or excess */
static int
copy_stdin(int fd, long long max)
{
	char buf[65536];
	long long total = 0;
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (total += n) > max) {
			fprintf(stderr, "mtadrop: %s\n",
				n < 0 ? strerror(errno) : "message too big");
			return -1;
		}
		if (write_all(fd, buf, (size_t)n) != 0) {
			fprintf(stderr, "mtadrop: write: %s\n",
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* drop - the file under a temporary name, then renamed to its ID */
static int
drop(char *id)
{
	char head[64];
	int fd, n, bad;

	queue_id_new(id);
	snprintf(tmp_name, sizeof(tmp_name), ".%s.tmp", id);
	n = snprintf(head, sizeof(head), "%s%cuid=%lu%c", MAILDROP_MAGIC, 0,
		     (unsigned long)getuid(), 0);
	if ((fd = open(tmp_name,
		       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0600)) < 0) {
		fprintf(stderr, "mtadrop: create %s/maildrop/%s: %s\n",
			cfg.queue_directory, tmp_name, strerror(errno));
		tmp_name[0] = 0;
		return errno == EACCES ? EX_NOPERM_ : EX_CANTCREAT_;
	}
	/* readable by pickup (the mail owner): the directory keeps
	 * everyone else out */
	bad = fchmod(fd, 0644) != 0 || write_all(fd, head, (size_t)n) != 0 ||
	      copy_stdin(fd, cfg.message_size_limit + MAILDROP_ENVELOPE_MAX) ||
	      fsync(fd) != 0 || rename(tmp_name, id) != 0;
	/* the group may not read maildrop/, so the directory cannot be
	 * opened to fsync the rename: syncfs does it (a rare path) */
	if (!bad)
		tmp_name[0] = 0;
	if ((!bad && syncfs(fd) != 0) || close(fd) != 0)
		bad = 1;
	if (!bad)
		return 0;
	if (tmp_name[0] == 0) {
		fprintf(stderr,
			"mtadrop: %s/maildrop/%s: not made durable: "
			"%s\n",
			cfg.queue_directory, id, strerror(errno));
		return EX_IOERR_;
	}
	fprintf(stderr, "mtadrop: writing %s/maildrop/%s failed%s%s\n",
		cfg.queue_directory, tmp_name, errno ? ": " : "",
		errno ? strerror(errno) : "");
	if (unlink(tmp_name) != 0 && errno != ENOENT)
		fprintf(stderr, "mtadrop: unlink %s: %s\n", tmp_name,
			strerror(errno));
	tmp_name[0] = 0;
	return EX_IOERR_;
}

int
main(int argc, char **argv)
{
	const char *conf = CONFIG_DEFAULT_PATH;
	char err[512], id[QUEUE_ID_LEN + 1];
	struct sigaction sa = {.sa_handler = on_signal};
	int opt, sigs[] = {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGXFSZ};

	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt != 'c') {
			fprintf(stderr, "usage: mtadrop [-c config] < drop\n");
			return EX_USAGE_;
		}
		conf = optarg;
	}
	if (!config_allowed(conf)) {
		fprintf(stderr,
			"mtadrop: %s is not root's, or others may "
			"write it: not used\n",
			conf);
		return EX_NOPERM_;
	}
	if (config_load(conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "mtadrop: %s\n", err);
		return EX_CONFIG_;
	}
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0) {
			fprintf(stderr, "mtadrop: sigaction: %s\n",
				strerror(errno));
			return EX_IOERR_;
		}
	if (chdir(cfg.queue_directory) != 0 || chdir("maildrop") != 0) {
		fprintf(stderr, "mtadrop: %s/maildrop: %s\n",
			cfg.queue_directory, strerror(errno));
		return EX_NOINPUT_;
	}
	umask(077);
	int rc = drop(id);
	if (rc == 0)
		printf("%s\n", id);
	return rc;
}
