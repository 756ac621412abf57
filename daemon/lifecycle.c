/* When the daemon may leave its loop (daemon/lifecycle.h): a leaf that the server, the
 * sessions and the reload and refresh paths all call, so that none of them calls another. */
#include <event2/event.h>

#include "lifecycle.h"

void rasnd_server_maybe_exit(struct rasnd *d)
{
	if (d->draining && d->n_sessions == 0 && !d->reload.running)
		event_base_loopexit(d->base, NULL);
}
