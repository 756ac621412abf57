/* Unit tests for lib/snapshot.c: XXH64 against the reference library's values, a table and
 * its snapshot answer every lookup, AS, prefix and org query alike, the key follows the
 * files, and truncated, corrupt, wrong-version or hostile images are refused. */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapshot.h"
#include "table_impl.h" /* to walk every range of both tables */

static const char *fixtures[] = { "../fixtures/asn-v4.csv", "../fixtures/asn-v6.csv", "../fixtures/sample.pfx2as" };

static struct rasn_table *build_paths(char *const *paths, size_t n, size_t max_bad)
{
	struct rasn_table_opts o = { .max_bad_lines = max_bad };
	struct rasn_table_builder *b = rasn_table_builder_new(&o);
	char err[1024] = "";
	struct rasn_table *t = NULL;
	assert_non_null(b);
	int rc = rasn_table_builder_add_files(b, paths, n, RASN_DS_AUTO, 1, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(rasn_table_build(b, &t, err, sizeof(err)), 0);
	rasn_table_builder_free(b);
	return t;
}

static struct rasn_table *build_fixtures(void)
{
	return build_paths((char *const *)fixtures, 3, 0);
}

static void same_match(int fa, const struct rasn_match *a, int fb, const struct rasn_match *b)
{
	assert_int_equal(fa, fb);
	if (!fa)
		return;
	assert_int_equal(a->family, b->family);
	assert_true(a->first == b->first && a->last == b->last);
	assert_int_equal(a->asn, b->asn);
	assert_int_equal(a->n_origins, b->n_origins);
	assert_memory_equal(a->origins, b->origins, a->n_origins * sizeof(uint32_t));
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->name_json_len, b->name_json_len);
	assert_memory_equal(a->name_json, b->name_json, a->name_json_len);
	assert_int_equal(a->cc[0], b->cc[0]);
}

static void probe(const struct rasn_table *a, const struct rasn_table *b, int family, rasn_u128 v)
{
	struct rasn_addr x = { .family = family, .v = v };
	struct rasn_match ma, mb, mbatch[1];
	int fbatch[1];
	int fa = rasn_table_lookup(a, &x, &ma), fb = rasn_table_lookup(b, &x, &mb);
	same_match(fa, &ma, fb, &mb);
	rasn_table_lookup_batch(b, &x, 1, mbatch, fbatch);
	same_match(fa, &ma, fbatch[0], &mbatch[0]);
}

static void same_as(const struct rasn_table *a, const struct rasn_table *b, uint32_t asn)
{
	struct rasn_as_info ia, ib;
	int fa = rasn_table_as(a, asn, &ia), fb = rasn_table_as(b, asn, &ib);
	assert_int_equal(fa, fb);
	if (!fa)
		return;
	assert_string_equal(ia.name, ib.name);
	assert_int_equal(ia.name_json_len, ib.name_json_len);
	assert_memory_equal(ia.name_json, ib.name_json, ia.name_json_len);
	assert_int_equal(ia.ranges_v4, ib.ranges_v4);
	assert_int_equal(ia.ranges_v6, ib.ranges_v6);
	assert_true(ia.addresses_v4 == ib.addresses_v4 && ia.addresses_v6 == ib.addresses_v6);
	struct rasn_prefix *pa, *pb;
	long na = rasn_table_as_prefixes(a, asn, &pa), nb = rasn_table_as_prefixes(b, asn, &pb);
	assert_true(na > 0);
	assert_int_equal(na, nb);
	for (long i = 0; i < na; i++) /* field by field: the struct has padding */
		assert_true(pa[i].family == pb[i].family && pa[i].addr == pb[i].addr && pa[i].len == pb[i].len);
	free(pa);
	free(pb);
}

