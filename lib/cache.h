/* The answer cache: two levels, prefix-aware, with an injected clock.
 *
 * Values are opaque bytes (the daemon serialises its answers) with an absolute expiry and
 * flags (RASN_CACHE_NEGATIVE). Two kinds of key:
 *  - prefix entries (family, network address, length): a lookup by ADDRESS answers with the
 *    most specific live entry whose prefix holds it;
 *  - name entries: a string (a domain for A/AAAA answers, or any other upstream query name),
 *    compared case-insensitively in ASCII, one trailing dot ignored.
 * L1 is in memory: bounded by entries and bytes, LRU, TTL. L2 sits behind a backend interface
 * (struct rasn_cache_backend_api, after Knot Resolver's cdb_api); the RocksDB backend is the
 * default. An L2 hit warms L1. L2 failures are never the caller's problem: they count, they
 * log, and the lookup is a miss.
 *
 * Time: every now_ms is milliseconds on a clock that survives restarts (CLOCK_REALTIME since
 * the Unix epoch), because L2 keeps absolute expiries across restarts; a monotonic clock
 * restarts at boot and would make old entries live again. The daemon passes its cached loop
 * time. Entries whose expiry lies further ahead than max_ttl_ms (the clock went back, or a
 * damaged value) are treated as expired.
 *
 * Consistency between the levels: L1 never answers with a less specific prefix than the cache
 * knows. When a prefix leaves L1 while L2 may still hold it (LRU eviction, or an insert that
 * L2 says has entries nested inside it), the L1 entries that cover it leave too; an L2 hit on a
 * prefix with entries nested inside it warms L1 with the host entry (/32, /128) of the address
 * only.
 *
 * Caveat for callers: an upstream answer "X is in P" proves nothing about the other addresses
 * in P when a more specific prefix exists inside P. rasn_cache_store_prefix() narrows what is
 * stored to at most a /24 (IPv4) or /48 (IPv6), the longest prefixes routed globally.
 *
 * Threads: none of its own; one thread (the loop) calls it. The RocksDB calls made here are
 * point operations: a read from RocksDB's block cache or, at worst, one read of an SST block
 * from the page cache or disk; a write goes to the memtable and a WAL append without fsync,
 * with no_slowdown set, so a write stall fails the write (counted in l2_errors, the entry just
 * is not persisted) instead of sleeping. Flushes and compaction run on RocksDB's own
 * background threads. So the daemon calls this on the loop. Two calls can block: opening
 * (rasn_cache_new, at start-up) and rasn_cache_free (RocksDB waits for background work to
 * stop), both outside the serving path; recovery from a store that reports corruption at run
 * time closes and reopens it once, on the loop. */
#ifndef RASN_CACHE_H
#define RASN_CACHE_H

#include "addr.h"

#define RASN_CACHE_NEGATIVE 0x1u   /* a cached "not found" */
#define RASN_CACHE_TTL_EXACT 0x2u  /* put: ttl_ms is final, the caller has bounded it (no name
				    * floor or cap, no negative cap; max_ttl_ms still holds);
				    * not stored */
#define RASN_CACHE_NO_HOOK 0x4u    /* put: do not tell opts.on_store (the entry came from
				    * where the hook would send it, or is not for it); not
				    * stored */

#define RASN_CACHE_NAME_MAX 255    /* name key bytes, after dropping a trailing dot */
#define RASN_CACHE_VALUE_MAX (1u << 20) /* hard bound on opts.max_value */

/* Log levels of the callback (syslog numbers). */
#define RASN_CACHE_LOG_ERR 3
#define RASN_CACHE_LOG_WARNING 4
#define RASN_CACHE_LOG_INFO 6

typedef void (*rasn_cache_log_fn)(void *ud, int level, const char *msg);

/* Told of every entry stored (after the TTL bounds), with its key bytes (see "key encoding"
 * below) and its value flags without the put-only ones: a write-through to a further level
 * (daemon/rediscache.c). Called before the put returns; it must not call the cache. */
struct rasn_cache_val;
typedef void (*rasn_cache_store_fn)(void *ud, const uint8_t *key, size_t klen,
				    const struct rasn_cache_val *v, uint64_t expires_ms);

/* A value to store. */
struct rasn_cache_val {
	const void *data;
	size_t len;
	unsigned flags;           /* RASN_CACHE_NEGATIVE; 8 bits are kept */
};

