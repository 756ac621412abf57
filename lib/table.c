/* The lookup table. Build: rows from dataset files are collected, overlaps resolved into
 * non-overlapping effective ranges, names interned (raw and JSON-escaped, so replies copy
 * bytes instead of escaping per answer), and an AS index made. Lookup: a direct index on the
 * top bits of the address narrows the search to a handful of range starts, then a short binary
 * search; no allocation, no locking (the table is immutable). */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "buf.h"
#include "fileio.h"
#include "mem.h"
#include "table.h"
#include "table_impl.h"

#define ERRS_KEPT 5                   /* malformed lines quoted in a load error */

/* ---- builder ------------------------------------------------------------------------- */

/* A row while overlaps are resolved (the uncommon path). */
struct brow {
	rasn_u128 first, last;
	uint32_t order;
	struct rinfo info;
};

/* Rows of one family, kept as the table will hold them: when they arrive sorted and without
 * overlaps (real datasets do), the table takes these arrays as they are. Build time here is
 * mostly page faults, so bytes touched is what to save. */
struct fam {
	void *start, *end;    /* uint32_t (v4) or rasn_u128 (v6) */
	struct rinfo *info;
	size_t n, cap, esz;
};

struct name_slot {
	uint32_t hash;
	uint32_t id; /* 0 = empty slot */
};

struct rasn_table_builder {
	struct rasn_table_opts opts;
	struct fam f4, f6;
	/* names interned into a blob */
	struct rasn_buf blob;      /* raw names, NUL-terminated */
	uint32_t *name_off;        /* by id */
	size_t n_names, names_cap;
	struct name_slot *slots;
	size_t n_slots;            /* power of two */
	uint32_t *origins;
	size_t n_origins, origins_cap;
	struct rasn_table_file *files;
	size_t n_files, files_cap;
	int failed;                /* sticky -ENOMEM */
};

/* Eight bytes a step (multiply and fold): interning half a million names is a visible part of
 * start-up, and byte-at-a-time hashing was most of that. */
static uint32_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	}
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	return (uint32_t)(h >> 32);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 1024;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, nc * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