static void same_org(const struct rasn_table *a, const struct rasn_table *b, const char *text)
{
	struct rasn_org_hit ha[40], hb[40];
	size_t na = rasn_table_org_search(a, text, strlen(text), ha, 40);
	size_t nb = rasn_table_org_search(b, text, strlen(text), hb, 40);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na && i < 40; i++) {
		assert_int_equal(ha[i].asn, hb[i].asn);
		assert_string_equal(ha[i].name, hb[i].name);
		assert_memory_equal(ha[i].name_json, hb[i].name_json, ha[i].name_json_len);
	}
}

/* Every answer of a, compared with b's: both edges and the middle of every range and gap,
 * the neighbours of each IPv6 range, random addresses, every AS, some org searches. */
static void same_tables(const struct rasn_table *a, const struct rasn_table *b)
{
	struct rasn_table_info ia, ib;
	rasn_table_info(a, &ia);
	rasn_table_info(b, &ib);
	assert_int_equal(ia.ranges_v4, ib.ranges_v4);
	assert_int_equal(ia.ranges_v6, ib.ranges_v6);
	assert_int_equal(ia.rows, ib.rows);
	assert_int_equal(ia.overlaps, ib.overlaps);
	assert_int_equal(ia.asns, ib.asns);
	assert_int_equal(ia.names, ib.names);
	assert_int_equal(ia.n_files, ib.n_files);
	for (size_t i = 0; i < ia.n_files; i++) {
		assert_string_equal(ia.files[i].path, ib.files[i].path);
		assert_int_equal(ia.files[i].format, ib.files[i].format);
		assert_int_equal(ia.files[i].rows, ib.files[i].rows);
		assert_int_equal(ia.files[i].bad, ib.files[i].bad);
		assert_int_equal(ia.files[i].skipped, ib.files[i].skipped);
	}
	for (size_t i = 0; i < a->nseg4; i++) {
		uint32_t s = a->start4[i], e = i + 1 < a->nseg4 ? a->start4[i + 1] - 1 : UINT32_MAX;
		probe(a, b, RASN_AF4, s);
		probe(a, b, RASN_AF4, e);
		probe(a, b, RASN_AF4, s + (e - s) / 2);
	}
	for (size_t i = 0; i < a->n6; i++) {
		probe(a, b, RASN_AF6, a->start6[i]);
		probe(a, b, RASN_AF6, a->end6[i]);
		probe(a, b, RASN_AF6, a->start6[i] - 1);
		probe(a, b, RASN_AF6, a->end6[i] + 1);
	}
	uint64_t r = 7;
	for (int i = 0; i < 20000; i++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		probe(a, b, RASN_AF4, (uint32_t)(r >> 32));
		probe(a, b, RASN_AF6, ((rasn_u128)(0x2000000000000000ull | (r >> 3)) << 64) | r);
	}
	for (size_t i = 0; i < a->n_as; i++)
		same_as(a, b, a->as[i].asn);
	same_as(a, b, 4294967295u);
	const char *orgs[] = { "google", "INC", "a", "\"", "ltd", "no such organisation at all" };
	for (size_t i = 0; i < RASN_ARRAY_LEN(orgs); i++)
		same_org(a, b, orgs[i]);
}

static void test_hash_vectors(void **state)
{
	/* values from libxxhash 0.8.1 (XXH64) on the same inputs */
	unsigned char kb[1024], seq[37];
	for (size_t i = 0; i < sizeof(kb); i++)
		kb[i] = (unsigned char)i;
	for (size_t i = 0; i < sizeof(seq); i++)
		seq[i] = (unsigned char)i;
	assert_true(rasn_snapshot_hash("", 0, 0) == 0xef46db3751d8e999ull);
	assert_true(rasn_snapshot_hash("a", 1, 0) == 0xd24ec4f1a98c6e5bull);
	assert_true(rasn_snapshot_hash("abc", 3, 0) == 0x44bc2cf5ad770999ull);
	assert_true(rasn_snapshot_hash(kb, sizeof(kb), 0) == 0x6f3914f18fe4df57ull);
	assert_true(rasn_snapshot_hash(seq, sizeof(seq), 7) == 0x69e0c889396afaf7ull);
	assert_true(rasn_snapshot_hash("rasn table snapshot", 19, 0x9e3779b97f4a7c15ull) == 0x39db0e4e1e1936adull);
}