/* A lookup result. val.data is owned by the cache and stays valid until the next call on the
 * same cache (or backend); copy what you keep. */
struct rasn_cache_hit {
	struct rasn_cache_val val;
	uint64_t expires_ms;
	struct rasn_prefix prefix; /* prefix lookups: the key it was found under, which is a host
				    * entry (/32, /128) when L1 was warmed from a prefix with
				    * entries inside it; the payload carries the real answer */
	unsigned level;            /* 1 or 2: where it was found */
	unsigned nested;           /* backend prefix lookups: entries may lie inside prefix */
};

/* ---- L2 backend interface -------------------------------------------------------------- */

struct rasn_cache_backend_opts {
	const char *path;          /* a directory; created when missing (its parent must exist) */
	size_t block_cache_bytes;  /* read cache bound; 0 = 8 MiB */
	size_t max_value;          /* values longer than this are refused or treated as damaged */
};

/* Functions over an opaque handle. All return 0 or a negative errno:
 *   -ENOENT  nothing (found nothing live)
 *   -EUCLEAN the store is damaged (corruption, not a rasn cache, unknown format)
 *   -EBUSY   in use by another process (lock held)
 *   -EACCES, -EIO, -ENOSPC, -EMFILE, -ENOMEM, -EAGAIN (a write would stall), -EINVAL
 * The hit returned by the get functions points into memory of the backend, valid until the
 * next call on it. Names reach the backend already normalised (see rasn_cache_key_name). */
struct rasn_cache_backend_api {
	const char *name;
	/* err receives a message on failure (errlen bytes, NUL-terminated). */
	int (*open)(void **db, const struct rasn_cache_backend_opts *o, char *err, size_t errlen);
	void (*close)(void *db);
	/* The most specific live prefix entry holding a; sets out->nested when some entry, live
	 * or not, lies strictly inside out->prefix. */
	int (*get_prefix)(void *db, const struct rasn_addr *a, uint64_t now_ms,
			  struct rasn_cache_hit *out);
	int (*get_name)(void *db, const char *name, size_t len, uint64_t now_ms,
			struct rasn_cache_hit *out);
	/* Store (replace) an entry expiring at expires_ms. */
	int (*put_prefix)(void *db, const struct rasn_prefix *p, const struct rasn_cache_val *v,
			  uint64_t expires_ms);
	int (*put_name)(void *db, const char *name, size_t len, const struct rasn_cache_val *v,
			uint64_t expires_ms);
	/* 1 when some entry lies strictly inside p, 0 when none. */
	int (*has_nested)(void *db, const struct rasn_prefix *p);
	/* Examine at most budget entries from where the last sweep stopped (wrapping around),
	 * deleting expired and damaged ones. Returns how many were deleted. */
	int (*sweep)(void *db, uint64_t now_ms, size_t budget);
};

/* The RocksDB backend (lib/cache_rocksdb.c). */
const struct rasn_cache_backend_api *rasn_cache_backend_rocksdb(void);

/* ---- key encoding, shared by the engine and the backends -------------------------------
 * Prefix key: 'P' | family (4 or 6) | 16-byte big-endian network address (IPv4 in the last 4)
 * | length. Byte order sorts as (family, address, length), so the entries that can hold an
 * address all sort at or before 'P' | family | address | 0xff, and nested entries follow
 * their parent. Name key: 'N' | the normalised name. */
#define RASN_CACHE_PKEY_LEN 19
#define RASN_CACHE_KEY_PREFIX 'P'
#define RASN_CACHE_KEY_NAME 'N'

void rasn_cache_key_prefix(int family, rasn_u128 addr, unsigned len,
			   uint8_t out[RASN_CACHE_PKEY_LEN]);
/* Decode a prefix key: 0, or -EINVAL when it is not a well-formed one (wrong size, kind,
 * family, length, or host bits set). */
int rasn_cache_key_prefix_decode(const uint8_t *key, size_t klen, struct rasn_prefix *out);
/* The normalised form of a name into out (RASN_CACHE_NAME_MAX bytes; not NUL-terminated):
 * ASCII upper case folded, one trailing dot dropped. Returns its length, or -EINVAL (empty)
 * or -ENAMETOOLONG. */
int rasn_cache_key_name(const char *name, size_t len, char *out);

/* What to store an upstream answer under: announced if it is at least a /24 (IPv4) or /48
 * (IPv6), else the /24 or /48 that holds a. announced must hold a. */