/* Give a buffer room for cap bytes in one huge-page block (see mem.h). */
static int buf_reserve_big(struct rasn_buf *b, size_t cap)
{
	if (cap <= b->cap)
		return 0;
	char *p = rasn_big_realloc(b->data, b->len, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int names_rehash(struct rasn_table_builder *b, size_t n_slots)
{
	struct name_slot *s = rasn_big_calloc(n_slots, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_slots; i++) {
		if (!b->slots[i].id)
			continue;
		size_t j = b->slots[i].hash & (n_slots - 1);
		while (s[j].id)
			j = (j + 1) & (n_slots - 1);
		s[j] = b->slots[i];
	}
	free(b->slots);
	b->slots = s;
	b->n_slots = n_slots;
	return 0;
}

/* Size the name table for a file of len bytes up front: growing it while interning costs a
 * rehash of everything so far each time. Real files hold about one distinct name per 300
 * bytes (ip-location-db: 75k names in 24 MB); guessing high only reserves slots. */
static int names_presize(struct rasn_table_builder *b, size_t len)
{
	size_t want = 4096;
	while (want < 2 * (b->n_names + len / 200))
		want *= 2;
	return want > b->n_slots ? names_rehash(b, want) : 0;
}

/* Returns the name's id (> 0), 0 for the empty name, or -ENOMEM. */
static long name_intern(struct rasn_table_builder *b, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if ((b->n_names + 1) * 2 > b->n_slots && names_rehash(b, b->n_slots ? b->n_slots * 2 : 4096) < 0)
		return -ENOMEM;
	uint32_t h = hash_bytes(s, n);
	size_t j = h & (b->n_slots - 1);
	while (b->slots[j].id) {
		if (b->slots[j].hash == h) {
			const char *o = b->blob.data + b->name_off[b->slots[j].id];
			if (memcmp(o, s, n) == 0 && o[n] == '\0')
				return b->slots[j].id;
		}
		j = (j + 1) & (b->n_slots - 1);
	}
	if (memchr(s, '\0', n))
		return -EINVAL; /* readers never hand NULs; keep the blob's framing sound */
	if (grow((void **)&b->name_off, &b->names_cap, b->n_names + 1, sizeof(uint32_t)) < 0)
		return -ENOMEM;
	if (b->blob.len + n + 1 > UINT32_MAX)
		return -ENOMEM;
	uint32_t id = (uint32_t)b->n_names;
	b->name_off[id] = (uint32_t)b->blob.len;
	rasn_buf_add(&b->blob, s, n);
	rasn_buf_addc(&b->blob, '\0');
	if (b->blob.oom)
		return -ENOMEM;
	b->n_names++;
	b->slots[j].hash = h;
	b->slots[j].id = id;
	return id;
}

struct rasn_table_builder *rasn_table_builder_new(const struct rasn_table_opts *opts)
{
	struct rasn_table_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (opts)
		b->opts = *opts;
	rasn_buf_init(&b->blob);
	/* id 0 is the empty name */
	if (grow((void **)&b->name_off, &b->names_cap, 1, sizeof(uint32_t)) < 0)
		goto fail;
	b->name_off[0] = 0;
	rasn_buf_addc(&b->blob, '\0');
	if (b->blob.oom)
		goto fail;
	b->n_names = 1;
	b->f4.esz = sizeof(uint32_t);
	b->f6.esz = sizeof(rasn_u128);
	return b;
fail:
	rasn_table_builder_free(b);
	return NULL;
}

void rasn_table_builder_free(struct rasn_table_builder *b)
{
	if (!b)
		return;
	free(b->f4.start);
	free(b->f4.end);
	free(b->f4.info);
	free(b->f6.start);
	free(b->f6.end);
	free(b->f6.info);
	rasn_buf_free(&b->blob);
	free(b->name_off);
	free(b->slots);
	free(b->origins);
	for (size_t i = 0; i < b->n_files; i++)
		free((char *)b->files[i].path);
	free(b->files);
	free(b);
}

static int fam_reserve(struct fam *f, size_t cap)
{
	if (cap <= f->cap)
		return 0;
	void *a = rasn_big_realloc(f->start, f->n * f->esz, cap * f->esz);
	if (a)
		f->start = a;
	void *e = rasn_big_realloc(f->end, f->n * f->esz, cap * f->esz);
	if (e)
		f->end = e;
	void *in = rasn_big_realloc(f->info, f->n * sizeof(struct rinfo), cap * sizeof(struct rinfo));
	if (in)
		f->info = in;
	if (!a || !e || !in)
		return -ENOMEM;
	f->cap = cap;
	return 0;
}

int rasn_table_builder_add_row(struct rasn_table_builder *b, const struct rasn_ds_row *row)
{
	if (b->failed)
		return b->failed;
	if (row->first > row->last || row->n_asns == 0 || row->n_asns > RASN_DS_MAX_ORIGINS ||
	    (row->family != RASN_AF4 && row->family != RASN_AF6) ||
	    (row->family == RASN_AF4 && row->last > UINT32_MAX))
		return -EINVAL;
	struct fam *f = row->family == RASN_AF4 ? &b->f4 : &b->f6;
	if (f->n >= UINT32_MAX / 2)
		return -E2BIG; /* range indexes are 31-bit in the AS index */
	if (f->n == f->cap && fam_reserve(f, f->cap ? f->cap * 2 : 4096) < 0)
		return b->failed = -ENOMEM;
	long id = name_intern(b, row->name, row->name_len);
	if (id < 0)
		return id == -ENOMEM ? (b->failed = -ENOMEM) : (int)id;
	struct rinfo *ri = &f->info[f->n];
	memset(ri, 0, sizeof(*ri));
	ri->asn = row->asns[0];
	ri->name_id = (uint32_t)id;
	ri->ori = row->n_asns;
	if (row->cc[0] && row->cc[1]) {
		ri->cc[0] = row->cc[0];
		ri->cc[1] = row->cc[1];
	}
	if (row->n_asns > 1) {
		if (b->n_origins + row->n_asns >= ORI_MAX_OFF)
			return -E2BIG;
		if (grow((void **)&b->origins, &b->origins_cap, b->n_origins + row->n_asns, sizeof(uint32_t)) < 0)
			return b->failed = -ENOMEM;
		ri->ori |= (uint32_t)b->n_origins << 8;
		memcpy(b->origins + b->n_origins, row->asns, row->n_asns * sizeof(uint32_t));
		b->n_origins += row->n_asns;
	}
	if (row->family == RASN_AF4) {
		((uint32_t *)f->start)[f->n] = (uint32_t)row->first;
		((uint32_t *)f->end)[f->n] = (uint32_t)row->last;
	} else {
		((rasn_u128 *)f->start)[f->n] = row->first;
		((rasn_u128 *)f->end)[f->n] = row->last;
	}
	f->n++;
	return 0;
}

struct load_ctx {
	struct rasn_table_builder *b;
	const char *name;
	char errs[ERRS_KEPT][160];
	size_t n_errs;
	int rc;
};

static int load_row(void *ud, const struct rasn_ds_row *row)
{
	struct load_ctx *c = ud;
	int rc = rasn_table_builder_add_row(c->b, row);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0 && c->n_errs < ERRS_KEPT)
		snprintf(c->errs[c->n_errs++], sizeof(c->errs[0]), "%s:%zu: unusable row", c->name, row->line);
	return 0;
}

static void load_err(void *ud, size_t line, const char *reason)
{
	struct load_ctx *c = ud;
	if (c->n_errs < ERRS_KEPT)
		snprintf(c->errs[c->n_errs++], sizeof(c->errs[0]), "%s:%zu: %s", c->name, line, reason);
}

static void join_errs(const struct load_ctx *c, char *err, size_t errlen, const char *tail)
{
	size_t o = 0;
	err[0] = '\0';
	for (size_t i = 0; i < c->n_errs && o < errlen; i++) {
		int n = snprintf(err + o, errlen - o, "%s%s", i ? "; " : "", c->errs[i]);
		if (n < 0)
			return;
		o += (size_t)n;
	}
	if (o < errlen)
		snprintf(err + o, errlen - o, "%s%s", o ? " " : "", tail);
}

int rasn_table_builder_add_buffer(struct rasn_table_builder *b, const char *name,
				  const char *buf, size_t len, enum rasn_ds_format fmt,
				  char *err, size_t errlen)
{
	struct load_ctx c = { .b = b, .name = name };
	struct rasn_ds_result res;
	size_t before4 = b->f4.n, before6 = b->f6.n;
	char tail[128];
	/* Reserve address space for the rows a file this size can hold, so the arrays are not
	 * copied as they grow (untouched reserved pages cost nothing). */
	if (fam_reserve(&b->f4, b->f4.n + len / 24 + 16) < 0 || fam_reserve(&b->f6, b->f6.n + len / 40 + 16) < 0 ||
	    buf_reserve_big(&b->blob, b->blob.len + len / 8 + 16) < 0 || names_presize(b, len) < 0)
		return b->failed = -ENOMEM;
	int rc = rasn_ds_parse(buf, len, fmt, load_row, load_err, &c, &res);
	if (rc == RASN_EFORMAT) {
		snprintf(err, errlen, "%s: cannot tell the file's format (expected ip-location-db csv, iptoasn tsv or pfx2as)", name);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", name, rasn_strerror(rc));
		return rc;
	}
	if (res.bad > b->opts.max_bad_lines) {
		snprintf(tail, sizeof(tail), "(%zu malformed lines of %zu; the limit is %zu)",
			 res.bad, res.lines, b->opts.max_bad_lines);
		join_errs(&c, err, errlen, tail);
		rc = RASN_ETOOMANY;
		goto undo;
	}
	if (b->f4.n + b->f6.n == before4 + before6 && res.skipped == 0) {
		snprintf(err, errlen, "%s: no rows", name);
		rc = RASN_EEMPTY;
		goto undo;
	}
	if (grow((void **)&b->files, &b->files_cap, b->n_files + 1, sizeof(*b->files)) < 0)
		return -ENOMEM;
	struct rasn_table_file *f = &b->files[b->n_files];
	memset(f, 0, sizeof(*f));
	f->path = strdup(name);
	if (!f->path)
		return -ENOMEM;
	f->format = res.format;
	f->rows = res.rows;
	f->bad = res.bad;
	f->skipped = res.skipped;
	b->n_files++;
	return 0;
undo:
	/* A rejected file leaves no rows behind (names stay interned: harmless). */
	b->f4.n = before4;
	b->f6.n = before6;
	return rc;
}

/* ---- parallel loading ----------------------------------------------------------------
 * Files are read in parallel, then each large file is cut at line boundaries into chunks that
 * are parsed in parallel, each into a builder of its own; the chunk builders are then merged
 * into the caller's in file order, so the result is the same as adding the files one by one
 * (row order, and with it the overlap tie-break, included). */

#define CHUNK_MIN ((size_t)4 << 20)  /* smaller files are parsed in one piece */

struct chunk_err {
	size_t line;       /* within the chunk */
	char reason[96];
};

struct chunk {
	size_t file;                     /* index into the files of the call */
	const char *buf;
	size_t len;
	enum rasn_ds_format fmt;
	struct rasn_table_builder *b;    /* the caller's builder for the first chunk */
	struct rasn_ds_result res;
	struct chunk_err errs[ERRS_KEPT];
	size_t n_errs;
	int rc;
};

struct load_file {
	const char *path;
	char *buf;
	size_t len;
	enum rasn_io_method method;
	enum rasn_ds_format fmt;
	int rc;
};

struct pool {
	pthread_mutex_t lock;
	size_t next, n;
	struct load_file *files;  /* phase 1: read */
	struct chunk *chunks;     /* phase 2: parse */
	const struct rasn_table_opts *opts;
	int phase;
};

static int chunk_row(void *ud, const struct rasn_ds_row *row)
{
	struct chunk *c = ud;
	int rc = rasn_table_builder_add_row(c->b, row);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0 && c->n_errs < ERRS_KEPT) {
		c->errs[c->n_errs].line = row->line;
		snprintf(c->errs[c->n_errs++].reason, sizeof(c->errs[0].reason), "unusable row");
	}
	return 0;
}

static void chunk_err(void *ud, size_t line, const char *reason)
{
	struct chunk *c = ud;
	if (c->n_errs < ERRS_KEPT) {
		c->errs[c->n_errs].line = line;
		snprintf(c->errs[c->n_errs++].reason, sizeof(c->errs[0].reason), "%s", reason);
	}
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			return NULL;
		if (p->phase == 1) {
			struct load_file *f = &p->files[i];
			f->rc = rasn_file_read(f->path, p->opts->max_file_size, p->opts->force_read,
					       &f->buf, &f->len, &f->method);
			continue;
		}
		struct chunk *c = &p->chunks[i];
		if (!c->b && !(c->b = rasn_table_builder_new(p->opts))) {
			c->rc = -ENOMEM;
			continue;
		}
		if (fam_reserve(&c->b->f4, c->b->f4.n + c->len / 24 + 16) < 0 ||
		    fam_reserve(&c->b->f6, c->b->f6.n + c->len / 40 + 16) < 0 ||
		    buf_reserve_big(&c->b->blob, c->b->blob.len + c->len / 8 + 16) < 0 || names_presize(c->b, c->len) < 0) {
			c->rc = -ENOMEM;
			continue;
		}
		c->rc = rasn_ds_parse(c->buf, c->len, c->fmt, chunk_row, chunk_err, c, &c->res);
	}
}

