/*  server_park - what every parked request has in common, whatever it
    waits for: its deadline, and its client's liveness.

    A request parks (park.c) when it cannot be answered yet: a channel
    operation (server_chan.c), a WAIT or a waiting SUBMIT (server_jobs.c),
    a WG_WAIT (server_wg.c). Each concept answers its own parks when their
    target changes and when their deadline passes. What this file adds is
    the same for all: a client that goes silent for the liveness period
    or says DISCONNECT has every park withdrawn, unanswered, and gets
    back nothing it had not acknowledged (its values return to their
    channels); at shutdown every park is answered "gorod stopped".
*/
#include "server_int.h"
#include "reply.h"
#include "client.h"
#include "log.h"
#include "park.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <stdbool.h>

void
server_park_expire(server_t *self, park_t *p)
{
    if (p->chan)
        server_chan_park_withdraw(self, p, true, GORO_ETIMEDOUT,
                                  "no case was ready in time");
    else if (p->cmd == GORO_MSG_WG_WAIT)
        server_wg_on_park_deadline(self, p);
    else
        server_job_on_park_deadline(self, p);
}

/* Withdraws P, answering it CODE and WHY if TELL. */
static void
s_withdraw(server_t *self, park_t *p, bool tell, int code, const char *why)
{
    if (p->chan)
        server_chan_park_withdraw(self, p, tell, code, why);
    else {
        if (tell && p->cmd)
            reply_error(self, &p->rid, p->reqid, code, "%s", why);
        park_table_remove(self->parks, &p);
    }
}

/* The parks go first, so that no value given back goes to C. C is
   pinned meanwhile: its last park gone, it still has values to give. */
void
server_park_client_withdraw(server_t *self, client_t *c, bool tell)
{
    park_t *p;
    c->pinned = true;
    while ((p = park_table_first(self->parks, c)))
        s_withdraw(self, p, tell, GORO_EUNAVAILABLE, "gorod stopped");
    server_chan_client_return(self, c);
    c->pinned = false;
    client_table_release(self->ctable, &c);
}

void
server_park_client_check(server_t *self, client_t *c)
{
    if (!client_table_silent(self->ctable, c, util_now()))
        return;
    log_debug("client silent: %zu parked request(s) withdrawn, %zu "
              "unacknowledged deliveries put back",
              c->parks.count, c->deliveries.count);
    server_park_client_withdraw(self, c, false);
}

void
server_park_withdraw_all(server_t *self)
{
    park_t *p;
    while ((p = park_table_first(self->parks, NULL)))
        s_withdraw(self, p, false, GORO_EUNAVAILABLE, "gorod stopped");
    client_t *c;
    while ((c = client_table_first(self->ctable)))
        server_park_client_withdraw(self, c, self->clients != NULL);
}
