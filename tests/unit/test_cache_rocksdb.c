/* Unit tests for lib/cache_rocksdb.c with the engine on top: round trip and persistence across
 * close/open, the reverse-seek prefix lookup (nested prefixes, many entries in between, and a
 * randomised comparison with a brute-force longest match), expiry, sweeping, damaged values,
 * and every kind of bad store that must be moved aside and replaced by a fresh one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <rocksdb/c.h>

#include "cache.h"

#define T0 1700000000000ull /* a realistic wall-clock time in ms */

static char tmproot[256], store[300];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmproot, sizeof(tmproot), "%s/rasn-test-l2.XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(tmproot));
	snprintf(store, sizeof(store), "%s/l2", tmproot);
	return 0;
}

static int teardown(void **state)
{
	nftw(tmproot, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

struct logbook {
	char text[4096];
	size_t n;
};

static void log_cb(void *ud, int level, const char *msg)
{
	struct logbook *lb = ud;
	size_t used = strlen(lb->text);
	snprintf(lb->text + used, sizeof(lb->text) - used, "%s\n", msg);
	lb->n++;
}

static struct rasn_cache *open_cache(struct logbook *lb, uint64_t now)
{
	struct rasn_cache_opts o = {
		.l2_path = store, .now_ms = now, .log = lb ? log_cb : NULL, .log_ud = lb,
		.l2_block_cache_bytes = (size_t)1 << 20, .max_value = 4096,
	};
	struct rasn_cache *c = NULL;
	assert_int_equal(rasn_cache_new(&o, &c), 0);
	return c;
}

static struct rasn_addr A(const char *s)
{
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse(s, strlen(s), &a), 0);
	return a;
}

static struct rasn_prefix P(const char *s)
{
	struct rasn_prefix p;
	assert_int_equal(rasn_prefix_parse(s, strlen(s), &p), 0);
	return p;
}

static void put(struct rasn_cache *c, const char *pfx, const char *val, uint64_t now, uint64_t ttl)
{
	struct rasn_prefix p = P(pfx);
	struct rasn_cache_val v = { val, strlen(val), 0 };
	assert_int_equal(rasn_cache_put_prefix(c, &p, &v, now, ttl), 0);
}

static void expect(struct rasn_cache *c, const char *ip, uint64_t now, const char *val,
		   const char *pfx, unsigned level)
{
	struct rasn_addr a = A(ip);
	struct rasn_cache_hit h;
	int rc = rasn_cache_get_addr(c, &a, now, &h);
	if (!val) {
		if (rc != -ENOENT)
			fail_msg("%s: expected a miss, got rc %d value \"%.*s\"", ip, rc,
				 rc == 0 ? (int)h.val.len : 0, rc == 0 ? (const char *)h.val.data : "");
		return;
	}
	if (rc != 0)
		fail_msg("%s: expected \"%s\", got rc %d", ip, val, rc);
	if (h.val.len != strlen(val) || memcmp(h.val.data, val, h.val.len) != 0)
		fail_msg("%s: expected \"%s\", got \"%.*s\"", ip, val, (int)h.val.len,
			 (const char *)h.val.data);
	char buf[RASN_PREFIX_STRLEN];
	rasn_prefix_format(&h.prefix, buf);
	if (strcmp(buf, pfx) != 0)
		fail_msg("%s: expected prefix %s, got %s", ip, pfx, buf);
	assert_int_equal(h.level, level);
}

static struct rasn_cache_stats stats(struct rasn_cache *c)
{
	struct rasn_cache_stats st;
	rasn_cache_stats(c, &st);
	return st;
}

/* The one entry named "NAME.corrupt-..." beside the store, or "" */
static void find_moved(char *out, size_t cap, int *count)
{
	DIR *d = opendir(tmproot);
	struct dirent *e;
	*count = 0;
	out[0] = '\0';
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "l2.corrupt-", 11) == 0) {
			snprintf(out, cap, "%s/%s", tmproot, e->d_name);
			(*count)++;
		}
	closedir(d);
}

/* ---- round trip, persistence ------------------------------------------------------------ */

