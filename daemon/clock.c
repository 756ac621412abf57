/* The daemon's clocks (daemon/clock.h). */
#include <time.h>

#include "clock.h"
#include "rasnd.h"

double rasnd_now_unix(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double rasnd_uptime(struct rasnd *d)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - d->started.tv_sec) + (double)(ts.tv_nsec - d->started.tv_nsec) / 1e9;
}
