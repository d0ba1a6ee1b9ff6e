/*
 * harden.c - process hardening for root-mode children (see harden.h).
 *
 * Trusts: nothing.  Never: leaves a process that could dump mail to a
 * core file or gain privilege through a set-uid exec.
 */
#include "harden.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include "log.h"

/* cap_limit - lower a resource limit to at most max (never raise it). */
static int
cap_limit(int res, rlim_t max, const char *name)
{
	struct rlimit rl;

	if (getrlimit(res, &rl) != 0) {
		log_error("getrlimit %s: %m", name);
		return -1;
	}
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > max)
		rl.rlim_max = max;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(res, &rl) != 0) {
		log_error("setrlimit %s: %m", name);
		return -1;
	}
	return 0;
}

int
harden_process(void)
{
	if (cap_limit(RLIMIT_CORE, 0, "RLIMIT_CORE") != 0 ||
	    cap_limit(RLIMIT_NOFILE, HARDEN_MAX_FILES, "RLIMIT_NOFILE") != 0)
		return -1;
	/* not dumpable: no core, no ptrace by the same uid, /proc/PID
	 * files owned by root */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_error("prctl(PR_SET_DUMPABLE): %m");
		return -1;
	}
#ifdef PR_SET_NO_NEW_PRIVS
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_error("prctl(PR_SET_NO_NEW_PRIVS): %m");
		return -1;
	}
#endif
	return 0;
}
