/* In-process benchmark of the answer cache (lib/cache.c, lib/cache_rocksdb.c).
 *   bench_cache [-n LOOKUPS] [-p PREFIXES] [-d DIR]
 * Prints one line per measurement, "name value unit", for scripts/bench/run to collect:
 *   cache_l1_hit_v4 / _v6 / _name   an L1 hit (longest-prefix probe or name lookup)
 *   cache_l2_hit                    L1 miss, L2 hit, L1 warmed (what a lookup after a restart
 *                                   costs); the store was closed and reopened first, so reads
 *                                   come from table files through the block cache
 *   cache_l2_get_raw                the backend's prefix lookup alone (one reverse seek)
 *   cache_miss                      L1 and L2 miss
 *   cache_put                       a store into both levels
 * DIR (default: a new directory under $TMPDIR or /tmp, removed at the end) holds the store. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_cache: %s: %s\n", what, rasn_strerror(rc));
	exit(1);
}

/* Prefix i: a /24 (IPv4) or /48 (IPv6) spread over the space. */
static struct rasn_prefix pfx(size_t i, int v6)
{
	struct rasn_prefix p;
	uint32_t k = (uint32_t)(i * 2654435761u) >> 8;
	if (v6) {
		p.family = RASN_AF6;
		p.addr = (rasn_u128)0x2000u << 112 | (rasn_u128)k << 80;
		p.len = 48;
	} else {
		p.family = RASN_AF4;
		p.addr = (rasn_u128)(k % 0xdf0000u + 0x10000u) << 8;
		p.len = 24;
	}
	return p;
}

static struct rasn_addr inside(const struct rasn_prefix *p)
{
	struct rasn_addr a = { p->family, p->addr | (xorshift() & rasn_hostmask(p->family, p->len)) };
	return a;
}

static void report(const char *name, double secs, size_t n)
{
	printf("%s %.1f ns\n", name, secs * 1e9 / (double)n);
}

