/* Unit tests for lib/cache.c: key encoding and its sort order, L1 (LRU order, byte bound,
 * TTL with an injected clock, longest-prefix match over nested prefixes in both families,
 * negative entries, TTL clamps), and the engine's L2 logic against a scripted in-memory
 * backend: warming, the nested-prefix rules, error counting, and moving a bad store aside;
 * the store hook of a write-through level. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cache.h"

/* ---- helpers ---------------------------------------------------------------------------- */

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

static struct rasn_cache_val V(const char *s)
{
	return (struct rasn_cache_val){ s, strlen(s), 0 };
}

static struct rasn_cache_val NEG(const char *s)
{
	return (struct rasn_cache_val){ s, strlen(s), RASN_CACHE_NEGATIVE };
}

static struct rasn_cache *new_cache(struct rasn_cache_opts *o)
{
	struct rasn_cache *c = NULL;
	assert_int_equal(rasn_cache_new(o, &c), 0);
	assert_non_null(c);
	return c;
}

static void put(struct rasn_cache *c, const char *pfx, const char *val, uint64_t now, uint64_t ttl)
{
	struct rasn_prefix p = P(pfx);
	struct rasn_cache_val v = V(val);
	assert_int_equal(rasn_cache_put_prefix(c, &p, &v, now, ttl), 0);
}

/* Look up ip; expect the value (NULL: a miss), the prefix it was found under and the level. */
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
	assert_string_equal(buf, pfx);
	assert_int_equal(h.level, level);
}

static struct rasn_cache_stats stats(struct rasn_cache *c)
{
	struct rasn_cache_stats st;
	rasn_cache_stats(c, &st);
	return st;
}

static char tmproot[256];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int tmp_setup(void **state)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmproot, sizeof(tmproot), "%s/rasn-test-cache.XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(tmproot));
	return 0;
}

