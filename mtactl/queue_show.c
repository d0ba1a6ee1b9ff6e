/*
 * queue_show.c - "mtactl show [--json] ID": one message as the queue
 * holds it: schedule and per-recipient status from the index, envelope
 * and header from the queue file.
 *
 * Trusts: nothing in the file (qf_read_envelope checks it all) or the
 * index beyond record sizes.  Never: writes to the queue or the index;
 * prints more than the message's header.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "mtactl.h"
#include "queue_file.h"
#include "queue_id.h"
#include "queue_index.h"

#define SHOW_HEADER_MAX (1 << 20) /* header bytes shown at most */

static const char *
status_name(uint32_t st)
{
	static const char *n[] = {"pending", "sent", "failed", "deferred"};
	return st < 4 ? n[st] : "unknown";
}

static void
field(int json, int *first, const char *name, const char *v)
{
	if (v == NULL)
		return;
	if (json) {
		printf("%s\"%s\":", *first ? "" : ",", name);
		json_str(v, strlen(v));
	} else
		printf("%-14s %s\n", name, v);
	*first = 0;
}

static void
show_rcpts(MDB_txn *txn, const struct db *d, const char *id, uint32_t n,
	   const struct qf_envelope *e, int json)
{
	if (json)
		printf(",\"recipients\":[");
	for (uint32_t i = 0; i < n; i++) {
		unsigned char k[QINDEX_RCPT_KEY_LEN];
		memcpy(k, id, QUEUE_ID_LEN);
		k[QUEUE_ID_LEN] = '/';
		k[QUEUE_ID_LEN + 1] = (unsigned char)(i >> 8);
		k[QUEUE_ID_LEN + 2] = (unsigned char)i;
		MDB_val key = {sizeof(k), k}, v;
		struct rcpt_rec r;
		if (mdb_get(txn, d->dbi[T_RCPT], &key, &v) != 0 ||
		    v.mv_size < sizeof(r))
			continue;
		memcpy(&r, v.mv_data, sizeof(r));
		if (sizeof(r) + r.addr_len + r.text_len > v.mv_size)
			continue;
		const char *a = (char *)v.mv_data + sizeof(r);
		const char *t = a + r.addr_len;
		const struct qf_rcpt *q = e && i < (uint32_t)e->nrcpt ?
					  &e->rcpt[i] : NULL;
		if (json) {
			printf("%s{\"address\":", i ? "," : "");
			json_str(a, r.addr_len);
			printf(",\"status\":\"%s\",\"attempts\":%u,"
			       "\"notified\":%s,\"last_reply\":",
			       status_name(r.status), r.attempts,
			       (r.flags & RF_NOTIFIED) ? "true" : "false");
			json_str(t, r.text_len);
			if (q && q->orcpt)
				printf(",\"orcpt\":"), json_str(q->orcpt,
							   strlen(q->orcpt));
			if (q && q->notify)
				printf(",\"notify\":"), json_str(q->notify,
							    strlen(q->notify));
			putchar('}');
			continue;
		}
		printf("recipient      %.*s: %s, %u attempt%s%s%s%s%s\n",
		       (int)r.addr_len, a, status_name(r.status), r.attempts,
		       r.attempts == 1 ? "" : "s",
		       (r.flags & RF_NOTIFIED) ? ", sender notified" : "",
		       q && q->notify ? ", NOTIFY=" : "",
		       q && q->notify ? q->notify : "",
		       q && q->orcpt ? " (ORCPT)" : "");
		if (r.text_len)
			printf("               (%.*s)\n", (int)r.text_len, t);
	}
	if (json)
		putchar(']');
}