static void pool_run(struct pool *p, size_t n, unsigned threads)
{
	pthread_t th[8];
	unsigned started = 0;
	p->next = 0;
	p->n = n;
	if (threads > 8)
		threads = 8;
	if (threads > n)
		threads = (unsigned)n;
	/* the calling thread works too; extra threads only when there is more than one job */
	for (unsigned i = 1; i < threads; i++)
		if (pthread_create(&th[started], NULL, pool_worker, p) == 0)
			started++;
	pool_worker(p);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* Append the rows and names of src to dst (src's rows come after dst's). */
static int builder_merge(struct rasn_table_builder *dst, struct rasn_table_builder *src)
{
	uint32_t *remap = malloc(src->n_names * sizeof(*remap));
	if (!remap)
		return -ENOMEM;
	remap[0] = 0;
	for (size_t id = 1; id < src->n_names; id++) {
		const char *nm = src->blob.data + src->name_off[id];
		long nid = name_intern(dst, nm, strlen(nm));
		if (nid < 0) {
			free(remap);
			return -ENOMEM;
		}
		remap[id] = (uint32_t)nid;
	}
	size_t obase = dst->n_origins;
	if (dst->n_origins + src->n_origins >= ORI_MAX_OFF) {
		free(remap);
		return -E2BIG;
	}
	if (src->n_origins) {
		if (grow((void **)&dst->origins, &dst->origins_cap, dst->n_origins + src->n_origins, sizeof(uint32_t)) < 0) {
			free(remap);
			return -ENOMEM;
		}
		memcpy(dst->origins + dst->n_origins, src->origins, src->n_origins * sizeof(uint32_t));
		dst->n_origins += src->n_origins;
	}
	struct fam *pairs[2][2] = { { &dst->f4, &src->f4 }, { &dst->f6, &src->f6 } };
	for (int k = 0; k < 2; k++) {
		struct fam *d = pairs[k][0], *sf = pairs[k][1];
		if (sf->n == 0)
			continue;
		if (fam_reserve(d, d->n + sf->n) < 0) {
			free(remap);
			return -ENOMEM;
		}
		memcpy((char *)d->start + d->n * d->esz, sf->start, sf->n * sf->esz);
		memcpy((char *)d->end + d->n * d->esz, sf->end, sf->n * sf->esz);
		for (size_t i = 0; i < sf->n; i++) {
			struct rinfo ri = sf->info[i];
			ri.name_id = remap[ri.name_id];
			if (ORI_N(&ri) > 1)
				ri.ori += (uint32_t)obase << 8;
			d->info[d->n + i] = ri;
		}
		d->n += sf->n;
	}
	free(remap);
	return 0;
}

int rasn_table_builder_add_files(struct rasn_table_builder *b, char *const *paths, size_t n,
				 enum rasn_ds_format fmt, unsigned threads, char *err, size_t errlen)
{
	struct pool p = { .opts = &b->opts };
	struct load_file *files = calloc(n ? n : 1, sizeof(*files));
	struct chunk *chunks = NULL;
	size_t n_chunks = 0;
	int rc = 0;
	if (!files)
		return -ENOMEM;
	if (threads < 1)
		threads = 1;
	pthread_mutex_init(&p.lock, NULL);
	for (size_t i = 0; i < n; i++)
		files[i].path = paths[i];
	p.files = files;
	p.phase = 1;
	pool_run(&p, n, threads);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct load_file *f = &files[i];
		if (f->rc < 0) {
			snprintf(err, errlen, "%s: %s", f->path, rasn_strerror(f->rc));
			rc = f->rc;
			break;
		}
		f->fmt = fmt != RASN_DS_AUTO ? fmt : rasn_ds_detect(f->buf, f->len);
		if (f->fmt == RASN_DS_AUTO && f->len) {
			snprintf(err, errlen, "%s: cannot tell the file's format (expected ip-location-db csv, iptoasn tsv or pfx2as)", f->path);
			rc = RASN_EFORMAT;
		}
		if (f->fmt == RASN_DS_AUTO)
			f->fmt = RASN_DS_IPLDB_CSV; /* an empty file: any format says "no rows" */
		n_chunks += f->len >= CHUNK_MIN ? threads : 1;
	}
	if (rc < 0)
		goto done;
	chunks = calloc(n_chunks, sizeof(*chunks));
	if (!chunks) {
		rc = -ENOMEM;
		goto done;
	}
	/* cut each file into pieces that end right after a line feed */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct load_file *f = &files[i];
		size_t pieces = f->len >= CHUNK_MIN ? threads : 1, off = 0;
		for (size_t j = 0; j < pieces; j++) {
			size_t end = j + 1 == pieces ? f->len : f->len / pieces * (j + 1);
			if (end < off)
				end = off;
			const char *nl = end < f->len ? memchr(f->buf + end, '\n', f->len - end) : NULL;
			end = j + 1 == pieces ? f->len : nl ? (size_t)(nl - f->buf) + 1 : f->len;
			chunks[k] = (struct chunk){ .file = i, .buf = f->buf + off, .len = end - off, .fmt = f->fmt };
			k++;
			off = end;
		}
	}
	n_chunks = k;
	chunks[0].b = b; /* the first piece goes straight into the caller's builder */
	p.chunks = chunks;
	p.phase = 2;
	pool_run(&p, n_chunks, threads);

	/* Per file: line numbers, bad-line limit, then merge in order. */
	for (size_t i = 0, c = 0; i < n; i++) {
		size_t first = c, lines = 0, bad = 0, rows = 0, skipped = 0, shown = 0, total_lines = 0;
		char msg[ERRS_KEPT * 160] = "";
		size_t o = 0;
		for (; c < n_chunks && chunks[c].file == i; c++) {
			struct chunk *ch = &chunks[c];
			if (ch->rc < 0 && rc == 0) {
				snprintf(err, errlen, "%s: %s", files[i].path, rasn_strerror(ch->rc));
				rc = ch->rc;
			}
			for (size_t e = 0; e < ch->n_errs && shown < ERRS_KEPT; e++, shown++) {
				int w = snprintf(msg + o, sizeof(msg) - o, "%s%s:%zu: %s", o ? "; " : "", files[i].path,
						 ch->errs[e].line + lines, ch->errs[e].reason);
				if (w > 0 && (size_t)w < sizeof(msg) - o)
					o += (size_t)w;
			}
			lines += ch->res.lines;
			bad += ch->res.bad;
			rows += ch->res.rows;
			skipped += ch->res.skipped;
		}
		total_lines = lines;
		if (rc < 0)
			goto done;
		if (bad > b->opts.max_bad_lines) {
			snprintf(err, errlen, "%s (%zu malformed lines of %zu; the limit is %zu)", msg, bad,
				 total_lines, b->opts.max_bad_lines);
			rc = RASN_ETOOMANY;
			goto done;
		}
		if (rows == 0 && skipped == 0) {
			snprintf(err, errlen, "%s: no rows", files[i].path);
			rc = RASN_EEMPTY;
			goto done;
		}
		for (size_t m = first; m < c; m++)
			if (chunks[m].b != b && (rc = builder_merge(b, chunks[m].b)) < 0) {
				snprintf(err, errlen, "out of memory while loading");
				goto done;
			}
		if (grow((void **)&b->files, &b->files_cap, b->n_files + 1, sizeof(*b->files)) < 0 ||
		    !(b->files[b->n_files].path = strdup(files[i].path))) {
			rc = -ENOMEM;
			goto done;
		}
		struct rasn_table_file *tf = &b->files[b->n_files++];
		tf->format = files[i].fmt;
		tf->rows = rows;
		tf->bad = bad;
		tf->skipped = skipped;
		tf->method = files[i].method;
	}
