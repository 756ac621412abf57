/* Unit tests for lib/rediscodec.c: a round trip keeps every field; each kind of damage (every
 * single-byte change, every truncation, an extension, another key, a value over the bound) is
 * refused as garbage; another version or byte order is told apart as such; encode's own
 * bounds. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rediscodec.h"

static const uint8_t key[] = { 'P', 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 0, 24 };
static const char value[] = "an answer, as the daemon serialises it";

static int encode(uint8_t *buf, size_t cap)
{
	struct rasn_rediscodec_entry e = { key, sizeof(key), value, sizeof(value), 0x11, 1700000000123ull };
	return rasn_rediscodec_encode(&e, buf, cap);
}

static void test_round_trip(void **state)
{
	uint8_t buf[512];
	struct rasn_rediscodec_entry d;
	int n = encode(buf, sizeof(buf));
	assert_int_equal(n, RASN_REDISCODEC_SIZE(sizeof(key), sizeof(value)));
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key), 4096, &d), 0);
	assert_int_equal(d.klen, sizeof(key));
	assert_memory_equal(d.key, key, sizeof(key));
	assert_int_equal(d.vlen, sizeof(value));
	assert_memory_equal(d.value, value, sizeof(value));
	assert_int_equal(d.flags, 0x11);
	assert_true(d.expires_ms == 1700000000123ull);
	/* an empty value (a negative entry may carry none) */
	struct rasn_rediscodec_entry e = { key, sizeof(key), NULL, 0, 1, 5 };
	n = rasn_rediscodec_encode(&e, buf, sizeof(buf));
	assert_int_equal(n, RASN_REDISCODEC_SIZE(sizeof(key), 0));
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key), 0, &d), 0);
	assert_int_equal(d.vlen, 0);
	assert_int_equal(d.flags, 1);
}

static void test_every_byte_flip_is_garbage(void **state)
{
	uint8_t buf[512];
	struct rasn_rediscodec_entry d;
	int n = encode(buf, sizeof(buf));
	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			int rc = rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key), 4096, &d);
			if (i == 2) /* the version byte: another version, not garbage */
				assert_int_equal(rc, -EPROTONOSUPPORT);
			else
				assert_int_equal(rc, -EBADMSG);
			assert_null(d.value);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key), 4096, &d), 0);
}

static void test_truncated_and_extended(void **state)
{
	uint8_t buf[512];
	struct rasn_rediscodec_entry d;
	int n = encode(buf, sizeof(buf));
	for (int len = 0; len < n; len++)
		assert_int_equal(rasn_rediscodec_decode(buf, (size_t)len, key, sizeof(key), 4096, &d),
				 len < 3 ? -EBADMSG : -EBADMSG);
	buf[n] = 0;
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n + 1, key, sizeof(key), 4096, &d), -EBADMSG);
	assert_int_equal(rasn_rediscodec_decode(NULL, 0, key, sizeof(key), 4096, &d), -EBADMSG);
}

static void test_other_key_and_bound(void **state)
{
	uint8_t buf[512], other[sizeof(key)];
	struct rasn_rediscodec_entry d;
	int n = encode(buf, sizeof(buf));
	memcpy(other, key, sizeof(key));
	other[18] = 25;
	/* the same bytes read under another key: planted or copied, not ours */
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, other, sizeof(other), 4096, &d), -EBADMSG);
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key) - 1, 4096, &d), -EBADMSG);
	/* longer than the reader keeps */
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key), sizeof(value) - 1, &d), -EBADMSG);
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key), sizeof(value), &d), 0);
}

/* A value as another version would write it, checksum and all: told apart from garbage. */
static void test_other_version_and_host(void **state)
{
	uint8_t buf[512];
	struct rasn_rediscodec_entry d;
	int n = encode(buf, sizeof(buf));
	buf[2] = RASN_REDISCODEC_VERSION + 1;
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key), 4096, &d), -EPROTONOSUPPORT);
	buf[2] = 0;
	assert_int_equal(rasn_rediscodec_decode(buf, 3, key, sizeof(key), 4096, &d), -EPROTONOSUPPORT);
	/* the other byte order, with a checksum that matches: well formed, but not for us */
	n = encode(buf, sizeof(buf));
	buf[3] = rasn_rediscodec_host() == RASN_REDISCODEC_HOST_LE ? RASN_REDISCODEC_HOST_BE : RASN_REDISCODEC_HOST_LE;
	/* recompute the CRC-32 by encoding through a copy whose host byte we patch after */
	{
		uint32_t crc = 0xffffffffu;
		for (int i = 0; i < n - 4; i++) {
			crc ^= buf[i];
			for (int k = 0; k < 8; k++)
				crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
		}
		crc ^= 0xffffffffu;
		buf[n - 4] = (uint8_t)(crc >> 24);
		buf[n - 3] = (uint8_t)(crc >> 16);
		buf[n - 2] = (uint8_t)(crc >> 8);
		buf[n - 1] = (uint8_t)crc;
	}
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, key, sizeof(key), 4096, &d), -EPROTONOSUPPORT);
}

static void test_encode_bounds(void **state)
{
	uint8_t buf[600], big[RASN_REDISCODEC_KEY_MAX + 1];
	memset(big, 'N', sizeof(big));
	struct rasn_rediscodec_entry e = { key, sizeof(key), value, sizeof(value), 0, 1 };
	assert_int_equal(rasn_rediscodec_encode(&e, buf, RASN_REDISCODEC_SIZE(sizeof(key), sizeof(value)) - 1), -ENOBUFS);
	e.flags = 0x100;
	assert_int_equal(rasn_rediscodec_encode(&e, buf, sizeof(buf)), -EINVAL);
	e.flags = 0;
	e.klen = 0;
	assert_int_equal(rasn_rediscodec_encode(&e, buf, sizeof(buf)), -EINVAL);
	e.key = big;
	e.klen = sizeof(big);
	assert_int_equal(rasn_rediscodec_encode(&e, buf, sizeof(buf)), -EINVAL);
	e.klen = RASN_REDISCODEC_KEY_MAX;
	e.value = NULL;
	assert_int_equal(rasn_rediscodec_encode(&e, buf, sizeof(buf)), -EINVAL);
	e.vlen = 0;
	int n = rasn_rediscodec_encode(&e, buf, sizeof(buf));
	assert_int_equal(n, RASN_REDISCODEC_SIZE(RASN_REDISCODEC_KEY_MAX, 0));
	struct rasn_rediscodec_entry d;
	assert_int_equal(rasn_rediscodec_decode(buf, (size_t)n, big, RASN_REDISCODEC_KEY_MAX, 0, &d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_byte_flip_is_garbage),
		cmocka_unit_test(test_truncated_and_extended),
		cmocka_unit_test(test_other_key_and_bound),
		cmocka_unit_test(test_other_version_and_host),
		cmocka_unit_test(test_encode_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