static void test_roundtrip_persist(void **state)
{
	struct logbook lb = { "", 0 };
	struct rasn_cache *c = open_cache(&lb, T0);
	struct rasn_cache_hit h;
	struct rasn_cache_val name = { "93.184.216.34", 13, 0 }, neg = { "", 0, RASN_CACHE_NEGATIVE };
	struct rasn_prefix np = P("192.0.2.0/24");

	assert_int_equal(stats(c).l2_active, 1);
	put(c, "8.8.8.0/24", "google", T0, 3600000);
	put(c, "2001:4860::/32", "google6", T0, 3600000);
	assert_int_equal(rasn_cache_put_name(c, "Example.COM.", 12, &name, T0, 60000), 0);
	assert_int_equal(rasn_cache_put_prefix(c, &np, &neg, T0, 3600000), 0);
	expect(c, "8.8.8.8", T0, "google", "8.8.8.0/24", 1);
	assert_int_equal(stats(c).l2_writes, 4);
	rasn_cache_free(c);

	c = open_cache(&lb, T0 + 1000);
	expect(c, "8.8.8.8", T0 + 1000, "google", "8.8.8.0/24", 2);
	expect(c, "8.8.8.200", T0 + 1000, "google", "8.8.8.0/24", 1);
	expect(c, "2001:4860:1::", T0 + 1000, "google6", "2001:4860::/32", 2);
	expect(c, "8.8.9.8", T0 + 1000, NULL, NULL, 0);
	assert_int_equal(rasn_cache_get_name(c, "example.com", 11, T0 + 1000, &h), 0);
	assert_int_equal(h.level, 2);
	assert_int_equal(h.expires_ms, T0 + 60000);
	assert_int_equal(h.val.len, 13);
	assert_memory_equal(h.val.data, "93.184.216.34", 13);
	assert_int_equal(rasn_cache_get_name(c, "EXAMPLE.com", 11, T0 + 1000, &h), 0);
	assert_int_equal(h.level, 1);
	assert_int_equal(rasn_cache_get_name(c, "example.org", 11, T0 + 1000, &h), -ENOENT);

	/* negative entries persist with their flag and their shorter TTL (5 min default) */
	struct rasn_addr a = A("192.0.2.77");
	assert_int_equal(rasn_cache_get_addr(c, &a, T0 + 1000, &h), 0);
	assert_int_equal(h.level, 2);
	assert_int_equal(h.val.flags, RASN_CACHE_NEGATIVE);
	assert_int_equal(h.val.len, 0);
	assert_int_equal(h.expires_ms, T0 + 300000);

	struct rasn_cache_stats st = stats(c);
	assert_int_equal(st.l2_hits, 4);
	assert_int_equal(st.l2_misses, 2);
	assert_int_equal(st.l2_errors, 0);
	assert_int_equal(st.l2_recoveries, 0);
	rasn_cache_free(c);
	assert_int_equal(lb.n, 0);
}

static void test_values(void **state)
{
	struct rasn_cache *c = open_cache(NULL, T0);
	char big[4097];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	struct rasn_prefix p = P("10.0.0.0/8");
	struct rasn_cache_val v = { big, 4096, 0 }, over = { big, 4097, 0 }, empty = { NULL, 0, 0 };
	struct rasn_cache_hit h;
	assert_int_equal(rasn_cache_put_prefix(c, &p, &over, T0, 1000), -E2BIG);
	assert_int_equal(rasn_cache_put_prefix(c, &p, &v, T0, 1000), 0);
	assert_int_equal(rasn_cache_put_name(c, "empty.example", 13, &empty, T0, 1000), 0);
	rasn_cache_free(c);
	c = open_cache(NULL, T0);
	struct rasn_addr a = A("10.1.2.3");
	assert_int_equal(rasn_cache_get_addr(c, &a, T0, &h), 0);
	assert_int_equal(h.level, 2);
	assert_int_equal(h.val.len, 4096);
	assert_memory_equal(h.val.data, big, 4096);
	assert_int_equal(rasn_cache_get_name(c, "empty.example", 13, T0, &h), 0);
	assert_int_equal(h.val.len, 0);
	assert_int_equal(h.level, 2);
	rasn_cache_free(c);
}

/* ---- the reverse seek ------------------------------------------------------------------- */

