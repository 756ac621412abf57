/* The two-level answer cache: L1 in memory (hash table + LRU list + per-family bitmap of the
 * prefix lengths present, for longest-prefix match by probing), L2 behind a backend table.
 * See cache.h for the contract; the comments here say how. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"

#define DEF_L1_ENTRIES 65536
#define MAX_L1_ENTRIES ((size_t)1 << 28)
#define DEF_L1_BYTES ((size_t)64 << 20)
#define DEF_MAX_VALUE 16384
#define DEF_NAME_CAP_MS (86400ull * 1000)
#define DEF_NEG_TTL_MS (300ull * 1000)
#define DEF_MAX_TTL_MS (7 * 86400ull * 1000)

struct l1_entry {
	struct l1_entry *hnext;       /* hash chain */
	struct l1_entry *prev, *next; /* LRU list, most recent first */
	uint64_t hash;
	uint64_t expires_ms;
	size_t vlen;
	unsigned klen;
	unsigned flags;
	unsigned char data[];         /* key (klen bytes), then value (vlen bytes) */
};

struct rasn_cache {
	/* settings */
	size_t max_entries, max_bytes, max_value;
	uint64_t name_floor, name_cap, neg_ttl, max_ttl;
	uint64_t k0, k1;
	rasn_cache_log_fn log;
	void *log_ud;
	rasn_cache_store_fn on_store;
	void *store_ud;
	/* L1 */
	struct l1_entry **buckets;
	size_t bmask;
	struct l1_entry *head, *tail;
	size_t n, bytes;
	uint32_t lencount[2][129];    /* entries per prefix length, [0] IPv4, [1] IPv6 */
	uint64_t lenbits[2][3];       /* bit len set while lencount[f][len] > 0 */
	/* L2 */
	const struct rasn_cache_backend_api *api;
	void *db;
	char *l2_path;
	size_t l2_block_cache;
	struct rasn_cache_stats st;
};

/* ---- keys ------------------------------------------------------------------------------- */

void rasn_cache_key_prefix(int family, rasn_u128 addr, unsigned len,
			   uint8_t out[RASN_CACHE_PKEY_LEN])
{
	out[0] = RASN_CACHE_KEY_PREFIX;
	out[1] = (uint8_t)family;
	for (int i = 15; i >= 0; i--, addr >>= 8)
		out[2 + i] = (uint8_t)addr;
	out[18] = (uint8_t)len;
}

int rasn_cache_key_prefix_decode(const uint8_t *key, size_t klen, struct rasn_prefix *out)
{
	rasn_u128 v = 0;
	if (klen != RASN_CACHE_PKEY_LEN || key[0] != RASN_CACHE_KEY_PREFIX ||
	    (key[1] != RASN_AF4 && key[1] != RASN_AF6))
		return -EINVAL;
	for (int i = 0; i < 16; i++)
		v = v << 8 | key[2 + i];
	int family = key[1];
	unsigned len = key[18];
	if (len > rasn_af_bits(family) || (family == RASN_AF4 && v > 0xffffffffu) ||
	    (v & rasn_hostmask(family, len)))
		return -EINVAL;
	out->family = family;
	out->addr = v;
	out->len = len;
	return 0;
}

