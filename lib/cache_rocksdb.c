/* The L2 cache backend on RocksDB (C API). Keys as in cache.h; a value is
 *   version (1) | flags (1) | expiry ms, big-endian (8) | payload
 * and one marker key 'V' holds the format name, so a directory that is some other RocksDB,
 * or an older format, is refused (-EUCLEAN) and the engine moves it aside.
 *
 * A prefix lookup is one SeekForPrev to 'P'|family|address|0xff and a walk back that jumps
 * past entries that cannot hold the address: at a non-covering entry E the covering prefixes
 * still ahead are at most as long as the bits E shares with the address (d), so the walk
 * seeks straight to 'P'|family|address/d|d. d falls at every jump and expired entries are
 * stepped over one by one, so a lookup costs at most about 2 x (address bits + 1) iterator
 * moves, usually one or two, however many entries lie in between.
 *
 * RocksDB errors come as "Code: message" strings; they are mapped to negative errno here. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rocksdb/c.h>

#include "buf.h"
#include "cache.h"

#define FORMAT_KEY "V"
#define FORMAT_NAME "rasn-cache-1"
#define VAL_VERSION 1
#define VAL_HDR 10
#define DEF_BLOCK_CACHE ((size_t)8 << 20)

struct rdb {
	rocksdb_t *db;
	rocksdb_options_t *opts;
	rocksdb_block_based_table_options_t *topts;
	rocksdb_cache_t *cache;
	rocksdb_readoptions_t *ro;
	rocksdb_writeoptions_t *wo;
	size_t max_value;
	rocksdb_iterator_t *it;        /* reused by lookups until the next write (see iter()) */
	struct rasn_buf scratch;       /* the payload a get returned, valid until the next call */
	unsigned char cursor[RASN_CACHE_NAME_MAX + 1]; /* where the last sweep stopped */
	size_t cursor_len;
};

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int map_err(const char *e)
{
	if (!e)
		return -EIO;
	if (strstr(e, "lock hold by current process") || strstr(e, "No locks available") ||
	    (strstr(e, "LOCK") && strstr(e, "Resource temporarily unavailable")))
		return -EBUSY;
	if (starts(e, "Corruption"))
		return -EUCLEAN;
	if (strstr(e, "Permission denied"))
		return -EACCES;
	if (strstr(e, "No space left"))
		return -ENOSPC;
	if (strstr(e, "Too many open files"))
		return -EMFILE;
	if (starts(e, "Incomplete") || strstr(e, "Write stall"))
		return -EAGAIN;
	if (strstr(e, "Not a directory"))
		return -ENOTDIR;
	if (strstr(e, "No such file or directory"))
		return -ENOENT;
	if (starts(e, "Invalid argument"))
		return -EINVAL;
	if (starts(e, "Not implemented"))
		return -ENOTSUP;
	return -EIO;
}