static void test_nested_seek(void **state)
{
	struct rasn_cache *c = open_cache(NULL, T0);
	char ip[64];
	put(c, "8.0.0.0/8", "L8", T0, 100000);
	put(c, "8.8.8.0/24", "L24", T0, 100000);
	put(c, "2001:db8::/32", "V32", T0, 100000);
	put(c, "2001:db8:0:8::/64", "V64", T0, 100000);
	/* thousands of entries between the /8 and the /24 and below the addresses looked up,
	 * none of which holds them: a walk entry by entry would have to step over all */
	for (int i = 0; i < 3000; i++) {
		snprintf(ip, sizeof(ip), "8.8.%d.%d/32", i / 250, i % 250 + 1);
		put(c, ip, "host", T0, 100000);
		snprintf(ip, sizeof(ip), "2001:db8:0:7:%x::/80", i);
		put(c, ip, "host6", T0, 100000);
	}
	rasn_cache_free(c);

	c = open_cache(NULL, T0);
	expect(c, "8.8.8.255", T0, "L24", "8.8.8.0/24", 2);
	/* host entries lie inside the /24 too: L1 got 8.8.8.255/32 only */
	expect(c, "8.8.8.255", T0, "L24", "8.8.8.255/32", 1);
	expect(c, "8.8.8.254", T0, "L24", "8.8.8.0/24", 2);
	expect(c, "8.8.8.250", T0, "host", "8.8.8.250/32", 2);
	expect(c, "8.8.11.251", T0, "L8", "8.0.0.0/8", 2); /* just above the last host entry */
	expect(c, "8.8.11.250", T0, "host", "8.8.11.250/32", 2);
	expect(c, "8.8.0.0", T0, "L8", "8.0.0.0/8", 2);
	expect(c, "8.255.255.255", T0, "L8", "8.0.0.0/8", 2);
	expect(c, "8.0.0.0", T0, "L8", "8.0.0.0/8", 2);
	expect(c, "7.255.255.255", T0, NULL, NULL, 0);
	expect(c, "9.0.0.0", T0, NULL, NULL, 0);
	expect(c, "2001:db8:0:8::1", T0, "V64", "2001:db8:0:8::/64", 2);
	expect(c, "2001:db8:0:9::1", T0, "V32", "2001:db8::/32", 2);
	expect(c, "2001:db8:0:7:bb8::", T0, "V32", "2001:db8::/32", 2);
	expect(c, "2001:db8:0:7:bb7::1", T0, "host6", "2001:db8:0:7:bb7::/80", 2);
	expect(c, "2001:db9::", T0, NULL, NULL, 0);
	/* the /8 has entries inside it: L1 was warmed with host entries only */
	expect(c, "8.8.0.0", T0, "L8", "8.8.0.0/32", 1);
	expect(c, "8.8.12.1", T0, "L8", "8.0.0.0/8", 2);
	rasn_cache_free(c);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

struct ref {
	struct rasn_prefix p;
	uint64_t exp;
	uint32_t tag;
};

static int ref_covers(const struct rasn_prefix *p, const struct rasn_addr *a)
{
	return p->family == a->family && (a->v & ~rasn_hostmask(a->family, p->len)) == p->addr;
}

static int ref_inside(const struct rasn_prefix *in, const struct rasn_prefix *p)
{
	return in->family == p->family && in->len > p->len &&
	       (in->addr & ~rasn_hostmask(p->family, p->len)) == p->addr;
}

/* A random address of a family, kept within a narrow space so that prefixes nest a lot. */
static rasn_u128 rnd_addr(int family)
{
	if (family == RASN_AF4)
		return 0x0a000000u | (uint32_t)(rnd() & 0xfff) << 4 | (uint32_t)(rnd() & 0xf);
	return (rasn_u128)0x20010db8u << 96 | (rasn_u128)(rnd() & 0xff) << 88 |
	       (rasn_u128)(rnd() & 0xff);
}

static void test_seek_vs_reference(void **state)
{
	const struct rasn_cache_backend_api *api = rasn_cache_backend_rocksdb();
	struct rasn_cache_backend_opts bo = { .path = store, .max_value = 64 };
	void *db = NULL;
	char err[256];
	static struct ref refs[4000];
	size_t n = 0;
	const uint64_t now = 5000;

	assert_int_equal(api->open(&db, &bo, err, sizeof(err)), 0);
	while (n < RASN_ARRAY_LEN(refs)) {
		int fam = rnd() & 1 ? RASN_AF6 : RASN_AF4;
		unsigned bits = rasn_af_bits(fam);
		unsigned len = fam == RASN_AF4 ? 4 + (unsigned)(rnd() % 29) : 16 + (unsigned)(rnd() % 113);
		struct rasn_prefix p = { fam, rnd_addr(fam) & ~rasn_hostmask(fam, len), len };
		(void)bits;
		size_t i;
		for (i = 0; i < n; i++)
			if (refs[i].p.family == fam && refs[i].p.addr == p.addr && refs[i].p.len == len)
				break;
		if (i < n)
			continue;
		refs[n].p = p;
		refs[n].exp = rnd() % 4 == 0 ? now - (rnd() % 1000) : now + 1 + rnd() % 1000;
		refs[n].tag = (uint32_t)n;
		struct rasn_cache_val v = { &refs[n].tag, sizeof(uint32_t), 0 };
		assert_int_equal(api->put_prefix(db, &p, &v, refs[n].exp), 0);
		n++;
	}
	/* names sort before prefixes and must never be mistaken for them */
	struct rasn_cache_val nv = { "x", 1, 0 };
	assert_int_equal(api->put_name(db, "zzz", 3, &nv, now + 100), 0);

	for (int q = 0; q < 20000; q++) {
		struct rasn_addr a;
		a.family = rnd() & 1 ? RASN_AF6 : RASN_AF4;
		a.v = rnd_addr(a.family);
		const struct ref *best = NULL;
		for (size_t i = 0; i < n; i++)
			if (refs[i].exp > now && ref_covers(&refs[i].p, &a) &&
			    (!best || refs[i].p.len > best->p.len))
				best = &refs[i];
		struct rasn_cache_hit h;
		int rc = api->get_prefix(db, &a, now, &h);
		if (!best) {
			assert_int_equal(rc, -ENOENT);
			continue;
		}
		assert_int_equal(rc, 0);
		uint32_t tag;
		assert_int_equal(h.val.len, sizeof(tag));
		memcpy(&tag, h.val.data, sizeof(tag));
		assert_int_equal(tag, best->tag);
		assert_true(h.prefix.family == best->p.family && h.prefix.addr == best->p.addr &&
			    h.prefix.len == best->p.len);
		assert_int_equal(h.expires_ms, best->exp);
		unsigned nested = 0;
		for (size_t i = 0; i < n; i++)
			if (ref_inside(&refs[i].p, &best->p))
				nested = 1;
		assert_int_equal(h.nested, nested);
	}
	for (int q = 0; q < 2000; q++) {
		const struct ref *r = &refs[rnd() % n];
		int nested = 0;
		for (size_t i = 0; i < n; i++)
			if (ref_inside(&refs[i].p, &r->p))
				nested = 1;
		assert_int_equal(api->has_nested(db, &r->p), nested);
	}
	api->close(db);
}

/* Lookups share one iterator between writes: every write must be visible to the next read. */
static void test_reads_see_writes(void **state)
{
	const struct rasn_cache_backend_api *api = rasn_cache_backend_rocksdb();
	struct rasn_cache_backend_opts bo = { .path = store, .max_value = 64 };
	struct rasn_cache_val v8 = { "L8", 2, 0 }, v24 = { "L24", 3, 0 };
	struct rasn_prefix p8 = P("8.0.0.0/8"), p24 = P("8.8.8.0/24");
	struct rasn_addr a = A("8.8.8.8");
	struct rasn_cache_hit h;
	void *db = NULL;
	char err[256];

	assert_int_equal(api->open(&db, &bo, err, sizeof(err)), 0);
	assert_int_equal(api->get_prefix(db, &a, 10, &h), -ENOENT);
	assert_int_equal(api->put_prefix(db, &p8, &v8, 100), 0);
	assert_int_equal(api->get_prefix(db, &a, 10, &h), 0);
	assert_int_equal(h.prefix.len, 8);
	assert_int_equal(h.nested, 0);
	assert_int_equal(api->has_nested(db, &p8), 0);
	assert_int_equal(api->put_prefix(db, &p24, &v24, 50), 0);
	assert_int_equal(api->has_nested(db, &p8), 1);
	assert_int_equal(api->has_nested(db, &p24), 0);
	assert_int_equal(api->get_prefix(db, &a, 10, &h), 0);
	assert_int_equal(h.prefix.len, 24);
	assert_memory_equal(h.val.data, "L24", 3);
	/* the sweep deletes the expired /24; the next lookup must not find it */
	assert_int_equal(api->sweep(db, 60, 100), 1);
	assert_int_equal(api->get_prefix(db, &a, 10, &h), 0);
	assert_int_equal(h.prefix.len, 8);
	assert_int_equal(h.nested, 0);
	api->close(db);
}

/* ---- expiry and sweeping ---------------------------------------------------------------- */

static void test_l2_expiry(void **state)
{
	struct rasn_cache *c = open_cache(NULL, T0);
	put(c, "8.0.0.0/8", "L8", T0, 10000);
	put(c, "8.8.8.0/24", "L24", T0, 1000);
	put(c, "1.1.1.0/24", "one", T0, 1000);
	rasn_cache_free(c);

	c = open_cache(NULL, T0);
	expect(c, "1.1.1.1", T0 + 999, "one", "1.1.1.0/24", 2);
	rasn_cache_free(c);
	c = open_cache(NULL, T0);
	expect(c, "1.1.1.1", T0 + 1000, NULL, NULL, 0);
	/* an expired /24 falls back to the live /8 below it */
	expect(c, "8.8.8.8", T0 + 1500, "L8", "8.0.0.0/8", 2);
	expect(c, "8.8.8.8", T0 + 10000, NULL, NULL, 0);
	/* a clock that went back beyond max_ttl (7 days): not trusted */
	expect(c, "8.9.9.9", T0 - 8 * 86400000ull, NULL, NULL, 0);
	rasn_cache_free(c);
}

static void test_sweep(void **state)
{
	struct rasn_cache *c = open_cache(NULL, T0);
	char pfx[32];
	for (int i = 0; i < 10; i++) {
		snprintf(pfx, sizeof(pfx), "10.%d.0.0/16", i);
		put(c, pfx, "old", T0, 100);
		snprintf(pfx, sizeof(pfx), "11.%d.0.0/16", i);
		put(c, pfx, "new", T0, 100000);
	}
	rasn_cache_free(c);
	c = open_cache(NULL, T0);
	size_t total = 0, r;
	/* a budget of 6 entries per call; 21 keys (with the format marker): 4 calls to see all */
	for (int i = 0; i < 4; i++) {
		r = rasn_cache_sweep(c, T0 + 200, 6);
		assert_true(r <= 6);
		total += r;
	}
	assert_int_equal(total, 10);
	assert_int_equal(stats(c).l2_swept, 10);
	assert_int_equal(rasn_cache_sweep(c, T0 + 200, 100), 0);
	expect(c, "11.3.0.1", T0 + 200, "new", "11.3.0.0/16", 2);
	expect(c, "10.3.0.1", T0, NULL, NULL, 0); /* gone, even for a clock before its expiry */
	rasn_cache_free(c);
}

static void put_raw(rocksdb_t *db, const void *k, size_t kl, const void *v, size_t vl)
{
	rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
	char *e = NULL;
	rocksdb_put(db, wo, k, kl, v, vl, &e);
	assert_null(e);
	rocksdb_writeoptions_destroy(wo);
}

/* A value or key the backend never writes is stepped over and swept, never served. */
static void test_damaged_values(void **state)
{
	struct rasn_cache *c = open_cache(NULL, T0);
	put(c, "8.0.0.0/8", "L8", T0, 100000);
	rasn_cache_free(c);

	rocksdb_options_t *o = rocksdb_options_create();
	char *e = NULL;
	rocksdb_t *db = rocksdb_open(o, store, &e);
	assert_null(e);
	uint8_t k[RASN_CACHE_PKEY_LEN];
	struct rasn_prefix p = P("8.8.8.0/24");
	rasn_cache_key_prefix(p.family, p.addr, p.len, k);
	put_raw(db, k, sizeof(k), "\x01", 1);                      /* too short */
	p = P("8.8.0.0/16");
	rasn_cache_key_prefix(p.family, p.addr, p.len, k);
	put_raw(db, k, sizeof(k), "\x02\x00\xff\xff\xff\xff\xff\xff\xff\xffxx", 12); /* version */
	k[18] = 40; /* an impossible length, in the IPv4 range */
	put_raw(db, k, sizeof(k), "\x01\x00\xff\xff\xff\xff\xff\xff\xff\xffxx", 12);
	put_raw(db, "Nbad.example", 12, "\x01", 1);
	rocksdb_close(db);
	rocksdb_options_destroy(o);

	c = open_cache(NULL, T0);
	struct rasn_cache_hit h;
	expect(c, "8.8.8.8", T0, "L8", "8.0.0.0/8", 2);
	assert_int_equal(rasn_cache_get_name(c, "bad.example", 11, T0, &h), -ENOENT);
	assert_int_equal(stats(c).l2_errors, 0);
	assert_int_equal(rasn_cache_sweep(c, T0, 100), 4);
	rasn_cache_free(c);
}

/* ---- bad stores ------------------------------------------------------------------------- */

static void check_fresh_store_works(struct rasn_cache *c, uint64_t now)
{
	assert_int_equal(stats(c).l2_active, 1);
	put(c, "203.0.113.0/24", "fresh", now, 100000);
	rasn_cache_free(c);
	c = open_cache(NULL, now);
	expect(c, "203.0.113.9", now, "fresh", "203.0.113.0/24", 2);
	assert_int_equal(stats(c).l2_recoveries, 0);
	rasn_cache_free(c);
}

static void test_garbage_files(void **state)
{
	struct logbook lb = { "", 0 };
	char moved[600], want[700];
	int count;
	assert_int_equal(mkdir(store, 0700), 0);
	write_file(store, "junk", "not a database\n", 15);
	write_file(store, "000001.sst", "\x00\x01garbage", 9);
	write_file(store, "MANIFEST-000001", "garbage", 7);

	struct rasn_cache *c = open_cache(&lb, T0 + 123);
	find_moved(moved, sizeof(moved), &count);
	assert_int_equal(count, 1);
	snprintf(want, sizeof(want), "%s.corrupt-%llu", store, T0 / 1000);
	assert_string_equal(moved, want);
	snprintf(want, sizeof(want), "%s/junk", moved);
	assert_true(exists(want)); /* kept for inspection */
	assert_int_equal(stats(c).l2_recoveries, 1);
	assert_non_null(strstr(lb.text, "no RocksDB store"));
	assert_non_null(strstr(lb.text, "starting a fresh store"));
	check_fresh_store_works(c, T0);
}

static void test_current_points_nowhere(void **state)
{
	struct logbook lb = { "", 0 };
	char moved[600];
	int count;
	struct rasn_cache *c = open_cache(NULL, T0);
	put(c, "8.8.8.0/24", "old", T0, 100000);
	rasn_cache_free(c);
	write_file(store, "CURRENT", "MANIFEST-999999\n", 16);

	c = open_cache(&lb, T0);
	find_moved(moved, sizeof(moved), &count);
	assert_int_equal(count, 1);
	assert_int_equal(stats(c).l2_recoveries, 1);
	expect(c, "8.8.8.8", T0, NULL, NULL, 0); /* the old data is never served */
	assert_non_null(strstr(lb.text, "cannot be used"));
	check_fresh_store_works(c, T0);

	/* a CURRENT that is not even a file name */
	c = open_cache(NULL, T0);
	rasn_cache_free(c);
	write_file(store, "CURRENT", "\xff\xfe", 2);
	c = open_cache(NULL, T0 + 5000);
	find_moved(moved, sizeof(moved), &count);
	assert_int_equal(count, 2);
	assert_int_equal(stats(c).l2_recoveries, 1);
	expect(c, "203.0.113.9", T0, NULL, NULL, 0);
	check_fresh_store_works(c, T0);
}

/* Table files overwritten with noise of the same size: caught at open or at the first read
 * (checksums); either way the store is replaced and nothing from it is served. */
static void test_damaged_tables(void **state)
{
	struct logbook lb = { "", 0 };
	char path[700], moved[600];
	int count, tables = 0;
	struct rasn_cache *c = open_cache(NULL, T0);
	for (int i = 0; i < 200; i++) {
		char pfx[32];
		snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", i / 256, i % 256);
		put(c, pfx, "payload-payload-payload", T0, 100000);
	}
	put(c, "8.8.8.0/24", "old", T0, 100000);
	rasn_cache_free(c); /* flushes into a table file */

	DIR *d = opendir(store);
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".sst") == 0) {
			struct stat sb;
			snprintf(path, sizeof(path), "%s/%s", store, e->d_name);
			assert_int_equal(stat(path, &sb), 0);
			char *noise = malloc((size_t)sb.st_size);
			assert_non_null(noise);
			for (off_t i = 0; i < sb.st_size; i++)
				noise[i] = (char)rnd();
			write_file(store, e->d_name, noise, (size_t)sb.st_size);
			free(noise);
			tables++;
		}
	}
	closedir(d);
	assert_true(tables > 0);

	c = open_cache(&lb, T0);
	expect(c, "8.8.8.8", T0, NULL, NULL, 0);
	expect(c, "10.0.1.1", T0, NULL, NULL, 0);
	find_moved(moved, sizeof(moved), &count);
	assert_int_equal(count, 1);
	assert_int_equal(stats(c).l2_recoveries, 1);
	check_fresh_store_works(c, T0);
}

