/* Fuzz the dataset readers. The first byte picks the format (auto, csv, iptoasn, pfx2as);
 * the rest is the file. Every row handed out must satisfy the promises in dataset.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	size_t last_line, rows, errs;
	uint32_t sum; /* touches every name byte so ASan sees reads past the end */
};

static int on_row(void *ud, const struct rasn_ds_row *r)
{
	struct check *c = ud;
	if (r->family != RASN_AF4 && r->family != RASN_AF6)
		abort();
	if (r->first > r->last)
		abort();
	if (r->family == RASN_AF4 && r->last > 0xffffffffu)
		abort();
	if (r->n_asns < 1 || r->n_asns > RASN_DS_MAX_ORIGINS)
		abort();
	for (unsigned i = 0; i < r->n_asns; i++)
		if (r->asns[i] == 0)
			abort();
	if (r->name_len > RASN_DS_MAX_NAME || (r->name_len && !r->name))
		abort();
	for (size_t i = 0; i < r->name_len; i++)
		c->sum += (unsigned char)r->name[i];
	if (strnlen(r->cc, sizeof(r->cc)) > 2)
		abort();
	if (r->line <= c->last_line)
		abort();
	c->last_line = r->line;
	c->rows++;
	return 0;
}

static void on_error(void *ud, size_t line, const char *why)
{
	struct check *c = ud;
	if (!why || !*why || line == 0 || line <= c->last_line)
		abort();
	c->last_line = line;
	c->errs++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum rasn_ds_format fmts[] = {
		RASN_DS_AUTO, RASN_DS_IPLDB_CSV, RASN_DS_IPTOASN_TSV, RASN_DS_PFX2AS,
	};
	struct check c = { 0 };
	struct rasn_ds_result res;
	if (size < 1)
		return 0;
	enum rasn_ds_format fmt = fmts[data[0] % RASN_ARRAY_LEN(fmts)];
	/* A copy of exactly the input's size, so reads past the end are caught. */
	size_t len = size - 1;
	char *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	int ret = rasn_ds_parse(buf, len, fmt, on_row, on_error, &c, &res);
	if (ret == 0) {
		if (res.rows != c.rows || res.bad != c.errs)
			abort();
		if (res.rows + res.skipped + res.bad > res.lines)
			abort();
		if (fmt != RASN_DS_AUTO && res.format != fmt)
			abort();
		if (res.format == RASN_DS_AUTO)
			abort();
	} else if (ret != RASN_EFORMAT || fmt != RASN_DS_AUTO) {
		abort();
	}
	if (fmt == RASN_DS_AUTO && ret == 0 && rasn_ds_detect(buf, len) != res.format)
		abort();
	free(buf);
	return 0;
}
