/* Fuzz target for lib/rediscodec.c: the input is a value read from Redis. The first byte
 * picks the key it is read under (a prefix key, a name key, or the input's own embedded key
 * bytes) and the bound on values. Invariants, checked with abort():
 *   - a decoded entry lies inside the input, carries exactly the key asked for and a value
 *     within the bound;
 *   - encoding the decoded entry again gives back the input byte for byte (the format has one
 *     spelling per entry), and a failure leaves the output empty. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rediscodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t pkey[19] = { 'P', 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 24 };
	static const uint8_t nkey[] = "Nas15169.asn.cymru.com";
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const uint8_t *buf = data + 1;
	size_t len = size - 1;
	const uint8_t *key = pkey;
	size_t klen = sizeof(pkey);
	if (sel & 1) {
		key = nkey;
		klen = sizeof(nkey) - 1;
	} else if (sel & 2 && len >= RASN_REDISCODEC_HDR) {
		/* the input's own key, so that inputs get past the key check */
		size_t kl = (size_t)buf[6] << 8 | buf[7];
		if (kl && kl <= RASN_REDISCODEC_KEY_MAX && RASN_REDISCODEC_HDR + kl <= len) {
			key = buf + RASN_REDISCODEC_HDR;
			klen = kl;
		}
	}
	size_t max_value = (sel & 4) ? 64 : 1u << 20;
	struct rasn_rediscodec_entry e;
	int rc = rasn_rediscodec_decode(buf, len, key, klen, max_value, &e);
	if (rc < 0) {
		check(rc == -EBADMSG || rc == -EPROTONOSUPPORT);
		check(!e.key && !e.value && e.klen == 0 && e.vlen == 0);
		return 0;
	}
	check(e.klen == klen && memcmp(e.key, key, klen) == 0);
	check(e.vlen <= max_value);
	check(e.key >= buf && e.key + e.klen <= buf + len);
	check((const uint8_t *)e.value >= buf && (const uint8_t *)e.value + e.vlen <= buf + len);
	uint8_t *again = malloc(len);
	check(again != NULL);
	check(rasn_rediscodec_encode(&e, again, len) == (int)len);
	check(memcmp(again, buf, len) == 0);
	free(again);
	return 0;
}