done:
	/* On failure the caller's builder may hold part of what was parsed: it is not to be
	 * built from (rasn_table_build refuses a builder marked failed). */
	if (rc < 0 && !b->failed)
		b->failed = rc;
	/* chunks is NULL when a file failed before the pieces were cut */
	for (size_t i = 0; chunks && i < n_chunks; i++)
		if (chunks[i].b && chunks[i].b != b)
			rasn_table_builder_free(chunks[i].b);
	for (size_t i = 0; i < n; i++)
		free(files[i].buf);
	free(chunks);
	free(files);
	pthread_mutex_destroy(&p.lock);
	return rc;
}

int rasn_table_builder_add_file(struct rasn_table_builder *b, const char *path,
				enum rasn_ds_format fmt, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	enum rasn_io_method method;
	int rc = rasn_file_read(path, b->opts.max_file_size, b->opts.force_read, &buf, &len, &method);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, rasn_strerror(rc));
		return rc;
	}
	rc = rasn_table_builder_add_buffer(b, path, buf, len, fmt, err, errlen);
	free(buf);
	if (rc == 0)
		b->files[b->n_files - 1].method = method;
	return rc;
}

/* ---- overlap resolution ---------------------------------------------------------------- */

static int brow_cmp(const void *pa, const void *pb)
{
	const struct brow *a = pa, *b = pb;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Heap of active rows, narrowest first, then earliest read. */
static int narrower(const struct brow *a, const struct brow *b)
{
	rasn_u128 wa = a->last - a->first, wb = b->last - b->first;
	if (wa != wb)
		return wa < wb;
	return a->order < b->order;
}

static void heap_push(const struct brow **h, size_t *n, const struct brow *r)
{
	size_t i = (*n)++;
	h[i] = r;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!narrower(h[i], h[p]))
			break;
		const struct brow *t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static void heap_pop(const struct brow **h, size_t *n)
{
	h[0] = h[--(*n)];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < *n && narrower(h[l], h[m]))
			m = l;
		if (r < *n && narrower(h[r], h[m]))
			m = r;
		if (m == i)
			break;
		const struct brow *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Effective ranges, written over a fresh array: start, end, info of the winning row. */
struct seg {
	rasn_u128 first, last;
	const struct brow *row;
};

/* Resolve rows (sorted by first) into non-overlapping segments. Returns the count or -ENOMEM.
 * *overlaps counts rows that overlap another. */
static long resolve(const struct brow *v, size_t n, rasn_u128 maxv, struct seg **out, size_t *overlaps)
{
	size_t ns = 0;
	*out = NULL;
	/* Each row start splits at most one segment in two: 2n + 1 bounds the count. */
	struct seg *s = malloc((2 * n + 1) * sizeof(*s));
	const struct brow **heap = malloc((n ? n : 1) * sizeof(*heap));
	if (!s || !heap) {
		free(s);
		free(heap);
		return -ENOMEM;
	}
	rasn_u128 reach = 0;
	for (size_t k = 0; k < n; k++) {
		/* a row overlaps if it starts at or before the furthest end seen so far */
		if (k > 0 && v[k].first <= reach)
			(*overlaps)++;
		if (k == 0 || v[k].last > reach)
			reach = v[k].last;
	}
	size_t hn = 0, i = 0;
	rasn_u128 pos = n ? v[0].first : 0;
	while (n) {
		while (hn > 0 && heap[0]->last < pos)
			heap_pop(heap, &hn);
		if (hn == 0) {
			if (i >= n)
				break;
			pos = v[i].first;
		}
		while (i < n && v[i].first == pos)
			heap_push(heap, &hn, &v[i++]);
		while (hn > 0 && heap[0]->last < pos)
			heap_pop(heap, &hn);
		if (hn == 0)
			continue;
		const struct brow *top = heap[0];
		rasn_u128 end = top->last;
		if (i < n && v[i].first - 1 < end)
			end = v[i].first - 1;
		if (ns > 0 && s[ns - 1].row == top && s[ns - 1].last + 1 == pos)
			s[ns - 1].last = end; /* the same winner goes on: one range */
		else
			s[ns++] = (struct seg){ pos, end, top };
		if (end == maxv)
			break;
		pos = end + 1;
	}
	free(heap);
	*out = s;
	return (long)ns;
}

static rasn_u128 fam_get(const struct fam *f, const void *arr, size_t i)
{
	return f->esz == sizeof(uint32_t) ? ((const uint32_t *)arr)[i] : ((const rasn_u128 *)arr)[i];
}

static void fam_set(struct fam *f, size_t i, rasn_u128 first, rasn_u128 last, const struct rinfo *info)
{
	if (f->esz == sizeof(uint32_t)) {
		((uint32_t *)f->start)[i] = (uint32_t)first;
		((uint32_t *)f->end)[i] = (uint32_t)last;
	} else {
		((rasn_u128 *)f->start)[i] = first;
		((rasn_u128 *)f->end)[i] = last;
	}
	f->info[i] = *info;
}

/* Rows [i, j) as brows, in order. */
static struct brow *fam_rows(const struct fam *f, size_t i, size_t j)
{
	struct brow *rows = malloc((j - i ? j - i : 1) * sizeof(*rows));
	if (!rows)
		return NULL;
	for (size_t k = i; k < j; k++)
		rows[k - i] = (struct brow){ fam_get(f, f->start, k), fam_get(f, f->end, k), (uint32_t)k, f->info[k] };
	return rows;
}

/* End of the cluster of mutually overlapping rows that starts at i (rows sorted by start). */
static size_t cluster_end(const struct fam *f, size_t i)
{
	rasn_u128 reach = fam_get(f, f->end, i);
	size_t j = i + 1;
	for (; j < f->n && fam_get(f, f->start, j) <= reach; j++)
		if (fam_get(f, f->end, j) > reach)
			reach = fam_get(f, f->end, j);
	return j;
}

/* Resolve each overlapping cluster of sorted rows, writing in place behind the reader. With
 * dry set nothing is written: returns -EAGAIN if the writer would overtake the reader. */
static int fam_resolve_clusters(struct fam *f, rasn_u128 maxv, size_t *overlaps, int dry)
{
	size_t w = 0, n = f->n;
	for (size_t i = 0; i < n;) {
		size_t j = cluster_end(f, i);
		if (j == i + 1) {
			if (!dry && w != i)
				fam_set(f, w, fam_get(f, f->start, i), fam_get(f, f->end, i), &f->info[i]);
			w++;
			i = j;
			continue;
		}
		struct brow *rows = fam_rows(f, i, j);
		struct seg *sg;
		long ns = rows ? resolve(rows, j - i, maxv, &sg, overlaps) : -ENOMEM;
		if (ns < 0) {
			free(rows);
			return -ENOMEM;
		}
		int overtake = w + (size_t)ns > j;
		for (long k = 0; !dry && k < ns; k++)
			fam_set(f, w + (size_t)k, sg[k].first, sg[k].last, &sg[k].row->info);
		w += (size_t)ns;
		free(sg);
		free(rows);
		if (overtake)
			return -EAGAIN;
		i = j;
	}
	if (!dry)
		f->n = w;
	return 0;
}

/* Make the rows of f sorted and non-overlapping. Real datasets arrive sorted with few
 * overlaps, so the work is one pass plus a local resolution of each overlapping cluster,
 * written in place; only unsorted input, or clusters that split into more ranges than they
 * had rows, take new arrays. 0 or -ENOMEM. */
static int fam_normalize(struct fam *f, size_t *overlaps)
{
	size_t n = f->n;
	int v4 = f->esz == sizeof(uint32_t), sorted = 1, clean = 1;
	rasn_u128 maxv = v4 ? UINT32_MAX : ~(rasn_u128)0;
	for (size_t i = 1; i < n && sorted; i++) {
		rasn_u128 a = fam_get(f, f->start, i - 1), b = fam_get(f, f->start, i);
		sorted = a <= b;
		if (b <= fam_get(f, f->end, i - 1))
			clean = 0;
	}
	if (sorted && clean)
		return 0;
	if (sorted) {
		/* A dry run first: in place only if no cluster would overtake unread rows. */
		size_t o = *overlaps;
		int rc = fam_resolve_clusters(f, maxv, overlaps, 1);
		if (rc == 0) {
			*overlaps = o;
			return fam_resolve_clusters(f, maxv, overlaps, 0);
		}
		*overlaps = o;
		if (rc != -EAGAIN)
			return rc;
	}
	/* Unsorted: sort everything, then resolve in one sweep into new arrays. */
	struct brow *rows = fam_rows(f, 0, n);
	if (!rows)
		return -ENOMEM;
	qsort(rows, n, sizeof(*rows), brow_cmp);
	struct seg *sg;
	long ns = resolve(rows, n, maxv, &sg, overlaps);
	if (ns < 0) {
		free(rows);
		return -ENOMEM;
	}
	struct fam nf = { .esz = f->esz };
	if (fam_reserve(&nf, (size_t)ns + 1) < 0) {
		free(nf.start);
		free(nf.end);
		free(nf.info);
		free(sg);
		free(rows);
		return -ENOMEM;
	}
	for (long k = 0; k < ns; k++)
		fam_set(&nf, (size_t)k, sg[k].first, sg[k].last, &sg[k].row->info);
	nf.n = (size_t)ns;
	free(sg);
	free(rows);
	free(f->start);
	free(f->end);
	free(f->info);
	*f = nf;
	return 0;
}

/* ---- build ----------------------------------------------------------------------------- */

static void *xalloc(struct rasn_table *t, size_t n, size_t elem)
{
	void *p = rasn_big_calloc(n ? n : 1, elem);
	if (p)
		t->bytes += n * elem;
	return p;
}

/* Candidate segments of [base, base + size): the one holding base, then every one starting
 * inside. *j is the number of segment starts <= base on entry (advanced here). */
static size_t v4_cands(const uint32_t *st, size_t n, uint64_t base, uint64_t size, size_t *j, size_t *lo)
{
	while (*j < n && st[*j] <= base)
		(*j)++;
	*lo = *j - 1; /* segment 0 starts at 0: *j >= 1 */
	size_t k = *j;
	while (k < n && st[k] < base + size)
		k++;
	return k - *lo;
}

/* idx4 and sub4 over t->start4 (see struct rasn_table). Rebuilt from the segments alone, so
 * a snapshot needs to carry (and be trusted for) no index. 0 or -ENOMEM. */
int rasn_table_index4(struct rasn_table *t)
{
	const uint32_t *st = t->start4;
	size_t n = t->nseg4, nb = (size_t)1 << (32 - V4_SHIFT), nsub = (size_t)1 << (V4_SHIFT - V4_SUB_SHIFT);
	size_t j = 0, lo, big = 0;
	for (size_t h = 0; h < nb; h++)
		if (v4_cands(st, n, (uint64_t)h << V4_SHIFT, (uint64_t)1 << V4_SHIFT, &j, &lo) > V4_WIN)
			big++;
	t->idx4 = xalloc(t, nb, sizeof(uint32_t));
	t->sub4 = xalloc(t, big * nsub, sizeof(uint32_t));
	if (!t->idx4 || !t->sub4)
		return -ENOMEM;
	t->n_sub4 = big * nsub;
	size_t fb = 0, s = 0, j2 = 0;
	j = 0;
	for (size_t h = 0; h < nb; h++) {
		uint64_t base = (uint64_t)h << V4_SHIFT;
		size_t c = v4_cands(st, n, base, (uint64_t)1 << V4_SHIFT, &j, &lo);
		if (c <= V4_WIN) {
			t->idx4[h] = (uint32_t)lo;
			continue;
		}
		t->idx4[h] = V4_BIG | (uint32_t)s;
		for (size_t k = 0; k < nsub; k++, s++) {
			c = v4_cands(st, n, base + ((uint64_t)k << V4_SUB_SHIFT), (uint64_t)1 << V4_SUB_SHIFT, &j2, &lo);
			t->sub4[s] = (uint32_t)lo | (c > V4_WIN ? V4_BIG : 0);
			if (c > V4_WIN && c > fb)
				fb = c;
		}
	}
	t->v4_fb_len = 1;
	while (t->v4_fb_len < fb)
		t->v4_fb_len *= 2;
	return 0;
}

/* Ranges (sorted, not overlapping) into segments with the gaps between them. */
static int build_family4(struct rasn_table *t, struct fam *f)
{
	size_t n = f->n, ns = 0;
	const uint32_t *st = f->start, *en = f->end;
	t->n4 = n;
	if (2 * n + 1 >= V4_BIG)
		return -E2BIG; /* segment indexes are 31-bit in the index */
	t->start4 = xalloc(t, 2 * n + 1 + V4_WIN, sizeof(uint32_t));
	t->info4 = xalloc(t, 2 * n + 1, sizeof(struct rinfo));
	if (!t->start4 || !t->info4)
		return -ENOMEM;
	uint64_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		if (st[i] > pos)
			t->start4[ns++] = (uint32_t)pos; /* a gap: info left zero (ori 0) */
		t->start4[ns] = st[i];
		t->info4[ns++] = f->info[i];
		pos = (uint64_t)en[i] + 1;
	}
	if (pos <= UINT32_MAX)
		t->start4[ns++] = (uint32_t)pos;
	t->nseg4 = ns;
	t->bytes -= (2 * n + 1 - ns) * (sizeof(uint32_t) + sizeof(struct rinfo)); /* never touched */
	for (size_t i = ns; i < ns + V4_WIN; i++)
		t->start4[i] = UINT32_MAX;
	return rasn_table_index4(t);
}

