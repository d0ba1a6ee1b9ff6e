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
	{"status", cmd_status, "status [--json]", "services, processes, queue counts"},
	{"queue", cmd_queue, "queue [--json]", "list the mail queue"},
	{"show", cmd_show, "show [--json] ID", "one message: envelope, recipients, header"},
	{"flush", cmd_flush, "flush [ID... | domain]", "try deferred mail now"},
	{"hold", cmd_hold, "hold ID...", "keep messages from delivery"},
	{"release", cmd_release, "release ID...", "end a hold"},
	{"delete", cmd_delete, "delete ID... | --all | --sender A | --rcpt A", "remove messages, without notice"},
	{"requeue", cmd_requeue, "requeue ID...", "start a message's retry schedule afresh"},
	{"config", cmd_config, "config [-n]", "print the effective settings (-n: changed)"},
	{"makemap", cmd_makemap, "makemap [-a] FILE", "compile a lookup table into FILE.lmdb"},
	{"newaliases", cmd_newaliases, "newaliases", "compile the alias_maps files"},
	{"check", cmd_check, "check", "check the configuration, users, modes, maps"},
	{"setup", cmd_setup, "setup", "create users, groups and the queue tree (root)"},
	{"log-level", cmd_log_level, "log-level [normal|verbose]", "show or change the log level"},
	{"stats", cmd_stats, "stats [--json]", "messages, sessions, rejects, resolver, queue"},
	{"passwd", cmd_passwd, "passwd add USER | del USER | list", "SMTP AUTH passwords (read from stdin)"},
	{NULL, NULL, NULL, NULL},
};
