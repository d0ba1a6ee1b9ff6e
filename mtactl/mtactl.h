/*
 * mtactl.h - shared by the files of mtactl(8).
 */
#ifndef MTACTL_H
#define MTACTL_H

#define EX_USAGE_ 64
#define EX_DATAERR_ 65
#define EX_NOINPUT_ 66
#define EX_UNAVAILABLE_ 69
#define EX_SOFTWARE_ 70
#define EX_NOPERM_ 77
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

/* makemap.c, newaliases.c */
int makemap_one(const char *src, int syntax);
int cmd_makemap(int argc, char **argv);
int cmd_newaliases(int argc, char **argv);
/* status_queue.c: the "queue:" line of status */
void status_queue(void);
/* status_queue_json - the same counts as a JSON object (no newline) */
void status_queue_json(void);

/* log_level.c */
int cmd_log_level(int argc, char **argv);

/* setup.c */
int cmd_setup(int argc, char **argv);

/* queue_list.c */
int queue_list(int json);
void json_str(const char *p, size_t n);

/* queue_admin.c: requests to qmgr */
int cmd_flush(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_requeue(int argc, char **argv);
int cmd_delete(int argc, char **argv);

/* stats.c */
int cmd_stats(int argc, char **argv);

/* queue_show.c */
int cmd_show(int argc, char **argv);

/* check_access.c: the access maps of smtpd, for mtactl check */
typedef void (*check_problem_fn)(const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void check_access_maps(check_problem_fn problem);
/* check_sasl.c: remote's password map, for mtactl check */
void check_sasl_map(check_problem_fn problem);

/* passwd_admin.c */
int cmd_passwd(int argc, char **argv);

#endif