int rasn_table_index6(struct rasn_table *t)
{
	size_t n = t->n6;
	unsigned bits = 4;
	while (bits < V6_BITS_MAX && ((size_t)1 << bits) < n * 4)
		bits++;
	t->shift6 = 128 - bits;
	size_t nb = (size_t)1 << bits;
	t->idx6 = xalloc(t, nb + 1, sizeof(uint32_t));
	if (!t->idx6)
		return -ENOMEM;
	size_t j = 0;
	for (size_t h = 0; h <= nb; h++) {
		while (j < n && (h == nb || (t->start6[j] >> t->shift6) < h))
			j++;
		t->idx6[h] = (uint32_t)j;
	}
	return 0;
}

static int build_family6(struct rasn_table *t, struct fam *f)
{
	size_t n = f->n;
	t->n6 = n;
	t->start6 = f->start;
	t->end6 = f->end;
	t->info6 = f->info;
	f->start = f->end = NULL;
	f->info = NULL;
	t->bytes += n * (2 * sizeof(rasn_u128) + sizeof(struct rinfo));
	return rasn_table_index6(t);
}

static int build_names(struct rasn_table *t, struct rasn_table_builder *b)
{
	struct rasn_buf out, low;
	rasn_buf_init(&out);
	rasn_buf_init(&low);
	t->n_names = b->n_names;
	t->nm = xalloc(t, b->n_names, sizeof(*t->nm));
	if (!t->nm)
		goto oom;
	if (buf_reserve_big(&out, b->blob.len * 2 + 16) < 0 || buf_reserve_big(&low, b->blob.len + 16) < 0)
		goto oom;
	for (size_t id = 0; id < b->n_names; id++) {
		const char *raw = b->blob.data + b->name_off[id];
		size_t n = strlen(raw);
		/* "json\0raw\0": a range's info holds the JSON offset and length, which find both */
		t->nm[id].json = (uint32_t)out.len;
		size_t before = out.len;
		rasn_buf_json_esc(&out, raw, n);
		if (out.len - before > UINT16_MAX)
			goto oom;
		t->nm[id].json_len = (uint16_t)(out.len - before);
		rasn_buf_addc(&out, '\0');
		t->nm[id].raw = (uint32_t)out.len;
		rasn_buf_add(&out, raw, n + 1);
		t->nm[id].lower = (uint32_t)low.len;
		t->nm[id].len = (uint32_t)n;
		for (size_t k = 0; k < n; k++)
			rasn_buf_addc(&low, (char)tolower((unsigned char)raw[k]));
		rasn_buf_addc(&low, '\0');
		if (out.len > UINT32_MAX)
			goto oom;
	}
	if (out.oom || low.oom)
		goto oom;
	t->names = out.data;
	t->names_lower = low.data;
	t->names_len = out.len;
	t->lower_len = low.len;
	t->bytes += out.cap + low.cap;
	return 0;
oom:
	rasn_buf_free(&out);
	rasn_buf_free(&low);
	return -ENOMEM;
}

