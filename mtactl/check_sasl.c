/*
 * check_sasl.c - the part of mtactl check that looks at remote(8)'s
 * password map (smtp_sasl_password_map): one that is set but not
 * compiled defers all mail for the hosts it names, and one that others
 * may read gives away the relayhost's password.
 * Trusts: the config.  Never: changes a map or prints a value.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "config.h"
#include "map.h"
#include "mtactl.h"

void
check_sasl_map(check_problem_fn problem)
{
	const char *file = cfg.smtp_sasl_password_map;
	char db[4200], err[4600], fix[4400];
	const char *paths[2] = {file, db};
	struct map m;
	struct stat st;

	if (file[0] == 0)
		return;
	if (map_db_path(file, db, sizeof(db)) != 0) {
		problem("shorten the path", "smtp_sasl_password_map: path too "
					    "long");
		return;
	}
	if (map_open(&m, db, err, sizeof(err)) != 0) {
		snprintf(fix, sizeof(fix), "mtactl makemap %s", file);
		problem(fix,
			"smtp_sasl_password_map: %s (remote defers the "
			"mail of hosts that need AUTH until it can read it)",
			err);
		return;
	}
	map_close(&m);
	for (int i = 0; i < 2; i++)
		if (stat(paths[i], &st) == 0 && (st.st_mode & 0077) != 0) {
			snprintf(fix, sizeof(fix),
				 "chmod 600 %s; mtactl "
				 "makemap %s",
				 file, file);
			problem(fix,
				"smtp_sasl_password_map: %s is readable "
				"by others than its owner (it holds passwords)",
				paths[i]);
			return;
		}
}
