/* The lookup table: an immutable map from address ranges to origin ASNs built from dataset
 * files, with an AS index and organisation search. Built once (off the event loop), then only
 * read; shared by reference count so a reload can swap in a new one while the old is in use.
 *
 * Overlapping rows are resolved deterministically: each address belongs to the narrowest row
 * that holds it (the longest match), and among rows of equal width to the one read first.
 * The resulting ranges never overlap; a lookup reports the effective range that holds the
 * address. */
#ifndef RASN_TABLE_H
#define RASN_TABLE_H

#include "addr.h"
#include "dataset.h"
#include "fileio.h"

struct rasn_table;
struct rasn_table_builder;

struct rasn_table_opts {
	size_t max_bad_lines;      /* a file with more malformed lines fails to load */
	size_t max_file_size;      /* bytes; 0 = no bound */
	int force_read;            /* skip io_uring */
};

/* Where one loaded file came from; kept in the table for stats. */
struct rasn_table_file {
	const char *path;
	enum rasn_ds_format format;
	size_t rows, bad, skipped;
	enum rasn_io_method method;  /* how the file was read; from a snapshot, how the image was */
};

struct rasn_table_builder *rasn_table_builder_new(const struct rasn_table_opts *opts);
void rasn_table_builder_free(struct rasn_table_builder *b);

/* Read and parse one file. On failure returns a negative code and writes a message naming
 * file:line of the first problems into err (errlen bytes). */
int rasn_table_builder_add_file(struct rasn_table_builder *b, const char *path,
				enum rasn_ds_format fmt, char *err, size_t errlen);
/* Read and parse several files on up to `threads` threads (large files are cut at line
 * boundaries and parsed in pieces), with the same result as adding them one by one. On
 * failure (message in err, naming file:line) the builder is spent: free it. */
int rasn_table_builder_add_files(struct rasn_table_builder *b, char *const *paths, size_t n,
				 enum rasn_ds_format fmt, unsigned threads, char *err, size_t errlen);
/* Parse a buffer as if it were a file called name (tests, fuzzing, downloads). */
int rasn_table_builder_add_buffer(struct rasn_table_builder *b, const char *name,
				  const char *buf, size_t len, enum rasn_ds_format fmt,
				  char *err, size_t errlen);
int rasn_table_builder_add_row(struct rasn_table_builder *b, const struct rasn_ds_row *row);

/* Finish: resolve overlaps, build indexes. The builder is spent either way (free it).
 * Returns 0 with *out holding one reference, -ENOMEM, or RASN_EEMPTY when no rows. */
int rasn_table_build(struct rasn_table_builder *b, struct rasn_table **out,
		     char *err, size_t errlen);

struct rasn_table *rasn_table_ref(struct rasn_table *t);
void rasn_table_unref(struct rasn_table *t);

struct rasn_match {
	int family;
	rasn_u128 first, last;     /* the effective range that holds the address */
	uint32_t asn;
	const uint32_t *origins;   /* all origin ASNs (asn is origins[0]) */
	unsigned n_origins;
	const char *name;          /* AS name as in the dataset ("" when none), NUL-terminated */
	const char *name_json;     /* the same, JSON-escaped, no quotes */
	size_t name_json_len;
	const char *cc;            /* "" when none */
};

/* Longest match. Returns 1 and fills m, or 0 when no range holds the address. */
int rasn_table_lookup(const struct rasn_table *t, const struct rasn_addr *a, struct rasn_match *m);

/* The same for up to RASN_LOOKUP_BATCH addresses at once (more are ignored): found[k] and
 * m[k] as rasn_table_lookup would give, with the memory accesses of the lookups overlapped
 * (prefetched in stages), which is what bulk input needs. */
#define RASN_LOOKUP_BATCH 16
void rasn_table_lookup_batch(const struct rasn_table *t, const struct rasn_addr *a, size_t n,
			     struct rasn_match *m, int *found);

/* 1 when some range holds an address of p, else 0. */
int rasn_table_any_in(const struct rasn_table *t, const struct rasn_prefix *p);

struct rasn_as_info {
	uint32_t asn;
	const char *name, *name_json; /* most frequent name of the AS in the dataset */
	size_t name_json_len;
	size_t ranges_v4, ranges_v6;  /* effective ranges */
	rasn_u128 addresses_v4;       /* IPv4 addresses covered */
	rasn_u128 addresses_v6;       /* IPv6 addresses covered (may be huge) */
};

/* Returns 1 and fills info, or 0 when the AS is not in the table. */
int rasn_table_as(const struct rasn_table *t, uint32_t asn, struct rasn_as_info *info);

/* Aggregated prefixes of an AS: v4 first, then v6, each sorted. *out is malloc'd (free it).
 * Returns the count (0 when none or unknown AS) or -ENOMEM. */
long rasn_table_as_prefixes(const struct rasn_table *t, uint32_t asn, struct rasn_prefix **out);

struct rasn_org_hit {
	uint32_t asn;
	const char *name, *name_json;
	size_t name_json_len;
};
/* ASes whose name contains text (ASCII case-insensitive), ordered by ASN; at most cap hits
 * written. Returns the total number of matching ASes (may exceed cap). */
size_t rasn_table_org_search(const struct rasn_table *t, const char *text, size_t len,
			     struct rasn_org_hit *out, size_t cap);

struct rasn_table_info {
	size_t ranges_v4, ranges_v6;  /* effective ranges after overlap resolution */
	size_t rows;                  /* rows read */
	size_t overlaps;              /* rows that overlapped another */
	size_t asns, names;
	size_t bytes;                 /* memory held */
	size_t n_files;
	const struct rasn_table_file *files;
	int from_snapshot;            /* 1: read from a snapshot image (lib/snapshot.h), not parsed */
};
void rasn_table_info(const struct rasn_table *t, struct rasn_table_info *info);

/* Rename the i-th file the table records having loaded (a file parsed under a temporary name
 * and then moved into place). Only before the table is shared with other threads. Returns 0,
 * -EINVAL (no such file) or -ENOMEM. */
int rasn_table_set_file_path(struct rasn_table *t, size_t i, const char *path);

#endif
