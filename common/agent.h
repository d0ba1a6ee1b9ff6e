/*
 * agent.h - the delivery agent's side of qmgr's protocol (qmgr(8),
 * "Delivery"), shared by local(8) and remote(8): requests {req=deliver,
 * ...} on one connection, one answer record per recipient, then {done}.
 */
#ifndef MTA_AGENT_H
#define MTA_AGENT_H

#include "ipc.h"

/* agent_done - the record that ends a request's answers. */
int agent_done(struct ipc *c);

#endif
