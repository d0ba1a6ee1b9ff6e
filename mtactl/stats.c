/*
 * stats.c - "mtactl stats [--json]": the counters the running system
 * keeps.  For now: resolver(8)'s cache (hits, misses, entries), asked on
 * its socket, and the queue counts of "mtactl status".
 * Trusts: resolver's answer for its framing.  Never: changes anything.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ipc.h"
#include "mtactl.h"

#define STATS_TIMEOUT_MS 5000

/* resolver_stats - 0 and the three counters, or -1. */
static int
resolver_stats(long *hits, long *misses, long *entries)
{
	char path[4200];
	struct attrs a;
	int fd, ok1 = 0, ok2 = 0, ok3 = 0;

	snprintf(path, sizeof(path), "%s/private/resolver", cfg.queue_directory);
	if ((fd = ipc_connect_unix(path)) < 0)
		return -1;
	struct ipc *c = ipc_new(fd, STATS_TIMEOUT_MS);
	attrs_init(&a);
	ipc_put_str(c, "req", "stats");
	if (ipc_end(c) == IPC_OK && ipc_read(c, &a) == IPC_OK) {
		*hits = attrs_get_long(&a, "hits", &ok1);
		*misses = attrs_get_long(&a, "misses", &ok2);
		*entries = attrs_get_long(&a, "entries", &ok3);
	}
	attrs_free(&a);
	ipc_free(c);
	return ok1 && ok2 && ok3 ? 0 : -1;
}

int
cmd_stats(int argc, char **argv)
{
	int json = argc > 1 && strcmp(argv[1], "--json") == 0;
	long hits = 0, misses = 0, entries = 0;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: mtactl stats [--json]\n");
		return EX_USAGE_;
	}
	if (master_pid() == 0) {
		fprintf(stderr, "mtactl: the mail system is not running\n");
		return EX_UNAVAILABLE_;
	}
	int have = resolver_stats(&hits, &misses, &entries) == 0;
	if (json) {
		if (have)
			printf("{\"resolver\":{\"hits\":%ld,\"misses\":%ld,"
			       "\"entries\":%ld}}\n", hits, misses, entries);
		else
			printf("{\"resolver\":null}\n");
		return 0;
	}
	if (have)
		printf("resolver: hits=%ld misses=%ld entries=%ld\n", hits,
		       misses, entries);
	else
		printf("resolver: no answer\n");
	status_queue();
	return 0;
}
