/* See rediscodec.h for the format. The checksum is zlib's CRC-32: it catches truncation and
 * stray bytes (a value set by hand, a half-written copy), not forgery; a Redis that anyone
 * can write to is a security problem the docs (docs/redis-cache.md) tell operators to avoid. */
#include <errno.h>
#include <string.h>

#include <zlib.h>

#include "rediscodec.h"

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return get16(p) << 16 | get16(p + 2); }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static uint32_t checksum(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

unsigned rasn_rediscodec_host(void)
{
	const uint16_t one = 1;
	uint8_t b;
	memcpy(&b, &one, 1);
	return b ? RASN_REDISCODEC_HOST_LE : RASN_REDISCODEC_HOST_BE;
}

int rasn_rediscodec_encode(const struct rasn_rediscodec_entry *e, uint8_t *out, size_t cap)
{
	if (!e->key || e->klen == 0 || e->klen > RASN_REDISCODEC_KEY_MAX || e->flags > 0xff ||
	    (e->vlen && !e->value) || e->vlen > UINT32_MAX)
		return -EINVAL;
	size_t n = RASN_REDISCODEC_SIZE(e->klen, e->vlen);
	if (n > cap || n > INT32_MAX)
		return -ENOBUFS;
	out[0] = 'r';
	out[1] = 'c';
	out[2] = RASN_REDISCODEC_VERSION;
	out[3] = (uint8_t)rasn_rediscodec_host();
	out[4] = (uint8_t)e->flags;
	out[5] = 0;
	put16(out + 6, (uint32_t)e->klen);
	put32(out + 8, (uint32_t)e->vlen);
	put64(out + 12, e->expires_ms);
	memcpy(out + RASN_REDISCODEC_HDR, e->key, e->klen);
	if (e->vlen)
		memcpy(out + RASN_REDISCODEC_HDR + e->klen, e->value, e->vlen);
	put32(out + n - RASN_REDISCODEC_TRAILER, checksum(out, n - RASN_REDISCODEC_TRAILER));
	return (int)n;
}

int rasn_rediscodec_decode(const uint8_t *buf, size_t len, const uint8_t *key, size_t klen,
			   size_t max_value, struct rasn_rediscodec_entry *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < 3 || buf[0] != 'r' || buf[1] != 'c')
		return -EBADMSG;
	/* another version may lay out everything after its version byte differently */
	if (buf[2] != RASN_REDISCODEC_VERSION)
		return -EPROTONOSUPPORT;
	if (len < RASN_REDISCODEC_SIZE(1, 0))
		return -EBADMSG;
	size_t kl = get16(buf + 6), vl = get32(buf + 8);
	/* lengths first, so that the checksum is taken only over bytes that are there */
	if (kl == 0 || kl > RASN_REDISCODEC_KEY_MAX || vl > len || RASN_REDISCODEC_SIZE(kl, vl) != len)
		return -EBADMSG;
	if (get32(buf + len - RASN_REDISCODEC_TRAILER) != checksum(buf, len - RASN_REDISCODEC_TRAILER))
		return -EBADMSG;
	if (buf[3] != rasn_rediscodec_host())
		return -EPROTONOSUPPORT;
	if (buf[5] != 0 || vl > max_value || kl != klen || memcmp(buf + RASN_REDISCODEC_HDR, key, klen) != 0)
		return -EBADMSG;
	out->key = buf + RASN_REDISCODEC_HDR;
	out->klen = kl;
	out->value = buf + RASN_REDISCODEC_HDR + kl;
	out->vlen = vl;
	out->flags = buf[4];
	out->expires_ms = get64(buf + 12);
	return 0;
}
