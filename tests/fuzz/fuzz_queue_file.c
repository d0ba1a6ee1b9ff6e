/*
 * fuzz_queue_file.c - libFuzzer target for the reader of common/
 * queue_file.c, which qmgr(8) and local(8) run on every queue file.
 *
 * Input: the bytes of a queue file (mta-queue(5)), put in a memfd.
 * qf_read_envelope must refuse it with a reason or accept it; an accepted
 * file has an ID, a sender and recipients, and qf_reader_read must then
 * return exactly env.msg_size message bytes and a clean end.  The
 * envelope is freed whatever the outcome, as the daemons do.
 * Trusts: nothing in the input.  Never: leaves a descriptor open.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsutil.h"
#include "queue_file.h"

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* read_message - the message bytes as local(8) reads them. */
static void
read_message(int fd, const struct qf_envelope *env, size_t fsize)
{
	static char buf[8192];
	struct qf_reader r;
	long long total = 0;
	ssize_t n;

	qf_reader_init(&r, fd, env);
	/* a small first read exercises records split across reads */
	while ((n = qf_reader_read(&r, buf, total == 0 ? 7 : sizeof(buf))) > 0)
		total += n;
	check(n == 0);
	check(total == env->msg_size);
	check(total <= (long long)fsize);
	check(qf_reader_read(&r, buf, sizeof(buf)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qf_envelope env;
	char err[256];
	int fd;

	fd = memfd_create("fuzz_queue_file", MFD_CLOEXEC);
	check(fd >= 0);
	check(write_all(fd, data, size) == 0);
	err[0] = 0;
	if (qf_read_envelope(fd, &env, err, sizeof(err)) == 0) {
		check(env.id != NULL && env.sender != NULL);
		check(env.nrcpt > 0 && env.nrcpt <= LIM_QF_RCPTS);
		for (int i = 0; i < env.nrcpt; i++)
			check(env.rcpt[i].addr != NULL);
		check(env.msg_offset > 4 && env.msg_offset <= (off_t)size);
		check(env.msg_size >= 0);
		read_message(fd, &env, size);
	} else {
		check(err[0] != 0);
	}
	qf_envelope_free(&env);
	close(fd);
	return 0;
}
