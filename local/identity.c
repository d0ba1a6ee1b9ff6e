/*
 * identity.c - how a delivery process of local(8) gives up root: every
 * supplementary group dropped, the uid and gid taken for good
 * (setresgid/setresuid), and a check that root cannot be regained.
 *
 * Trusts: the uid/gid resolve.c chose (a system user, local_user,
 * command_user or the owner of an alias database; never 0).
 * Never: returns 0 while the process could still become root.
 */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

int
local_become(uid_t uid, gid_t gid, struct result *r)
{
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		result_set(r, 4, "4.3.0", "cannot switch to uid %ld: %s",
			   (long)uid, strerror(errno));
		return -1;
	}
	if (uid != 0 && setresuid(0, 0, 0) == 0) {
		result_set(r, 4, "4.3.0", "privileges not dropped");
		return -1;
	}
	return 0;
}
