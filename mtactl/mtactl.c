/*
 * mtactl.c - mtactl(8): the administrator's command.
 *
 * start [-f], stop, reload, status, queue [--json], config [-n], check.
 * Exit codes follow sysexits(3).
 * Trusts: the config file; master's and the index's answers for framing.
 * Never: changes the queue by itself (qmgr owns it).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "mtactl.h"

#define STOP_WAIT_MS 15000 /* beyond master's shutdown_timeout */
#define CONTROL_TIMEOUT_MS 5000

static void
usage(void)
{
	fprintf(stderr, "usage: mtactl [-c config] command [args]\n"
			"commands:\n");
	for (const struct mtactl_cmd *c = mtactl_commands; c->name; c++)
		fprintf(stderr, "  %-28s %s\n", c->synopsis, c->help);
	exit(EX_USAGE_);
}

int
cmd_start(int argc, char **argv)
{
	char path[4200];
	int fg = argc > 1 && strcmp(argv[1], "-f") == 0;
	char *args[] = {"master", "-c", config_file, fg ? "-f" : NULL, NULL};

	snprintf(path, sizeof(path), "%s/master", cfg.daemon_directory);
	execv(path, args);
	fprintf(stderr, "mtactl: cannot run %s: %s (check daemon_directory "
		"in %s)\n", path, strerror(errno), config_file);
	return EX_UNAVAILABLE_;
}

/* master_pid - the running master's pid, or 0 when none holds the lock */
pid_t
master_pid(void)
{
	char path[4200], buf[32];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/pid/master.pid", cfg.queue_directory);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd); /* nobody holds it: stale file */
		return 0;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return (pid_t)atol(buf);
}

static int
cmd_signal(int sig, const char *what)
{
	pid_t pid = master_pid();

	if (pid <= 0) {
		fprintf(stderr, "mtactl: the mail system is not running\n");
		return EX_UNAVAILABLE_;
	}
	if (kill(pid, sig) != 0) {
		fprintf(stderr, "mtactl: %s pid %d: %s\n", what, (int)pid,
			strerror(errno));
		return EX_UNAVAILABLE_;
	}
	if (sig != SIGTERM) {
		printf("mtactl: %s signal sent to master pid %d\n", what,
		       (int)pid);
		return 0;
	}
	/* master kills what is busy after shutdown_timeout */
	long wait_ms = STOP_WAIT_MS + cfg.shutdown_timeout * 1000;
	for (long ms = 0; ms < wait_ms; ms += 20) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		if (master_pid() == 0) {
			printf("mtactl: the mail system is stopped\n");
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "mtactl: master pid %d did not stop in %ld s\n",
		(int)pid, wait_ms / 1000);
	return EX_SOFTWARE_;
}

int
cmd_stop(int argc, char **argv)
{
	(void)argc, (void)argv; /* takes no arguments */
	return cmd_signal(SIGTERM, "stop");
}

int
cmd_reload(int argc, char **argv)
{
	(void)argc, (void)argv; /* takes no arguments */
	return cmd_signal(SIGHUP, "reload");
}

int
cmd_config(int argc, char **argv)
{
	fflush(stdout);
	config_print(1, argc > 1 && strcmp(argv[1], "-n") == 0);
	return 0;
}

int
cmd_queue(int argc, char **argv)
{
	return queue_list(argc > 1 && strcmp(argv[1], "--json") == 0);
}

