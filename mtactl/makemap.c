/*
 * makemap.c - "mtactl makemap [-a] FILE": compile a text lookup table
 * into FILE.lmdb (mta-maps(5)); -a reads aliases(5) syntax.
 *
 * Trusts: nothing in the text file (map_compile checks every line).
 * Never: leaves a half-built FILE.lmdb (map_compile renames a finished,
 * fsynced file into place).
 */
#include <stdio.h>
#include <string.h>

#include "map.h"
#include "mtactl.h"

/* makemap_one - compile one file and say what happened. */
int
makemap_one(const char *src, int syn)
{
	char dst[4200], err[512];
	long n;

	if (map_db_path(src, dst, sizeof(dst)) != 0) {
		fprintf(stderr, "mtactl: %s: path too long\n", src);
		return EX_USAGE_;
	}
	if ((n = map_compile(src, dst, syn, err, sizeof(err))) < 0) {
		fprintf(stderr, "mtactl: %s\n", err);
		return EX_CONFIG_;
	}
	printf("%s: %ld entries\n", dst, n);
	return 0;
}

int
cmd_makemap(int argc, char **argv)
{
	enum map_syntax syn = MAP_SYNTAX_PLAIN;
	int i = 1;

	if (i < argc && strcmp(argv[i], "-a") == 0) {
		syn = MAP_SYNTAX_ALIASES;
		i++;
	}
	if (i + 1 != argc) {
		fprintf(stderr, "usage: mtactl makemap [-a] FILE\n");
		return EX_USAGE_;
	}
	return makemap_one(argv[i], syn);
}