int main(int argc, char **argv)
{
	size_t n = 2000000, np = 10000;
	const char *dir = NULL;
	char tmp[512] = "";
	int opt;
	while ((opt = getopt(argc, argv, "n:p:d:")) != -1) {
		if (opt == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (opt == 'p')
			np = strtoull(optarg, NULL, 10);
		else if (opt == 'd')
			dir = optarg;
		else {
			fprintf(stderr, "usage: bench_cache [-n LOOKUPS] [-p PREFIXES] [-d DIR]\n");
			return 2;
		}
	}
	if (n == 0 || np == 0)
		return 2;
	if (!dir) {
		const char *t = getenv("TMPDIR");
		snprintf(tmp, sizeof(tmp), "%s/rasn-bench-cache.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmp)) {
			perror(tmp);
			return 1;
		}
		dir = tmp;
	}
	char store[600];
	snprintf(store, sizeof(store), "%s/l2", dir);

	uint64_t t0 = wall_ms();
	const uint64_t ttl = 3600 * 1000;
	char payload[120];
	memset(payload, 'v', sizeof(payload));
	struct rasn_cache_val v = { payload, sizeof(payload), 0 };
	struct rasn_addr *addrs = malloc(n * sizeof(*addrs));
	struct rasn_cache_hit h;
	struct rasn_cache *c;
	double t;
	size_t hits = 0;
	int rc;
	if (!addrs)
		return 1;

	/* L1 alone */
	struct rasn_cache_opts o1 = { .l1_max_entries = 4 * np, .hash_seed = 12345 };
	if ((rc = rasn_cache_new(&o1, &c)) < 0)
		die("new", rc);
	for (size_t i = 0; i < np; i++) {
		struct rasn_prefix p4 = pfx(i, 0), p6 = pfx(i, 1);
		rasn_cache_put_prefix(c, &p4, &v, t0, ttl);
		rasn_cache_put_prefix(c, &p6, &v, t0, ttl);
	}
	for (int fam = 0; fam < 2; fam++) {
		for (size_t i = 0; i < n; i++) {
			struct rasn_prefix p = pfx(xorshift() % np, fam);
			addrs[i] = inside(&p);
		}
		t = now();
		for (size_t i = 0; i < n; i++)
			hits += rasn_cache_get_addr(c, &addrs[i], t0, &h) == 0;
		report(fam ? "cache_l1_hit_v6" : "cache_l1_hit_v4", now() - t, n);
	}
	{
		char (*names)[48] = malloc(np * sizeof(*names));
		if (!names)
			return 1;
		for (size_t i = 0; i < np; i++) {
			snprintf(names[i], sizeof(names[i]), "host%zu.example.com", i);
			rasn_cache_put_name(c, names[i], strlen(names[i]), &v, t0, ttl);
		}
		t = now();
		for (size_t i = 0; i < n; i++) {
			const char *nm = names[(i * 7919) % np];
			hits += rasn_cache_get_name(c, nm, strlen(nm), t0, &h) == 0;
		}
		report("cache_l1_hit_name", now() - t, n);
		free(names);
	}
	rasn_cache_free(c);

	/* L2: fill, close (flush), reopen with a one-entry L1 so every lookup reaches L2 */
	struct rasn_cache_opts o2 = { .l1_max_entries = 1, .l2_path = store, .now_ms = t0 };
	if ((rc = rasn_cache_new(&o2, &c)) < 0)
		die("new", rc);
	struct rasn_cache_stats st;
	rasn_cache_stats(c, &st);
	if (!st.l2_active)
		die("L2 store did not open", -EIO);
	t = now();
	for (size_t i = 0; i < np; i++) {
		struct rasn_prefix p4 = pfx(i, 0);
		rasn_cache_put_prefix(c, &p4, &v, t0, ttl);
	}
	report("cache_put", now() - t, np);
	rasn_cache_free(c);
	if ((rc = rasn_cache_new(&o2, &c)) < 0)
		die("new", rc);
	size_t n2 = n / 4 ? n / 4 : 1;
	for (size_t i = 0; i < n2; i++) {
		struct rasn_prefix p = pfx(xorshift() % np, 0);
		addrs[i] = inside(&p);
	}
	t = now();
	for (size_t i = 0; i < n2; i++)
		hits += rasn_cache_get_addr(c, &addrs[i], t0, &h) == 0;
	report("cache_l2_hit", now() - t, n2);
	rasn_cache_stats(c, &st);
	for (size_t i = 0; i < n2; i++) {
		struct rasn_prefix p = pfx(xorshift() % np, 1); /* nothing stored for IPv6 */
		addrs[i] = inside(&p);
	}
	t = now();
	for (size_t i = 0; i < n2; i++)
		hits += rasn_cache_get_addr(c, &addrs[i], t0, &h) == 0;
	report("cache_miss", now() - t, n2);
	rasn_cache_free(c);

	/* the backend alone */
	{
		const struct rasn_cache_backend_api *api = rasn_cache_backend_rocksdb();
		struct rasn_cache_backend_opts bo = { .path = store, .max_value = 16384 };
		void *db;
		char err[256];
		if ((rc = api->open(&db, &bo, err, sizeof(err))) < 0) {
			fprintf(stderr, "bench_cache: %s\n", err);
			return 1;
		}
		for (size_t i = 0; i < n2; i++) {
			struct rasn_prefix p = pfx(xorshift() % np, 0);
			addrs[i] = inside(&p);
		}
		t = now();
		for (size_t i = 0; i < n2; i++)
			hits += api->get_prefix(db, &addrs[i], t0, &h) == 0;
		report("cache_l2_get_raw", now() - t, n2);
		api->close(db);
	}
	printf("cache_l2_hits_seen %llu count\n", (unsigned long long)st.l2_hits);
	fprintf(stderr, "bench_cache: %zu hits\n", hits);
	free(addrs);
	if (tmp[0])
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
