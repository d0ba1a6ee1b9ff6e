/*
 * newaliases.c - "mtactl newaliases": compile every file named by
 * alias_maps (aliases(5) syntax) into its .lmdb.
 *
 * Trusts: the config file for the list of files.
 * Never: stops at the first bad file silently (each is reported).
 */
#include <stdio.h>

#include "config.h"
#include "map.h"
#include "mtactl.h"

int
cmd_newaliases(int argc, char **argv)
{
	char file[4096];
	const char *p = cfg.alias_maps;
	int rc = 0, n = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: mtactl newaliases\n");
		return EX_USAGE_;
	}
	while ((p = config_list_next(p, file, sizeof(file))) != NULL) {
		int r = makemap_one(file, MAP_SYNTAX_ALIASES);
		if (r != 0)
			rc = r;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "mtactl: alias_maps is empty in %s\n",
			config_file);
		return EX_CONFIG_;
	}
	return rc;
}
