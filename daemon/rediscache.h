/* The shared cache level: Redis (or Valkey), asked after memory and RocksDB miss and before
 * any upstream, written through with every answer the local levels store. docs/redis-cache.md
 * describes keys, values, failure behaviour and security.
 *
 * On the loop only (hiredis's libevent adapter); nothing here blocks: the connection and
 * AUTH are asynchronous, lookups of one loop pass go out as one MGET (one round trip), and a
 * round trip that takes longer than [cache] redis_timeout is a miss for its lookups, drops the
 * connection and opens the level's circuit breaker (one failure opens it): until [breaker]
 * open_ms has passed, lookups do not wait for Redis at all. */
#ifndef RASND_REDISCACHE_H
#define RASND_REDISCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"

struct rasnd;
struct rasnd_redis;
struct rasn_cache_val;

/* The answer to a lookup: found 1 when Redis held a usable entry, which has been stored in
 * the local levels (d->cache) before this runs, so that the caller reads it from there; 0
 * otherwise (miss, error, timeout, garbage). Runs exactly once, never inside the call that
 * asked. */
typedef void (*rasnd_redis_cb)(void *ud, int found);

/* Set up from d->cfg ([cache] redis...), reading the password file. Returns 0 with *out set
 * (NULL when redis is not configured), or -1 with err (the password file cannot be read). */
int rasnd_redis_new(struct rasnd *d, struct rasnd_redis **out, char *err, size_t errlen);
/* Answers every pending lookup (found 0), closes the connection, frees. NULL: nothing. */
void rasnd_redis_free(struct rasnd_redis *r);

/* Ask for the entry covering address a / for a cache name. Returns 0: cb runs later; or
 * -EAGAIN (not asked: off, circuit open; go on to the upstream now), -ENOMEM, -EINVAL. */
int rasnd_redis_get_addr(struct rasnd_redis *r, const struct rasn_addr *a, rasnd_redis_cb cb, void *ud);
int rasnd_redis_get_name(struct rasnd_redis *r, const char *name, size_t len, rasnd_redis_cb cb, void *ud);

/* lib/cache's on_store hook (ud: struct rasnd): writes the entry through to Redis with the
 * time it has left (SET ... PX). Dropped while the circuit is not closed. */
void rasnd_redis_on_store(void *ud, const uint8_t *key, size_t klen, const struct rasn_cache_val *v,
			  uint64_t expires_ms);

/* `stats`: the "redis" object inside "cache" (",\"redis\":{...}"); nothing when r is NULL. */
void rasnd_redis_stats_json(struct rasnd_redis *r, struct rasn_buf *b);

/* Parse "HOST:PORT" (numeric IPv4, [IPv6]:PORT) or an absolute Unix socket path. Returns 0,
 * or -1 with *why. host gets the address (hostlen bytes), *port 0 for a socket path. */
int rasnd_redis_parse_addr(const char *s, char *host, size_t hostlen, unsigned *port, const char **why);

#endif
