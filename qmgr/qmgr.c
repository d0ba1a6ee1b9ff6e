/*
 * qmgr.c - qmgr(8): the queue manager.
 *
 * One long-lived process (master keeps it running) that owns the queue
 * index.  Its event loop: read notifications of new files from cleanup and
 * answers from delivery agents; commit everything they changed in one
 * transaction; act on what the commit made safe (move new files into
 * msg/, unlink finished ones); take due messages; hand out deliveries.
 * Trusts: cleanup's notifications only as hints (the file is checked).
 * Never: acts on a change before it is committed; forgets a file (a scan
 * of incoming/ runs every queue_run_delay).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "qmgr.h"
#include "service.h"

#define QMGR_CLIENTS_MAX 256 /* notification connections at once */
#define QMGR_CLIENT_MS 5000

static struct ipc *clients[QMGR_CLIENTS_MAX];
static int nclients;

static void
client_accept(void)
{
	int fd;

	while ((fd = accept4(SERVICE_LISTEN_FD, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (nclients == QMGR_CLIENTS_MAX) {
			log_warn("more than %d clients on private/qmgr; "
				 "refusing one", QMGR_CLIENTS_MAX);
			close(fd);
			continue;
		}
		clients[nclients++] = ipc_new(fd, QMGR_CLIENT_MS);
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_fatal("accept: %m");
}

static int
is_admin_op(const char *req)
{
	static const char *ops[] = {"flush", "hold", "release", "delete",
				    "requeue", NULL};
	for (int i = 0; req && ops[i]; i++)
		if (strcmp(req, ops[i]) == 0)
			return 1;
	return 0;
}

/* set by {req=scan}: scan incoming/ at the next turn */
static int scan_asked;

/* client_request - {req=new, queue_id=ID}: a file is in incoming/;
 * {req=scan}: files are in incoming/ that nobody told of; or an
 * administrator's request (qmgr_admin.c). */
static void
client_request(struct ipc *c, const struct attrs *a)
{
	const char *req = attrs_get(a, "req");
	const char *id = attrs_get(a, "queue_id");

	if (is_admin_op(req)) {
		if (!admin_allowed(c->fd)) {
			log_warn("%s request refused: peer is not an "
				 "administrator", req);
			ipc_put_str(c, "status", "1");
			ipc_put_str(c, "text", "permission denied");
			if (ipc_end(c) != IPC_OK)
				log_debug("client went away before the answer");
		} else if (admin_request(c, req, a) != 0)
			log_debug("client went away before the answer");
		return;
	}
	if (req && strcmp(req, "new") == 0 && queue_id_valid(id)) {
		queue_new_file(id);
		ipc_put_str(c, "status", "0");
	} else if (req && strcmp(req, "scan") == 0) {
		scan_asked = 1; /* cleanup skipped notifications */
		ipc_put_str(c, "status", "0");
	} else {
		log_warn("bad request on private/qmgr");
		ipc_put_str(c, "status", "1");
	}
	/* the file is durable already: the answer needs no commit */
	if (ipc_end(c) != IPC_OK)
		log_debug("client went away before the answer");
}

/* client_event - returns 1 when the connection should close. */
static int
client_event(struct ipc *c)
{
	struct attrs a;
	int rc = ipc_fill(c), prc, n = 0;

	if (rc == IPC_AGAIN)
		return 0;
	attrs_init(&a);
	while ((prc = ipc_parse(c, &a)) == IPC_OK) {
		client_request(c, &a);
		n++;
	}
	attrs_free(&a);
	/* this many waiting: the submitter may have stopped notifying
	 * (cleanup.c notify_qmgr), and may send nothing more to say so */
	if (n >= LIM_QMGR_NOTIFY_OWED)
		scan_asked = 1;
	return rc < 0 || prc == IPC_BAD;
}

static void
reload_config(void)
{
	char err[512];

	service_stop = 0;
	if (config_load(config_file, err, sizeof(err)) != 0)
		log_warn("reload failed, keeping the running config: %s", err);
	else
		log_info("configuration reloaded");
}

/* turn_work - commit what the events changed, then act on it: release
 * what the last turn scheduled, move new files, remove finished
 * messages, schedule */
static void
turn_work(long long *next_scan, long long now, long long *wake,
	  long long *remove_due)
{
	if (index_commit() != 0)
		log_fatal("queue index commit failed; exiting so master "
			  "restarts qmgr");
	active_release();
	scan_moves();
	active_after_commit(remove_due);
	if (index_flush_due() && index_flush_due() <= now_us() &&
	    index_flush() != 0)
		log_fatal("queue index sync failed; exiting so master "
			  "restarts qmgr");
	if (now >= *next_scan || scan_asked) {
		scan_asked = 0;
		scan_incoming();
		*next_scan = now + cfg.queue_run_delay;
	}
	active_schedule(wake);
}

static void
loop_turn(long long *next_scan)
{
	/* every connection polled: the pools may hold up to
	 * local_concurrency_limit + remote_concurrency_limit of them */
	static struct pollfd *p;
	static void **tag;
	static size_t cap;
	long long now = (long long)time(NULL), wake = now + cfg.queue_run_delay;
	long long remove_due = 0; /* us, 0: nothing waits for removal */
	long long commit_due = index_commit_due();
	int n = 0, nd, timeout;

	/* changes wait up to the commit window (qmgr_index.c) to share a
	 * commit; until then only events are taken in, and nothing is
	 * acted on (that would act on what is not committed) */
	if (commit_due == 0 || commit_due <= now_us())
		turn_work(next_scan, now, &wake, &remove_due);
	/* every turn: an agent that answered gets its next job at once */
	deliver_dispatch();
	deliver_wake(&wake);
	admin_work(); /* a chunk of a large selection, if one runs */
	if (admin_pending())
		wake = now; /* the next chunk without a wait */
	if ((commit_due = index_commit_due()) != 0 &&
	    (remove_due == 0 || commit_due < remove_due))
		remove_due = commit_due;
	size_t need = 1 + (size_t)nclients + (size_t)deliver_nconns();
	if (need > cap) {
		free(p);
		free(tag);
		p = calloc(need, sizeof(*p));
		tag = calloc(need, sizeof(*tag));
		if (p == NULL || tag == NULL)
			log_fatal("out of memory");
		cap = need;
	}
	p[n++] = (struct pollfd){.fd = SERVICE_LISTEN_FD, .events = POLLIN};
	for (int i = 0; i < nclients; i++)
		p[n++] = (struct pollfd){.fd = clients[i]->fd, .events = POLLIN};
	nd = deliver_pollfds(p + n, (int)cap - n, tag + n);
	/* to the start of second wake, not wake - now seconds from a
	 * moment inside a second: a retry is due on the second */
	long long t_us = now_us();
	long long ms = wake > now ? (wake * 1000000LL - t_us) / 1000 + 1 : 0;
	if (index_flush_due() &&
	    (remove_due == 0 || index_flush_due() < remove_due))
		remove_due = index_flush_due();
	if (remove_due > 0 && (remove_due - t_us) / 1000 + 1 < ms)
		ms = (remove_due - t_us) / 1000 + 1;
	timeout = ms > 0 ? (int)ms : 0;
	int rc = poll(p, (nfds_t)(n + nd), timeout);
	if (rc < 0 && errno != EINTR)
		log_fatal("poll: %m");
	if (rc <= 0)
		return;
	for (int i = n; i < n + nd; i++)
		if (p[i].revents)
			deliver_event(tag[i], p[i].revents);
	for (int i = nclients - 1; i >= 0; i--)
		if (p[1 + i].revents && client_event(clients[i])) {
			admin_client_gone(clients[i]);
			ipc_free(clients[i]);
			clients[i] = clients[--nclients];
		}
	if (p[0].revents & POLLIN)
		client_accept();
}

int
main(int argc, char **argv)
{
	long long next_scan;

	service_init("qmgr", argc, argv);
	if (fcntl(SERVICE_LISTEN_FD, F_SETFL, O_NONBLOCK) != 0)
		log_fatal("listening socket: %m");
	if (index_open() != 0)
		exit(1);
	scan_startup();
	next_scan = (long long)time(NULL) + cfg.queue_run_delay;
	service_report(SERVICE_BUSY);
	for (;;) {
		if (service_stop)
			reload_config();
		loop_turn(&next_scan);
	}
}