struct rasn_prefix rasn_cache_store_prefix(const struct rasn_prefix *announced,
					   const struct rasn_addr *a);

/* ---- the engine ------------------------------------------------------------------------ */

struct rasn_cache;

struct rasn_cache_opts {
	size_t l1_max_entries;      /* 0 = 65536 */
	size_t l1_max_bytes;        /* keys, values and overhead; 0 = 64 MiB */
	size_t max_value;           /* payload bytes; 0 = 16 KiB; at most RASN_CACHE_VALUE_MAX */
	uint64_t name_ttl_floor_ms; /* name TTLs are raised to this (0: none) */
	uint64_t name_ttl_cap_ms;   /* and lowered to this; 0 = 1 day */
	uint64_t negative_ttl_ms;   /* negative entries live at most this; 0 = 5 min */
	uint64_t max_ttl_ms;        /* any entry; 0 = 7 days */
	const char *l2_path;        /* NULL: no L2 */
	size_t l2_block_cache_bytes;/* 0 = 8 MiB */
	const struct rasn_cache_backend_api *l2_api; /* NULL = RocksDB */
	uint64_t now_ms;            /* the time at creation: names a store that is moved aside */
	uint64_t hash_seed;         /* keys L1's hash (take it from a random source) */
	rasn_cache_log_fn log;      /* may be NULL */
	void *log_ud;
	rasn_cache_store_fn on_store; /* may be NULL */
	void *store_ud;
};

struct rasn_cache_stats {
	uint64_t l1_entries, l1_bytes;
	uint64_t l1_hits, l1_misses, l1_inserts, l1_evictions, l1_expirations;
	uint64_t l2_hits, l2_misses, l2_writes, l2_errors, l2_recoveries, l2_swept;
	int l2_active;              /* 1 while an L2 store is open */
};

/* Create a cache. An L2 store that will not open because it is damaged or unreadable is
 * renamed to PATH.corrupt-<unix seconds>[-N], logged, and replaced by a fresh one; if that
 * fails too (or the store is locked by another process) the cache runs without L2, logged,
 * l2_active 0. Returns 0 with *out set, -EINVAL (bad options) or -ENOMEM. */
int rasn_cache_new(const struct rasn_cache_opts *o, struct rasn_cache **out);
void rasn_cache_free(struct rasn_cache *c);

/* The most specific live prefix entry holding a: L1, then L2. Returns 0 (hit filled),
 * -ENOENT (miss) or -EINVAL (bad address). */
int rasn_cache_get_addr(struct rasn_cache *c, const struct rasn_addr *a, uint64_t now_ms,
			struct rasn_cache_hit *out);
/* Store under prefix p (network address, host bits zero) for ttl_ms, at most max_ttl_ms, and
 * at most negative_ttl_ms when v is negative (unless RASN_CACHE_TTL_EXACT). A TTL of 0 stores
 * nothing. Returns 0, -EINVAL
 * or -E2BIG (value over max_value). L2 write failures are counted, not returned. */
int rasn_cache_put_prefix(struct rasn_cache *c, const struct rasn_prefix *p,
			  const struct rasn_cache_val *v, uint64_t now_ms, uint64_t ttl_ms);

/* The live entry for a name: L1, then L2. Returns 0, -ENOENT, -EINVAL or -ENAMETOOLONG. */
int rasn_cache_get_name(struct rasn_cache *c, const char *name, size_t len, uint64_t now_ms,
			struct rasn_cache_hit *out);
/* Store under a name; ttl_ms (the DNS TTL) is clamped to [name_ttl_floor_ms, name_ttl_cap_ms],
 * then to negative_ttl_ms for negative entries, unless v has RASN_CACHE_TTL_EXACT. Returns as
 * rasn_cache_put_prefix, or -ENAMETOOLONG. */
int rasn_cache_put_name(struct rasn_cache *c, const char *name, size_t len,
			const struct rasn_cache_val *v, uint64_t now_ms, uint64_t ttl_ms);

/* Bounded housekeeping for a timer: drop expired entries, examining at most budget entries
 * in each level. Returns how many were removed. */
size_t rasn_cache_sweep(struct rasn_cache *c, uint64_t now_ms, size_t budget);

void rasn_cache_stats(const struct rasn_cache *c, struct rasn_cache_stats *st);

#endif
