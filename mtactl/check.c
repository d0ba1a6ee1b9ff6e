/*
 * check.c - mtactl check: is this installation healthy?  The config (main
 * already loaded it), the daemons, and in root mode the system users and
 * the owners and modes of the queue tree; lookup maps older than their
 * text source.  Each problem is one line with how to fix it.
 * Trusts: the config.  Never: changes anything (mtactl setup does).
 */
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "mtactl.h"

static int problems;

/* problem - one line saying what is wrong, one saying how to fix it */
__attribute__((format(printf, 2, 3))) static void
problem(const char *fix, const char *fmt, ...)
{
	va_list ap;

	printf("problem: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n  fix: %s\n", fix);
	problems++;
}

static void
check_daemons(void)
{
	static const char *const progs[] = {"master", "smtpd", "cleanup",
					    "qmgr", "local", "pickup",
					    "mtadrop"};
	char path[4300], fix[4400];

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg.daemon_directory,
			 progs[i]);
		snprintf(fix, sizeof(fix), "set daemon_directory in %s or run "
			 "make install", config_file);
		if (access(path, X_OK) != 0)
			problem(fix, "%s is missing or not executable", path);
	}
}

static void
check_users(void)
{
	const char *users[] = {cfg.mail_owner, cfg.smtpd_user, cfg.local_user,
			       cfg.remote_user, cfg.resolver_user,
			       cfg.tlsproxy_user};

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (getpwnam(users[i]) == NULL)
			problem("mtactl setup", "system user %s does not exist",
				users[i]);
}

/* check_dir - exact mode, and owner in root mode (NULL: not checked) */
static void
check_dir(const char *sub, mode_t mode, const struct passwd *owner)
{
	char path[4300], fix[4500];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", cfg.queue_directory, sub);
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		problem("mtactl setup (or mtactl start, which creates it)",
			"queue directory %s is missing", path);
		return;
	}
	if ((st.st_mode & 07777) != mode) {
		snprintf(fix, sizeof(fix), "chmod %04o %s", (unsigned)mode, path);
		problem(fix, "%s has mode %04o", path,
			(unsigned)(st.st_mode & 07777));
	}
	if (owner && (st.st_uid != owner->pw_uid || st.st_gid != owner->pw_gid)) {
		snprintf(fix, sizeof(fix), "chown %s:%u %s", owner->pw_name,
			 (unsigned)owner->pw_gid, path);
		problem(fix, "%s has a wrong owner", path);
	}
}

/* check_mode - path has this mode, owner uid and group gid */
static void
check_mode(const char *path, mode_t mode, uid_t uid, gid_t gid,
	   const char *owner)
{
	char fix[4500];
	struct stat st;

	if (stat(path, &st) != 0) {
		problem("mtactl setup", "%s is missing", path);
		return;
	}
	if (st.st_uid != uid || st.st_gid != gid) {
		snprintf(fix, sizeof(fix), "mtactl setup (or chown %s:%s %s, "
			 "then chmod %04o %s)", owner, cfg.setgid_group, path,
			 (unsigned)mode, path);
		problem(fix, "%s has a wrong owner or group (want %s:%s)", path,
			owner, cfg.setgid_group);
	} else if ((st.st_mode & 07777) != mode) {
		snprintf(fix, sizeof(fix), "mtactl setup (or chmod %04o %s)",
			 (unsigned)mode, path);
		problem(fix, "%s has mode %04o", path,
			(unsigned)(st.st_mode & 07777));
	}
}

/* check_maildrop - root mode: maildrop/ written through mtadrop's group
 * alone (1730), mtadrop set-group-ID to it (2755, root's): what lets
 * pickup trust the uid a maildrop file records. */
static void
check_maildrop(const struct passwd *owner)
{
	char path[4300];
	struct group *g = getgrnam(cfg.setgid_group);

	if (g == NULL) {
		problem("mtactl setup", "group %s (setgid_group) does not exist: "
			"sendmail cannot leave mail while the system is stopped",
			cfg.setgid_group);
		return;
	}
	snprintf(path, sizeof(path), "%s/maildrop", cfg.queue_directory);
	check_mode(path, 01730, owner->pw_uid, g->gr_gid, owner->pw_name);
	snprintf(path, sizeof(path), "%s/mtadrop", cfg.daemon_directory);
	check_mode(path, 02755, 0, g->gr_gid, "root");
}

