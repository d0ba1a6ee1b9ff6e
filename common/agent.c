/*
 * agent.c - the request loop of a delivery agent (see agent.h).
 *
 * Trusts: qmgr for framing (ipc checks the records).  Never: serves a
 * request of another kind than "deliver".
 */
#include "agent.h"

#include <string.h>

#include "service.h"

void
agent_serve(int fd, int idle_ms,
	    int (*serve)(struct ipc *c, const struct attrs *a))
{
	struct ipc *c = ipc_new(fd, idle_ms);
	struct attrs a;

	attrs_init(&a);
	while (!service_stop && ipc_read(c, &a) == IPC_OK) {
		const char *req = attrs_get(&a, "req");
		if (req == NULL || strcmp(req, "deliver") != 0 ||
		    serve(c, &a) != IPC_OK)
			break;
	}
	attrs_free(&a);
	ipc_free(c);
}

int
agent_done(struct ipc *c)
{
	ipc_put_str(c, "done", "1");
	return ipc_end(c);
}
