/* Fuzz target: any bytes as a dataset file into the table builder; when a table builds, every
 * effective range must hold its own first and last address, ranges must not overlap, and the
 * AS index, prefix aggregation and org search must stay within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_range(const struct rasn_table *t, int family, rasn_u128 v)
{
	struct rasn_addr a = { .family = family, .v = v };
	struct rasn_match m;
	if (!rasn_table_lookup(t, &a, &m))
		return;
	if (m.first > v || m.last < v || m.n_origins < 1 || !m.name || !m.name_json)
		abort();
	if (family == RASN_AF4 && m.last > UINT32_MAX)
		abort();
	/* both edges of the matched range map back to the same range */
	struct rasn_match e;
	a.v = m.first;
	if (!rasn_table_lookup(t, &a, &e) || e.first != m.first || e.last != m.last)
		abort();
	a.v = m.last;
	if (!rasn_table_lookup(t, &a, &e) || e.first != m.first || e.last != m.last)
		abort();
	struct rasn_prefix p = rasn_cidr_covering(family, m.first, m.last, v);
	rasn_u128 host = rasn_hostmask(family, p.len);
	if (p.addr < m.first || (p.addr | host) > m.last || v < p.addr || v > (p.addr | host))
		abort();
	struct rasn_as_info info;
	if (!rasn_table_as(t, m.asn, &info) || info.ranges_v4 + info.ranges_v6 == 0)
		abort();
	struct rasn_prefix *px;
	long n = rasn_table_as_prefixes(t, m.asn, &px);
	if (n <= 0)
		abort();
	free(px);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rasn_table_opts o = { .max_bad_lines = (size_t)-1 };
	struct rasn_table_builder *b = rasn_table_builder_new(&o);
	char err[256];
	struct rasn_table *t = NULL;
	if (!b)
		return 0;
	if (rasn_table_builder_add_buffer(b, "fuzz", (const char *)data, size, RASN_DS_AUTO, err, sizeof(err)) == 0)
		rasn_table_build(b, &t, err, sizeof(err));
	rasn_table_builder_free(b);
	if (!t)
		return 0;
	/* probe addresses taken from the input bytes */
	for (size_t i = 0; i + 4 <= size && i < 256; i += 4) {
		uint32_t v4;
		memcpy(&v4, data + i, 4);
		check_range(t, RASN_AF4, v4);
		rasn_u128 v6 = ((rasn_u128)v4 << 96) | v4;
		check_range(t, RASN_AF6, v6);
	}
	struct rasn_org_hit hits[4];
	if (size >= 1)
		rasn_table_org_search(t, (const char *)data, size < 8 ? size : 8, hits, 4);
	rasn_table_unref(t);
	return 0;
}
