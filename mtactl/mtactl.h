/*
 * mtactl.h - shared by the files of mtactl(8).
 */
#ifndef MTACTL_H
#define MTACTL_H

#define EX_USAGE_ 64
#define EX_UNAVAILABLE_ 69
#define EX_SOFTWARE_ 70
#define EX_CONFIG_ 78
#define EX_NOPERM_ 77
#define EX_CANTCREAT_ 73

#include <sys/types.h>

/* one command: its name, its function (argv[0] is the name), a synopsis
 * and one line of help for the usage text */
struct mtactl_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis, *help;
};
extern const struct mtactl_cmd mtactl_commands[]; /* commands.c */

/* mtactl.c */
pid_t master_pid(void);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* status_queue.c: the "queue:" line of status */
void status_queue(void);

/* log_level.c */
int cmd_log_level(int argc, char **argv);

/* setup.c */
int cmd_setup(int argc, char **argv);

/* queue_list.c */
int queue_list(int json);

#endif
