/* Fuzz target: any bytes as a table snapshot image. The checksums are checked once as rasnd
 * does (almost every input stops there) and then skipped, so that the fuzzer reaches the
 * checks of the contents; whatever table comes out must answer lookups, AS, prefix and org
 * queries within bounds, and its own image must read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct rasn_table *t, int family, rasn_u128 v)
{
	struct rasn_addr a = { .family = family, .v = v };
	struct rasn_match m, mb[1];
	int fb[1];
	int f = rasn_table_lookup(t, &a, &m);
	rasn_table_lookup_batch(t, &a, 1, mb, fb);
	if (f != fb[0])
		abort();
	if (!f)
		return;
	/* what the reader guarantees whatever the image held; the bytes of names are its own */
	if (m.first > v || m.last < v || m.n_origins < 1)
		abort();
	volatile size_t touch = strlen(m.name) + (m.name_json_len ? (size_t)m.name_json[m.name_json_len - 1] : 0);
	(void)touch;
	if (mb[0].first != m.first || mb[0].last != m.last || mb[0].asn != m.asn)
		abort();
	volatile uint32_t sink = 0;
	for (unsigned i = 0; i < m.n_origins; i++)
		sink += m.origins[i];
	(void)sink;
	struct rasn_as_info info;
	if (rasn_table_as(t, m.asn, &info))
		(void)strlen(info.name);
	struct rasn_prefix *px;
	if (rasn_table_as_prefixes(t, m.asn, &px) >= 0)
		free(px);
}

static void exercise(struct rasn_table *t, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 4 <= size && i < 1024; i += 4) {
		uint32_t v4;
		memcpy(&v4, data + i, 4);
		check(t, RASN_AF4, v4);
		check(t, RASN_AF6, ((rasn_u128)v4 << 96) | ((rasn_u128)v4 << 16));
	}
	check(t, RASN_AF4, 0);
	check(t, RASN_AF4, UINT32_MAX);
	check(t, RASN_AF6, 0);
	check(t, RASN_AF6, ~(rasn_u128)0);
	struct rasn_org_hit hits[8];
	size_t n = rasn_table_org_search(t, "a", 1, hits, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		(void)strlen(hits[i].name);
	struct rasn_table_info ti;
	rasn_table_info(t, &ti);
	/* the image of what was read reads back */
	char *img, err[256];
	size_t len;
	struct rasn_table *u = NULL;
	if (rasn_snapshot_image(t, "", 0, &img, &len) == 0) {
		if (rasn_snapshot_parse(img, len, NULL, 0, NULL, 0, NULL, 0, &u, err, sizeof(err)) < 0)
			abort();
		rasn_table_unref(u);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	for (unsigned flags = 0; flags <= RASN_SNAPSHOT_NO_HASH; flags += RASN_SNAPSHOT_NO_HASH) {
		/* the parser keeps its buffer on success: a copy of our own each time */
		char *buf = malloc(size ? size : 1);
		struct rasn_table *t = NULL;
		if (!buf)
			return 0;
		memcpy(buf, data, size);
		if (rasn_snapshot_parse(buf, size, NULL, 0, NULL, 0, NULL, flags, &t, err, sizeof(err)) < 0) {
			free(buf);
			continue;
		}
		exercise(t, data, size);
		rasn_table_unref(t);
	}
	return 0;
}