static int org_cmp(const void *pa, const void *pb)
{
	const struct org_entry *a = pa, *b = pb;
	if (a->asn != b->asn)
		return a->asn < b->asn ? -1 : 1;
	return a->name_id < b->name_id ? -1 : a->name_id > b->name_id;
}

#define V6BIT 0x80000000u

/* One key per (origin AS, range): ASN in the high half, range index (V6BIT for v6) in the
 * low half. Written in range order, so sorting stably by ASN alone orders the ranges too. */
static size_t add_keys(uint64_t *k, size_t n, const struct rasn_table *t, const struct rinfo *info,
		       size_t count, uint32_t v6bit)
{
	for (size_t i = 0; i < count; i++) {
		const struct rinfo *ri = &info[i];
		if (ORI_N(ri) == 0)
			continue; /* an IPv4 gap */
		if (ORI_N(ri) == 1) {
			k[n++] = (uint64_t)ri->asn << 32 | (uint32_t)i | v6bit;
			continue;
		}
		for (unsigned o = 0; o < ORI_N(ri); o++)
			k[n++] = (uint64_t)t->origins[ORI_OFF(ri) + o] << 32 | (uint32_t)i | v6bit;
	}
	return n;
}

static size_t count_keys(const struct rinfo *info, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ORI_N(&info[i]);
	return k;
}

/* Stable LSD radix sort on the high 32 bits: four passes of 8 bits, no comparisons. */
static int radix_sort_hi32(uint64_t *a, size_t n)
{
	uint64_t *tmp = rasn_big_alloc((n ? n : 1) * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	uint64_t *src = a, *dst = tmp;
	for (unsigned shift = 32; shift < 64; shift += 8) {
		size_t cnt[257] = { 0 };
		for (size_t i = 0; i < n; i++)
			cnt[((src[i] >> shift) & 0xff) + 1]++;
		for (size_t b = 1; b < 257; b++)
			cnt[b] += cnt[b - 1];
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i] >> shift) & 0xff]++] = src[i];
		uint64_t *x = src;
		src = dst;
		dst = x;
	}
	/* four passes: the result is back in a */
	free(tmp);
	return 0;
}

static uint32_t key_name(const struct rasn_table *t, uint64_t key)
{
	uint32_t idx = (uint32_t)key;
	return idx & V6BIT ? t->info6[idx & ~V6BIT].name_id : t->info4[idx].name_id;
}

static int build_as_index(struct rasn_table *t)
{
	size_t nk = count_keys(t->info4, t->nseg4) + count_keys(t->info6, t->n6);
	uint64_t *k = rasn_big_alloc((nk ? nk : 1) * sizeof(*k));
	if (!k || radix_sort_hi32(k, add_keys(k, add_keys(k, 0, t, t->info4, t->nseg4, 0), t, t->info6, t->n6, V6BIT)) < 0) {
		free(k);
		return -ENOMEM;
	}
	size_t n_as = 0;
	for (size_t i = 0; i < nk; i++)
		if (i == 0 || k[i] >> 32 != k[i - 1] >> 32)
			n_as++;
	t->as = xalloc(t, n_as, sizeof(*t->as));
	t->as_ranges = xalloc(t, nk, sizeof(uint32_t));
	/* distinct (AS, name) pairs; grown as found (far fewer than keys) */
	size_t org_cap = n_as + 1024, no = 0;
	struct org_entry *org = malloc(org_cap * sizeof(*org));
	if (!t->as || !t->as_ranges || !org) {
		free(k);
		free(org);
		return -ENOMEM;
	}
	size_t a = 0;
	for (size_t i = 0; i < nk;) {
		struct as_entry *e = &t->as[a++];
		e->asn = (uint32_t)(k[i] >> 32);
		e->off = (uint32_t)i;
		size_t group = no, j;
		for (j = i; j < nk && (uint32_t)(k[j] >> 32) == e->asn; j++) {
			uint32_t idx = (uint32_t)k[j];
			t->as_ranges[j] = idx & ~V6BIT;
			if (idx & V6BIT)
				e->n6++;
			else
				e->n4++;
			uint32_t nid = key_name(t, k[j]);
			size_t m;
			for (m = group; m < no && org[m].name_id != nid; m++)
				;
			if (m == no && no - group < 64) {
				if (no == org_cap) {
					struct org_entry *g = realloc(org, (org_cap *= 2) * sizeof(*org));
					if (!g) {
						free(k);
						free(org);
						return -ENOMEM;
					}
					org = g;
				}
				org[no++] = (struct org_entry){ e->asn, nid };
			}
		}
		/* the AS's name: its most frequent, ties to the lowest id (the first read) */
		uint32_t best = org[group].name_id, best_n = 0;
		for (size_t m = group; m < no && no - group > 1; m++) {
			uint32_t c = 0;
			for (size_t q = i; q < j; q++)
				c += key_name(t, k[q]) == org[m].name_id;
			if (c > best_n || (c == best_n && org[m].name_id < best)) {
				best = org[m].name_id;
				best_n = c;
			}
		}
		e->name_id = best;
		i = j;
	}
	t->n_as = n_as;
	t->n_as_ranges = nk;
	free(k);
	qsort(org, no, sizeof(*org), org_cmp);
	t->org = org;
	t->n_org = no;
	t->bytes += no * sizeof(*org);
	return 0;
}

void rasn_table_free_impl(struct rasn_table *t)
{
	if (!t)
		return;
	if (t->image) {
		/* everything else points into the image */
		free(t->idx4);
		free(t->sub4);
		free(t->idx6);
		free(t->image);
		goto files;
	}
	free(t->start4);
	free(t->info4);
	free(t->idx4);
	free(t->sub4);
	free(t->start6);
	free(t->end6);
	free(t->info6);
	free(t->idx6);
	free(t->names);
	free(t->names_lower);
	free(t->nm);
	free(t->origins);
	free(t->as);
	free(t->as_ranges);
	free(t->org);
files:
	for (size_t i = 0; i < t->n_files; i++)
		free((char *)t->files[i].path);
	free(t->files);
	free(t);
}

