/* The daemon's lifetime: uptime, and when it may leave its loop. */
#ifndef RASND_LIFECYCLE_H
#define RASND_LIFECYCLE_H

#include "rasnd.h"

/* Draining (SIGTERM), no client left and no reload running: leave the loop. Called by
 * whatever may have been the last of these to end. */
void rasnd_server_maybe_exit(struct rasnd *d);

/* Seconds since d started (monotonic). */
double rasnd_uptime(struct rasnd *d);

#endif
