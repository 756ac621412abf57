/* The request batcher's queue and policy, for one upstream: no sockets, no timers, no clock of
 * its own (every call that needs time takes now_ms, a monotonic clock in milliseconds).
 *
 * A request is a key (bytes: a prefix, a name, an upstream query) and a waiter (the caller's
 * pointer, opaque here). Keys are in one of two places:
 *   queued     waiting for the next batch, oldest first;
 *   in flight  taken into a batch, the upstream call is on its way.
 * A request whose key is already queued or in flight joins it (coalescing): one upstream call,
 * every waiter gets the outcome. rasn_batcher_complete() hands the outcome to each waiter of a
 * key exactly once, in submission order, and forgets the key.
 *
 * Flush policy: a batch is due when max_batch keys are queued, or when the oldest queued key
 * has waited max_delay_ms. The daemon arms one timer for the deadline rasn_batcher_due() gives
 * and calls rasn_batcher_take() when due (and after every submit, for the size trigger).
 *
 * Memory is bounded: at most max_keys distinct keys (queued plus in flight) and max_waiters
 * waiters in all; past either bound a submit fails with RASN_EBUSY and stores nothing, and the
 * daemon answers that request `busy` at once. Keys are hashed with SipHash-2-4 under the
 * caller's seed, so clients cannot aim keys at one hash chain.
 *
 * Threads: none; one thread (the loop) calls it. */
#ifndef RASN_BATCHER_H
#define RASN_BATCHER_H

#include "rasn.h"


/* rasn_batcher_submit() results (>= 0). */
enum {
	RASN_BATCHER_NEW = 0,       /* a new key, queued */
	RASN_BATCHER_COALESCED = 1, /* joined a queued key */
	RASN_BATCHER_JOINED = 2,    /* joined a key in flight */
};

#define RASN_BATCHER_KEY_MAX 4096   /* hard bound on cfg.key_max */
#define RASN_BATCHER_HIST 8         /* batch size histogram: bucket i counts sizes in
				     * [2^i, 2^(i+1)), the last bucket everything above */

struct rasn_batcher_cfg {
	uint32_t max_batch;         /* keys per batch; default 50 */
	uint64_t max_delay_ms;      /* longest wait of a queued key; default 100 */
	uint32_t max_keys;          /* distinct keys queued + in flight; default 4096 */
	uint32_t max_waiters;       /* waiters in all; default 65536 */
	uint32_t key_max;           /* longest key in bytes; default 255 */
	uint64_t seed[2];           /* hash key: from the daemon's random source */
};

/* A key handed out by rasn_batcher_take(): batcher memory, valid until that key is completed
 * (or drained, or the batcher freed). */
struct rasn_batch_key {
	const void *key;
	size_t len;
};

struct rasn_batcher_stats {
	uint64_t submitted;         /* submit calls that stored a waiter */
	uint64_t new_keys;
	uint64_t coalesced;         /* joined a queued key */
	uint64_t joined_inflight;   /* joined a key in flight */
	uint64_t busy;              /* refused with RASN_EBUSY */
	uint64_t batches;           /* take() calls that took at least one key */
	uint64_t batched_keys;      /* keys taken in all (mean batch = batched_keys / batches) */
	uint64_t hist[RASN_BATCHER_HIST];
	uint64_t completed_keys;
	uint64_t completed_waiters;
	/* Gauges, now. */
	uint32_t queued;
	uint32_t inflight;
	uint32_t waiters;
};

struct rasn_batcher;

/* Called once per waiter by complete/drain. key/keylen: the key, valid during the call. The
 * callback may submit (even the same key: it is a new one by then), take and complete other
 * keys; it must not free the batcher. */
typedef void (*rasn_batcher_done_fn)(void *ud, void *waiter, const void *key, size_t keylen);

/* Defaults above, seed zero (set it). */
void rasn_batcher_cfg_default(struct rasn_batcher_cfg *cfg);

/* Returns 0 with *out set, -EINVAL (a bound of 0, key_max above RASN_BATCHER_KEY_MAX) or
 * -ENOMEM. Allocates the hash table up front (about 8 bytes per max_keys). */
int rasn_batcher_new(const struct rasn_batcher_cfg *cfg, struct rasn_batcher **out);

/* Frees everything; waiters still stored get no callback (drain first). NULL is fine. */
void rasn_batcher_free(struct rasn_batcher *bat);

/* Add a request. Returns RASN_BATCHER_NEW, _COALESCED or _JOINED; or -EINVAL (keylen 0),
 * RASN_ERANGE (keylen > key_max), RASN_EBUSY (a bound is reached), -ENOMEM. On error nothing
 * is stored and the waiter will get no callback. */
int rasn_batcher_submit(struct rasn_batcher *bat, const void *key, size_t keylen, void *waiter,
			uint64_t now_ms);

/* Is a batch due at now_ms? 1 or 0. *next_deadline_ms (may be NULL): when the oldest queued
 * key reaches max_delay_ms (in the past when due by time), UINT64_MAX when nothing is queued. */
int rasn_batcher_due(const struct rasn_batcher *bat, uint64_t now_ms,
		     uint64_t *next_deadline_ms);

/* Move up to min(cap, max_batch) queued keys, oldest first, to in flight and list them in
 * keys_out. Returns how many (0: nothing queued). Does not check due(): at shutdown or when
 * the upstream is idle the daemon may flush early. */
size_t rasn_batcher_take(struct rasn_batcher *bat, struct rasn_batch_key *keys_out, size_t cap);

/* The outcome for key is known: call done(ud, waiter, key, keylen) once for each of its
 * waiters, in submission order, then forget the key. Works on an in-flight key and on a
 * queued one (a cancellation or an answer found elsewhere). Returns the number of waiters
 * called (>= 1), or -ENOENT when the key is not stored. */
int rasn_batcher_complete(struct rasn_batcher *bat, const void *key, size_t keylen,
			  rasn_batcher_done_fn done, void *ud);

/* Complete every key stored when called (in flight first, then queued oldest first), e.g.
 * with an error at shutdown; keys the callbacks submit stay stored. Returns the number of
 * waiters called. */
size_t rasn_batcher_drain(struct rasn_batcher *bat, rasn_batcher_done_fn done, void *ud);

/* Counters and gauges (a copy). */
void rasn_batcher_stats(const struct rasn_batcher *bat, struct rasn_batcher_stats *out);

#endif
