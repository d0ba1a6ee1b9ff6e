/*
 * agent.c - what the delivery agents local(8) and remote(8) share of
 * qmgr's protocol (see agent.h).  Each has its own request loop: local
 * gathers a round of requests for one group commit, remote keeps SMTP
 * connections between requests.
 *
 * Trusts: nothing.  Never: writes more than the one record.
 */
#include "agent.h"

int
agent_done(struct ipc *c)
{
	ipc_put_str(c, "done", "1");
	return ipc_end(c);
}