/* status_row - one service of master's answer, as text or JSON */
static void
status_row(const struct attrs *a, int json, int first)
{
	static const char *const nums[] = {"processes", "busy", "idle",
					   "limit", "restarts"};

	if (!json) {
		printf("%-10s %-24s %9s %5s %5s %5s %8s\n",
		       attrs_get(a, "service"), attrs_get(a, "listen"),
		       attrs_get(a, "processes"), attrs_get(a, "busy"),
		       attrs_get(a, "idle"), attrs_get(a, "limit"),
		       attrs_get(a, "restarts"));
		return;
	}
	const char *svc = attrs_get(a, "service"), *l = attrs_get(a, "listen");
	printf("%s{\"service\":", first ? "" : ",");
	json_str(svc ? svc : "", svc ? strlen(svc) : 0);
	printf(",\"listen\":");
	json_str(l ? l : "", l ? strlen(l) : 0);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		int ok = 0;
		long v = attrs_get_long(a, nums[i], &ok);
		printf(",\"%s\":%ld", nums[i], ok ? v : -1);
	}
	printf("}");
}

/* status_not_running - exit 3, LSB's "not running" */
static int
status_not_running(int json)
{
	if (json) {
		printf("{\"running\":false,\"queue\":");
		status_queue_json();
		printf("}\n");
	} else {
		printf("the mail system is not running\n");
		status_queue();
	}
	return 3;
}

int
cmd_status(int argc, char **argv)
{
	char path[4200];
	struct attrs a;
	int fd, rc = 0, ended = 0, n = 0;
	int json = argc > 1 && strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: mtactl status [--json]\n");
		return EX_USAGE_;
	}
	snprintf(path, sizeof(path), "%s/public/master", cfg.queue_directory);
	if (master_pid() == 0 || (fd = ipc_connect_unix(path)) < 0)
		return status_not_running(json);
	struct ipc *c = ipc_new(fd, CONTROL_TIMEOUT_MS);
	ipc_put_str(c, "req", "status");
	attrs_init(&a);
	if (ipc_end(c) != IPC_OK)
		rc = EX_UNAVAILABLE_;
	if (json)
		printf("{\"running\":true,\"services\":[");
	else
		printf("%-10s %-24s %9s %5s %5s %5s %8s\n", "SERVICE", "LISTEN",
		       "PROCESSES", "BUSY", "IDLE", "LIMIT", "RESTARTS");
	while (rc == 0 && ipc_read(c, &a) == IPC_OK) {
		if (attrs_get(&a, "error")) {
			fflush(stdout);
			fprintf(stderr, "mtactl: %s\n", attrs_get(&a, "error"));
			rc = EX_NOPERM_;
			break;
		}
		if (attrs_get(&a, "end")) {
			const char *pid = attrs_get(&a, "pid"),
				   *mode = attrs_get(&a, "run_mode");
			ended = 1;
			if (!json) {
				printf("master pid %s, run_mode %s\n", pid, mode);
				break;
			}
			printf("],\"master\":{\"pid\":%ld,\"run_mode\":",
			       pid ? atol(pid) : 0L);
			json_str(mode ? mode : "", mode ? strlen(mode) : 0);
			printf("}");
			break;
		}
		status_row(&a, json, n++ == 0);
	}
	attrs_free(&a);
	ipc_free(c);
	if (rc == 0 && !ended) {
		fflush(stdout);
		fprintf(stderr, "mtactl: no complete answer from master\n");
		rc = EX_UNAVAILABLE_;
	}
	if (rc == 0 && json) {
		printf(",\"queue\":");
		status_queue_json();
		printf("}\n");
	} else if (rc == 0) {
		status_queue();
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char *conf = getenv("MTA_CONFIG");
	char err[512];
	int opt, loaded;

	if (conf == NULL)
		conf = CONFIG_DEFAULT_PATH;
	while ((opt = getopt(argc, argv, "+c:")) != -1) {
		if (opt == 'c')
			conf = optarg;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	log_open("mtactl", LOG_DEST_STDERR, NULL);
	loaded = config_load(conf, err, sizeof(err)) == 0;
	for (const struct mtactl_cmd *c = mtactl_commands; c->name; c++) {
		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (!loaded) {
			fprintf(stderr, "mtactl: %s\n", err);
			return EX_CONFIG_;
		}
		return c->run(argc, argv);
	}
	fprintf(stderr, "mtactl: unknown command \"%s\"\n", argv[0]);
	usage();
}
