/*
 * sendmail_smtp.c - sendmail -bs: SMTP on stdin/stdout, for programs that
 * speak SMTP to a local command.  Each message goes through submit()
 * like any other; MAIL FROM counts as -f (pickup records it).
 * Trusts: nothing the peer sends; lines are bounded by LIM_SMTP_LINE_EXT.
 * Never: accepts a message before pickup has queued it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "mta_limits.h"
#include "sendmail.h"

/* path_arg - the address in "FROM:<a@b> ..." (copied into out). */
static int
path_arg(const char *p, char *out, size_t outlen)
{
	const char *lt = strchr(p, '<'), *gt;

	if (lt == NULL || (gt = strchr(lt, '>')) == NULL ||
	    (size_t)(gt - lt - 1) >= outlen || (size_t)(gt - lt - 1) > LIM_PATH)
		return -1;
	memcpy(out, lt + 1, (size_t)(gt - lt - 1));
	out[gt - lt - 1] = 0;
	return 0;
}

/* read_data - message lines until ".", dots unstuffed; -1 at EOF. */
static int
read_data(struct sm_job *j)
{
	char line[LIM_TEXT_LINE + 2];
	int too_big = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = 0;
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = 0;
		if (strcmp(line, ".") == 0)
			return too_big;
		const char *p = line[0] == '.' ? line + 1 : line;
		if (strbuf_add(&j->msg, p, strlen(p)) != 0 ||
		    strbuf_add(&j->msg, "\n", 1) != 0)
			too_big = 1;
	}
	return -1;
}

static void
reset(struct sm_job *j, char **rc, int *n)
{
	for (int i = 0; i < *n; i++)
		free(rc[i]);
	*n = 0;
	free((char *)j->sender);
	j->sender = NULL;
	strbuf_reset(&j->msg);
}

int
smtp_stdio(struct sm_job *j)
{
	char line[LIM_SMTP_LINE_EXT + 2], addr[LIM_PATH + 1], id[64];
	char *rc[SENDMAIL_MAX_RCPTS];
	int n = 0, have_from = 0;

	j->sender = NULL;
	printf("220 %s ESMTP (sendmail -bs)\r\n", cfg.myhostname);
	while (fflush(stdout) == 0 && fgets(line, sizeof(line), stdin)) {
		if (strncasecmp(line, "HELO", 4) == 0 ||
		    strncasecmp(line, "EHLO", 4) == 0) {
			printf("250 %s\r\n", cfg.myhostname);
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			if (have_from || path_arg(line + 10, addr,
						  sizeof(addr)) != 0) {
				printf("501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
				continue;
			}
			have_from = 1;
			j->sender = addr[0] ? strdup(addr) : NULL;
			printf("250 2.1.0 Ok\r\n");
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			if (!have_from)
				printf("503 5.5.1 Error: need MAIL command\r\n");
			else if (n >= SENDMAIL_MAX_RCPTS)
				printf("452 4.5.3 Error: too many recipients\r\n");
			else if (path_arg(line + 8, addr, sizeof(addr)) != 0 ||
				 addr[0] == 0)
				printf("501 5.5.4 Syntax: RCPT TO:<address>\r\n");
			else if ((rc[n] = strdup(addr)) == NULL)
				printf("451 4.3.0 Error: out of memory\r\n");
			else {
				n++;
				printf("250 2.1.5 Ok\r\n");
			}
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			if (n == 0) {
				printf("503 5.5.1 Error: need RCPT command\r\n");
				continue;
			}
			printf("354 End data with <CR><LF>.<CR><LF>\r\n");
			fflush(stdout);
			int d = read_data(j);
			if (d < 0)
				break;
			j->rcpts = (const char **)rc;
			j->nrcpt = n;
			j->extract = 0;
			if (d > 0)
				printf("552 5.3.4 Error: message too big\r\n");
			else if (submit(j, id, sizeof(id)) == 0)
				printf("250 2.0.0 Ok: queued as %s\r\n", id);
			else
				printf("451 4.3.0 Error: not queued\r\n");
			reset(j, rc, &n);
			have_from = 0;
		} else if (strncasecmp(line, "RSET", 4) == 0) {
			reset(j, rc, &n);
			have_from = 0;
			printf("250 2.0.0 Ok\r\n");
		} else if (strncasecmp(line, "NOOP", 4) == 0) {
			printf("250 2.0.0 Ok\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			printf("221 2.0.0 Bye\r\n");
			break;
		} else {
			printf("502 5.5.2 Error: command not recognized\r\n");
		}
	}
	reset(j, rc, &n);
	strbuf_free(&j->msg); /* the session is over */
	return fflush(stdout) == 0 ? 0 : EX_OSERR_;
}
