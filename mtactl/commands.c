/*
 * commands.c - the table of mtactl(8) commands: one line each, so that a
 * new command lives in its own file and adds only its line here.
 */
#include <stddef.h>

#include "mtactl.h"

const struct mtactl_cmd mtactl_commands[] = {
	{"start", cmd_start, "start [-f]", "start the mail system (-f: foreground)"},
	{"stop", cmd_stop, "stop", "stop it (sessions in progress end)"},
	{"reload", cmd_reload, "reload", "re-read the configuration"},
	{"status", cmd_status, "status", "show the services and their processes"},
	{"queue", cmd_queue, "queue [--json]", "list the mail queue"},
	{"config", cmd_config, "config [-n]", "print the effective settings (-n: changed)"},
	{"check", cmd_check, "check", "check the configuration, users, modes, maps"},
	{"setup", cmd_setup, "setup", "create users, groups and the queue tree (root)"},
	{"log-level", cmd_log_level, "log-level [normal|verbose]", "show or change the log level"},
	{NULL, NULL, NULL, NULL},
};
