/*
 * sendmail.h - shared by the files of sendmail(1).
 */
#ifndef SENDMAIL_H
#define SENDMAIL_H

#include <stddef.h>

#include "strbuf.h"

/* sysexits(3) */
#define EX_OK_ 0
#define EX_USAGE_ 64
#define EX_DATAERR_ 65
#define EX_NOUSER_ 67
#define EX_UNAVAILABLE_ 69
#define EX_SOFTWARE_ 70
#define EX_OSERR_ 71
#define EX_CANTCREAT_ 73
#define EX_TEMPFAIL_ 75
#define EX_NOPERM_ 77
#define EX_CONFIG_ 78

#define SENDMAIL_MAX_RCPTS 1000 /* recipients on the command line */

struct sm_job {
	const char *sender;     /* -f, or NULL */
	const char *full_name;  /* -F, or NULL */
	int extract;            /* -t */
	const char **rcpts;
	int nrcpt;
	struct strbuf msg;      /* LF lines */
};

extern const char *conf_path; /* sendmail.c: -C, MTA_CONFIG or default */

/* sendmail_submit.c: public/submit, else mtadrop(8) writes a file into
 * maildrop/; 0 when queued or dropped, else a sysexits code (message on
 * stderr). */
int submit(struct sm_job *j, char *id, size_t idlen);
/* sendmail_smtp.c: -bs, an SMTP dialogue on stdin/stdout */
int smtp_stdio(struct sm_job *proto);

#endif
