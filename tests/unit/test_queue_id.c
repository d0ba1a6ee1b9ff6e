/*
 * test_queue_id.c - unit tests for common/queue_id.c.
 *
 * Covers: IDs are unique, valid, 15 characters long, and sort by time;
 * queue_id_valid refuses everything that is not exactly an ID.
 * Trusts: the wall clock to move forward across a 5 ms sleep.
 * Never: relies on two IDs made in the same 1/1024 s being ordered.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue_id.h"
#include "suites.h"

#define MANY 100000
#define BATCH 1000

typedef char qid[QUEUE_ID_LEN + 1];

static int
qid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_unique(void)
{
	qid *ids = calloc(MANY, sizeof(*ids));
	int bad = 0, dups = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
	for (int i = 0; i < MANY; i++) {
		queue_id_new(ids[i]);
		if (strlen(ids[i]) != QUEUE_ID_LEN || !queue_id_valid(ids[i]))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	qsort(ids, MANY, sizeof(*ids), qid_cmp);
	for (int i = 1; i < MANY; i++) {
		if (strcmp(ids[i - 1], ids[i]) == 0) {
			if (dups++ == 0)
				fprintf(stderr, "\nduplicate queue ID %s\n",
					ids[i]);
		}
	}
	CU_ASSERT_EQUAL(dups, 0);
	free(ids);
}

static void
test_valid(void)
{
	static const struct {
		const char *id;
		int valid;
	} cases[] = {
	    {"0123456789ABCDE", 1},
	    {"ZZZZZZZZZZZZZZZ", 1},
	    {"000000000000000", 1},
	    {"4H7QWXK2M9NP3RT", 1},
	    {"0123456789ABCD", 0},   /* 14 */
	    {"0123456789ABCDEF", 0}, /* 16 */
	    {"0123456789abcde", 0},  /* lower case */
	    {"0123456789ABCDi", 0},
	    {"0123456789ABCDI", 0},
	    {"0123456789ABCDL", 0},
	    {"0123456789ABCDO", 0},
	    {"0123456789ABCDU", 0},
	    {"0123456789ABCD/", 0},
	    {"0123456789ABCD.", 0},
	    {"0123456789ABCD ", 0},
	    {"0123456789ABCD\n", 0},
	    {"../x", 0},
	    {"../../../etc/pw", 0}, /* 15 characters, not an ID */
	    {"", 0},
	    {NULL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(queue_id_valid(cases[i].id), cases[i].valid);
		if (queue_id_valid(cases[i].id) != cases[i].valid)
			fprintf(stderr, "\nqueue_id_valid(\"%s\") wrong\n",
				cases[i].id ? cases[i].id : "(null)");
	}
	/* an 8-bit byte and an embedded NUL */
	char eight[] = "0123456789ABCD\xc3";
	CU_ASSERT_EQUAL(queue_id_valid(eight), 0);
	char nul[QUEUE_ID_LEN + 1];
	memcpy(nul,
	       "0123456\0"
	       "89ABCDE",
	       QUEUE_ID_LEN + 1);
	CU_ASSERT_EQUAL(queue_id_valid(nul), 0);
}

static void
test_time_order(void)
{
	qid *a = calloc(BATCH, sizeof(*a)), *b = calloc(BATCH, sizeof(*b));
	struct timespec gap = {0, 5 * 1000 * 1000};
	int unordered = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int i = 0; i < BATCH; i++)
		queue_id_new(a[i]);
	nanosleep(&gap, NULL);
	for (int i = 0; i < BATCH; i++)
		queue_id_new(b[i]);
	/* the time part (9 characters) never goes backwards in a batch */
	for (int i = 1; i < BATCH; i++)
		if (strncmp(a[i - 1], a[i], 9) > 0 ||
		    strncmp(b[i - 1], b[i], 9) > 0)
			unordered++;
	CU_ASSERT_EQUAL(unordered, 0);
	/* every ID of the later batch sorts after every ID of the first */
	qsort(a, BATCH, sizeof(*a), qid_cmp);
	qsort(b, BATCH, sizeof(*b), qid_cmp);
	CU_ASSERT(strcmp(a[BATCH - 1], b[0]) < 0);
	free(a);
	free(b);
}

static void
test_hash(void)
{
	qid id;

	for (int i = 0; i < 100; i++) {
		queue_id_new(id);
		char h = queue_id_hash(id);
		CU_ASSERT_EQUAL(h, id[QUEUE_ID_LEN - 1]);
		CU_ASSERT_PTR_NOT_NULL(
		    strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", h));
	}
}

CU_ErrorCode
suite_queue_id(void)
{
	CU_pSuite s = CU_add_suite("queue_id", NULL, NULL);

	if (s == NULL ||
	    !CU_add_test(s, "100000 IDs are unique and valid", test_unique) ||
	    !CU_add_test(s, "queue_id_valid", test_valid) ||
	    !CU_add_test(s, "IDs sort in time order", test_time_order) ||
	    !CU_add_test(s, "queue_id_hash", test_hash))
		return CU_get_error();
	return CUE_SUCCESS;
}
