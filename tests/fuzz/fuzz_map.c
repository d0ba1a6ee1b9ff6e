/*
 * fuzz_map.c - libFuzzer target for common/map.c, the parser of the text
 * lookup tables and alias files an administrator compiles.
 *
 * Input: one byte choosing the syntax (low bit: aliases), then the text.
 * The text is written to a private temporary file and compiled; when the
 * compilation succeeds, every key the text could hold must look up
 * without error, and a compilation that fails must leave no map behind
 * and give a "file:line: message" or "file: message" reason.
 * Trusts: nothing in the input.  Never: writes outside its own directory.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "map.h"

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static char dir[] = "/tmp/fuzz_map.XXXXXX", src[256], db[300];

static void
remove_dir(void)
{
	unlink(src);
	unlink(db);
	rmdir(dir);
}

static void
setup(void)
{
	if (src[0])
		return;
	check(mkdtemp(dir) != NULL);
	atexit(remove_dir);
	snprintf(src, sizeof(src), "%s/map", dir);
	snprintf(db, sizeof(db), "%s/map.lmdb", dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], val[256];
	struct map m;
	FILE *f;
	long n;

	if (size < 1)
		return 0;
	setup();
	unlink(db);
	check((f = fopen(src, "w")) != NULL);
	check(fwrite(data + 1, 1, size - 1, f) == size - 1);
	check(fclose(f) == 0);
	err[0] = 0;
	n = map_compile(src, db, data[0] & 1 ? MAP_SYNTAX_ALIASES :
			MAP_SYNTAX_PLAIN, err, sizeof(err));
	if (n < 0) {
		check(strncmp(err, src, strlen(src)) == 0);
		check(access(db, F_OK) != 0);
		return 0;
	}
	check(map_open(&m, db, err, sizeof(err)) == 0);
	/* each line's first word is a key or absent, never an error */
	const char *p = (const char *)data + 1, *end = p + size - 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p), k = 0;
		char key[128];
		while (k < len && k < sizeof(key) - 1 && p[k] != ' ' &&
		       p[k] != ':' && p[k] != '\t' && p[k] != 0)
			key[k] = p[k], k++;
		key[k] = 0;
		check(map_get(&m, key, val, sizeof(val)) >= 0);
		check(map_get_addr(&m, key, "example.org", '+', val,
				   sizeof(val), NULL, 0) >= 0);
		p += len + 1;
	}
	map_close(&m);
	return 0;
}
