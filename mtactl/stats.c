/*
 * stats.c - "mtactl stats [--json]": the counters the running system
 * keeps.  The event counters come from the shared counter file
 * (pid/stats, common/stats.h: reset when master starts, "since" says
 * when), the resolver's cache counters from resolver(8) over its socket,
 * and the queue counts from the index, as "mtactl status" shows them.
 * Trusts: the counter file only after its magic and version; resolver's
 * answer for its framing.  Never: changes anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ipc.h"
#include "mtactl.h"
#include "stats.h"

#define STATS_TIMEOUT_MS 5000

/* resolver_stats - 0 and the three counters, or -1. */
static int
resolver_stats(long *hits, long *misses, long *entries)
{
	char path[4200];
	struct attrs a;
	int fd, ok1 = 0, ok2 = 0, ok3 = 0;

	snprintf(path, sizeof(path), "%s/private/resolver",
		 cfg.queue_directory);
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

/* print_text - the counters grouped as in stat_names, one per line */
static void
print_text(const uint64_t *v, uint64_t plain, int64_t since)
{
	char when[64];
	time_t t = (time_t)since;
	struct tm tm;
	const char *group = "";

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z",
		 localtime_r(&t, &tm));
	printf("counters since %s (master start)\n", when);
	for (int i = 0; i < ST_COUNT; i++) {
		if (strcmp(group, stat_names[i].group) != 0) {
			group = stat_names[i].group;
			printf("%s:\n", group);
		}
		printf("  %-16s %10" PRIu64 "  %s\n", stat_names[i].key, v[i],
		       stat_names[i].text);
		if (i == ST_SMTPD_TLS_FAIL)
			printf("  %-16s %10" PRIu64 "  %s\n", "sessions_plain",
			       plain, "sessions without TLS");
	}
}

/* print_json - the same as one JSON object, a member per group */
static void
print_json(const uint64_t *v, uint64_t plain, int64_t since,
	   int have_resolver, long hits, long misses, long entries)
{
	const char *group = "";

	printf("{\"since\":%" PRId64, since);
	for (int i = 0; i < ST_COUNT; i++) {
		if (strcmp(group, stat_names[i].group) != 0) {
			printf("%s,\"%s\":{", group[0] ? "}" : "",
			       stat_names[i].group);
			group = stat_names[i].group;
		} else {
			printf(",");
		}
		printf("\"%s\":%" PRIu64, stat_names[i].key, v[i]);
		if (i == ST_SMTPD_TLS_FAIL)
			printf(",\"sessions_plain\":%" PRIu64, plain);
	}
	printf("}");
	if (have_resolver)
		printf(",\"resolver\":{\"hits\":%ld,\"misses\":%ld,"
		       "\"entries\":%ld}",
		       hits, misses, entries);
	else
		printf(",\"resolver\":null");
	printf(",\"queue\":");
	status_queue_json();
	printf("}\n");
}

int
cmd_stats(int argc, char **argv)
{
	int json = argc > 1 && strcmp(argv[1], "--json") == 0;
	long hits = 0, misses = 0, entries = 0;
	uint64_t v[ST_COUNT];
	int64_t since = 0;
	char path[4200];

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: mtactl stats [--json]\n");
		return EX_USAGE_;
	}
	if (master_pid() == 0) {
		fprintf(stderr, "mtactl: the mail system is not running\n");
		return EX_UNAVAILABLE_;
	}
	snprintf(path, sizeof(path), "%s/%s", cfg.queue_directory, STATS_FILE);
	if (stats_read(path, v, ST_COUNT, &since) != 0) {
		fprintf(stderr, "mtactl: cannot read the counters in %s: %s\n",
			path, strerror(errno));
		return errno == EACCES ? EX_NOPERM_ : EX_UNAVAILABLE_;
	}
	int have = resolver_stats(&hits, &misses, &entries) == 0;
	/* derived, not counted: both printers show the same figure */
	uint64_t plain = v[ST_SMTPD_CONNECT] - v[ST_SMTPD_TLS_OK];
	if (json) {
		print_json(v, plain, since, have, hits, misses, entries);
		return 0;
	}
	print_text(v, plain, since);
	if (have)
		printf("resolver: hits=%ld misses=%ld entries=%ld\n", hits,
		       misses, entries);
	else
		printf("resolver: no answer\n");
	status_queue();
	return 0;
}