static void
check_queue(void)
{
	static const struct {
		const char *sub;
		mode_t mode;
	} dirs[] = {{"incoming", 0700}, {"msg", 0700},     {"corrupt", 0700},
		    {"maildrop", 0730}, {"db", 0770},      {"private", 0711},
		    {"public", 0711}};
	const struct passwd *owner = NULL;
	struct stat st;

	if (stat(cfg.queue_directory, &st) != 0) {
		problem("mtactl setup (or mtactl start, which creates it)",
			"queue directory %s is missing", cfg.queue_directory);
		return;
	}
	if (strcmp(cfg.run_mode, "root") == 0)
		owner = getpwnam(cfg.mail_owner);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (owner == NULL || strcmp(dirs[i].sub, "maildrop") != 0)
			check_dir(dirs[i].sub, dirs[i].mode, owner);
	if (owner != NULL)
		check_maildrop(owner);
}

/* check_maps - NAME.db or NAME.lmdb older than NAME in the config's
 * directory: the map does not hold the last edit. */
static void
check_maps(void)
{
	char dir[4096], src[4400], map[4500], fix[4700];
	const char *exts[] = {".db", ".lmdb"};
	struct dirent *e;
	struct stat s, m;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", config_file);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		*slash = 0;
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		snprintf(src, sizeof(src), "%s/%s", dir, e->d_name);
		for (size_t i = 0; i < 2; i++) {
			snprintf(map, sizeof(map), "%s%s", src, exts[i]);
			if (stat(src, &s) != 0 || !S_ISREG(s.st_mode) ||
			    stat(map, &m) != 0)
				continue;
			if (m.st_mtim.tv_sec < s.st_mtim.tv_sec ||
			    (m.st_mtim.tv_sec == s.st_mtim.tv_sec &&
			     m.st_mtim.tv_nsec < s.st_mtim.tv_nsec)) {
				snprintf(fix, sizeof(fix), "mtactl %s %s",
					 strcmp(e->d_name, "aliases") == 0 ?
					 "newaliases" : "makemap", src);
				problem(fix, "map %s is older than its source",
					map);
			}
		}
	}
	closedir(d);
}

/* check_submission - what the submission listeners and AUTH need
 * (smtpd(8), "Submission" and "AUTH") */
static void
check_submission(void)
{
	size_t n = strlen(cfg.queue_directory);
	const char *pmap = cfg.smtpd_passwd_map;

	if (cfg.submission_listen[0] || cfg.smtps_listen[0]) {
		if (cfg.smtpd_tls_cert_file[0] == 0)
			problem("set smtpd_tls_cert_file (and smtpd_tls_key_file)",
				"submission_listen or smtps_listen without a "
				"certificate: every client is refused");
		if (pmap[0] == 0)
			problem("set smtpd_passwd_map; add users with mtactl "
				"passwd add", "submission_listen or smtps_listen "
				"without smtpd_passwd_map: every MAIL is refused");
	}
	if (strcmp(cfg.run_mode, "root") == 0 && pmap[0] &&
	    (strncmp(pmap, cfg.queue_directory, n) != 0 || pmap[n] != '/'))
		problem("move it below queue_directory", "smtpd_passwd_map %s "
			"is outside queue_directory: the chrooted smtpd cannot "
			"open it", pmap);
}

int
cmd_check(int argc, char **argv)
{
	(void)argc, (void)argv; /* main loaded the config or said why not */
	printf("%s: syntax ok\n", config_file);
	check_daemons();
	if (strcmp(cfg.run_mode, "root") == 0)
		check_users();
	check_queue();
	check_maps();
	check_access_maps(problem);
	check_sasl_map(problem);
	check_submission();
	if (problems == 0) {
		printf("mail system healthy\n");
		return 0;
	}
	printf("%d problem%s found\n", problems, problems == 1 ? "" : "s");
	return EX_CONFIG_;
}
