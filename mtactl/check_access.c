/*
 * check_access.c - the part of mtactl check that opens the access maps
 * of smtpd(8) (smtpd_client_access_map, smtpd_sender_access_map): one
 * that is set but missing or unreadable makes smtpd answer 451 to every
 * client it concerns, so check says so before a client finds out.
 * Trusts: the config.  Never: changes a map.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "config.h"
#include "map.h"
#include "mtactl.h"

/* check_one - open key's compiled map read-only, as smtpd does */
static void
check_one(const char *key, const char *file, check_problem_fn problem)
{
	char db[4200], err[4600], fix[4400];
	struct map m;
	struct stat st;

	if (file[0] == 0)
		return;
	if (map_db_path(file, db, sizeof(db)) != 0) {
		problem("shorten the path", "%s: path too long", key);
		return;
	}
	if (map_open(&m, db, err, sizeof(err)) == 0) {
		map_close(&m);
		return;
	}
	if (stat(file, &st) != 0)
		snprintf(fix, sizeof(fix),
			 "write %s (mta-maps(5)), then "
			 "mtactl makemap %s",
			 file, file);
	else
		snprintf(fix, sizeof(fix), "mtactl makemap %s", file);
	problem(fix, "%s: %s (smtpd answers 451 until it can read it)", key,
		err);
}

void
check_access_maps(check_problem_fn problem)
{
	check_one("smtpd_client_access_map", cfg.smtpd_client_access_map,
		  problem);
	check_one("smtpd_sender_access_map", cfg.smtpd_sender_access_map,
		  problem);
	check_one("smtpd_helo_access_map", cfg.smtpd_helo_access_map, problem);
	check_one("smtpd_recipient_access_map", cfg.smtpd_recipient_access_map,
		  problem);
}