/* Map and release a RocksDB error string; copy it into err when asked. */
static int take_err(char *e, char *err, size_t errlen)
{
	int rc = map_err(e);
	if (err && errlen)
		snprintf(err, errlen, "%s", e ? e : "unknown error");
	rocksdb_free(e);
	return rc;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Check a stored value; on success fill the hit's value fields (data still in raw). */
static int decode_val(const struct rdb *r, const char *raw, size_t len, struct rasn_cache_hit *h)
{
	const unsigned char *u = (const unsigned char *)raw;
	if (len < VAL_HDR || u[0] != VAL_VERSION || len - VAL_HDR > r->max_value)
		return -EUCLEAN;
	h->val.flags = u[1];
	h->expires_ms = get_be64(u + 2);
	h->val.data = raw + VAL_HDR;
	h->val.len = len - VAL_HDR;
	return 0;
}

/* Copy the payload into scratch, so it outlives the iterator or the RocksDB buffer. */
static int keep_payload(struct rdb *r, struct rasn_cache_hit *h)
{
	r->scratch.len = 0;
	r->scratch.oom = 0;
	if (rasn_buf_reserve(&r->scratch, h->val.len + 1) < 0)
		return -ENOMEM;
	rasn_buf_add(&r->scratch, h->val.data, h->val.len);
	h->val.data = r->scratch.data;
	return 0;
}

static unsigned common_bits(int family, rasn_u128 x, rasn_u128 y)
{
	rasn_u128 d = x ^ y;
	if (family == RASN_AF4)
		return d ? (unsigned)__builtin_clz((uint32_t)d) : 32;
	uint64_t hi = (uint64_t)(d >> 64), lo = (uint64_t)d;
	if (hi)
		return (unsigned)__builtin_clzll(hi);
	return lo ? 64 + (unsigned)__builtin_clzll(lo) : 128;
}

/* Does the entry under the iterator lie strictly inside p? (The iterator sits after p.) */
static int inside(rocksdb_iterator_t *it, const struct rasn_prefix *p)
{
	size_t klen;
	const uint8_t *k;
	struct rasn_prefix q;

	if (!rocksdb_iter_valid(it))
		return 0;
	k = (const uint8_t *)rocksdb_iter_key(it, &klen);
	if (klen < 2 || k[0] != RASN_CACHE_KEY_PREFIX || k[1] != p->family)
		return 0;
	if (rasn_cache_key_prefix_decode(k, klen, &q) < 0)
		return 1; /* damaged, in this family's range: assume the worst */
	return q.addr <= (p->addr | rasn_hostmask(p->family, p->len));
}

static int iter_status(rocksdb_iterator_t *it)
{
	char *e = NULL;
	rocksdb_iter_get_error(it, &e);
	return e ? take_err(e, NULL, 0) : 0;
}

/* Creating an iterator costs about as much as the seek itself, so lookups share one. An
 * iterator sees the store as it was when created; every write goes through this backend (the
 * store is locked to this process), and each write drops the shared iterator, so a lookup
 * never misses an entry. Dropping it also lets RocksDB delete table files it pinned. */
static rocksdb_iterator_t *iter(struct rdb *r)
{
	if (!r->it)
		r->it = rocksdb_create_iterator(r->db, r->ro);
	return r->it;
}

static void iter_drop(struct rdb *r)
{
	if (r->it) {
		rocksdb_iter_destroy(r->it);
		r->it = NULL;
	}
}

static int rdb_get_prefix(void *vdb, const struct rasn_addr *a, uint64_t now_ms,
			  struct rasn_cache_hit *out)
{
	struct rdb *r = vdb;
	unsigned bits = rasn_af_bits(a->family), steps = 2 * (bits + 2);
	uint8_t target[RASN_CACHE_PKEY_LEN];
	rocksdb_iterator_t *it = iter(r);
	int rc = -ENOENT;

	memset(out, 0, sizeof(*out));
	rasn_cache_key_prefix(a->family, a->v, 0, target);
	target[18] = 0xff;
	rocksdb_iter_seek_for_prev(it, (const char *)target, sizeof(target));
	while (steps-- > 0) {
		size_t klen, vlen;
		const uint8_t *k;
		const char *v;
		struct rasn_prefix e;
		struct rasn_cache_hit h;

		if (!rocksdb_iter_valid(it)) {
			rc = iter_status(it);
			if (rc < 0)
				iter_drop(r); /* an iterator in error stays in error */
			else
				rc = -ENOENT;
			goto done;
		}
		k = (const uint8_t *)rocksdb_iter_key(it, &klen);
		if (klen < 2 || k[0] != RASN_CACHE_KEY_PREFIX || k[1] != a->family)
			goto done; /* before this family's range: nothing holds a */
		if (rasn_cache_key_prefix_decode(k, klen, &e) < 0) {
			rocksdb_iter_prev(it); /* damaged key: step over it (the sweep drops it) */
			continue;
		}
		if ((a->v & ~rasn_hostmask(a->family, e.len)) == e.addr) {
			v = rocksdb_iter_value(it, &vlen);
			memset(&h, 0, sizeof(h));
			if (decode_val(r, v, vlen, &h) < 0 || h.expires_ms <= now_ms) {
				rocksdb_iter_prev(it);
				continue;
			}
			rc = keep_payload(r, &h);
			if (rc < 0)
				goto done;
			h.prefix = e;
			rocksdb_iter_next(it);
			h.nested = (unsigned)inside(it, &e);
			*out = h;
			rc = 0;
			goto done;
		}
		/* e.addr < a and they part at bit d < e.len: only prefixes of a up to d long can
		 * still hold a */
		unsigned d = common_bits(a->family, e.addr, a->v);
		rasn_cache_key_prefix(a->family, a->v & ~rasn_hostmask(a->family, d), d, target);
		rocksdb_iter_seek_for_prev(it, (const char *)target, sizeof(target));
	}
done:
	return rc;
}

static int get_key(struct rdb *r, const char *key, size_t klen, uint64_t now_ms,
		   struct rasn_cache_hit *out)
{
	char *e = NULL, *v;
	size_t vlen;
	int rc;

	memset(out, 0, sizeof(*out));
	v = rocksdb_get(r->db, r->ro, key, klen, &vlen, &e);
	if (e)
		return take_err(e, NULL, 0);
	if (!v)
		return -ENOENT;
	rc = decode_val(r, v, vlen, out);
	if (rc == 0 && out->expires_ms <= now_ms)
		rc = -ENOENT;
	if (rc == -EUCLEAN)
		rc = -ENOENT; /* one damaged value: a miss; the sweep drops it */
	if (rc == 0)
		rc = keep_payload(r, out);
	rocksdb_free(v);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int rdb_get_name(void *vdb, const char *name, size_t len, uint64_t now_ms,
			struct rasn_cache_hit *out)
{
	char key[RASN_CACHE_NAME_MAX + 1];
	if (len == 0 || len > RASN_CACHE_NAME_MAX)
		return -EINVAL;
	key[0] = RASN_CACHE_KEY_NAME;
	memcpy(key + 1, name, len);
	return get_key(vdb, key, len + 1, now_ms, out);
}

static int put_key(struct rdb *r, const char *key, size_t klen, const struct rasn_cache_val *v,
		   uint64_t expires_ms)
{
	char *e = NULL;
	unsigned char *raw;

	if (v->len > r->max_value)
		return -E2BIG;
	raw = malloc(VAL_HDR + v->len);
	if (!raw)
		return -ENOMEM;
	raw[0] = VAL_VERSION;
	raw[1] = (unsigned char)v->flags;
	put_be64(raw + 2, expires_ms);
	if (v->len)
		memcpy(raw + VAL_HDR, v->data, v->len);
	iter_drop(r);
	rocksdb_put(r->db, r->wo, key, klen, (const char *)raw, VAL_HDR + v->len, &e);
	free(raw);
	return e ? take_err(e, NULL, 0) : 0;
}

static int rdb_put_prefix(void *vdb, const struct rasn_prefix *p, const struct rasn_cache_val *v,
			  uint64_t expires_ms)
{
	uint8_t key[RASN_CACHE_PKEY_LEN];
	rasn_cache_key_prefix(p->family, p->addr, p->len, key);
	return put_key(vdb, (const char *)key, sizeof(key), v, expires_ms);
}

static int rdb_put_name(void *vdb, const char *name, size_t len, const struct rasn_cache_val *v,
			uint64_t expires_ms)
{
	char key[RASN_CACHE_NAME_MAX + 1];
	if (len == 0 || len > RASN_CACHE_NAME_MAX)
		return -EINVAL;
	key[0] = RASN_CACHE_KEY_NAME;
	memcpy(key + 1, name, len);
	return put_key(vdb, key, len + 1, v, expires_ms);
}

static int rdb_has_nested(void *vdb, const struct rasn_prefix *p)
{
	struct rdb *r = vdb;
	uint8_t key[RASN_CACHE_PKEY_LEN];
	rocksdb_iterator_t *it = iter(r);
	int rc;

	rasn_cache_key_prefix(p->family, p->addr, p->len, key);
	rocksdb_iter_seek(it, (const char *)key, sizeof(key));
	if (rocksdb_iter_valid(it)) {
		size_t klen;
		const char *k = rocksdb_iter_key(it, &klen);
		if (klen == sizeof(key) && memcmp(k, key, klen) == 0)
			rocksdb_iter_next(it);
	}
	rc = inside(it, p);
	if (rc == 0 && !rocksdb_iter_valid(it))
		rc = iter_status(it);
	if (rc < 0)
		iter_drop(r);
	return rc;
}

static int rdb_sweep(void *vdb, uint64_t now_ms, size_t budget)
{
	struct rdb *r = vdb;
	rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->ro);
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	size_t seen = 0;
	int removed = 0, rc = 0;
	char *e = NULL;

	if (r->cursor_len) {
		rocksdb_iter_seek(it, (const char *)r->cursor, r->cursor_len);
		size_t klen;
		if (rocksdb_iter_valid(it)) {
			const char *k = rocksdb_iter_key(it, &klen);
			if (klen == r->cursor_len && memcmp(k, r->cursor, klen) == 0)
				rocksdb_iter_next(it);
		}
	} else {
		rocksdb_iter_seek_to_first(it);
	}
	for (; seen < budget && rocksdb_iter_valid(it); seen++, rocksdb_iter_next(it)) {
		size_t klen, vlen;
		const char *k = rocksdb_iter_key(it, &klen);
		const char *v = rocksdb_iter_value(it, &vlen);
		struct rasn_cache_hit h;
		struct rasn_prefix p;
		int ok;

		if (klen == 1 && k[0] == FORMAT_KEY[0])
			continue;
		if (klen <= sizeof(r->cursor)) {
			memcpy(r->cursor, k, klen);
			r->cursor_len = klen;
		}
		if (k[0] == RASN_CACHE_KEY_PREFIX)
			ok = rasn_cache_key_prefix_decode((const uint8_t *)k, klen, &p) == 0;
		else
			ok = k[0] == RASN_CACHE_KEY_NAME && klen >= 2 && klen <= RASN_CACHE_NAME_MAX + 1;
		if (ok && decode_val(r, v, vlen, &h) == 0 && h.expires_ms > now_ms)
			continue;
		rocksdb_writebatch_delete(wb, k, klen);
		removed++;
	}
	if (!rocksdb_iter_valid(it)) {
		rc = iter_status(it);
		r->cursor_len = 0; /* at the end: start over next time */
	}
	if (rc == 0 && removed > 0) {
		iter_drop(r);
		rocksdb_write(r->db, r->wo, wb, &e);
		if (e)
			rc = take_err(e, NULL, 0);
	}
	rocksdb_writebatch_destroy(wb);
	rocksdb_iter_destroy(it);
	return rc < 0 ? rc : removed;
}

static void rdb_close(void *vdb)
{
	struct rdb *r = vdb;
	if (!r)
		return;
	iter_drop(r);
	if (r->db) {
		/* flush so the next start need not replay the WAL; errors only cost that replay */
		rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
		char *e = NULL;
		rocksdb_flush(r->db, fo, &e);
		rocksdb_free(e);
		rocksdb_flushoptions_destroy(fo);
		rocksdb_close(r->db);
	}
	if (r->ro)
		rocksdb_readoptions_destroy(r->ro);
	if (r->wo)
		rocksdb_writeoptions_destroy(r->wo);
	if (r->opts)
		rocksdb_options_destroy(r->opts);
	if (r->topts)
		rocksdb_block_based_options_destroy(r->topts);
	if (r->cache)
		rocksdb_cache_destroy(r->cache);
	rasn_buf_free(&r->scratch);
	free(r);
}

/* A directory that holds files but no CURRENT is not a RocksDB store: opening it would write
 * a new store among foreign files. Refused, so the engine moves it aside. */
static int precheck(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	int files = 0, current = 0;

	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return 0; /* RocksDB creates it */
		snprintf(err, errlen, "stat %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", path);
		return -ENOTDIR;
	}
	d = opendir(path);
	if (!d) {
		int rc = -errno;
		snprintf(err, errlen, "opendir %s: %s", path, strerror(errno));
		return rc;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		files++;
		if (strcmp(de->d_name, "CURRENT") == 0)
			current = 1;
	}
	closedir(d);
	if (files > 0 && !current) {
		snprintf(err, errlen, "%s holds files but no RocksDB store (no CURRENT)", path);
		return -EUCLEAN;
	}
	return 0;
}

