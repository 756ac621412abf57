/* The clocks, in one place. Durations, deadlines, timers and rates use the monotonic clock
 * (it never jumps when the system time is set); the wall clock is only for what outlives the
 * process or is shown as a date: cache expiry kept on disk, Unix times in `stats`. Policies in
 * lib/ (breaker, backoff, batcher) take now as a parameter and never call these. */
#ifndef RASN_CLOCK_H
#define RASN_CLOCK_H

#include <stdint.h>

/* Monotonic time (CLOCK_MONOTONIC) since an arbitrary point, in micro- and milliseconds. */
uint64_t rasn_clock_mono_us(void);
uint64_t rasn_clock_mono_ms(void);
/* The same in seconds, with the fraction: for measured durations. */
double rasn_clock_mono_s(void);

/* Wall-clock time (CLOCK_REALTIME): Unix time in milliseconds, and in seconds with the
 * fraction. */
uint64_t rasn_clock_wall_ms(void);
double rasn_clock_wall_s(void);

#endif
