/* The clocks (see clock.h). clock_gettime cannot fail for these two clocks on Linux. */
#include <time.h>

#include "clock.h"

static struct timespec now(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts;
}

uint64_t rasn_clock_mono_us(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t rasn_clock_mono_ms(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double rasn_clock_mono_s(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t rasn_clock_wall_ms(void)
{
	struct timespec ts = now(CLOCK_REALTIME);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double rasn_clock_wall_s(void)
{
	struct timespec ts = now(CLOCK_REALTIME);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
