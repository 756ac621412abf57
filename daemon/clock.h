/* The daemon's clocks: wall time for what people and caches read, monotonic for durations. */
#ifndef RASND_CLOCK_H
#define RASND_CLOCK_H

struct rasnd;

/* Unix time in seconds (CLOCK_REALTIME): timestamps shown and cache expiry stamps. */
double rasnd_now_unix(void);
/* Seconds since d started (CLOCK_MONOTONIC). */
double rasnd_uptime(struct rasnd *d);

#endif