/* show_header - the message's header section from its queue file. */
static void
show_header(int fd, const struct qf_envelope *e, int json)
{
	static char buf[SHOW_HEADER_MAX];
	struct qf_reader r;
	size_t len = 0;
	ssize_t n;

	qf_reader_init(&r, fd, e);
	while (len < sizeof(buf) &&
	       (n = qf_reader_read(&r, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
		char *end = memmem(buf, len, "\n\n", 2);
		if (end) {
			len = (size_t)(end - buf) + 1;
			break;
		}
	}
	if (json) {
		printf(",\"header\":");
		json_str(buf, len);
	} else
		printf("\n%.*s", (int)len, buf);
}

static int
open_file(const char *id, struct qf_envelope *e, int *fd)
{
	char path[4300], err[256];
	snprintf(path, sizeof(path), "%s/msg/%c/%s", cfg.queue_directory,
		 queue_id_hash(id), id);
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(path, sizeof(path), "%s/incoming/%s",
			 cfg.queue_directory, id);
		*fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (*fd < 0) {
		fprintf(stderr, "mtactl: %s: queue file: %m\n", id);
		return -1;
	}
	if (qf_read_envelope(*fd, e, err, sizeof(err)) != 0) {
		fprintf(stderr, "mtactl: %s: %s\n", id, err);
		close(*fd);
		return -1;
	}
	return 0;
}

static void
show_envelope(const struct qf_envelope *e, const struct msg_rec *r, int json)
{
	char when[64], next[64], size[32], att[16];
	time_t t = (time_t)r->arrival, nt = (time_t)r->next_try;
	int first = 0;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", localtime(&t));
	strftime(next, sizeof(next), "%Y-%m-%d %H:%M:%S %z", localtime(&nt));
	snprintf(size, sizeof(size), "%lld", (long long)r->size);
	snprintf(att, sizeof(att), "%u", r->attempts);
	field(json, &first, "arrival", when);
	field(json, &first, "size", size);
	field(json, &first, "sender", e ? e->sender : NULL);
	field(json, &first, "state", (r->flags & MF_HOLD) ? "hold" :
		      r->next_try == 0 ? "active" : "deferred");
	field(json, &first, "next_try", r->next_try ? next : NULL);
	field(json, &first, "attempts", att);
	field(json, &first, "delay_warned", (r->flags & MF_WARNED) ? "yes" : "no");
	if (e == NULL)
		return;
	field(json, &first, "client", e->client_name);
	field(json, &first, "client_addr", e->client_addr);
	field(json, &first, "helo", e->helo);
	field(json, &first, "protocol", e->protocol);
	field(json, &first, "auth_user", e->auth_user);
	field(json, &first, "body_type", e->body_type);
	field(json, &first, "envid", e->envid);
	field(json, &first, "ret", e->ret);
}

int
cmd_show(int argc, char **argv)
{
	static const char *const tables[] = QINDEX_TABLES;
	int json = argc > 2 && strcmp(argv[1], "--json") == 0;
	const char *id = argv[argc - 1];
	char dir[4200], err[512];
	struct db d;
	MDB_txn *txn;
	struct msg_rec r;
	struct qf_envelope e;
	int fd = -1, have_file;

	if (argc < 2 || argc > 3 || (argc == 3 && !json)) {
		fprintf(stderr, "usage: mtactl show [--json] ID\n");
		return EX_USAGE_;
	}
	if (!queue_id_valid(id)) {
		fprintf(stderr, "mtactl: %s: not a queue ID\n", id);
		return EX_DATAERR_;
	}
	snprintf(dir, sizeof(dir), "%s/db", cfg.queue_directory);
	if (db_open(&d, dir, tables, T_COUNT, (size_t)cfg.lmdb_map_size, 1, err,
		    sizeof(err)) != 0) {
		fprintf(stderr, "mtactl: queue index: %s\n", err);
		return EX_UNAVAILABLE_;
	}
	MDB_val k = {QUEUE_ID_LEN, (void *)id}, v;
	if (db_begin(&d, 1, &txn) != 0) {
		fprintf(stderr, "mtactl: cannot read the queue index\n");
		db_close(&d);
		return EX_UNAVAILABLE_;
	}
	if (mdb_get(txn, d.dbi[T_MSG], &k, &v) != 0 || v.mv_size < sizeof(r)) {
		fprintf(stderr, "mtactl: %s: no such message in the queue\n", id);
		mdb_txn_abort(txn);
		db_close(&d);
		return EX_NOINPUT_;
	}
	memcpy(&r, v.mv_data, sizeof(r));
	have_file = open_file(id, &e, &fd) == 0;
	if (json)
		printf("{\"queue_id\":\"%s\"", id);
	else
		printf("%-14s %s\n", "queue_id", id);
	show_envelope(have_file ? &e : NULL, &r, json);
	show_rcpts(txn, &d, id, r.nrcpt, have_file ? &e : NULL, json);
	if (have_file) {
		show_header(fd, &e, json);
		qf_envelope_free(&e);
		close(fd);
	}
	if (json)
		printf("}\n");
	mdb_txn_abort(txn);
	db_close(&d);
	return 0;
}
