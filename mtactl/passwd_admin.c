/*
 * passwd_admin.c - mtactl passwd add|del|list: the SMTP AUTH password map
 * (common/passwd.c) at smtpd_passwd_map.
 *
 * In root mode the map is handed to smtpd_user after each change: smtpd
 * opens it (read-only, but LMDB writes its lock file) from its chroot.
 * Trusts: the administrator who runs it (file permissions guard the map).
 * Never: takes a password from the command line (ps would show it): it is
 * read from standard input, one line, echo off when that is a terminal.
 */
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "passwd.h"

#include "mtactl.h"

/* read_password - one line of stdin into pw (cap octets); 0 or -1. */
static int
read_password(char *pw, size_t cap)
{
	struct termios old, quiet;
	int tty = isatty(0) && tcgetattr(0, &old) == 0;

	if (tty) {
		fprintf(stderr, "password: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(0, TCSAFLUSH, &quiet) != 0)
			tty = 0;
	}
	char *ok = fgets(pw, (int)cap, stdin);
	if (tty) {
		if (tcsetattr(0, TCSAFLUSH, &old) != 0)
			perror("mtactl: restoring the terminal");
		fprintf(stderr, "\n");
	}
	if (ok == NULL)
		return -1;
	size_t n = strlen(pw);
	if (n > 0 && pw[n - 1] != '\n' && !feof(stdin))
		return -1; /* longer than cap: refuse rather than cut */
	pw[strcspn(pw, "\r\n")] = 0;
	return 0;
}

/* give_to_smtpd - root mode: the map directory and its files to
 * smtpd_user (mode 0700 stays: no one else reads the hashes) */
static int
give_to_smtpd(void)
{
	const char *dir = cfg.smtpd_passwd_map;
	struct passwd *pw;
	struct dirent *e;
	char path[4400];
	DIR *d;
	int rc = 0;

	if (strcmp(cfg.run_mode, "root") != 0 || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(cfg.smtpd_user)) == NULL) {
		fprintf(stderr, "mtactl: passwd: user %s does not exist (run "
			"mtactl setup)\n", cfg.smtpd_user);
		return -1;
	}
	if (chown(dir, pw->pw_uid, pw->pw_gid) != 0 ||
	    (d = opendir(dir)) == NULL) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (chown(path, pw->pw_uid, pw->pw_gid) != 0) {
			perror(path);
			rc = -1;
		}
	}
	if (closedir(d) != 0)
		rc = -1;
	return rc;
}

static void
print_user(const char *user, void *arg)
{
	(void)arg;
	printf("%s\n", user);
}

static int
passwd_add(const char *user)
{
	char pw[LIM_SASL_FIELD + 2], err[512] = "";
	int rc;

	if (read_password(pw, sizeof(pw)) != 0) {
		fprintf(stderr, "mtactl: passwd: no password on standard input "
			"(one line, at most %d octets)\n", LIM_SASL_FIELD);
		return EX_DATAERR_;
	}
	rc = passwd_set(cfg.smtpd_passwd_map, user, pw, err, sizeof(err));
	sodium_memzero(pw, sizeof(pw));
	if (rc != PASSWD_OK) {
		fprintf(stderr, "mtactl: passwd add %s: %s\n", user, err);
		return rc == PASSWD_BAD ? EX_DATAERR_ : EX_UNAVAILABLE_;
	}
	printf("%s: password set\n", user);
	return give_to_smtpd() == 0 ? 0 : EX_UNAVAILABLE_;
}

int
cmd_passwd(int argc, char **argv)
{
	char err[512] = "";
	int rc;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		rc = passwd_list(cfg.smtpd_passwd_map, print_user, NULL, err,
				 sizeof(err));
		if (rc != PASSWD_OK)
			fprintf(stderr, "mtactl: passwd list: %s\n", err);
		return rc == PASSWD_OK ? 0 : EX_UNAVAILABLE_;
	}
	if (argc == 3 && strcmp(argv[1], "add") == 0)
		return passwd_add(argv[2]);
	if (argc == 3 && strcmp(argv[1], "del") == 0) {
		rc = passwd_del(cfg.smtpd_passwd_map, argv[2], err, sizeof(err));
		if (rc == PASSWD_NOUSER)
			fprintf(stderr, "mtactl: passwd del: %s: no such user\n",
				argv[2]);
		else if (rc != PASSWD_OK)
			fprintf(stderr, "mtactl: passwd del %s: %s\n", argv[2],
				err);
		return rc == PASSWD_OK ? 0 : rc == PASSWD_NOUSER ? EX_DATAERR_
								  : EX_UNAVAILABLE_;
	}
	fprintf(stderr, "usage: mtactl passwd add USER | del USER | list\n");
	return EX_USAGE_;
}
