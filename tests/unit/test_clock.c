/* Unit tests for lib/clock.c: the monotonic readings never go back, and the units agree (a
 * reading in one unit taken between two in another lies between them). No bound on how much
 * time passes: that is for benchmarks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"

static void test_monotonic_never_goes_back(void **state)
{
	(void)state;
	uint64_t last = rasn_clock_mono_us();
	for (int i = 0; i < 10000; i++) {
		uint64_t now = rasn_clock_mono_us();
		assert_true(now >= last);
		last = now;
	}
}

static void test_units_agree(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++) {
		uint64_t a = rasn_clock_mono_us();
		uint64_t ms = rasn_clock_mono_ms();
		double s = rasn_clock_mono_s();
		uint64_t b = rasn_clock_mono_us();
		assert_true(ms >= a / 1000 && ms <= b / 1000);
		assert_true(s * 1e6 >= (double)a - 1.0 && s * 1e6 <= (double)b + 1.0);
		uint64_t wms = rasn_clock_wall_ms();
		double ws = rasn_clock_wall_s();
		uint64_t wms2 = rasn_clock_wall_ms();
		/* unless the system time is set between the reads */
		if (wms2 >= wms)
			assert_true(ws * 1e3 >= (double)wms - 1.0 && ws * 1e3 <= (double)wms2 + 1.0);
	}
	/* the wall clock is Unix time, not time since boot: after 2020-01-01 */
	assert_true(rasn_clock_wall_ms() > 1577836800000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic_never_goes_back),
		cmocka_unit_test(test_units_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
