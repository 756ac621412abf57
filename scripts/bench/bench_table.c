/* In-process benchmark of librasn: dataset load phases and lookup cost.
 *   bench_table [-n LOOKUPS] [-r ROUNDS] [-a PREFIX] FILE...
 * Prints one line per measurement, "name value unit", for scripts/bench/run to collect.
 * -a PREFIX also writes the random addresses looked up to PREFIX-v4.txt and PREFIX-v6.txt, one
 * per line, so that scripts/bench/lookup can time pyasn on exactly the same addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "fileio.h"
#include "snapshot.h"
#include "table.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int noop_row(void *ud, const struct rasn_ds_row *r)
{
	(*(size_t *)ud)++;
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = 10000000;
	int rounds = 5, opt;
	const char *dump = NULL;
	while ((opt = getopt(argc, argv, "n:r:a:")) != -1) {
		if (opt == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'a')
			dump = optarg;
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: bench_table [-n LOOKUPS] [-r ROUNDS] [-a PREFIX] FILE...\n");
		return 2;
	}
	char err[1024];
	/* phases, best of rounds: read, parse only, full load+build */
	double best_read = 1e9, best_parse = 1e9, best_build = 1e9, first_build = 0;
	size_t bytes = 0;
	for (int r = 0; r < rounds; r++) {
		double tr = 0, tp = 0;
		bytes = 0;
		for (int i = optind; i < argc; i++) {
			char *buf;
			size_t len, rows = 0;
			double t0 = now();
			if (rasn_file_read(argv[i], 0, 0, &buf, &len, NULL) < 0) {
				perror(argv[i]);
				return 1;
			}
			double t1 = now();
			struct rasn_ds_result res;
			rasn_ds_parse(buf, len, RASN_DS_AUTO, noop_row, NULL, &rows, &res);
			tp += now() - t1;
			tr += t1 - t0;
			bytes += len;
			free(buf);
		}
		if (tr < best_read)
			best_read = tr;
		if (tp < best_parse)
			best_parse = tp;
		double t0 = now();
		struct rasn_table_builder *b = rasn_table_builder_new(NULL);
		for (int i = optind; i < argc; i++)
			if (rasn_table_builder_add_file(b, argv[i], RASN_DS_AUTO, err, sizeof(err)) < 0) {
				fprintf(stderr, "%s\n", err);
				return 1;
			}
		struct rasn_table *t;
		if (rasn_table_build(b, &t, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		rasn_table_builder_free(b);
		double dt = now() - t0;
		if (r == 0)
			first_build = dt;
		if (dt < best_build)
			best_build = dt;
		rasn_table_unref(t);
	}
	printf("load_read_ms %.1f ms\n", best_read * 1e3);
	printf("load_parse_ms %.1f ms\n", best_parse * 1e3);
	printf("load_parse_mb_s %.0f MB/s\n", (double)bytes / 1e6 / best_parse);
	printf("load_total_ms %.1f ms\n", best_build * 1e3);
	/* the first build in the process also pays for fresh pages (faults, zeroing): closer to a cold start */
	printf("load_total_first_ms %.1f ms (first of the rounds)\n", first_build * 1e3);

	struct rasn_table_builder *b = rasn_table_builder_new(NULL);
	for (int i = optind; i < argc; i++)
		rasn_table_builder_add_file(b, argv[i], RASN_DS_AUTO, err, sizeof(err));
	struct rasn_table *t;
	rasn_table_build(b, &t, err, sizeof(err));
	rasn_table_builder_free(b);
	struct rasn_table_info ti;
	rasn_table_info(t, &ti);
	printf("table_bytes %zu bytes\n", ti.bytes);

	/* the snapshot of that table: written once, then read back as rasnd does at start-up
	 * (key from the files, header check, io_uring read, checksums, checks, indexes) */
	{
		char snap[4096];
		const char *tmp = getenv("TMPDIR");
		snprintf(snap, sizeof(snap), "%s/rasn-bench-table-%ld.snap", tmp && *tmp ? tmp : "/tmp", (long)getpid());
		struct rasn_buf key;
		rasn_buf_init(&key);
		double t0 = now();
		if (rasn_snapshot_key(argv + optind, (size_t)(argc - optind), RASN_DS_AUTO, &key, err, sizeof(err)) < 0 ||
		    rasn_snapshot_write(t, snap, key.data, key.len, err, sizeof(err)) < 0) {
			fprintf(stderr, "snapshot: %s\n", err);
			return 1;
		}
		double wdt = now() - t0, best_snap = 1e9, first_snap = 0;
		for (int r = 0; r < rounds; r++) {
			struct rasn_table *st;
			t0 = now();
			struct rasn_buf k2;
			rasn_buf_init(&k2);
			if (rasn_snapshot_key(argv + optind, (size_t)(argc - optind), RASN_DS_AUTO, &k2, err, sizeof(err)) < 0 ||
			    rasn_snapshot_read(snap, k2.data, k2.len, argv + optind, (size_t)(argc - optind), NULL, &st, err,
					       sizeof(err)) < 0) {
				fprintf(stderr, "snapshot: %s\n", err);
				return 1;
			}
			double dt = now() - t0;
			rasn_buf_free(&k2);
			if (r == 0)
				first_snap = dt;
			if (dt < best_snap)
				best_snap = dt;
			rasn_table_unref(st);
		}
		struct stat sst;
		printf("snapshot_bytes %lld bytes\n", stat(snap, &sst) == 0 ? (long long)sst.st_size : -1LL);
		printf("snapshot_write_ms %.1f ms (key + write)\n", wdt * 1e3);
		printf("snapshot_read_ms %.1f ms (key + read + checks + indexes, best of %d)\n", best_snap * 1e3, rounds);
		printf("snapshot_read_first_ms %.1f ms (first of the rounds)\n", first_snap * 1e3);
		unlink(snap);
		rasn_buf_free(&key);
	}

	/* lookups: uniform random addresses, generated up front so only the lookup is timed */
	struct rasn_addr *a = malloc(n * sizeof(*a));
	for (int fam = 4; fam <= 6; fam += 2) {
		for (size_t i = 0; i < n; i++) {
			a[i].family = fam;
			a[i].v = fam == 4 ? (rasn_u128)(uint32_t)xorshift()
					  : ((rasn_u128)(0x2000000000000000ull | (xorshift() >> 3)) << 64) | xorshift();
		}
		if (dump) {
			char path[4096], line[64];
			snprintf(path, sizeof(path), "%s-v%d.txt", dump, fam);
			FILE *f = fopen(path, "w");
			if (!f) {
				perror(path);
				return 1;
			}
			for (size_t i = 0; i < n; i++) {
				size_t l = rasn_addr_format(fam, a[i].v, line);
				line[l++] = '\n';
				fwrite(line, 1, l, f);
			}
			if (fclose(f) != 0) {
				perror(path);
				return 1;
			}
		}
		double best = 1e9;
		size_t hits = 0;
		for (int r = 0; r < rounds; r++) {
			struct rasn_match m;
			hits = 0;
			double t0 = now();
			for (size_t i = 0; i < n; i++)
				hits += (size_t)rasn_table_lookup(t, &a[i], &m);
			double dt = now() - t0;
			if (dt < best)
				best = dt;
		}
		printf("lookup_v%d_ns %.1f ns (hit rate %.2f)\n", fam, best * 1e9 / (double)n, (double)hits / (double)n);
		/* The batched form the daemon uses for runs of address lines: same answers, the cache
		 * misses of RASN_LOOKUP_BATCH lookups overlapped. */
		best = 1e9;
		size_t bhits = 0;
		for (int r = 0; r < rounds; r++) {
			struct rasn_match mb[RASN_LOOKUP_BATCH];
			int fb[RASN_LOOKUP_BATCH];
			bhits = 0;
			double t0 = now();
			for (size_t i = 0; i < n; i += RASN_LOOKUP_BATCH) {
				size_t k = n - i < RASN_LOOKUP_BATCH ? n - i : RASN_LOOKUP_BATCH;
				rasn_table_lookup_batch(t, &a[i], k, mb, fb);
				for (size_t j = 0; j < k; j++)
					bhits += (size_t)fb[j];
			}
			double dt = now() - t0;
			if (dt < best)
				best = dt;
		}
		if (bhits != hits) {
			fprintf(stderr, "batched lookups disagree: %zu hits vs %zu\n", bhits, hits);
			return 1;
		}
		printf("lookup_v%d_batch_ns %.1f ns (rasn_table_lookup_batch, %d at a time)\n", fam,
		       best * 1e9 / (double)n, RASN_LOOKUP_BATCH);
		/* The same lookups as a dependent chain: each address is xor-ed with a value taken from
		 * the previous result (always 0, which the compiler cannot know), so lookups cannot
		 * overlap and their cache misses add up, as between a server's request lines. The loop
		 * above measures throughput, this one latency. */
		best = 1e9;
		for (int r = 0; r < rounds; r++) {
			struct rasn_match m;
			uint32_t dep = 0;
			m.asn = 0;
			double t0 = now();
			for (size_t i = 0; i < n; i++) {
				struct rasn_addr x = a[i];
				x.v ^= dep;
				int ok = rasn_table_lookup(t, &x, &m);
				uint32_t asn = ok ? m.asn : (uint32_t)ok;
				dep = asn > 0xfffffff0u; /* 0 for every AS number in the dataset */
			}
			double dt = now() - t0;
			if (dt < best)
				best = dt;
		}
		printf("lookup_v%d_dep_ns %.1f ns (dependent lookups: latency)\n", fam, best * 1e9 / (double)n);
	}
	free(a);
	rasn_table_unref(t);
	return 0;
}