/* A new store gets the format marker; an existing one must carry ours. */
static int check_format(struct rdb *r, char *err, size_t errlen)
{
	char *e = NULL, *v;
	size_t vlen;
	int rc = 0;

	v = rocksdb_get(r->db, r->ro, FORMAT_KEY, 1, &vlen, &e);
	if (e)
		return take_err(e, err, errlen);
	if (v) {
		if (vlen != strlen(FORMAT_NAME) || memcmp(v, FORMAT_NAME, vlen) != 0) {
			snprintf(err, errlen, "store format \"%.*s\", expected \"%s\"",
				 (int)(vlen > 64 ? 64 : vlen), v, FORMAT_NAME);
			rc = -EUCLEAN;
		}
		rocksdb_free(v);
		return rc;
	}
	rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->ro);
	rocksdb_iter_seek_to_first(it);
	if (rocksdb_iter_valid(it)) {
		snprintf(err, errlen, "a RocksDB store without the %s marker", FORMAT_NAME);
		rc = -EUCLEAN;
	} else {
		rc = iter_status(it);
	}
	rocksdb_iter_destroy(it);
	if (rc < 0)
		return rc;
	rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(wo, 1);
	rocksdb_put(r->db, wo, FORMAT_KEY, 1, FORMAT_NAME, strlen(FORMAT_NAME), &e);
	rocksdb_writeoptions_destroy(wo);
	return e ? take_err(e, err, errlen) : 0;
}