int rasn_table_build(struct rasn_table_builder *b, struct rasn_table **out,
		     char *err, size_t errlen)
{
	int rc = -ENOMEM;
	*out = NULL;
	if (b->failed) {
		snprintf(err, errlen, "out of memory while loading");
		return b->failed;
	}
	if (b->f4.n + b->f6.n == 0) {
		snprintf(err, errlen, "no rows loaded");
		return RASN_EEMPTY;
	}
	struct rasn_table *t = calloc(1, sizeof(*t));
	if (!t)
		goto done;
	atomic_init(&t->refs, 1);
	t->rows = b->f4.n + b->f6.n;
	if (fam_normalize(&b->f4, &t->overlaps) < 0 || fam_normalize(&b->f6, &t->overlaps) < 0)
		goto done;
	if (build_family4(t, &b->f4) < 0 || build_family6(t, &b->f6) < 0)
		goto done;
	if (build_names(t, b) < 0)
		goto done;
	t->origins = b->origins;
	t->n_origins_total = b->n_origins;
	b->origins = NULL;
	t->bytes += t->n_origins_total * sizeof(uint32_t);
	if (build_as_index(t) < 0)
		goto done;
	/* the index is built on name ids; from here on ranges carry their name's offset */
	for (size_t i = 0; i < t->nseg4; i++) {
		struct name_ent *ne = &t->nm[t->info4[i].name_id];
		t->info4[i].name_id = ne->json;
		t->info4[i].json_len = ne->json_len;
	}
	for (size_t i = 0; i < t->n6; i++) {
		struct name_ent *ne = &t->nm[t->info6[i].name_id];
		t->info6[i].name_id = ne->json;
		t->info6[i].json_len = ne->json_len;
	}
	t->files = b->files;
	t->n_files = b->n_files;
	b->files = NULL;
	b->n_files = 0;
	t->bytes += sizeof(*t);
	*out = t;
	t = NULL;
	rc = 0;
done:
	if (rc < 0)
		snprintf(err, errlen, "out of memory while building the table");
	rasn_table_free_impl(t);
	return rc;
}

struct rasn_table *rasn_table_ref(struct rasn_table *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void rasn_table_unref(struct rasn_table *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		rasn_table_free_impl(t);
}

/* ---- queries --------------------------------------------------------------------------- */

static void fill_match(const struct rasn_table *t, const struct rinfo *ri, struct rasn_match *m)
{
	m->asn = ri->asn;
	if (ORI_N(ri) > 1) {
		m->origins = t->origins + ORI_OFF(ri);
		m->n_origins = ORI_N(ri);
	} else {
		m->origins = &ri->asn;
		m->n_origins = 1;
	}
	/* names are laid out "json\0raw\0": both from the offset in the range's info */
	m->name_json = t->names + ri->name_id;
	m->name_json_len = ri->json_len;
	m->name = m->name_json + ri->json_len + 1;
	m->cc = ri->cc[0] ? ri->cc : "";
}

/* How many of the V4_WIN starts at w are <= x. Starts are sorted, so this is also the index of
 * the first one above x: compares and a mask, no branch, whatever the bucket holds. */
static inline unsigned count_win(const uint32_t *w, uint32_t x)
{
#if defined(__SSE2__)
	/* SSE2 compares are signed: flip the top bit of both sides */
	const __m128i bias = _mm_set1_epi32(INT32_MIN);
	__m128i xv = _mm_xor_si128(_mm_set1_epi32((int)x), bias);
	__m128i g0 = _mm_cmpgt_epi32(_mm_xor_si128(_mm_loadu_si128((const __m128i *)w), bias), xv);
	__m128i g1 = _mm_cmpgt_epi32(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 4)), bias), xv);
	__m128i g2 = _mm_cmpgt_epi32(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 8)), bias), xv);
	__m128i g3 = _mm_cmpgt_epi32(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 12)), bias), xv);
	__m128i g = _mm_packs_epi16(_mm_packs_epi32(g0, g1), _mm_packs_epi32(g2, g3));
	return (unsigned)__builtin_ctz((unsigned)_mm_movemask_epi8(g) | (1u << V4_WIN));
#else
	unsigned c = 0;
	for (unsigned k = 0; k < V4_WIN; k++)
		c += w[k] <= x;
	return c;
#endif
}

/* A crowded /20 (rare): branch-free binary search for the last start <= x among the
 * v4_fb_len segments from lo (those past the /20 start above x: they never win). */
static size_t find4_fallback(const struct rasn_table *t, uint32_t x, size_t lo)
{
	const uint32_t *base = t->start4 + lo;
	size_t len = t->nseg4 - lo < t->v4_fb_len ? t->nseg4 - lo : t->v4_fb_len;
	while (len > 1) {
		size_t half = len / 2;
		base = base[half] <= x ? base + half : base;
		len -= half;
	}
	return (size_t)(base - t->start4);
}

/* The first candidate of x (see idx4), or V4_BIG | lo when a binary search must finish. */
static inline uint32_t cand4(const struct rasn_table *t, uint32_t x)
{
	uint32_t e = t->idx4[x >> V4_SHIFT];
	if (__builtin_expect(e & V4_BIG, 0))
		e = t->sub4[(e & ~V4_BIG) + ((x >> V4_SUB_SHIFT) & ((1u << (V4_SHIFT - V4_SUB_SHIFT)) - 1))];
	return e;
}

/* The segment holding x, from its first candidate. */
static inline size_t seg4_from(const struct rasn_table *t, uint32_t x, uint32_t e)
{
	if (__builtin_expect(e & V4_BIG, 0))
		return find4_fallback(t, x, e & ~V4_BIG);
	size_t i = e + count_win(t->start4 + e, x) - 1;
	/* only for x = 255.255.255.255 can the padding count: the last segment holds it */
	return i < t->nseg4 ? i : t->nseg4 - 1;
}

/* Fills m from segment i; returns 1 for a range, 0 for a gap (m then holds nothing useful). */
static inline int match4(const struct rasn_table *t, size_t i, struct rasn_match *m)
{
	const struct rinfo *ri = &t->info4[i];
	m->family = RASN_AF4;
	m->first = t->start4[i];
	m->last = i + 1 < t->nseg4 ? (rasn_u128)t->start4[i + 1] - 1 : UINT32_MAX;
	fill_match(t, ri, m);
	return ORI_N(ri) != 0;
}

/* The last address of IPv4 segment i. */
static inline uint32_t seg4_last(const struct rasn_table *t, size_t i)
{
	return i + 1 < t->nseg4 ? t->start4[i + 1] - 1 : UINT32_MAX;
}

void rasn_table_lookup_batch(const struct rasn_table *t, const struct rasn_addr *a, size_t n,
			     struct rasn_match *m, int *found)
{
	/* Each IPv4 lookup is a chain of dependent cache misses (index, window, info, name); in
	 * stages over the whole batch the misses of different lookups overlap instead. */
	uint32_t e[RASN_LOOKUP_BATCH];
	size_t idx[RASN_LOOKUP_BATCH];
	if (n > RASN_LOOKUP_BATCH)
		n = RASN_LOOKUP_BATCH;
	for (size_t k = 0; k < n; k++)
		if (a[k].family == RASN_AF4)
			__builtin_prefetch(&t->idx4[(uint32_t)a[k].v >> V4_SHIFT]);
	for (size_t k = 0; k < n; k++) {
		if (a[k].family != RASN_AF4)
			continue;
		e[k] = cand4(t, (uint32_t)a[k].v);
		uint32_t lo = e[k] & ~V4_BIG;
		__builtin_prefetch(&t->start4[lo]);
		__builtin_prefetch(&t->start4[lo + V4_WIN - 1]);
	}
	for (size_t k = 0; k < n; k++) {
		if (a[k].family != RASN_AF4)
			continue;
		idx[k] = seg4_from(t, (uint32_t)a[k].v, e[k]);
		__builtin_prefetch(&t->info4[idx[k]]);
	}
	for (size_t k = 0; k < n; k++) {
		if (a[k].family != RASN_AF4) {
			found[k] = rasn_table_lookup(t, &a[k], &m[k]);
			continue;
		}
		found[k] = match4(t, idx[k], &m[k]);
		if (found[k])
			__builtin_prefetch(m[k].name_json);
	}
}

