/* The daemon's lifetime (daemon/lifecycle.h): its uptime, and when it may leave its loop. A leaf
 * that the server, the sessions and the reload and refresh paths all call, so that none of
 * them calls another. */
#include <event2/event.h>

#include "clock.h"
#include "lifecycle.h"

void rasnd_server_maybe_exit(struct rasnd *d)
{
	if (d->draining && d->n_sessions == 0 && !d->reload.running)
		event_base_loopexit(d->base, NULL);
}

double rasnd_uptime(struct rasnd *d)
{
	return (double)(rasn_clock_mono_us() - d->started_us) / 1e6;
}
