/* The value codec of the shared cache level (Redis): one cache entry as the bytes stored in
 * a Redis string. Pure: no I/O, no allocation; the decoder treats its input as hostile
 * (another host, another version, or anyone with write access to the Redis wrote it).
 *
 * Layout (integers big-endian):
 *   0  'r' 'c'          magic
 *   2  version          RASN_REDISCODEC_VERSION
 *   3  host             RASN_REDISCODEC_HOST_LE or _BE: the payload is the writer's in-memory
 *                       struct (daemon/upcache.h), so a reader of the other byte order ignores it
 *   4  flags            the cache value's flags (8 bits, as lib/cache keeps them)
 *   5  reserved         0
 *   6  key length       2 bytes, 1..RASN_REDISCODEC_KEY_MAX
 *   8  value length     4 bytes, at most the caller's max_value
 *  12  expires          8 bytes: absolute expiry, Unix milliseconds
 *  20  key, then value
 * end  CRC-32 (zlib) of every byte before it, 4 bytes
 * The key inside is the entry's local cache key (lib/cache.h), so a value copied under
 * another key does not decode there. */
#ifndef RASN_REDISCODEC_H
#define RASN_REDISCODEC_H

#include <stddef.h>
#include <stdint.h>

#define RASN_REDISCODEC_VERSION 1
#define RASN_REDISCODEC_HOST_LE 1
#define RASN_REDISCODEC_HOST_BE 2
#define RASN_REDISCODEC_HDR 20
#define RASN_REDISCODEC_TRAILER 4
#define RASN_REDISCODEC_KEY_MAX 256
/* Encoded size of an entry. */
#define RASN_REDISCODEC_SIZE(klen, vlen) (RASN_REDISCODEC_HDR + (klen) + (vlen) + RASN_REDISCODEC_TRAILER)

struct rasn_rediscodec_entry {
	const uint8_t *key;
	size_t klen;
	const void *value;
	size_t vlen;
	unsigned flags;          /* 8 bits */
	uint64_t expires_ms;
};

/* This host's byte order, as RASN_REDISCODEC_HOST_*. */
unsigned rasn_rediscodec_host(void);

/* Encode e into out (cap bytes). Returns the encoded length, -EINVAL (key empty or over
 * RASN_REDISCODEC_KEY_MAX, flags over 8 bits, value NULL with vlen) or -ENOBUFS (cap). */
int rasn_rediscodec_encode(const struct rasn_rediscodec_entry *e, uint8_t *out, size_t cap);

/* Decode buf (len bytes) read under key (klen bytes); values over max_value are refused.
 * On 0, out's key and value point into buf. Returns 0,
 *   -EPROTONOSUPPORT  a value of another codec version (magic and version byte only are
 *                     checked: its layout may differ), or a well-formed one of the other host
 *                     byte order (ignore it: another rasnd wrote it),
 *   -EBADMSG          anything else: bad magic, lengths, checksum, another key (garbage). */
int rasn_rediscodec_decode(const uint8_t *buf, size_t len, const uint8_t *key, size_t klen,
			   size_t max_value, struct rasn_rediscodec_entry *out);

#endif