int rasn_table_lookup(const struct rasn_table *t, const struct rasn_addr *a, struct rasn_match *m)
{
	if (a->family == RASN_AF4) {
		/* no branch on found or not: a miss costs the same as a hit and mispredicts nothing */
		uint32_t x = (uint32_t)a->v;
		uint32_t e = cand4(t, x);
		/* most of the space lies in buckets of one segment: its info is likely the answer, so
		 * its miss can overlap the window's instead of waiting for it */
		__builtin_prefetch(&t->info4[e & ~V4_BIG]);
		return match4(t, seg4_from(t, x, e), m);
	}
	rasn_u128 x = a->v;
	size_t h = (size_t)(x >> t->shift6);
	size_t lo = t->idx6[h], hi = t->idx6[h + 1];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->start6[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || t->end6[lo - 1] < x)
		return 0;
	size_t i = lo - 1;
	m->family = RASN_AF6;
	m->first = t->start6[i];
	m->last = t->end6[i];
	fill_match(t, &t->info6[i], m);
	return 1;
}

int rasn_table_any_in(const struct rasn_table *t, const struct rasn_prefix *p)
{
	rasn_u128 first = p->addr, last = p->addr | rasn_hostmask(p->family, p->len);
	struct rasn_match m;
	struct rasn_addr a = { p->family, first };
	if (rasn_table_lookup(t, &a, &m))
		return 1;
	if (p->family == RASN_AF4)
		return m.last < last; /* m is the gap holding first: a range follows it inside p */
	/* the first range ending at or after first: inside p when it starts by last */
	size_t lo = 0, hi = t->n6;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->end6[mid] < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n6 && t->start6[lo] <= last;
}

static const struct as_entry *as_find(const struct rasn_table *t, uint32_t asn)
{
	size_t lo = 0, hi = t->n_as;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->as[mid].asn < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n_as && t->as[lo].asn == asn ? &t->as[lo] : NULL;
}

int rasn_table_as(const struct rasn_table *t, uint32_t asn, struct rasn_as_info *info)
{
	const struct as_entry *e = as_find(t, asn);
	if (!e)
		return 0;
	memset(info, 0, sizeof(*info));
	info->asn = asn;
	info->name = t->names + t->nm[e->name_id].raw;
	info->name_json = t->names + t->nm[e->name_id].json;
	info->name_json_len = t->nm[e->name_id].json_len;
	info->ranges_v4 = e->n4;
	info->ranges_v6 = e->n6;
	for (uint32_t k = 0; k < e->n4; k++) {
		uint32_t i = t->as_ranges[e->off + k];
		info->addresses_v4 += (rasn_u128)seg4_last(t, i) - t->start4[i] + 1;
	}
	for (uint32_t k = 0; k < e->n6; k++) {
		uint32_t i = t->as_ranges[e->off + e->n4 + k];
		rasn_u128 w = t->end6[i] - t->start6[i];
		/* saturate: the whole space does not fit */
		info->addresses_v6 = (info->addresses_v6 + w + 1 < info->addresses_v6 || w == ~(rasn_u128)0)
					     ? ~(rasn_u128)0 : info->addresses_v6 + w + 1;
	}
	return 1;
}

long rasn_table_as_prefixes(const struct rasn_table *t, uint32_t asn, struct rasn_prefix **out)
{
	*out = NULL;
	const struct as_entry *e = as_find(t, asn);
	if (!e)
		return 0;
	/* Each range yields at most 2 * bits CIDRs; count first to size the array. */
	size_t total = 0;
	for (uint32_t k = 0; k < e->n4 + e->n6; k++) {
		uint32_t i = t->as_ranges[e->off + k];
		total += k < e->n4 ? rasn_cidr_from_range(RASN_AF4, t->start4[i], seg4_last(t, i), NULL, 0)
				   : rasn_cidr_from_range(RASN_AF6, t->start6[i], t->end6[i], NULL, 0);
	}
	struct rasn_prefix *p = malloc((total ? total : 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	size_t n = 0;
	for (uint32_t k = 0; k < e->n4 + e->n6; k++) {
		uint32_t i = t->as_ranges[e->off + k];
		n += k < e->n4 ? rasn_cidr_from_range(RASN_AF4, t->start4[i], seg4_last(t, i), p + n, total - n)
			       : rasn_cidr_from_range(RASN_AF6, t->start6[i], t->end6[i], p + n, total - n);
	}
	n = rasn_cidr_aggregate(p, n);
	*out = p;
	return (long)n;
}

/* The id of the name whose lower-cased text holds offset off of names_lower. */
static size_t name_at(const struct rasn_table *t, size_t off)
{
	size_t lo = 0, hi = t->n_names; /* nm[].lower grows with the id */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->nm[mid].lower <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

size_t rasn_table_org_search(const struct rasn_table *t, const char *text, size_t len,
			     struct rasn_org_hit *out, size_t cap)
{
	char needle[256];
	if (len == 0 || len > sizeof(needle) || memchr(text, '\0', len) || t->n_names == 0)
		return 0; /* no name holds a NUL */
	for (size_t i = 0; i < len; i++)
		needle[i] = (char)tolower((unsigned char)text[i]);
	/* One memmem over every name at once (they are NUL-separated, so a match lies inside one
	 * name): a flood of org requests costs far less loop time than a search per name. */
	unsigned char *hit = calloc(t->n_names / 8 + 1, 1);
	if (!hit)
		return 0;
	const char *base = t->names_lower, *end = base + t->lower_len, *p = base, *m;
	size_t id = 0;
	while (p < end && (m = memmem(p, (size_t)(end - p), needle, len))) {
		size_t off = (size_t)(m - base);
		/* matches come in order: step to the next few names, else search */
		size_t k = 0;
		while (k < 8 && id + 1 < t->n_names && t->nm[id + 1].lower <= off)
			id++, k++;
		if (k == 8 || (id + 1 < t->n_names && t->nm[id + 1].lower <= off) || t->nm[id].lower > off)
			id = name_at(t, off);
		hit[id / 8] |= (unsigned char)(1u << (id % 8));
		const char *next = base + t->nm[id].lower + t->nm[id].len + 1;
		p = next > m && next <= end ? next : m + 1; /* (a damaged snapshot: still advance) */
	}
	size_t total = 0;
	uint32_t last_asn = 0;
	int have_last = 0;
	for (size_t i = 0; i < t->n_org; i++) {
		const struct org_entry *o = &t->org[i];
		if (have_last && o->asn == last_asn)
			continue; /* this AS already matched through another of its names */
		if (!(hit[o->name_id / 8] & (1u << (o->name_id % 8))))
			continue;
		if (total < cap) {
			out[total].asn = o->asn;
			out[total].name = t->names + t->nm[o->name_id].raw;
			out[total].name_json = t->names + t->nm[o->name_id].json;
			out[total].name_json_len = t->nm[o->name_id].json_len;
		}
		total++;
		last_asn = o->asn;
		have_last = 1;
	}
	free(hit);
	return total;
}

void rasn_table_info(const struct rasn_table *t, struct rasn_table_info *info)
{
	memset(info, 0, sizeof(*info));
	info->ranges_v4 = t->n4;
	info->ranges_v6 = t->n6;
	info->rows = t->rows;
	info->overlaps = t->overlaps;
	info->asns = t->n_as;
	info->names = t->n_names;
	info->bytes = t->bytes;
	info->n_files = t->n_files;
	info->files = t->files;
	info->from_snapshot = t->image != NULL;
}

int rasn_table_set_file_path(struct rasn_table *t, size_t i, const char *path)
{
	if (!t || i >= t->n_files || !path)
		return -EINVAL;
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	free((char *)t->files[i].path);
	t->files[i].path = p;
	return 0;
}
