/*
 * queue_list.c - "mtactl queue": list the queue from the LMDB index,
 * read-only, one message at a time, so a million-message queue lists in
 * constant memory and without disturbing qmgr(8).
 *
 * Trusts: the index (written by qmgr), but checks every record's size.
 * Never: writes to the queue or the index.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "mtactl.h"
#include "queue_index.h"

void
json_str(const char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 32)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_rcpts(MDB_txn *txn, MDB_dbi dbi, const char *id, int json)
{
	MDB_cursor *cur;
	MDB_val k = {strlen(id), (void *)id}, v;
	size_t idlen = strlen(id);
	int first = 1;

	if (mdb_cursor_open(txn, dbi, &cur) != 0)
		return;
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct rcpt_rec r;
		if (k.mv_size < idlen || memcmp(k.mv_data, id, idlen) != 0)
			break;
		if (v.mv_size < sizeof(r))
			continue;
		memcpy(&r, v.mv_data, sizeof(r));
		if (sizeof(r) + r.addr_len + r.text_len > v.mv_size)
			continue;
		const char *addr = (char *)v.mv_data + sizeof(r);
		const char *text = addr + r.addr_len;
		/* the index keeps "dsn text"; mailq shows the text */
		const char *sp = memchr(text, ' ', r.text_len);
		if (sp) {
			r.text_len -= (uint32_t)(sp + 1 - text);
			text = sp + 1;
		}
		if (r.status == RS_SENT || r.status == RS_FAILED)
			continue; /* final: not waiting any more */
		if (json) {
			printf("%s{\"address\":", first ? "" : ",");
			json_str(addr, r.addr_len);
			printf(",\"delay_reason\":");
			json_str(text, r.text_len);
			putchar('}');
		} else {
			if (r.text_len)
				printf("%46s(%.*s)\n", "", (int)r.text_len, text);
			printf("%46s%.*s\n", "", (int)r.addr_len, addr);
		}
		first = 0;
	}
	mdb_cursor_close(cur);
}

static void
print_msg(MDB_txn *txn, struct db *d, const MDB_val *k, const MDB_val *v,
	  int json)
{
	struct msg_rec r;
	char id[32], when[64];
	time_t t;

	if (v->mv_size < sizeof(r) || k->mv_size >= sizeof(id))
		return;
	memcpy(&r, v->mv_data, sizeof(r));
	if (sizeof(r) + r.sender_len > v->mv_size)
		return;
	memcpy(id, k->mv_data, k->mv_size);
	id[k->mv_size] = 0;
	const char *sender = (char *)v->mv_data + sizeof(r);
	t = (time_t)r.arrival;
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S", localtime(&t));
	if (json) {
		printf("{\"queue_id\":\"%s\",\"queue_name\":\"%s\","
		       "\"arrival_time\":%lld,\"message_size\":%lld,"
		       "\"sender\":", id, (r.flags & MF_HOLD) ? "hold" :
		       r.next_try == 0 ? "active" : "deferred", (long long)r.arrival, (long long)r.size);
		json_str(sender, r.sender_len);
		printf(",\"recipients\":[");
		print_rcpts(txn, d->dbi[T_RCPT], id, 1);
		printf("]}\n");
		return;
	}
	/* as mailq marks them: '*' in delivery, '!' on hold */
	printf("%s%c %8lld %-20s %.*s\n", id, (r.flags & MF_HOLD) ? '!' :
	       r.next_try == 0 ? '*' : ' ',
	       (long long)r.size, when, (int)r.sender_len,
	       r.sender_len ? sender : "MAILER-DAEMON");
	print_rcpts(txn, d->dbi[T_RCPT], id, 0);
	putchar('\n');
}

int
queue_list(int json)
{
	static const char *const tables[] = QINDEX_TABLES;
	char dir[4200], file[4300], err[512];
	struct db d;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	struct stat st;
	long n = 0;

	snprintf(dir, sizeof(dir), "%s/db", cfg.queue_directory);
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	if (stat(file, &st) != 0) {
		if (!json)
			printf("Mail queue is empty\n");
		return 0;
	}
	if (db_open(&d, dir, tables, T_COUNT, (size_t)cfg.lmdb_map_size, 1, err,
		    sizeof(err)) != 0) {
		fprintf(stderr, "mtactl: queue index: %s\n", err);
		return EX_UNAVAILABLE_;
	}
	if (db_begin(&d, 1, &txn) != 0 ||
	    mdb_cursor_open(txn, d.dbi[T_MSG], &cur) != 0) {
		fprintf(stderr, "mtactl: cannot read the queue index\n");
		db_close(&d);
		return EX_UNAVAILABLE_;
	}
	if (!json)
		printf("-Queue ID-       --Size-- ----Arrival Time---- "
		       "-Sender/Recipient-------\n");
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++)
		print_msg(txn, &d, &k, &v, json);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	db_close(&d);
	if (!json)
		printf(n ? "-- %ld Request%s.\n" : "Mail queue is empty\n", n,
		       n == 1 ? "" : "s");
	return 0;
}