/* The image of t parsed back (NULL when refused, err filled). */
static struct rasn_table *reparse(char *img, size_t len, unsigned flags, int *rc, char *err, size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, img, len);
	struct rasn_table *t = NULL;
	*rc = rasn_snapshot_parse(copy, len, NULL, 0, (char *const *)fixtures, 3, NULL, flags, &t, err, errlen);
	if (*rc < 0) {
		assert_null(t);
		free(copy);
	}
	return t;
}

static void test_round_trip_memory(void **state)
{
	struct rasn_table *t = build_fixtures(), *s;
	char *img, err[512];
	size_t len;
	int rc;
	assert_int_equal(rasn_snapshot_image(t, "k", 1, &img, &len), 0);
	s = reparse(img, len, 0, &rc, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	struct rasn_table_info ti;
	rasn_table_info(s, &ti);
	assert_int_equal(ti.from_snapshot, 1);
	rasn_table_info(t, &ti);
	assert_int_equal(ti.from_snapshot, 0);
	same_tables(t, s);
	/* an image of the image is the same bytes: nothing is lost or invented on the way */
	char *img2;
	size_t len2;
	assert_int_equal(rasn_snapshot_image(s, "k", 1, &img2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(img, img2, len);
	free(img2);
	free(img);
	rasn_table_unref(s);
	rasn_table_unref(t);
}

static char tmpdir[] = "/tmp/rasn-test-snapshot-XXXXXX";

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[65536];
	size_t n;
	assert_non_null(a);
	assert_non_null(b);
	while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
		assert_int_equal(fwrite(buf, 1, n, b), n);
	fclose(a);
	assert_int_equal(fclose(b), 0);
}

static void make_key(char *const *paths, size_t n, int fmt, struct rasn_buf *key)
{
	char err[512];
	rasn_buf_init(key);
	int rc = rasn_snapshot_key(paths, n, fmt, key, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
}

static void test_round_trip_file(void **state)
{
	char snap[512], err[1024];
	path_in(snap, sizeof(snap), "table.snap");
	struct rasn_table *t = build_fixtures(), *s = NULL;
	struct rasn_buf key;
	make_key((char *const *)fixtures, 3, RASN_DS_AUTO, &key);
	/* no image yet */
	assert_int_equal(rasn_snapshot_read(snap, key.data, key.len, (char *const *)fixtures, 3, NULL, &s, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(rasn_snapshot_write(t, snap, key.data, key.len, err, sizeof(err)), 0);
	/* the temporary file is gone: renamed into place */
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", snap, (long)getpid());
	assert_int_not_equal(access(tmp, F_OK), 0);
	for (int force_read = 0; force_read <= 1; force_read++) {
		struct rasn_table_opts o = { .force_read = force_read, .max_file_size = 1 << 30 };
		int rc = rasn_snapshot_read(snap, key.data, key.len, (char *const *)fixtures, 3, &o, &s, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "%s\n", err);
		assert_int_equal(rc, 0);
		struct rasn_table_info ti;
		rasn_table_info(s, &ti);
		assert_int_equal(ti.from_snapshot, 1);
		if (force_read)
			assert_int_equal(ti.files[0].method, RASN_IO_READ);
		same_tables(t, s);
		rasn_table_unref(s);
	}
	/* another build option (the format forced) is another key */
	struct rasn_buf k2;
	make_key((char *const *)fixtures, 3, RASN_DS_IPLDB_CSV, &k2);
	assert_int_equal(rasn_snapshot_read(snap, k2.data, k2.len, (char *const *)fixtures, 3, NULL, &s, err, sizeof(err)),
			 -ESTALE);
	assert_null(s);
	assert_non_null(strstr(err, "format"));
	rasn_buf_free(&k2);
	/* fewer files: another key */
	make_key((char *const *)fixtures, 2, RASN_DS_AUTO, &k2);
	assert_int_equal(rasn_snapshot_read(snap, k2.data, k2.len, (char *const *)fixtures, 2, NULL, &s, err, sizeof(err)),
			 -ESTALE);
	rasn_buf_free(&k2);
	rasn_buf_free(&key);
	rasn_table_unref(t);
	unlink(snap);
}

/* A dataset file that changes (content, or only its times) changes the key. */
static void test_key_follows_files(void **state)
{
	char v4[512], snap[512], err[1024];
	path_in(v4, sizeof(v4), "v4.csv");
	path_in(snap, sizeof(snap), "k.snap");
	copy_file(fixtures[0], v4);
	char *paths[] = { v4 };
	struct rasn_table *t = build_paths(paths, 1, 0), *s = NULL;
	struct rasn_buf key, k2;
	make_key(paths, 1, RASN_DS_AUTO, &key);
	make_key(paths, 1, RASN_DS_AUTO, &k2);
	assert_int_equal(key.len, k2.len); /* stable while the file is */
	assert_memory_equal(key.data, k2.data, key.len);
	rasn_buf_free(&k2);
	assert_int_equal(rasn_snapshot_write(t, snap, key.data, key.len, err, sizeof(err)), 0);
	/* one more row at the end */
	FILE *f = fopen(v4, "ab");
	assert_non_null(f);
	fputs("223.255.255.0,223.255.255.255,64500,Appended\n", f);
	assert_int_equal(fclose(f), 0);
	make_key(paths, 1, RASN_DS_AUTO, &k2);
	assert_int_equal(rasn_snapshot_read(snap, k2.data, k2.len, paths, 1, NULL, &s, err, sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, v4));
	rasn_buf_free(&k2);
	/* same bytes, new times: refused as well (cheap checks, on the safe side) */
	copy_file(fixtures[0], v4);
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, v4, ts, 0), 0);
	make_key(paths, 1, RASN_DS_AUTO, &k2);
	assert_int_not_equal(k2.len == key.len && memcmp(k2.data, key.data, key.len) == 0, 1);
	assert_int_equal(rasn_snapshot_read(snap, k2.data, k2.len, paths, 1, NULL, &s, err, sizeof(err)), -ESTALE);
	rasn_buf_free(&k2);
	/* a missing file has no key */
	unlink(v4);
	rasn_buf_init(&k2);
	assert_int_equal(rasn_snapshot_key(paths, 1, RASN_DS_AUTO, &k2, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, v4));
	rasn_buf_free(&k2);
	rasn_buf_free(&key);
	rasn_table_unref(t);
	unlink(snap);
}

static void test_truncated(void **state)
{
	struct rasn_table *t = build_fixtures();
	char *img, err[512], snap[512];
	size_t len;
	int rc;
	assert_int_equal(rasn_snapshot_image(t, "k", 1, &img, &len), 0);
	for (size_t l = 0; l < len; l += l < 4096 ? 1 : 997) {
		assert_null(reparse(img, l, 0, &rc, err, sizeof(err)));
		assert_int_equal(rc, -EBADMSG);
	}
	/* the same through a file, cut in the middle */
	path_in(snap, sizeof(snap), "cut.snap");
	FILE *f = fopen(snap, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, len / 2, f), len / 2);
	assert_int_equal(fclose(f), 0);
	struct rasn_table *s = NULL;
	assert_int_equal(rasn_snapshot_read(snap, "k", 1, (char *const *)fixtures, 3, NULL, &s, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "truncated"));
	/* and one byte too many */
	f = fopen(snap, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, len, f), len);
	fputc(0, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rasn_snapshot_read(snap, "k", 1, (char *const *)fixtures, 3, NULL, &s, err, sizeof(err)), -EBADMSG);
	unlink(snap);
	free(img);
	rasn_table_unref(t);
}

/* Any byte changed anywhere in the image is noticed: header and sections are hashed, the
 * padding between them must be zero. */
static void test_corrupt_bytes(void **state)
{
	struct rasn_table *t = build_fixtures();
	char *img, err[512];
	size_t len;
	int rc;
	assert_int_equal(rasn_snapshot_image(t, "k", 1, &img, &len), 0);
	size_t tried = 0;
	for (size_t i = 0; i < len; i += i < 1024 ? 1 : 211) {
		img[i] ^= 0x20;
		assert_null(reparse(img, len, 0, &rc, err, sizeof(err)));
		assert_true(rc == -EBADMSG || rc == -ESTALE);
		img[i] ^= 0x20;
		tried++;
	}
	assert_true(tried > 1000);
	/* restored: accepted again */
	struct rasn_table *s = reparse(img, len, 0, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	rasn_table_unref(s);
	free(img);
	rasn_table_unref(t);
}

static void test_wrong_version(void **state)
{
	struct rasn_table *t = build_fixtures();
	char *img, err[512];
	size_t len;
	int rc;
	assert_int_equal(rasn_snapshot_image(t, "k", 1, &img, &len), 0);
	uint32_t v = RASN_SNAPSHOT_VERSION + 1;
	memcpy(img + 8, &v, 4);
	assert_null(reparse(img, len, RASN_SNAPSHOT_NO_HASH, &rc, err, sizeof(err)));
	assert_int_equal(rc, -EBADMSG);
	assert_non_null(strstr(err, "version"));
	memcpy(img, "NOTRASN", 8);
	assert_null(reparse(img, len, RASN_SNAPSHOT_NO_HASH, &rc, err, sizeof(err)));
	assert_int_equal(rc, -EBADMSG);
	assert_non_null(strstr(err, "not a rasn table snapshot"));
	free(img);
	rasn_table_unref(t);
}

/* Damage that keeps the checksums right (as someone writing the state directory could): the
 * checks on the contents refuse it. */
static void damage(const char *section, long at, const void *bytes, size_t n, const char *expect)
{
	struct rasn_table *t = build_fixtures();
	char *img, err[512] = "";
	size_t len, off, slen;
	int rc;
	assert_int_equal(rasn_snapshot_image(t, "k", 1, &img, &len), 0);
	assert_int_equal(rasn_snapshot_section(img, len, section, &off, &slen), 0);
	if (at < 0) /* from the end */
		at += (long)slen;
	assert_true(at >= 0 && (size_t)at + n <= slen);
	memcpy(img + off + (size_t)at, bytes, n);
	assert_null(reparse(img, len, RASN_SNAPSHOT_NO_HASH, &rc, err, sizeof(err)));
	assert_int_equal(rc, -EBADMSG);
	if (!strstr(err, expect))
		fprintf(stderr, "message: %s\n", err);
	assert_non_null(strstr(err, expect));
	free(img);
	rasn_table_unref(t);
}

static void test_hostile_contents(void **state)
{
	uint32_t big = 0xfffffff0u, zero = 0, one = 1;
	char c = 'x';
	/* a range's name offset (rinfo.name_id at 4) past the names */
	damage("info4", 16 + 4, &big, 4, "IPv4 segment 1 refers outside");
	damage("info6", 4, &big, 4, "IPv6 range 0 refers outside");
	/* origins: 3 of them at an offset past the array */
	uint32_t ori = 0xffff00u << 8 | 3;
	damage("info4", 16 + 8, &ori, 4, "refers outside");
	/* IPv4 segments out of order, and not from 0.0.0.0 */
	damage("start4", 4 * 2, &one, 4, "out of order");
	damage("start4", 0, &one, 4, "0.0.0.0");
	/* the padding after the segments */
	damage("start4", -4, &zero, 4, "padding");
	/* a name entry pointing outside its blob, an unterminated blob */
	damage("name entries", 16 + 4, &big, 4, "name entry 1 out of bounds");
	size_t nlen = 0, off;
	{
		struct rasn_table *t = build_fixtures();
		char *img;
		size_t len;
		assert_int_equal(rasn_snapshot_image(t, "k", 1, &img, &len), 0);
		assert_int_equal(rasn_snapshot_section(img, len, "names", &off, &nlen), 0);
		free(img);
		rasn_table_unref(t);
	}
	damage("names", (long)nlen - 1, &c, 1, "not terminated");
	/* the AS index: ranges past the array, a range index past the segments */
	damage("AS entries", 8, &big, 4, "AS entry 0 damaged");
	damage("AS ranges", 0, &big, 4, "range out of bounds");
	/* IPv6 ranges overlapping */
	rasn_u128 top = ~(rasn_u128)0;
	damage("end6", 0, &top, sizeof(top), "IPv6 range 1 out of order");
	/* a file record of an unknown format */
	uint32_t fmt = 99;
	damage("files", 0, &fmt, 4, "file record 0");
}

/* A snapshot of files that had malformed lines is not used under a stricter limit. */
static void test_bad_lines_limit(void **state)
{
	char csv[512], snap[512], err[1024];
	path_in(csv, sizeof(csv), "bad.csv");
	path_in(snap, sizeof(snap), "bad.snap");
	FILE *f = fopen(csv, "w");
	assert_non_null(f);
	fputs("1.0.0.0,1.0.0.255,13335,Cloudflare\nnot a row\n8.8.8.0,8.8.8.255,15169,Google LLC\n", f);
	assert_int_equal(fclose(f), 0);
	char *paths[] = { csv };
	struct rasn_table *t = build_paths(paths, 1, 5), *s = NULL;
	struct rasn_buf key;
	make_key(paths, 1, RASN_DS_AUTO, &key);
	assert_int_equal(rasn_snapshot_write(t, snap, key.data, key.len, err, sizeof(err)), 0);
	struct rasn_table_opts strict = { .max_bad_lines = 0 }, lax = { .max_bad_lines = 1 };
	assert_int_equal(rasn_snapshot_read(snap, key.data, key.len, paths, 1, &strict, &s, err, sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "max_bad_lines"));
	assert_int_equal(rasn_snapshot_read(snap, key.data, key.len, paths, 1, &lax, &s, err, sizeof(err)), 0);
	same_tables(t, s);
	rasn_table_unref(s);
	rasn_buf_free(&key);
	rasn_table_unref(t);
	unlink(snap);
	unlink(csv);
}

/* Writing over an existing image replaces it whole; a directory that is not there is an
 * error with the path, not a crash. */
static void test_write_errors(void **state)
{
	char snap[512], err[1024];
	struct rasn_table *t = build_fixtures();
	snprintf(snap, sizeof(snap), "%s/no/such/dir/table.snap", tmpdir);
	assert_int_equal(rasn_snapshot_write(t, snap, "k", 1, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no/such/dir"));
	path_in(snap, sizeof(snap), "over.snap");
	FILE *f = fopen(snap, "w");
	assert_non_null(f);
	fputs("an old, broken image", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rasn_snapshot_write(t, snap, "k", 1, err, sizeof(err)), 0);
	struct rasn_table *s = NULL;
	assert_int_equal(rasn_snapshot_read(snap, "k", 1, (char *const *)fixtures, 3, NULL, &s, err, sizeof(err)), 0);
	same_tables(t, s);
	rasn_table_unref(s);
	rasn_table_unref(t);
	unlink(snap);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_round_trip_memory),
		cmocka_unit_test(test_round_trip_file),
		cmocka_unit_test(test_key_follows_files),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt_bytes),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_hostile_contents),
		cmocka_unit_test(test_bad_lines_limit),
		cmocka_unit_test(test_write_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