static void test_not_a_directory(void **state)
{
	char moved[600];
	int count;
	int fd = open(store, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	struct rasn_cache *c = open_cache(NULL, T0);
	find_moved(moved, sizeof(moved), &count);
	assert_int_equal(count, 1);
	check_fresh_store_works(c, T0);
}

static void test_foreign_rocksdb(void **state)
{
	char moved[600];
	int count;
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(o, 1);
	char *e = NULL;
	rocksdb_t *db = rocksdb_open(o, store, &e);
	assert_null(e);
	put_raw(db, "hello", 5, "world", 5);
	rocksdb_close(db);
	rocksdb_options_destroy(o);

	struct logbook lb = { "", 0 };
	struct rasn_cache *c = open_cache(&lb, T0);
	find_moved(moved, sizeof(moved), &count);
	assert_int_equal(count, 1);
	assert_non_null(strstr(lb.text, "without the rasn-cache-1 marker"));
	check_fresh_store_works(c, T0);
}

static void test_locked_store_left_alone(void **state)
{
	char moved[600];
	int count;
	struct logbook lb = { "", 0 };
	struct rasn_cache *a = open_cache(NULL, T0);
	put(a, "8.8.8.0/24", "g", T0, 100000);
	struct rasn_cache *b = open_cache(&lb, T0);
	assert_int_equal(stats(b).l2_active, 0);
	assert_int_equal(stats(b).l2_recoveries, 0);
	find_moved(moved, sizeof(moved), &count);
	assert_int_equal(count, 0);
	assert_non_null(strstr(lb.text, "unavailable (Device or resource busy"));
	expect(b, "8.8.8.8", T0, NULL, NULL, 0);
	rasn_cache_free(b);
	rasn_cache_free(a);
	a = open_cache(NULL, T0);
	expect(a, "8.8.8.8", T0, "g", "8.8.8.0/24", 2);
	rasn_cache_free(a);
}

/* A store that cannot even be created (its parent is missing): no L2, nothing moved. */
static void test_cannot_create(void **state)
{
	struct logbook lb = { "", 0 };
	snprintf(store, sizeof(store), "%s/missing/l2", tmproot);
	struct rasn_cache *c = open_cache(&lb, T0);
	assert_int_equal(stats(c).l2_active, 0);
	assert_int_equal(stats(c).l2_recoveries, 0);
	assert_non_null(strstr(lb.text, "cannot create L2 store"));
	put(c, "8.8.8.0/24", "g", T0, 1000);
	expect(c, "8.8.8.8", T0, "g", "8.8.8.0/24", 1);
	rasn_cache_free(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_roundtrip_persist),
		T(test_values),
		T(test_nested_seek),
		T(test_seek_vs_reference),
		T(test_reads_see_writes),
		T(test_l2_expiry),
		T(test_sweep),
		T(test_damaged_values),
		T(test_garbage_files),
		T(test_current_points_nowhere),
		T(test_damaged_tables),
		T(test_not_a_directory),
		T(test_foreign_rocksdb),
		T(test_locked_store_left_alone),
		T(test_cannot_create),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
