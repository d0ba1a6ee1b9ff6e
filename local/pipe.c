/*
 * pipe.c - delivery to a "|command" alias target (allow_mail_to_commands):
 * the command runs under /bin/sh -c with the message (Return-Path and
 * Delivered-To on top) on its standard input, in its own process group,
 * with a small fixed environment (HOME and the working directory: the
 * user's home for a .forward's command, else /), for at most
 * command_time_limit.
 * Exit 0: delivered; 75 (EX_TEMPFAIL), a signal or the time limit:
 * deferred (4.3.0); anything else: failed (5.3.0), with the first line of
 * its output in the text.
 *
 * Runs in a process of its own that deliver_as.c started with the
 * identity of command_user, or of the user whose .forward named it
 * (never root).
 * Trusts: the command (it came from the administrator's alias file).
 * Never: waits past the time limit; leaves the command running.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "local.h"

#define PIPE_BUF_SIZE 65536
#define PIPE_OUTPUT 512 /* bytes of the command's output kept for the text */

static pid_t
start(const char *cmd, const char *sender, const char *rcpt, int in_home,
      int *in, int *out)
{
	char e_home[4096 + 8] = "HOME=/";
	struct passwd *pw;
	int pi[2], po[2];
	pid_t pid;

	/* a .forward's command runs in its user's home, as with other MTAs */
	if (in_home && (pw = getpwuid(getuid())) != NULL && pw->pw_dir[0] == '/')
		snprintf(e_home, sizeof(e_home), "HOME=%s", pw->pw_dir);

	if (pipe2(pi, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(po, O_CLOEXEC) != 0) {
		close(pi[0]);
		close(pi[1]);
		return -1;
	}
	if ((pid = fork()) == 0) {
		char e_sender[LIM_PATH + 16], e_rcpt[LIM_PATH + 16];
		snprintf(e_sender, sizeof(e_sender), "SENDER=%s", sender);
		snprintf(e_rcpt, sizeof(e_rcpt), "RECIPIENT=%s", rcpt);
		char *env[] = {"PATH=/usr/bin:/bin",
			       "SHELL=/bin/sh",
			       e_home,
			       e_sender,
			       e_rcpt,
			       NULL};
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(pi[0], 0) < 0 || dup2(po[1], 1) < 0 ||
		    dup2(po[1], 2) < 0 ||
		    (chdir(e_home + 5) != 0 && chdir("/") != 0))
			_exit(75);
		execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, env);
		_exit(75);
	}
	close(pi[0]);
	close(po[1]);
	if (pid < 0) {
		close(pi[1]);
		close(po[0]);
		return -1;
	}
	setpgid(pid, pid); /* both sides, whichever runs first */
	*in = pi[1];
	*out = po[0];
	return pid;
}

/* feed - message in, output out, until both are done or the deadline */
static int
feed(int in, int out, int qfd, const struct qf_envelope *e, const char *top,
     char *text, size_t textlen, long long deadline)
{
	static char buf[PIPE_BUF_SIZE];
	struct qf_reader rd;
	size_t have = strlen(top), off = 0, kept = 0;
	int in_open = 1, out_open = 1;

	memcpy(buf, top, have);
	qf_reader_init(&rd, qfd, e);
	fcntl(in, F_SETFL, O_NONBLOCK);
	while (in_open || out_open) {
		struct pollfd p[2] = {{in_open ? in : -1, POLLOUT, 0},
				      {out_open ? out : -1, POLLIN, 0}};
		long long left = deadline - mono_ms();
		if (left <= 0)
			return -1;
		if (poll(p, 2, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR)
			return -1;
		if (in_open && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
			if (off == have) {
				ssize_t n =
				    qf_reader_read(&rd, buf, sizeof(buf));
				if (n <= 0) { /* all sent (or unreadable) */
					close(in);
					in_open = 0;
					continue;
				}
				have = (size_t)n;
				off = 0;
			}
			ssize_t w = write(in, buf + off, have - off);
			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				/* the command stopped reading: its exit
				 * status decides */
				close(in);
				in_open = 0;
			}
		}
		if (out_open && (p[1].revents & (POLLIN | POLLERR | POLLHUP))) {
			char o[512];
			ssize_t n = read(out, o, sizeof(o));
			if (n <= 0) {
				out_open = 0;
				continue;
			}
			for (ssize_t i = 0; i < n && kept + 1 < textlen; i++)
				text[kept++] = o[i];
			text[kept] = 0;
		}
	}
	return 0;
}

void
pipe_deliver(const char *cmd, int in_home, int qfd,
	     const struct qf_envelope *e,
	     const char *sender, const char *rcpt, struct result *r)
{
	char top[2 * LIM_PATH + 64], output[PIPE_OUTPUT] = "";
	long long deadline = mono_ms() + cfg.command_time_limit * 1000;
	int in, out, status = 0, timed_out;
	pid_t pid;

	snprintf(top, sizeof(top), "Return-Path: <%s>\nDelivered-To: %s\n",
		 sender, rcpt);
	signal(SIGPIPE, SIG_IGN);
	if ((pid = start(cmd, sender, rcpt, in_home, &in, &out)) < 0) {
		result_set(r, 4, "4.3.0", "cannot run command: %s",
			   strerror(errno));
		return;
	}
	timed_out =
	    feed(in, out, qfd, e, top, output, sizeof(output), deadline) != 0;
	while (!timed_out && waitpid(pid, &status, WNOHANG) == 0) {
		if (mono_ms() >= deadline)
			timed_out = 1;
		else {
			struct timespec ts = {0, 10 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	if (timed_out) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(out);
	output[strcspn(output, "\r\n")] = 0;
	if (timed_out)
		result_set(r, 4, "4.3.0",
			   "command %.100s: time limit of %lds "
			   "exceeded",
			   cmd, cfg.command_time_limit);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		result_set(r, 2, "2.0.0", "delivered to command: %.200s", cmd);
	else if (WIFEXITED(status))
		result_set(r, WEXITSTATUS(status) == 75 ? 4 : 5,
			   WEXITSTATUS(status) == 75 ? "4.3.0" : "5.3.0",
			   "command %.100s: exit %d: %.200s", cmd,
			   WEXITSTATUS(status), output);
	else
		result_set(r, 4, "4.3.0", "command %.100s: killed by signal %d",
			   cmd, WTERMSIG(status));
}