static int tmp_teardown(void **state)
{
	nftw(tmproot, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

/* ---- keys ------------------------------------------------------------------------------- */

static void test_key_bytes(void **state)
{
	uint8_t k[RASN_CACHE_PKEY_LEN];
	static const uint8_t want4[RASN_CACHE_PKEY_LEN] = {
		'P', 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 0, 24,
	};
	static const uint8_t want6[RASN_CACHE_PKEY_LEN] = {
		'P', 6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32,
	};
	struct rasn_prefix p = P("8.8.8.0/24"), q;
	rasn_cache_key_prefix(p.family, p.addr, p.len, k);
	assert_memory_equal(k, want4, sizeof(k));
	assert_int_equal(rasn_cache_key_prefix_decode(k, sizeof(k), &q), 0);
	assert_true(q.family == p.family && q.addr == p.addr && q.len == p.len);
	p = P("2001:db8::/32");
	rasn_cache_key_prefix(p.family, p.addr, p.len, k);
	assert_memory_equal(k, want6, sizeof(k));

	/* decode refuses what no encoder writes */
	uint8_t bad[RASN_CACHE_PKEY_LEN];
	memcpy(bad, want4, sizeof(bad));
	assert_int_equal(rasn_cache_key_prefix_decode(bad, sizeof(bad) - 1, &q), -EINVAL);
	bad[18] = 33;
	assert_int_equal(rasn_cache_key_prefix_decode(bad, sizeof(bad), &q), -EINVAL);
	bad[18] = 16; /* 8.8.8.0/16 has host bits */
	assert_int_equal(rasn_cache_key_prefix_decode(bad, sizeof(bad), &q), -EINVAL);
	memcpy(bad, want4, sizeof(bad));
	bad[1] = 5;
	assert_int_equal(rasn_cache_key_prefix_decode(bad, sizeof(bad), &q), -EINVAL);
	memcpy(bad, want4, sizeof(bad));
	bad[0] = 'N';
	assert_int_equal(rasn_cache_key_prefix_decode(bad, sizeof(bad), &q), -EINVAL);
	memcpy(bad, want4, sizeof(bad));
	bad[13] = 1; /* IPv4 key with a bit above 32 */
	assert_int_equal(rasn_cache_key_prefix_decode(bad, sizeof(bad), &q), -EINVAL);
}

struct keyed {
	struct rasn_prefix p;
	uint8_t k[RASN_CACHE_PKEY_LEN];
};

static int by_bytes(const void *x, const void *y)
{
	return memcmp(((const struct keyed *)x)->k, ((const struct keyed *)y)->k, RASN_CACHE_PKEY_LEN);
}

static void test_key_order(void **state)
{
	/* Sorting the encoded keys as bytes must give (family, address, length) order. */
	static const char *pfx[] = {
		"2001:db8::/32", "0.0.0.0/0", "8.8.8.0/24", "8.0.0.0/8", "8.8.8.8/32", "8.8.8.0/25",
		"8.8.8.128/25", "9.0.0.0/8", "255.255.255.255/32", "::/0", "::/128", "2001:db8::/48",
		"2001:db8:0:1::/64", "ffff::/16", "128.0.0.0/1", "8.8.0.0/16", "2001:db8::/33",
		"10.0.0.0/8", "10.0.0.0/32", "1.0.0.0/8",
	};
	struct keyed k[RASN_ARRAY_LEN(pfx)];
	for (size_t i = 0; i < RASN_ARRAY_LEN(pfx); i++) {
		k[i].p = P(pfx[i]);
		rasn_cache_key_prefix(k[i].p.family, k[i].p.addr, k[i].p.len, k[i].k);
	}
	qsort(k, RASN_ARRAY_LEN(k), sizeof(k[0]), by_bytes);
	static const char *want[] = {
		"0.0.0.0/0", "1.0.0.0/8", "8.0.0.0/8", "8.8.0.0/16", "8.8.8.0/24", "8.8.8.0/25",
		"8.8.8.8/32", "8.8.8.128/25", "9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/32",
		"128.0.0.0/1", "255.255.255.255/32", "::/0", "::/128", "2001:db8::/32",
		"2001:db8::/33", "2001:db8::/48", "2001:db8:0:1::/64", "ffff::/16",
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(want); i++) {
		char buf[RASN_PREFIX_STRLEN];
		rasn_prefix_format(&k[i].p, buf);
		assert_string_equal(buf, want[i]);
	}
	/* every prefix that holds an address sorts at or before 'P'|family|address|0xff */
	uint8_t probe[RASN_CACHE_PKEY_LEN];
	struct rasn_addr a = A("8.8.8.8");
	rasn_cache_key_prefix(a.family, a.v, 0, probe);
	probe[18] = 0xff;
	for (size_t i = 0; i < RASN_ARRAY_LEN(k); i++)
		if (k[i].p.family == a.family &&
		    (a.v & ~rasn_hostmask(a.family, k[i].p.len)) == k[i].p.addr)
			assert_true(memcmp(k[i].k, probe, sizeof(probe)) <= 0);
}

static void test_key_name(void **state)
{
	char out[RASN_CACHE_NAME_MAX], in[300];
	assert_int_equal(rasn_cache_key_name("WWW.Example.COM.", 16, out), 15);
	assert_memory_equal(out, "www.example.com", 15);
	assert_int_equal(rasn_cache_key_name("", 0, out), -EINVAL);
	assert_int_equal(rasn_cache_key_name(".", 1, out), -EINVAL);
	memset(in, 'a', sizeof(in));
	in[255] = '.';
	assert_int_equal(rasn_cache_key_name(in, 256, out), 255);
	assert_int_equal(rasn_cache_key_name(in, 255, out), 255);
	assert_int_equal(rasn_cache_key_name(in, 257, out), -ENAMETOOLONG);
}

static void test_store_prefix(void **state)
{
	struct rasn_prefix big = P("8.0.0.0/8"), small = P("8.8.8.128/25"), v6 = P("2001:db8::/32");
	struct rasn_addr a = A("8.8.8.200"), b = A("2001:db8:1:2::1");
	char buf[RASN_PREFIX_STRLEN];
	struct rasn_prefix r = rasn_cache_store_prefix(&big, &a);
	rasn_prefix_format(&r, buf);
	assert_string_equal(buf, "8.8.8.0/24");
	r = rasn_cache_store_prefix(&small, &a);
	rasn_prefix_format(&r, buf);
	assert_string_equal(buf, "8.8.8.128/25");
	r = rasn_cache_store_prefix(&v6, &b);
	rasn_prefix_format(&r, buf);
	assert_string_equal(buf, "2001:db8:1::/48");
}

/* ---- L1 --------------------------------------------------------------------------------- */

static void test_l1_lru_order(void **state)
{
	struct rasn_cache_opts o = { .l1_max_entries = 3 };
	struct rasn_cache *c = new_cache(&o);
	struct rasn_cache_hit h;
	struct rasn_cache_val v = V("name");

	put(c, "1.0.0.0/24", "a", 0, 1000);
	put(c, "2.0.0.0/24", "b", 0, 1000);
	assert_int_equal(rasn_cache_put_name(c, "c.example", 9, &v, 0, 1000), 0);
	expect(c, "1.0.0.1", 1, "a", "1.0.0.0/24", 1); /* a is now the most recent */
	put(c, "4.0.0.0/24", "d", 2, 1000);            /* evicts b, the least recent */
	expect(c, "2.0.0.1", 3, NULL, NULL, 0);
	expect(c, "1.0.0.1", 3, "a", "1.0.0.0/24", 1);
	expect(c, "4.0.0.1", 3, "d", "4.0.0.0/24", 1);
	/* order now (most recent first): d a c; the name goes next */
	put(c, "5.0.0.0/24", "e", 4, 1000);
	assert_int_equal(rasn_cache_get_name(c, "c.example", 9, 5, &h), -ENOENT);
	expect(c, "1.0.0.1", 5, "a", "1.0.0.0/24", 1);
	put(c, "6.0.0.0/24", "f", 6, 1000); /* evicts d */
	expect(c, "4.0.0.1", 7, NULL, NULL, 0);
	expect(c, "5.0.0.1", 7, "e", "5.0.0.0/24", 1);

	struct rasn_cache_stats st = stats(c);
	assert_int_equal(st.l1_entries, 3);
	assert_int_equal(st.l1_inserts, 6);
	assert_int_equal(st.l1_evictions, 3);
	assert_int_equal(st.l1_hits, 5);
	assert_int_equal(st.l1_misses, 3);
	assert_int_equal(st.l1_expirations, 0);
	assert_int_equal(st.l2_active, 0);
	rasn_cache_free(c);
}

static void test_l1_byte_bound(void **state)
{
	char big[1000];
	memset(big, 'x', sizeof(big));
	struct rasn_cache_opts o = { .l1_max_bytes = 2600, .max_value = 1000 };
	struct rasn_cache *c = new_cache(&o);
	struct rasn_cache_val v = { big, sizeof(big), 0 };
	struct rasn_prefix p1 = P("1.0.0.0/8"), p2 = P("2.0.0.0/8"), p3 = P("3.0.0.0/8");
	assert_int_equal(rasn_cache_put_prefix(c, &p1, &v, 0, 100), 0);
	assert_int_equal(rasn_cache_put_prefix(c, &p2, &v, 0, 100), 0);
	assert_int_equal(stats(c).l1_entries, 2);
	assert_int_equal(rasn_cache_put_prefix(c, &p3, &v, 0, 100), 0);
	assert_int_equal(stats(c).l1_entries, 2);
	assert_true(stats(c).l1_bytes <= 2600);
	assert_int_equal(stats(c).l1_evictions, 1);
	expect(c, "1.1.1.1", 1, NULL, NULL, 0);

	struct rasn_cache_val toobig = { big, 1001, 0 };
	assert_int_equal(rasn_cache_put_prefix(c, &p1, &toobig, 0, 100), -E2BIG);
	rasn_cache_free(c);
}

static void test_l1_ttl(void **state)
{
	struct rasn_cache_opts o = { 0 };
	struct rasn_cache *c = new_cache(&o);
	struct rasn_cache_hit h;
	struct rasn_addr a = A("8.8.8.8");

	put(c, "8.8.8.0/24", "g", 1000, 500);
	assert_int_equal(rasn_cache_get_addr(c, &a, 1000, &h), 0);
	assert_int_equal(h.expires_ms, 1500);
	expect(c, "8.8.8.8", 1499, "g", "8.8.8.0/24", 1);
	expect(c, "8.8.8.8", 1500, NULL, NULL, 0);
	struct rasn_cache_stats st = stats(c);
	assert_int_equal(st.l1_expirations, 1);
	assert_int_equal(st.l1_entries, 0);
	assert_int_equal(st.l1_bytes, 0);

	/* TTL 0 stores nothing */
	put(c, "8.8.8.0/24", "g", 2000, 0);
	assert_int_equal(stats(c).l1_entries, 0);

	/* a clock that went back by more than max_ttl: the entry is not trusted */
	put(c, "8.8.8.0/24", "g", 10 * 86400000ull, 1000);
	expect(c, "8.8.8.8", 10 * 86400000ull, "g", "8.8.8.0/24", 1);
	expect(c, "8.8.8.8", 1000, NULL, NULL, 0);

	/* sweep drops what expired, touching nothing live */
	put(c, "1.0.0.0/24", "a", 0, 100);
	put(c, "2.0.0.0/24", "b", 0, 300);
	put(c, "3.0.0.0/24", "c", 0, 100);
	assert_int_equal(rasn_cache_sweep(c, 200, 10), 2);
	assert_int_equal(stats(c).l1_entries, 1);
	expect(c, "2.0.0.1", 200, "b", "2.0.0.0/24", 1);
	rasn_cache_free(c);
}

static void test_l1_lpm_v4(void **state)
{
	struct rasn_cache_opts o = { 0 };
	struct rasn_cache *c = new_cache(&o);

	put(c, "8.0.0.0/8", "L8", 0, 10000);
	put(c, "8.8.8.0/24", "L24", 0, 5000);
	put(c, "8.8.8.8/32", "L32", 0, 10000);
	put(c, "0.0.0.0/0", "L0", 0, 10000);
	expect(c, "8.8.8.8", 1, "L32", "8.8.8.8/32", 1);
	expect(c, "8.8.8.9", 1, "L24", "8.8.8.0/24", 1);
	expect(c, "8.9.0.1", 1, "L8", "8.0.0.0/8", 1);
	expect(c, "8.255.255.255", 1, "L8", "8.0.0.0/8", 1);
	expect(c, "9.0.0.0", 1, "L0", "0.0.0.0/0", 1);
	/* an IPv6 address never matches IPv4 entries */
	expect(c, "::808:808", 1, NULL, NULL, 0);
	/* the /24 expires first: its addresses fall back to the /8 */
	expect(c, "8.8.8.9", 5000, "L8", "8.0.0.0/8", 1);
	assert_int_equal(stats(c).l1_expirations, 1);
	expect(c, "8.8.8.8", 5000, "L32", "8.8.8.8/32", 1);
	rasn_cache_free(c);
}

static void test_l1_lpm_v6(void **state)
{
	struct rasn_cache_opts o = { 0 };
	struct rasn_cache *c = new_cache(&o);

	put(c, "2001:db8::/32", "L32", 0, 1000);
	put(c, "2001:db8:1::/48", "L48", 0, 1000);
	put(c, "2001:db8:1:2::/64", "L64", 0, 1000);
	put(c, "::/0", "L0", 0, 1000);
	put(c, "2001:db8:1:2::1/128", "L128", 0, 1000);
	put(c, "0.0.0.0/0", "v4", 0, 1000);
	expect(c, "2001:db8:1:2::1", 1, "L128", "2001:db8:1:2::1/128", 1);
	expect(c, "2001:db8:1:2::2", 1, "L64", "2001:db8:1:2::/64", 1);
	expect(c, "2001:db8:1:3::", 1, "L48", "2001:db8:1::/48", 1);
	expect(c, "2001:db8:ffff::", 1, "L32", "2001:db8::/32", 1);
	expect(c, "2001:db9::", 1, "L0", "::/0", 1);
	expect(c, "1.2.3.4", 1, "v4", "0.0.0.0/0", 1);
	rasn_cache_free(c);
}

static void test_l1_replace_and_negative(void **state)
{
	struct rasn_cache_opts o = { .negative_ttl_ms = 60000 };
	struct rasn_cache *c = new_cache(&o);
	struct rasn_cache_hit h;
	struct rasn_prefix p = P("192.0.2.0/24");
	struct rasn_cache_val n = NEG("none");
	struct rasn_addr a = A("192.0.2.1");

	put(c, "192.0.2.0/24", "old", 0, 1000);
	put(c, "192.0.2.0/24", "new", 0, 1000);
	expect(c, "192.0.2.1", 1, "new", "192.0.2.0/24", 1);
	assert_int_equal(stats(c).l1_entries, 1);

	assert_int_equal(rasn_cache_put_prefix(c, &p, &n, 100, 3600000), 0);
	assert_int_equal(rasn_cache_get_addr(c, &a, 101, &h), 0);
	assert_int_equal(h.val.flags, RASN_CACHE_NEGATIVE);
	assert_int_equal(h.expires_ms, 60100);
	assert_int_equal(h.val.len, 4);
	expect(c, "192.0.2.1", 60100, NULL, NULL, 0);
	rasn_cache_free(c);
}

static void test_names(void **state)
{
	struct rasn_cache_opts o = { .name_ttl_floor_ms = 1000, .name_ttl_cap_ms = 10000,
				     .negative_ttl_ms = 3000 };
	struct rasn_cache *c = new_cache(&o);
	struct rasn_cache_hit h;
	struct rasn_cache_val v = V("1.2.3.4"), n = NEG("");

	assert_int_equal(rasn_cache_put_name(c, "Example.COM.", 12, &v, 0, 1), 0);
	assert_int_equal(rasn_cache_get_name(c, "example.com", 11, 0, &h), 0);
	assert_int_equal(h.expires_ms, 1000); /* raised to the floor */
	assert_int_equal(h.level, 1);
	assert_memory_equal(h.val.data, "1.2.3.4", 7);
	assert_int_equal(rasn_cache_get_name(c, "EXAMPLE.com.", 12, 999, &h), 0);
	assert_int_equal(rasn_cache_get_name(c, "example.com", 11, 1000, &h), -ENOENT);

	assert_int_equal(rasn_cache_put_name(c, "b.example", 9, &v, 0, 86400000), 0);
	assert_int_equal(rasn_cache_get_name(c, "b.example", 9, 0, &h), 0);
	assert_int_equal(h.expires_ms, 10000); /* lowered to the cap */

	assert_int_equal(rasn_cache_put_name(c, "nx.example", 10, &n, 0, 9000), 0);
	assert_int_equal(rasn_cache_get_name(c, "nx.example", 10, 0, &h), 0);
	assert_int_equal(h.expires_ms, 3000);
	assert_int_equal(h.val.flags, RASN_CACHE_NEGATIVE);
	assert_int_equal(h.val.len, 0);

	/* a name and a prefix never collide */
	assert_int_equal(rasn_cache_get_name(c, "c.example", 9, 0, &h), -ENOENT);
	assert_int_equal(rasn_cache_get_name(c, "", 0, 0, &h), -EINVAL);
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(rasn_cache_put_name(c, longname, 256, &v, 0, 10), -ENAMETOOLONG);
	rasn_cache_free(c);
}

static void test_bad_args(void **state)
{
	struct rasn_cache_opts o = { 0 };
	struct rasn_cache *c = new_cache(&o);
	struct rasn_prefix hostbits = { RASN_AF4, 0x08080801, 24 }, badlen = { RASN_AF4, 0, 33 };
	struct rasn_prefix badfam = { 0, 0, 0 };
	struct rasn_cache_val v = V("x"), nodata = { NULL, 3, 0 };
	struct rasn_addr wide = { RASN_AF4, (rasn_u128)1 << 33 };
	struct rasn_cache_hit h;
	struct rasn_prefix ok = P("8.8.8.0/24");

	assert_int_equal(rasn_cache_put_prefix(c, &hostbits, &v, 0, 10), -EINVAL);
	assert_int_equal(rasn_cache_put_prefix(c, &badlen, &v, 0, 10), -EINVAL);
	assert_int_equal(rasn_cache_put_prefix(c, &badfam, &v, 0, 10), -EINVAL);
	assert_int_equal(rasn_cache_put_prefix(c, &ok, &nodata, 0, 10), -EINVAL);
	assert_int_equal(rasn_cache_get_addr(c, &wide, 0, &h), -EINVAL);
	rasn_cache_free(c);

	struct rasn_cache *c2 = NULL;
	struct rasn_cache_opts bad = { .name_ttl_floor_ms = 10, .name_ttl_cap_ms = 5 };
	assert_int_equal(rasn_cache_new(&bad, &c2), -EINVAL);
	assert_null(c2);
	struct rasn_cache_opts bad2 = { .max_value = RASN_CACHE_VALUE_MAX + 1 };
	assert_int_equal(rasn_cache_new(&bad2, &c2), -EINVAL);
	struct rasn_cache_opts bad3 = { .l2_path = "" };
	assert_int_equal(rasn_cache_new(&bad3, &c2), -EINVAL);
}

/* Without L2, evicting a prefix also drops the L1 entries covering it: the cache must not
 * answer 8.8.8.8 with the /8 once it has forgotten the /24 it was told about. */
static void test_l1_evict_drops_covering(void **state)
{
	struct rasn_cache_opts o = { .l1_max_entries = 2 };
	struct rasn_cache *c = new_cache(&o);
	put(c, "8.8.8.0/24", "L24", 0, 1000);
	put(c, "8.0.0.0/8", "L8", 0, 1000);
	put(c, "1.1.1.0/24", "x", 0, 1000); /* evicts the /24, and with it the /8 */
	expect(c, "8.8.8.8", 1, NULL, NULL, 0);
	expect(c, "8.9.0.1", 1, NULL, NULL, 0);
	expect(c, "1.1.1.1", 1, "x", "1.1.1.0/24", 1);
	assert_int_equal(stats(c).l1_evictions, 2);
	rasn_cache_free(c);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* L1's probe over the lengths present, against a brute-force longest match, with puts,
 * overwrites and expiry interleaved (no evictions: the bound is above the key count). */
static void test_l1_lpm_vs_reference(void **state)
{
	static struct {
		struct rasn_prefix p;
		uint64_t exp;
		uint32_t tag;
	} ref[600];
	size_t n = 0;
	uint64_t now = 1000;
	struct rasn_cache_opts o = { .l1_max_entries = 1000, .hash_seed = 42 };
	struct rasn_cache *c = new_cache(&o);

	for (int step = 0; step < 30000; step++) {
		int fam = rnd() & 1 ? RASN_AF6 : RASN_AF4;
		rasn_u128 addr = fam == RASN_AF4 ? 0x0a000000u | (uint32_t)(rnd() & 0x3ff) << 6
						 : (rasn_u128)0x20010db8u << 96 | (rasn_u128)(rnd() & 0x3ff) << 54;
		if (step % 3 == 0) {
			unsigned len = fam == RASN_AF4 ? 8 + (unsigned)(rnd() % 25) : 32 + (unsigned)(rnd() % 97);
			struct rasn_prefix p = { fam, addr & ~rasn_hostmask(fam, len), len };
			uint32_t tag = (uint32_t)step;
			struct rasn_cache_val v = { &tag, sizeof(tag), 0 };
			uint64_t ttl = 1 + rnd() % 500;
			size_t i;
			for (i = 0; i < n; i++)
				if (ref[i].p.family == fam && ref[i].p.addr == p.addr && ref[i].p.len == len)
					break;
			if (i == n) {
				if (n == RASN_ARRAY_LEN(ref))
					continue;
				n++;
			}
			ref[i].p = p;
			ref[i].exp = now + ttl;
			ref[i].tag = tag;
			assert_int_equal(rasn_cache_put_prefix(c, &p, &v, now, ttl), 0);
			continue;
		}
		now += rnd() % 3;
		struct rasn_addr a = { fam, addr | (rnd() & 0x3f) };
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < n; i++)
			if (ref[i].exp > now && ref[i].p.family == fam &&
			    (a.v & ~rasn_hostmask(fam, ref[i].p.len)) == ref[i].p.addr &&
			    (best == SIZE_MAX || ref[i].p.len > ref[best].p.len))
				best = i;
		struct rasn_cache_hit h;
		int rc = rasn_cache_get_addr(c, &a, now, &h);
		if (best == SIZE_MAX) {
			assert_int_equal(rc, -ENOENT);
			continue;
		}
		assert_int_equal(rc, 0);
		uint32_t tag;
		memcpy(&tag, h.val.data, sizeof(tag));
		assert_int_equal(tag, ref[best].tag);
		assert_int_equal(h.prefix.len, ref[best].p.len);
	}
	assert_int_equal(stats(c).l1_evictions, 0);
	assert_true(stats(c).l1_expirations > 0);
	rasn_cache_free(c);
}

/* ---- the engine over a scripted backend ------------------------------------------------- */

struct fake_ent {
	int is_name;
	struct rasn_prefix p;
	char name[RASN_CACHE_NAME_MAX];
	size_t nlen;
	char data[64];
	size_t len;
	unsigned flags;
	uint64_t exp;
};

/* Test-only state: the backend API hands open() no user pointer, only a path. */
static struct fake {
	struct fake_ent e[64];
	size_t n;
	int open_rc[4];      /* successive open() results */
	size_t opens, closes;
	int get_rc, put_rc;  /* forced results (0: behave) */
	int get_rc_once;
	size_t gets, puts;
	char scratch[64];
} fk;

static int fake_open(void **db, const struct rasn_cache_backend_opts *o, char *err, size_t errlen)
{
	int rc = fk.opens < 4 ? fk.open_rc[fk.opens] : 0;
	fk.opens++;
	if (rc < 0) {
		snprintf(err, errlen, "scripted failure");
		return rc;
	}
	*db = &fk;
	return 0;
}

static void fake_close(void *db) { fk.closes++; }

static int fake_covers(const struct rasn_prefix *p, const struct rasn_addr *a)
{
	return p->family == a->family && (a->v & ~rasn_hostmask(a->family, p->len)) == p->addr;
}

static int fake_inside(const struct rasn_prefix *in, const struct rasn_prefix *p)
{
	return in->family == p->family && in->len > p->len &&
	       (in->addr & ~rasn_hostmask(p->family, p->len)) == p->addr;
}

static int fake_forced(void)
{
	int rc = fk.get_rc;
	if (fk.get_rc_once) {
		fk.get_rc = 0;
		fk.get_rc_once = 0;
	}
	return rc;
}

static void fake_hit(const struct fake_ent *e, struct rasn_cache_hit *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(fk.scratch, e->data, e->len);
	out->val.data = fk.scratch;
	out->val.len = e->len;
	out->val.flags = e->flags;
	out->expires_ms = e->exp;
	out->prefix = e->p;
}

static int fake_get_prefix(void *db, const struct rasn_addr *a, uint64_t now,
			   struct rasn_cache_hit *out)
{
	struct fake_ent *best = NULL;
	int rc = fake_forced();
	fk.gets++;
	if (rc)
		return rc;
	for (size_t i = 0; i < fk.n; i++) {
		struct fake_ent *e = &fk.e[i];
		if (!e->is_name && e->exp > now && fake_covers(&e->p, a) && (!best || e->p.len > best->p.len))
			best = e;
	}
	if (!best)
		return -ENOENT;
	fake_hit(best, out);
	for (size_t i = 0; i < fk.n; i++)
		if (!fk.e[i].is_name && fake_inside(&fk.e[i].p, &best->p))
			out->nested = 1;
	return 0;
}

static int fake_get_name(void *db, const char *name, size_t len, uint64_t now,
			 struct rasn_cache_hit *out)
{
	int rc = fake_forced();
	fk.gets++;
	if (rc)
		return rc;
	for (size_t i = 0; i < fk.n; i++) {
		struct fake_ent *e = &fk.e[i];
		if (e->is_name && e->nlen == len && memcmp(e->name, name, len) == 0 && e->exp > now) {
			fake_hit(e, out);
			return 0;
		}
	}
	return -ENOENT;
}

static struct fake_ent *fake_slot(int is_name, const struct rasn_prefix *p, const char *name,
				  size_t nlen)
{
	for (size_t i = 0; i < fk.n; i++) {
		struct fake_ent *e = &fk.e[i];
		if (e->is_name == is_name &&
		    (is_name ? e->nlen == nlen && memcmp(e->name, name, nlen) == 0
			     : e->p.family == p->family && e->p.addr == p->addr && e->p.len == p->len))
			return e;
	}
	assert_true(fk.n < RASN_ARRAY_LEN(fk.e));
	return &fk.e[fk.n++];
}

static void fake_store(struct fake_ent *e, const struct rasn_cache_val *v, uint64_t exp)
{
	assert_true(v->len <= sizeof(e->data));
	memcpy(e->data, v->data, v->len);
	e->len = v->len;
	e->flags = v->flags;
	e->exp = exp;
}

static int fake_put_prefix(void *db, const struct rasn_prefix *p, const struct rasn_cache_val *v,
			   uint64_t exp)
{
	fk.puts++;
	if (fk.put_rc)
		return fk.put_rc;
	struct fake_ent *e = fake_slot(0, p, NULL, 0);
	e->is_name = 0;
	e->p = *p;
	fake_store(e, v, exp);
	return 0;
}

static int fake_put_name(void *db, const char *name, size_t len, const struct rasn_cache_val *v,
			 uint64_t exp)
{
	fk.puts++;
	if (fk.put_rc)
		return fk.put_rc;
	struct fake_ent *e = fake_slot(1, NULL, name, len);
	e->is_name = 1;
	memcpy(e->name, name, len);
	e->nlen = len;
	fake_store(e, v, exp);
	return 0;
}

static int fake_has_nested(void *db, const struct rasn_prefix *p)
{
	for (size_t i = 0; i < fk.n; i++)
		if (!fk.e[i].is_name && fake_inside(&fk.e[i].p, p))
			return 1;
	return 0;
}

static int fake_sweep(void *db, uint64_t now, size_t budget)
{
	int removed = 0;
	for (size_t i = 0; i < fk.n;) {
		if (fk.e[i].exp <= now) {
			fk.e[i] = fk.e[--fk.n];
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

static const struct rasn_cache_backend_api fake_api = {
	.name = "fake",
	.open = fake_open,
	.close = fake_close,
	.get_prefix = fake_get_prefix,
	.get_name = fake_get_name,
	.put_prefix = fake_put_prefix,
	.put_name = fake_put_name,
	.has_nested = fake_has_nested,
	.sweep = fake_sweep,
};

static void fake_add(const char *pfx, const char *val, uint64_t exp)
{
	struct rasn_prefix p = P(pfx);
	struct rasn_cache_val v = V(val);
	assert_int_equal(fake_put_prefix(&fk, &p, &v, exp), 0);
	fk.puts--;
}

struct logbook {
	char msgs[16][768];
	int levels[16];
	size_t n;
};

static void log_cb(void *ud, int level, const char *msg)
{
	struct logbook *lb = ud;
	if (lb->n < RASN_ARRAY_LEN(lb->msgs)) {
		snprintf(lb->msgs[lb->n], sizeof(lb->msgs[0]), "%s", msg);
		lb->levels[lb->n] = level;
	}
	lb->n++;
}

static int logged(const struct logbook *lb, const char *needle)
{
	for (size_t i = 0; i < lb->n && i < RASN_ARRAY_LEN(lb->msgs); i++)
		if (strstr(lb->msgs[i], needle))
			return 1;
	return 0;
}

static char store[300];

static struct rasn_cache *fake_cache(struct logbook *lb, size_t l1_entries)
{
	memset(&fk, 0, sizeof(fk));
	snprintf(store, sizeof(store), "%s/store", tmproot);
	struct rasn_cache_opts o = {
		.l1_max_entries = l1_entries, .l2_path = store, .l2_api = &fake_api,
		.now_ms = 1700000000123ull, .log = log_cb, .log_ud = lb,
	};
	return new_cache(&o);
}

static void test_l2_warms_l1(void **state)
{
	struct logbook lb = { .n = 0 };
	struct rasn_cache *c = fake_cache(&lb, 0);
	struct rasn_cache_hit h;
	fake_add("8.8.8.0/24", "g", 10000);

	expect(c, "8.8.8.8", 0, "g", "8.8.8.0/24", 2);
	expect(c, "8.8.8.9", 0, "g", "8.8.8.0/24", 1);
	expect(c, "8.8.9.9", 0, NULL, NULL, 0);
	assert_int_equal(fk.gets, 2);
	struct rasn_cache_stats st = stats(c);
	assert_int_equal(st.l2_hits, 1);
	assert_int_equal(st.l2_misses, 1);
	assert_int_equal(st.l1_hits, 1);
	assert_int_equal(st.l1_misses, 2);
	assert_int_equal(st.l2_active, 1);
	/* the warmed entry keeps L2's expiry */
	struct rasn_addr a = A("8.8.8.1");
	assert_int_equal(rasn_cache_get_addr(c, &a, 9999, &h), 0);
	assert_int_equal(h.expires_ms, 10000);
	expect(c, "8.8.8.1", 10000, NULL, NULL, 0);

	/* names: the same, and the backend sees the normalised name */
	struct rasn_cache_val v = V("addr");
	assert_int_equal(rasn_cache_put_name(c, "WWW.Example.", 12, &v, 0, 5000), 0);
	assert_int_equal(fk.e[fk.n - 1].nlen, 11);
	assert_memory_equal(fk.e[fk.n - 1].name, "www.example", 11);
	rasn_cache_free(c);
	assert_int_equal(fk.closes, 1);
	assert_int_equal(lb.n, 0);
}

static void test_l2_nested_rules(void **state)
{
	struct logbook lb = { .n = 0 };
	struct rasn_cache *c = fake_cache(&lb, 0);
	fake_add("8.0.0.0/8", "L8", 10000);
	fake_add("8.8.8.0/24", "L24", 10000);

	/* the /8 has the /24 inside it: only the host entry is warmed */
	expect(c, "8.9.0.1", 0, "L8", "8.0.0.0/8", 2);
	expect(c, "8.9.0.1", 0, "L8", "8.9.0.1/32", 1);
	expect(c, "8.10.0.1", 0, "L8", "8.0.0.0/8", 2);
	expect(c, "8.8.8.8", 0, "L24", "8.8.8.0/24", 2);
	expect(c, "8.8.8.7", 0, "L24", "8.8.8.0/24", 1);
	assert_int_equal(fk.gets, 3);
	rasn_cache_free(c);

	/* a put whose prefix has entries inside it in L2 stays out of L1 */
	c = fake_cache(&lb, 0);
	fake_add("8.8.8.0/24", "L24", 10000);
	put(c, "8.0.0.0/8", "L8", 0, 10000);
	assert_int_equal(fk.puts, 1);
	assert_int_equal(stats(c).l1_entries, 0);
	expect(c, "8.9.0.1", 1, "L8", "8.0.0.0/8", 2);
	expect(c, "8.8.8.8", 1, "L24", "8.8.8.0/24", 2);
	rasn_cache_free(c);
}

/* With L2 the /24 survives its eviction from L1; L1 must then not answer 8.8.8.8 with the
 * /8 it still holds. */
static void test_l2_evicted_nested(void **state)
{
	struct logbook lb = { .n = 0 };
	struct rasn_cache *c = fake_cache(&lb, 2);
	put(c, "8.0.0.0/8", "L8", 0, 10000);
	put(c, "8.8.8.0/24", "L24", 0, 10000);
	expect(c, "8.9.0.1", 1, "L8", "8.0.0.0/8", 1); /* the /24 is now least recent */
	put(c, "1.1.1.0/24", "x", 1, 10000);           /* evicts it */
	expect(c, "8.8.8.8", 2, "L24", "8.8.8.0/24", 2);
	assert_int_equal(fk.gets, 1);
	rasn_cache_free(c);
}

static void test_l2_errors(void **state)
{
	struct logbook lb = { .n = 0 };
	struct rasn_cache *c = fake_cache(&lb, 0);
	fake_add("8.8.8.0/24", "g", 10000);
	fk.get_rc = -EIO;
	for (int i = 0; i < 5; i++)
		expect(c, "8.8.8.8", 0, NULL, NULL, 0);
	struct rasn_cache_stats st = stats(c);
	assert_int_equal(st.l2_errors, 5);
	assert_int_equal(st.l2_misses, 0);
	assert_int_equal(st.l2_recoveries, 0);
	assert_int_equal(lb.n, 3); /* at the 1st, 2nd and 4th error */
	assert_true(logged(&lb, "(4 errors so far)"));
	fk.get_rc = 0;
	expect(c, "8.8.8.8", 0, "g", "8.8.8.0/24", 2);

	/* a failed write is counted, not returned, and L1 still has the entry */
	fk.put_rc = -EAGAIN;
	put(c, "9.9.9.0/24", "q", 0, 1000);
	assert_int_equal(stats(c).l2_errors, 6);
	assert_int_equal(stats(c).l2_writes, 0);
	expect(c, "9.9.9.9", 0, "q", "9.9.9.0/24", 1);
	fk.put_rc = 0;
	put(c, "9.9.9.0/24", "q", 0, 1000);
	assert_int_equal(stats(c).l2_writes, 1);
	rasn_cache_free(c);
}

static void test_l2_corrupt_at_run_time(void **state)
{
	struct logbook lb = { .n = 0 };
	struct rasn_cache *c = fake_cache(&lb, 0);
	char moved[400];
	assert_int_equal(mkdir(store, 0700), 0);
	fake_add("8.8.8.0/24", "g", 10000);
	fk.get_rc = -EUCLEAN;
	fk.get_rc_once = 1;
	expect(c, "8.8.8.8", 1800000000999ull, NULL, NULL, 0);
	assert_int_equal(fk.closes, 1);
	assert_int_equal(fk.opens, 2);
	snprintf(moved, sizeof(moved), "%s.corrupt-1800000000", store);
	assert_true(exists(moved));
	assert_false(exists(store));
	struct rasn_cache_stats st = stats(c);
	assert_int_equal(st.l2_recoveries, 1);
	assert_int_equal(st.l2_active, 1);
	assert_true(logged(&lb, "moved"));
	rasn_cache_free(c);
}

static void test_l2_open_recovery(void **state)
{
	struct logbook lb = { .n = 0 };
	char moved[400], moved1[400];

	/* open fails as damaged: moved aside, the fresh one opens */
	memset(&fk, 0, sizeof(fk));
	snprintf(store, sizeof(store), "%s/store", tmproot);
	snprintf(moved, sizeof(moved), "%s.corrupt-1700000000", store);
	snprintf(moved1, sizeof(moved1), "%s.corrupt-1700000000-1", store);
	assert_int_equal(mkdir(store, 0700), 0);
	struct rasn_cache_opts o = { .l2_path = store, .l2_api = &fake_api,
				     .now_ms = 1700000000123ull, .log = log_cb, .log_ud = &lb };
	fk.open_rc[0] = -EUCLEAN;
	struct rasn_cache *c = new_cache(&o);
	assert_int_equal(fk.opens, 2);
	assert_true(exists(moved));
	assert_false(exists(store));
	assert_int_equal(stats(c).l2_active, 1);
	assert_int_equal(stats(c).l2_recoveries, 1);
	assert_true(logged(&lb, "cannot be used (Structure needs cleaning: scripted failure)"));
	rasn_cache_free(c);

	/* the same second again: a suffix keeps the first one */
	assert_int_equal(mkdir(store, 0700), 0);
	memset(&fk, 0, sizeof(fk));
	fk.open_rc[0] = -EACCES;
	c = new_cache(&o);
	assert_true(exists(moved1));
	assert_true(exists(moved));
	rasn_cache_free(c);

	/* locked by someone else: left alone, no L2 */
	assert_int_equal(mkdir(store, 0700), 0);
	memset(&fk, 0, sizeof(fk));
	lb.n = 0;
	fk.open_rc[0] = -EBUSY;
	c = new_cache(&o);
	assert_int_equal(fk.opens, 1);
	assert_true(exists(store));
	assert_int_equal(stats(c).l2_active, 0);
	assert_int_equal(stats(c).l2_recoveries, 0);
	assert_true(logged(&lb, "running without L2"));
	put(c, "8.8.8.0/24", "g", 0, 1000);
	expect(c, "8.8.8.8", 1, "g", "8.8.8.0/24", 1);
	expect(c, "8.8.9.8", 1, NULL, NULL, 0);
	assert_int_equal(fk.gets, 0);
	rasn_cache_free(c);
	assert_int_equal(fk.closes, 0);

	/* the fresh one fails too: no L2, no crash */
	memset(&fk, 0, sizeof(fk));
	fk.open_rc[0] = -EIO;
	fk.open_rc[1] = -EIO;
	c = new_cache(&o);
	assert_int_equal(fk.opens, 2);
	assert_int_equal(stats(c).l2_active, 0);
	rasn_cache_free(c);
}

static void test_sweep_both_levels(void **state)
{
	struct logbook lb = { .n = 0 };
	struct rasn_cache *c = fake_cache(&lb, 0);
	put(c, "1.0.0.0/24", "a", 0, 100);
	put(c, "2.0.0.0/24", "b", 0, 500);
	assert_int_equal(rasn_cache_sweep(c, 200, 10), 2); /* one in L1, one in L2 */
	assert_int_equal(fk.n, 1);
	assert_int_equal(stats(c).l2_swept, 1);
	assert_int_equal(rasn_cache_sweep(c, 200, 0), 0);
	rasn_cache_free(c);
}

/* The store hook (a write-through to a further level): told of every stored entry with its
 * key bytes, the bounded expiry and the flags without the put-only ones; not told of entries
 * put with RASN_CACHE_NO_HOOK, nor of those whose TTL bounds leave nothing to store. */
struct stored {
	unsigned n;
	uint8_t key[RASN_CACHE_NAME_MAX + 1];
	size_t klen;
	unsigned flags;
	uint64_t expires;
};

static void on_store(void *ud, const uint8_t *key, size_t klen, const struct rasn_cache_val *v,
		     uint64_t expires_ms)
{
	struct stored *s = ud;
	s->n++;
	memcpy(s->key, key, klen);
	s->klen = klen;
	s->flags = v->flags;
	s->expires = expires_ms;
}

static void test_store_hook(void **state)
{
	struct stored s = { 0 };
	struct rasn_cache_opts o = { .negative_ttl_ms = 300, .name_ttl_floor_ms = 100, .name_ttl_cap_ms = 1000,
				     .on_store = on_store, .store_ud = &s };
	struct rasn_cache *c = new_cache(&o);
	struct rasn_prefix p = P("8.8.8.0/24");
	uint8_t want[RASN_CACHE_PKEY_LEN];
	rasn_cache_key_prefix(p.family, p.addr, p.len, want);

	struct rasn_cache_val v = { "x", 1, RASN_CACHE_NEGATIVE | 0x10 };
	assert_int_equal(rasn_cache_put_prefix(c, &p, &v, 1000, 5000), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.klen, RASN_CACHE_PKEY_LEN);
	assert_memory_equal(s.key, want, sizeof(want));
	assert_int_equal(s.flags, RASN_CACHE_NEGATIVE | 0x10);
	assert_true(s.expires == 1300);                       /* negative_ttl bound */

	v.flags = RASN_CACHE_TTL_EXACT;
	assert_int_equal(rasn_cache_put_prefix(c, &p, &v, 1000, 5000), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.flags, 0);                         /* put-only flags not passed on */
	assert_true(s.expires == 6000);

	v.flags = RASN_CACHE_NO_HOOK | RASN_CACHE_TTL_EXACT;  /* came from the hook's level */
	assert_int_equal(rasn_cache_put_prefix(c, &p, &v, 1000, 7000), 0);
	assert_int_equal(s.n, 2);
	expect(c, "8.8.8.8", 7000, "x", "8.8.8.0/24", 1);     /* but stored here */

	v.flags = 0;
	assert_int_equal(rasn_cache_put_prefix(c, &p, &v, 1000, 0), 0);
	assert_int_equal(s.n, 2);                             /* nothing stored, nothing told */

	assert_int_equal(rasn_cache_put_name(c, "AS15169.Example.", 16, &v, 1000, 10), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.klen, 1 + 15);
	assert_memory_equal(s.key, "Nas15169.example", 16);
	assert_true(s.expires == 1100);                       /* the name floor */
	v.flags = RASN_CACHE_NO_HOOK;
	assert_int_equal(rasn_cache_put_name(c, "AS1.example", 11, &v, 1000, 10), 0);
	assert_int_equal(s.n, 3);
	rasn_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_bytes),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_key_name),
		cmocka_unit_test(test_store_prefix),
		cmocka_unit_test(test_l1_lru_order),
		cmocka_unit_test(test_l1_byte_bound),
		cmocka_unit_test(test_l1_ttl),
		cmocka_unit_test(test_l1_lpm_v4),
		cmocka_unit_test(test_l1_lpm_v6),
		cmocka_unit_test(test_l1_replace_and_negative),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_l1_evict_drops_covering),
		cmocka_unit_test(test_l1_lpm_vs_reference),
		cmocka_unit_test(test_store_hook),
		cmocka_unit_test_setup_teardown(test_l2_warms_l1, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_l2_nested_rules, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_l2_evicted_nested, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_l2_errors, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_l2_corrupt_at_run_time, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_l2_open_recovery, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_sweep_both_levels, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
