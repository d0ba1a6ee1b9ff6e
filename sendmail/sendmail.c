/*
 * sendmail.c - sendmail(1): the conventional local injector, for cron,
 * PHP's mail() and scripts.  Reads a message and submits it through
 * pickup(8) (sendmail_submit.c); -bp, -bi and -q run mtactl(8).
 * Trusts: nothing; it runs as the calling user, whose identity pickup
 * takes from the kernel, never from a flag or the environment.
 * Never: writes the queue (it may only drop a file into maildrop/).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mta_limits.h"
#include "sendmail.h"

const char *conf_path = CONFIG_DEFAULT_PATH;

static void
usage(void)
{
	fprintf(stderr, "usage: sendmail [-t] [-i] [-f sender] [-F name] "
		"[-bm|-bs|-bp|-bi] [-q] [-C config] [recipient ...]\n");
	exit(EX_USAGE_);
}

/* run_mtactl - -bp, -bi, -q: the administrator's command does it. */
static int
run_mtactl(const char *cmd)
{
	char path[4200];
	char *argv[] = {"mtactl", "-c", (char *)conf_path, (char *)cmd, NULL};
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 16);

	/* mtactl is installed beside us (sbin/, or bin/ of a build) */
	if (n > 0) {
		path[n] = 0;
		char *slash = strrchr(path, '/');
		if (slash != NULL) {
			strcpy(slash + 1, "mtactl");
			execv(path, argv);
		}
	}
	execvp("mtactl", argv); /* the PATH, e.g. a build tree */
	fprintf(stderr, "sendmail: cannot run mtactl %s: %s\n", cmd,
		strerror(errno));
	return EX_UNAVAILABLE_;
}

/* read_message - stdin as LF lines; without -i a lone "." ends it. */
static int
read_message(struct sm_job *j, int dot_ends)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		size_t len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n') {
			len--;
			if (len > 0 && line[len - 1] == '\r')
				len--;
		}
		if (dot_ends && len == 1 && line[0] == '.')
			break;
		if (strbuf_add(&j->msg, line, len) != 0 ||
		    strbuf_add(&j->msg, "\n", 1) != 0) {
			free(line);
			fprintf(stderr, "sendmail: message larger than "
				"message_size_limit (%ld bytes)\n",
				cfg.message_size_limit);
			return EX_DATAERR_;
		}
	}
	free(line);
	if (ferror(stdin)) {
		fprintf(stderr, "sendmail: reading the message: %s\n",
			strerror(errno));
		return EX_OSERR_;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sm_job j;
	char err[512], id[64], mode = 'm';
	int opt, dot_ends = 1, rc;
	const char *env = getenv("MTA_CONFIG");

	memset(&j, 0, sizeof(j));
	/* installed as mailq and newaliases too */
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
						   argv[0];
	if (strcmp(base, "mailq") == 0)
		mode = 'p';
	else if (strcmp(base, "newaliases") == 0)
		mode = 'i';
	if (env != NULL)
		conf_path = env;
	/* leading '+': stop at the first recipient; unknown letters of
	 * other sendmails are taken and ignored below */
	while ((opt = getopt(argc, argv, "+B:b:C:F:f:h:iL:N:n:O:o:p:q::R:r:tUV:vX:")) != -1) {
		switch (opt) {
		case 'b':
			mode = optarg[0];
			break;
		case 'C':
			conf_path = optarg;
			break;
		case 'F':
			j.full_name = optarg;
			break;
		case 'f':
		case 'r':
			j.sender = optarg;
			break;
		case 'i':
			dot_ends = 0;
			break;
		case 'o':
			if (optarg[0] == 'i' && optarg[1] == 0)
				dot_ends = 0; /* -oi; other -o ignored */
			break;
		case 'q':
			mode = 'q';
			break;
		case 't':
			j.extract = 1;
			break;
		case '?':
			usage();
			break;
		default:
			break; /* -B -h -L -N -n -O -p -R -U -V -v -X: ignored */
		}
	}
	if (config_load(conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "sendmail: %s\n", err);
		return EX_CONFIG_;
	}
	log_open("sendmail", LOG_DEST_STDERR, NULL);
	if (mode == 'p')
		return run_mtactl("queue");
	if (mode == 'i')
		return run_mtactl("newaliases");
	if (mode == 'q')
		return run_mtactl("flush");
	if (mode != 'm' && mode != 's') {
		fprintf(stderr, "sendmail: -b%c is not supported\n", mode);
		return EX_USAGE_;
	}
	if (j.sender && (strlen(j.sender) > LIM_PATH ||
			 strpbrk(j.sender, "\r\n<> ") != NULL)) {
		fprintf(stderr, "sendmail: bad sender address \"%s\"\n",
			j.sender);
		return EX_DATAERR_;
	}
	strbuf_init(&j.msg, (size_t)cfg.message_size_limit);
	if (mode == 's')
		return smtp_stdio(&j);
	j.rcpts = (const char **)argv + optind;
	j.nrcpt = argc - optind;
	if (j.nrcpt > SENDMAIL_MAX_RCPTS) {
		fprintf(stderr, "sendmail: more than %d recipients\n",
			SENDMAIL_MAX_RCPTS);
		return EX_USAGE_;
	}
	if (j.nrcpt == 0 && !j.extract) {
		fprintf(stderr, "sendmail: no recipients (give some, or -t)\n");
		return EX_USAGE_;
	}
	if ((rc = read_message(&j, dot_ends)) != 0)
		return rc;
	rc = submit(&j, id, sizeof(id));
	strbuf_free(&j.msg);
	return rc;
}