static int rdb_open(void **out, const struct rasn_cache_backend_opts *o, char *err, size_t errlen)
{
	static const int compressions[] = { rocksdb_lz4_compression, rocksdb_snappy_compression,
					    rocksdb_no_compression };
	struct rdb *r = NULL;
	char *e = NULL;
	int rc;

	*out = NULL;
	rc = precheck(o->path, err, errlen);
	if (rc < 0)
		goto done;
	rc = -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto done;
	rasn_buf_init(&r->scratch);
	r->max_value = o->max_value ? o->max_value : RASN_CACHE_VALUE_MAX;
	r->opts = rocksdb_options_create();
	r->topts = rocksdb_block_based_options_create();
	r->cache = rocksdb_cache_create_lru(o->block_cache_bytes ? o->block_cache_bytes
								 : DEF_BLOCK_CACHE);
	r->ro = rocksdb_readoptions_create();
	r->wo = rocksdb_writeoptions_create();
	if (!r->opts || !r->topts || !r->cache || !r->ro || !r->wo)
		goto done;
	/* Memory stays bounded: index and filter blocks live in the block cache, small
	 * memtables. The bloom filter serves the name lookups (point reads). */
	rocksdb_block_based_options_set_block_cache(r->topts, r->cache);
	rocksdb_block_based_options_set_cache_index_and_filter_blocks(r->topts, 1);
	rocksdb_block_based_options_set_filter_policy(r->topts, rocksdb_filterpolicy_create_bloom(10));
	rocksdb_options_set_block_based_table_factory(r->opts, r->topts);
	rocksdb_options_set_create_if_missing(r->opts, 1);
	rocksdb_options_set_write_buffer_size(r->opts, (size_t)4 << 20);
	rocksdb_options_set_max_write_buffer_number(r->opts, 2);
	rocksdb_options_set_max_total_wal_size(r->opts, (uint64_t)16 << 20);
	rocksdb_options_set_max_open_files(r->opts, 256);
	rocksdb_options_set_info_log_level(r->opts, 2 /* WARN */);
	rocksdb_options_set_keep_log_file_num(r->opts, 2);
	rocksdb_options_set_max_log_file_size(r->opts, (size_t)1 << 20);
	/* A stalled write fails (counted by the engine) instead of sleeping on the loop. */
	rocksdb_writeoptions_set_no_slowdown(r->wo, 1);

	/* LZ4, else Snappy, else none: whichever this RocksDB build links. */
	for (size_t i = 0; i < RASN_ARRAY_LEN(compressions); i++) {
		rocksdb_options_set_compression(r->opts, compressions[i]);
		e = NULL;
		r->db = rocksdb_open(r->opts, o->path, &e);
		if (!e)
			break;
		if (!(starts(e, "Invalid argument") && strstr(e, "ompression")) ||
		    i + 1 == RASN_ARRAY_LEN(compressions)) {
			rc = take_err(e, err, errlen);
			goto done;
		}
		rocksdb_free(e);
	}
	rc = check_format(r, err, errlen);
	if (rc < 0)
		goto done;
	*out = r;
	r = NULL;
	rc = 0;
done:
	rdb_close(r);
	return rc;
}

static const struct rasn_cache_backend_api rocksdb_api = {
	.name = "rocksdb",
	.open = rdb_open,
	.close = rdb_close,
	.get_prefix = rdb_get_prefix,
	.get_name = rdb_get_name,
	.put_prefix = rdb_put_prefix,
	.put_name = rdb_put_name,
	.has_nested = rdb_has_nested,
	.sweep = rdb_sweep,
};

const struct rasn_cache_backend_api *rasn_cache_backend_rocksdb(void)
{
	return &rocksdb_api;
}