int rasn_cache_key_name(const char *name, size_t len, char *out)
{
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return -EINVAL;
	if (len > RASN_CACHE_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(out, name, len);
	for (size_t i = 0; i < len; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return (int)len;
}

struct rasn_prefix rasn_cache_store_prefix(const struct rasn_prefix *announced,
					   const struct rasn_addr *a)
{
	unsigned min = a->family == RASN_AF4 ? 24 : 48;
	struct rasn_prefix p = *announced;
	if (p.len < min) {
		p.family = a->family;
		p.len = min;
		p.addr = a->v & ~rasn_hostmask(a->family, min);
	}
	return p;
}

static int prefix_ok(const struct rasn_prefix *p)
{
	if (p->family != RASN_AF4 && p->family != RASN_AF6)
		return 0;
	if (p->len > rasn_af_bits(p->family) || (p->addr & rasn_hostmask(p->family, p->len)))
		return 0;
	return p->family == RASN_AF6 || p->addr <= 0xffffffffu;
}

static int addr_ok(const struct rasn_addr *a)
{
	return a->family == RASN_AF6 || (a->family == RASN_AF4 && a->v <= 0xffffffffu);
}

static int fam_index(int family) { return family == RASN_AF6; }

static int covers(const struct rasn_prefix *p, const struct rasn_addr *a)
{
	return prefix_ok(p) && p->family == a->family &&
	       (a->v & ~rasn_hostmask(a->family, p->len)) == p->addr;
}

/* ---- SipHash-1-3: L1 keys come from clients (addresses, names), so the hash is keyed ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                              \
	do {                                                                                  \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                     \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                        \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                        \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                     \
	} while (0)

static uint64_t siphash13(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i = 0, end = len & ~(size_t)7;

	for (; i < end; i += 8) {
		m = 0;
		for (unsigned j = 0; j < 8; j++)
			m |= (uint64_t)in[i + j] << (8 * j);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (unsigned j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t key_hash(const struct rasn_cache *c, const void *key, size_t klen)
{
	return siphash13(c->k0, c->k1, key, klen);
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void cache_log(struct rasn_cache *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cache_log(struct rasn_cache *c, int level, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	if (!c->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->log(c->log_ud, level, msg);
}

/* Live at now: not expired, and not further ahead than max_ttl (a clock that went back, or a
 * damaged expiry, must not keep an entry forever). */
static int is_live(const struct rasn_cache *c, uint64_t expires, uint64_t now)
{
	return expires > now && expires - now <= c->max_ttl;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static size_t entry_size(size_t klen, size_t vlen) { return sizeof(struct l1_entry) + klen + vlen; }

/* ---- L1 --------------------------------------------------------------------------------- */

static void len_add(struct rasn_cache *c, const unsigned char *key, unsigned klen, int delta)
{
	if (klen != RASN_CACHE_PKEY_LEN || key[0] != RASN_CACHE_KEY_PREFIX)
		return;
	int f = fam_index(key[1]);
	unsigned len = key[18];
	if (delta > 0) {
		if (c->lencount[f][len]++ == 0)
			c->lenbits[f][len / 64] |= (uint64_t)1 << (len % 64);
	} else if (--c->lencount[f][len] == 0) {
		c->lenbits[f][len / 64] &= ~((uint64_t)1 << (len % 64));
	}
}

static struct l1_entry *l1_find(const struct rasn_cache *c, const void *key, unsigned klen,
				uint64_t h)
{
	for (struct l1_entry *e = c->buckets[h & c->bmask]; e; e = e->hnext)
		if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0)
			return e;
	return NULL;
}

static void lru_unlink(struct rasn_cache *c, struct l1_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct rasn_cache *c, struct l1_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	else
		c->tail = e;
	c->head = e;
}

static void l1_remove(struct rasn_cache *c, struct l1_entry *e)
{
	struct l1_entry **pp = &c->buckets[e->hash & c->bmask];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	len_add(c, e->data, e->klen, -1);
	c->n--;
	c->bytes -= entry_size(e->klen, e->vlen);
	free(e);
}

static struct l1_entry *l1_find_prefix(const struct rasn_cache *c, int family, rasn_u128 addr,
				       unsigned len)
{
	uint8_t key[RASN_CACHE_PKEY_LEN];
	rasn_cache_key_prefix(family, addr, len, key);
	return l1_find(c, key, sizeof(key), key_hash(c, key, sizeof(key)));
}

/* p is leaving L1 while L2 may still know it: drop it and every L1 entry that covers it, so
 * that L1 cannot answer for p's addresses with a less specific prefix. Counted as evictions. */
static void l1_forget_prefix(struct rasn_cache *c, const struct rasn_prefix *p)
{
	int f = fam_index(p->family);
	struct l1_entry *e;
	for (unsigned len = 0; len <= p->len; len++) {
		if (!(c->lenbits[f][len / 64] & ((uint64_t)1 << (len % 64))))
			continue;
		e = l1_find_prefix(c, p->family, p->addr & ~rasn_hostmask(p->family, len), len);
		if (e) {
			l1_remove(c, e);
			c->st.l1_evictions++;
		}
	}
}

static void l1_evict_one(struct rasn_cache *c, struct l1_entry *e)
{
	struct rasn_prefix p;
	int is_prefix = rasn_cache_key_prefix_decode(e->data, e->klen, &p) == 0;
	l1_remove(c, e);
	c->st.l1_evictions++;
	if (is_prefix)
		l1_forget_prefix(c, &p);
}

/* Insert or replace. The new entry is linked first and never evicted by its own insertion,
 * but eviction of an entry nested inside it may take it out again (see l1_forget_prefix). */
static int l1_insert(struct rasn_cache *c, const void *key, unsigned klen,
		     const struct rasn_cache_val *v, uint64_t expires)
{
	uint64_t h = key_hash(c, key, klen);
	struct l1_entry *e = l1_find(c, key, klen, h);
	size_t sz = entry_size(klen, v->len);

	if (e)
		l1_remove(c, e);
	if (sz > c->max_bytes)
		return -E2BIG;
	e = malloc(sz);
	if (!e)
		return -ENOMEM;
	e->hash = h;
	e->expires_ms = expires;
	e->vlen = v->len;
	e->klen = klen;
	e->flags = v->flags;
	memcpy(e->data, key, klen);
	if (v->len)
		memcpy(e->data + klen, v->data, v->len);
	e->hnext = c->buckets[h & c->bmask];
	c->buckets[h & c->bmask] = e;
	lru_push_front(c, e);
	len_add(c, e->data, klen, +1);
	c->n++;
	c->bytes += sz;
	c->st.l1_inserts++;
	while ((c->n > c->max_entries || c->bytes > c->max_bytes) && c->tail && c->tail != c->head)
		l1_evict_one(c, c->tail);
	return 0;
}

static void fill_hit(const struct l1_entry *e, struct rasn_cache_hit *out)
{
	memset(out, 0, sizeof(*out));
	out->val.data = e->data + e->klen;
	out->val.len = e->vlen;
	out->val.flags = e->flags;
	out->expires_ms = e->expires_ms;
	if (rasn_cache_key_prefix_decode(e->data, e->klen, &out->prefix) < 0)
		memset(&out->prefix, 0, sizeof(out->prefix));
	out->level = 1;
}

/* Longest-prefix match: probe the lengths present in this family, longest first. Expired
 * entries met on the way are dropped and the probe goes on to shorter lengths. */
static struct l1_entry *l1_lookup_addr(struct rasn_cache *c, const struct rasn_addr *a,
				       uint64_t now)
{
	int f = fam_index(a->family);
	uint64_t words[3];
	memcpy(words, c->lenbits[f], sizeof(words));
	for (int w = 2; w >= 0; w--) {
		while (words[w]) {
			unsigned b = 63u - (unsigned)__builtin_clzll(words[w]);
			unsigned len = (unsigned)w * 64 + b;
			words[w] &= ~((uint64_t)1 << b);
			struct l1_entry *e = l1_find_prefix(c, a->family,
							    a->v & ~rasn_hostmask(a->family, len), len);
			if (!e)
				continue;
			if (is_live(c, e->expires_ms, now))
				return e;
			l1_remove(c, e);
			c->st.l1_expirations++;
		}
	}
	return NULL;
}

static struct l1_entry *l1_lookup_key(struct rasn_cache *c, const void *key, unsigned klen,
				      uint64_t now)
{
	struct l1_entry *e = l1_find(c, key, klen, key_hash(c, key, klen));
	if (!e)
		return NULL;
	if (is_live(c, e->expires_ms, now))
		return e;
	l1_remove(c, e);
	c->st.l1_expirations++;
	return NULL;
}

static void l1_touch(struct rasn_cache *c, struct l1_entry *e)
{
	if (c->head != e) {
		lru_unlink(c, e);
		lru_push_front(c, e);
	}
}

/* ---- L2 --------------------------------------------------------------------------------- */

/* Open errors that say nothing about the store itself: keep it where it is. */
static int keep_store(int rc)
{
	return rc == -EBUSY || rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE ||
	       rc == -ENOSPC || rc == -EAGAIN;
}

static int l2_try_open(struct rasn_cache *c, char *err, size_t errlen)
{
	struct rasn_cache_backend_opts bo = {
		.path = c->l2_path,
		.block_cache_bytes = c->l2_block_cache,
		.max_value = c->max_value,
	};
	void *db = NULL;
	err[0] = '\0';
	int rc = c->api->open(&db, &bo, err, errlen);
	if (rc == 0)
		c->db = db;
	return rc;
}

/* Rename the store to PATH.corrupt-<seconds>, or -<seconds>-N when that name is taken. */
static int move_aside(struct rasn_cache *c, uint64_t now_ms, char *dst, size_t cap)
{
	struct stat sb;
	for (unsigned i = 0; i < 100; i++) {
		int n = i == 0 ? snprintf(dst, cap, "%s.corrupt-%llu", c->l2_path,
					  (unsigned long long)(now_ms / 1000))
			       : snprintf(dst, cap, "%s.corrupt-%llu-%u", c->l2_path,
					  (unsigned long long)(now_ms / 1000), i);
		if (n < 0 || (size_t)n >= cap)
			return -ENAMETOOLONG;
		if (lstat(dst, &sb) == 0)
			continue;
		if (errno != ENOENT)
			return -errno;
		if (rename(c->l2_path, dst) < 0)
			return -errno;
		return 0;
	}
	return -EEXIST;
}

/* Move the store aside and open a fresh one in its place. */
static void l2_replace(struct rasn_cache *c, uint64_t now_ms)
{
	char err[512], dst[4200];
	int rc = move_aside(c, now_ms, dst, sizeof(dst));

	if (rc < 0) {
		cache_log(c, RASN_CACHE_LOG_ERR, "cache: cannot move %s aside (%s); running without L2",
			  c->l2_path, strerror(-rc));
		return;
	}
	c->st.l2_recoveries++;
	cache_log(c, RASN_CACHE_LOG_WARNING, "cache: moved %s to %s; starting a fresh store", c->l2_path,
		  dst);
	rc = l2_try_open(c, err, sizeof(err));
	if (rc < 0)
		cache_log(c, RASN_CACHE_LOG_ERR, "cache: fresh L2 store %s failed (%s: %s); running without L2",
			  c->l2_path, strerror(-rc), err);
}

/* Open L2; a store that will not open for reasons of its own is moved aside and replaced. */
static void l2_open(struct rasn_cache *c, uint64_t now_ms)
{
	char err[512];
	struct stat sb;
	int rc = l2_try_open(c, err, sizeof(err));

	if (rc == 0)
		goto done;
	if (keep_store(rc)) {
		cache_log(c, RASN_CACHE_LOG_ERR, "cache: L2 store %s unavailable (%s: %s); running without L2",
			  c->l2_path, strerror(-rc), err);
		goto done;
	}
	if (lstat(c->l2_path, &sb) < 0) {
		/* nothing there to move aside: it could not even be created */
		cache_log(c, RASN_CACHE_LOG_ERR, "cache: cannot create L2 store %s (%s: %s); "
			  "running without L2", c->l2_path, strerror(-rc), err);
		goto done;
	}
	cache_log(c, RASN_CACHE_LOG_ERR, "cache: L2 store %s cannot be used (%s: %s)", c->l2_path,
		  strerror(-rc), err);
	l2_replace(c, now_ms);
done:
	c->st.l2_active = c->db != NULL;
}

/* A failed backend call: counted, logged at 1, 2, 4, 8... failures so that a dying disk does
 * not flood the log, and a store that reports damage is replaced at once. */
static void l2_failed(struct rasn_cache *c, int rc, const char *what, uint64_t now_ms)
{
	uint64_t n = ++c->st.l2_errors;
	if ((n & (n - 1)) == 0)
		cache_log(c, RASN_CACHE_LOG_ERR, "cache: L2 %s failed: %s (%llu errors so far)", what,
			  strerror(-rc), (unsigned long long)n);
	if (rc == -EUCLEAN && c->db) {
		cache_log(c, RASN_CACHE_LOG_ERR, "cache: L2 store %s reports damage; replacing it",
			  c->l2_path);
		c->api->close(c->db);
		c->db = NULL;
		l2_replace(c, now_ms);
		c->st.l2_active = c->db != NULL;
	}
}

/* ---- the engine ------------------------------------------------------------------------- */

int rasn_cache_new(const struct rasn_cache_opts *o, struct rasn_cache **out)
{
	struct rasn_cache *c = NULL;
	int rc = -EINVAL;
	size_t nb = 16;

	*out = NULL;
	if (o->l1_max_entries > MAX_L1_ENTRIES || o->max_value > RASN_CACHE_VALUE_MAX)
		goto done;
	rc = -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto done;
	c->max_entries = o->l1_max_entries ? o->l1_max_entries : DEF_L1_ENTRIES;
	c->max_bytes = o->l1_max_bytes ? o->l1_max_bytes : DEF_L1_BYTES;
	c->max_value = o->max_value ? o->max_value : DEF_MAX_VALUE;
	c->name_floor = o->name_ttl_floor_ms;
	c->name_cap = o->name_ttl_cap_ms ? o->name_ttl_cap_ms : DEF_NAME_CAP_MS;
	c->neg_ttl = o->negative_ttl_ms ? o->negative_ttl_ms : DEF_NEG_TTL_MS;
	c->max_ttl = o->max_ttl_ms ? o->max_ttl_ms : DEF_MAX_TTL_MS;
	c->k0 = o->hash_seed ^ 0x0123456789abcdefull;
	c->k1 = (o->hash_seed * 0x9e3779b97f4a7c15ull) ^ 0xfedcba9876543210ull;
	c->log = o->log;
	c->log_ud = o->log_ud;
	c->on_store = o->on_store;
	c->store_ud = o->store_ud;
	if (c->name_floor > c->name_cap) {
		rc = -EINVAL;
		goto done;
	}
	while (nb < c->max_entries)
		nb <<= 1;
	c->buckets = calloc(nb, sizeof(*c->buckets));
	if (!c->buckets)
		goto done;
	c->bmask = nb - 1;
	if (o->l2_path) {
		c->api = o->l2_api ? o->l2_api : rasn_cache_backend_rocksdb();
		c->l2_block_cache = o->l2_block_cache_bytes;
		c->l2_path = strdup(o->l2_path);
		if (!c->l2_path)
			goto done;
		if (!c->l2_path[0]) {
			rc = -EINVAL;
			goto done;
		}
		l2_open(c, o->now_ms);
	}
	*out = c;
	c = NULL;
	rc = 0;
done:
	rasn_cache_free(c);
	return rc;
}

void rasn_cache_free(struct rasn_cache *c)
{
	if (!c)
		return;
	for (struct l1_entry *e = c->head, *next; e; e = next) {
		next = e->next;
		free(e);
	}
	if (c->db)
		c->api->close(c->db);
	free(c->buckets);
	free(c->l2_path);
	free(c);
}

int rasn_cache_get_addr(struct rasn_cache *c, const struct rasn_addr *a, uint64_t now_ms,
			struct rasn_cache_hit *out)
{
	struct l1_entry *e;
	struct rasn_cache_hit h;
	int rc;

	if (!addr_ok(a))
		return -EINVAL;
	e = l1_lookup_addr(c, a, now_ms);
	if (e) {
		l1_touch(c, e);
		c->st.l1_hits++;
		fill_hit(e, out);
		return 0;
	}
	c->st.l1_misses++;
	if (!c->db)
		return -ENOENT;
	rc = c->api->get_prefix(c->db, a, now_ms, &h);
	if (rc == 0 && (!is_live(c, h.expires_ms, now_ms) || !covers(&h.prefix, a)))
		rc = -ENOENT;
	if (rc == -ENOENT) {
		c->st.l2_misses++;
		return -ENOENT;
	}
	if (rc < 0) {
		l2_failed(c, rc, "prefix lookup", now_ms);
		return -ENOENT;
	}
	c->st.l2_hits++;
	/* Warm L1. With entries nested inside the prefix, only this address is known to map to
	 * it, so L1 gets the host entry. */
	{
		uint8_t key[RASN_CACHE_PKEY_LEN];
		if (h.nested)
			rasn_cache_key_prefix(a->family, a->v, rasn_af_bits(a->family), key);
		else
			rasn_cache_key_prefix(h.prefix.family, h.prefix.addr, h.prefix.len, key);
		l1_insert(c, key, sizeof(key), &h.val, h.expires_ms);
	}
	*out = h;
	out->level = 2;
	return 0;
}

int rasn_cache_put_prefix(struct rasn_cache *c, const struct rasn_prefix *p,
			  const struct rasn_cache_val *v, uint64_t now_ms, uint64_t ttl_ms)
{
	uint8_t key[RASN_CACHE_PKEY_LEN];
	uint64_t expires;
	int rc, nested = 0;

	if (!prefix_ok(p) || (v->len && !v->data))
		return -EINVAL;
	if (v->len > c->max_value)
		return -E2BIG;
	if (v->flags & RASN_CACHE_NEGATIVE && !(v->flags & RASN_CACHE_TTL_EXACT) && ttl_ms > c->neg_ttl)
		ttl_ms = c->neg_ttl;
	struct rasn_cache_val kept = *v;
	int hook = !(v->flags & RASN_CACHE_NO_HOOK);
	kept.flags &= ~(RASN_CACHE_TTL_EXACT | RASN_CACHE_NO_HOOK);
	v = &kept;
	if (ttl_ms > c->max_ttl)
		ttl_ms = c->max_ttl;
	if (ttl_ms == 0)
		return 0;
	expires = add_sat(now_ms, ttl_ms);
	if (hook && c->on_store) {
		rasn_cache_key_prefix(p->family, p->addr, p->len, key);
		c->on_store(c->store_ud, key, sizeof(key), v, expires);
	}
	if (c->db) {
		rc = c->api->put_prefix(c->db, p, v, expires);
		if (rc < 0)
			l2_failed(c, rc, "prefix write", now_ms);
		else
			c->st.l2_writes++;
	}
	/* L2 may hold entries inside p that L1 no longer has; then L1 must not hold p, or it
	 * would answer for them with p. (The check may also run after a failed write above:
	 * then whatever L2 still has is what counts.) */
	if (c->db && p->len < rasn_af_bits(p->family)) {
		nested = c->api->has_nested(c->db, p);
		if (nested < 0) {
			l2_failed(c, nested, "nested check", now_ms);
			nested = 1; /* unknown: assume the worst */
		}
	}
	if (!nested) {
		rasn_cache_key_prefix(p->family, p->addr, p->len, key);
		rc = l1_insert(c, key, sizeof(key), v, expires);
		if (rc == 0)
			return 0;
	}
	l1_forget_prefix(c, p);
	return 0;
}

/* 'N' | normalised name into key (RASN_CACHE_NAME_MAX + 1 bytes). Returns the key length. */
static int name_key(const char *name, size_t len, unsigned char *key)
{
	int n = rasn_cache_key_name(name, len, (char *)key + 1);
	if (n < 0)
		return n;
	key[0] = RASN_CACHE_KEY_NAME;
	return n + 1;
}

int rasn_cache_get_name(struct rasn_cache *c, const char *name, size_t len, uint64_t now_ms,
			struct rasn_cache_hit *out)
{
	unsigned char key[RASN_CACHE_NAME_MAX + 1];
	struct rasn_cache_hit h;
	int klen = name_key(name, len, key), rc;
	struct l1_entry *e;

	if (klen < 0)
		return klen;
	e = l1_lookup_key(c, key, (unsigned)klen, now_ms);
	if (e) {
		l1_touch(c, e);
		c->st.l1_hits++;
		fill_hit(e, out);
		return 0;
	}
	c->st.l1_misses++;
	if (!c->db)
		return -ENOENT;
	rc = c->api->get_name(c->db, (const char *)key + 1, (size_t)klen - 1, now_ms, &h);
	if (rc == 0 && !is_live(c, h.expires_ms, now_ms))
		rc = -ENOENT;
	if (rc == -ENOENT) {
		c->st.l2_misses++;
		return -ENOENT;
	}
	if (rc < 0) {
		l2_failed(c, rc, "name lookup", now_ms);
		return -ENOENT;
	}
	c->st.l2_hits++;
	l1_insert(c, key, (unsigned)klen, &h.val, h.expires_ms);
	*out = h;
	memset(&out->prefix, 0, sizeof(out->prefix));
	out->nested = 0;
	out->level = 2;
	return 0;
}

int rasn_cache_put_name(struct rasn_cache *c, const char *name, size_t len,
			const struct rasn_cache_val *v, uint64_t now_ms, uint64_t ttl_ms)
{
	unsigned char key[RASN_CACHE_NAME_MAX + 1];
	int klen = name_key(name, len, key), rc;
	uint64_t expires;

	if (klen < 0)
		return klen;
	if (v->len && !v->data)
		return -EINVAL;
	if (v->len > c->max_value)
		return -E2BIG;
	if (!(v->flags & RASN_CACHE_TTL_EXACT)) {
		if (ttl_ms < c->name_floor)
			ttl_ms = c->name_floor;
		if (ttl_ms > c->name_cap)
			ttl_ms = c->name_cap;
		if (v->flags & RASN_CACHE_NEGATIVE && ttl_ms > c->neg_ttl)
			ttl_ms = c->neg_ttl;
	}
	struct rasn_cache_val kept = *v;
	int hook = !(v->flags & RASN_CACHE_NO_HOOK);
	kept.flags &= ~(RASN_CACHE_TTL_EXACT | RASN_CACHE_NO_HOOK);
	v = &kept;
	if (ttl_ms > c->max_ttl)
		ttl_ms = c->max_ttl;
	if (ttl_ms == 0)
		return 0;
	expires = add_sat(now_ms, ttl_ms);
	if (hook && c->on_store)
		c->on_store(c->store_ud, key, (size_t)klen, v, expires);
	if (c->db) {
		rc = c->api->put_name(c->db, (const char *)key + 1, (size_t)klen - 1, v, expires);
		if (rc < 0)
			l2_failed(c, rc, "name write", now_ms);
		else
			c->st.l2_writes++;
	}
	rc = l1_insert(c, key, (unsigned)klen, v, expires);
	return rc == -ENOMEM || rc == -E2BIG ? 0 : rc; /* L1 is best effort: L2 has it */
}

size_t rasn_cache_sweep(struct rasn_cache *c, uint64_t now_ms, size_t budget)
{
	size_t removed = 0, seen = 0;
	struct l1_entry *e = c->tail, *prev;

	for (; e && seen < budget; e = prev, seen++) {
		prev = e->prev;
		if (!is_live(c, e->expires_ms, now_ms)) {
			l1_remove(c, e);
			c->st.l1_expirations++;
			removed++;
		}
	}
	if (c->db && budget > 0) {
		int rc = c->api->sweep(c->db, now_ms, budget);
		if (rc < 0) {
			l2_failed(c, rc, "sweep", now_ms);
		} else {
			c->st.l2_swept += (uint64_t)rc;
			removed += (size_t)rc;
		}
	}
	return removed;
}

void rasn_cache_stats(const struct rasn_cache *c, struct rasn_cache_stats *st)
{
	*st = c->st;
	st->l1_entries = c->n;
	st->l1_bytes = c->bytes;
	st->l2_active = c->db != NULL;
}
