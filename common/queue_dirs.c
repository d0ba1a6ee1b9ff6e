/*
 * queue_dirs.c - create the queue directory tree (mta-queue(5)); used by
 * master(8) at start and by mtactl setup.
 *
 * Trusts: the config.  Never: loosens the mode of an existing directory
 * it did not create (mtactl check reports those).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "queue_dirs.h"
#include "queue_id.h"

static const struct {
	const char *path;
	mode_t mode;
} dirs[] = {
	{"incoming", 0700}, {"msg", 0700},     {"corrupt", 0700},
	{"maildrop", 0730}, {"db", 0770},      {"private", 0711},
	{"public", 0711},   {"pid", 0755},
};

/* make_dir - create one directory, owned by the mail owner in root mode. */
static int
make_dir(const char *path, mode_t mode, const struct passwd *owner)
{
	if (mkdir(path, mode) != 0) {
		if (errno == EEXIST)
			return 0;
		log_error("mkdir %s/%s: %m", cfg.queue_directory, path);
		return -1;
	}
	if (chmod(path, mode) != 0 ||
	    (owner && chown(path, owner->pw_uid, owner->pw_gid) != 0)) {
		log_error("set owner/mode of %s/%s: %m", cfg.queue_directory,
			  path);
		return -1;
	}
	return 0;
}

/* make_maildrop - root mode: maildrop/ mode 1730, group setgid_group,
 * so that mtadrop(8), set-group-ID, alone writes it (and pickup may
 * trust the uid a file records).  Without the group (no mtactl setup
 * yet) it is made 0730 for the mail owner alone: mail is then not taken
 * while the system is down, and mtactl check says so. */
static int
make_maildrop(const struct passwd *owner)
{
	struct group *g = getgrnam(cfg.setgid_group);

	if (mkdir("maildrop", 0700) != 0) {
		if (errno == EEXIST)
			return 0; /* as it is: mtactl setup/check mend it */
		log_error("mkdir %s/maildrop: %m", cfg.queue_directory);
		return -1;
	}
	if (g == NULL)
		log_warn("group %s does not exist (run mtactl setup): sendmail "
			 "cannot leave mail while the system is stopped",
			 cfg.setgid_group);
	if (chown("maildrop", owner->pw_uid, g ? g->gr_gid : owner->pw_gid)
	    != 0 || chmod("maildrop", g ? 01730 : 0730) != 0) {
		log_error("set owner/mode of %s/maildrop: %m",
			  cfg.queue_directory);
		return -1;
	}
	return 0;
}

int
queue_dirs_create(void)
{
	const struct passwd *owner = NULL;
	static const char letters[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char sub[16];

	if (mkdir_p(cfg.queue_directory, 0755) != 0) {
		log_error("mkdir %s: %m", cfg.queue_directory);
		return -1;
	}
	if (chdir(cfg.queue_directory) != 0) {
		log_error("chdir %s: %m", cfg.queue_directory);
		return -1;
	}
	if (strcmp(cfg.run_mode, "root") == 0 &&
	    (owner = getpwnam(cfg.mail_owner)) == NULL) {
		log_error("mail_owner \"%s\" does not exist (run mtactl setup)",
			  cfg.mail_owner);
		return -1;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((owner == NULL || strcmp(dirs[i].path, "maildrop") != 0) &&
		    make_dir(dirs[i].path, dirs[i].mode,
			     strcmp(dirs[i].path, "pid") ? owner : NULL) != 0)
			return -1;
	if (owner && make_maildrop(owner) != 0)
		return -1;
	for (const char *l = letters; *l; l++) {
		snprintf(sub, sizeof(sub), "msg/%c", *l);
		if (make_dir(sub, 0700, owner) != 0)
			return -1;
	}
	return 0;
}
