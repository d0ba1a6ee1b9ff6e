/*
 * log_level.c - mtactl log-level [normal|verbose]: change how much the
 * running system logs without editing the config (a restart returns to
 * the config's "verbose" setting).
 * Trusts: master's answer for its framing.  Never: edits the config.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ipc.h"
#include "mtactl.h"

#define LOG_LEVEL_TIMEOUT_MS 5000

int
cmd_log_level(int argc, char **argv)
{
	char path[4200];
	struct attrs a;
	const char *v;
	int fd, rc = EX_UNAVAILABLE_;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "normal") != 0 &&
			 strcmp(argv[1], "verbose") != 0)) {
		fprintf(stderr, "usage: mtactl log-level [normal|verbose]\n");
		return EX_USAGE_;
	}
	snprintf(path, sizeof(path), "%s/public/master", cfg.queue_directory);
	if (master_pid() == 0 || (fd = ipc_connect_unix(path)) < 0) {
		fprintf(stderr, "mtactl: the mail system is not running\n");
		return EX_UNAVAILABLE_;
	}
	struct ipc *c = ipc_new(fd, LOG_LEVEL_TIMEOUT_MS);
	ipc_put_str(c, "req", "log-level");
	if (argc == 2)
		ipc_put_str(c, "level", argv[1]);
	attrs_init(&a);
	if (ipc_end(c) == IPC_OK && ipc_read(c, &a) == IPC_OK) {
		if ((v = attrs_get(&a, "error")) != NULL) {
			fprintf(stderr, "mtactl: %s\n", v);
			rc = strstr(v, "permission") ? EX_NOPERM_ : EX_USAGE_;
		} else if ((v = attrs_get(&a, "level")) != NULL) {
			printf("log level: %s\n", v);
			rc = 0;
		}
	} else {
		fprintf(stderr, "mtactl: no answer from master\n");
	}
	attrs_free(&a);
	ipc_free(c);
	return rc;
}
