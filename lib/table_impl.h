/* The table's layout, shared by table.c (build, queries) and snapshot.c (its image on disk).
 * Not part of the library's interface. */
#ifndef RASN_TABLE_IMPL_H
#define RASN_TABLE_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"

#define V4_SHIFT 16                   /* v4 index on the top 16 bits: 256 KiB */
#define V4_SUB_SHIFT 12               /* a crowded /16 gets 16 sub-buckets of /20 */
#define V4_WIN 16                     /* range starts compared at once (a 64-byte window) */
#define V4_BIG 0x80000000u            /* index entry flag: more than V4_WIN candidates */
#define V6_BITS_MAX 20                /* v6 index on up to the top 20 bits: 4 MiB */

/* What one effective range maps to: everything a reply needs, in 16 bytes, so an answer
 * costs one memory access beyond the range search. */
struct rinfo {
	uint32_t asn;
	uint32_t name_id;     /* the name's id while building; its offset in t->names after */
	uint32_t ori;         /* origins: offset into t->origins << 8 | count (0 or 1: just asn) */
	char cc[2];
	uint16_t json_len;    /* after building: length of the JSON-escaped name */
};

#define ORI_N(ri) ((ri)->ori & 0xffu)
#define ORI_OFF(ri) ((ri)->ori >> 8)
#define ORI_MAX_OFF (1u << 24)

struct as_entry {
	uint32_t asn;
	uint32_t name_id;   /* most frequent name */
	uint32_t off;       /* into t->as_ranges: n4 v4 range indexes, then n6 v6 ones */
	uint32_t n4, n6;
};

struct org_entry {
	uint32_t asn;
	uint32_t name_id;
};

/* Where a name's forms live; one struct so a lookup touches one cache line for its name. */
struct name_ent {
	uint32_t raw, json, lower; /* offsets: raw and JSON-escaped in names, lower in names_lower */
	uint16_t json_len, len;
};

struct rasn_table {
	atomic_int refs;
	/* v4: the address space cut into segments, ranges and the gaps between them, so that the
	 * segment holding x is the last one starting at or before x and no end check (another
	 * cache miss) is needed; a gap's info has ori == 0. */
	size_t n4;               /* ranges (gaps not counted) */
	size_t nseg4;            /* segments; the first starts at 0.0.0.0, the last ends at the top */
	uint32_t *start4;        /* nseg4 + V4_WIN entries, the padding UINT32_MAX */
	struct rinfo *info4;     /* nseg4 */
	/* idx4[x >> 16]: the first candidate segment (the one holding the bucket's first address)
	 * when at most V4_WIN segments meet the bucket; else V4_BIG | an offset into sub4, whose
	 * 16 entries do the same per /20, V4_BIG there meaning a binary search of v4_fb_len. */
	uint32_t *idx4;          /* 1 << (32 - V4_SHIFT) entries */
	uint32_t *sub4;
	size_t n_sub4;
	size_t v4_fb_len;        /* power of two >= the candidates of any crowded /20 */
	/* v6 */
	size_t n6;
	rasn_u128 *start6, *end6;
	struct rinfo *info6;
	uint32_t *idx6;          /* (1 << (128 - shift6)) + 1 entries */
	unsigned shift6;         /* sized to the data: small tables get a small index */
	/* names: id 0 is "" */
	size_t n_names;
	char *names;             /* per name "json\0raw\0"; the blob ends in NUL */
	char *names_lower;       /* raw, ASCII lower-cased, for org search */
	size_t names_len, lower_len;
	struct name_ent *nm;
	uint32_t *origins;
	size_t n_origins_total;
	/* AS index, sorted by ASN */
	size_t n_as;
	struct as_entry *as;
	uint32_t *as_ranges;
	size_t n_as_ranges;
	/* org search: distinct (asn, name) pairs sorted by ASN */
	size_t n_org;
	struct org_entry *org;
	/* provenance */
	size_t rows, overlaps, bytes;
	size_t n_files;
	struct rasn_table_file *files;
	/* A table read from a snapshot: its arrays (all but the indexes and files) live inside
	 * this one block, which is freed instead of them. */
	void *image;
	size_t image_len;
};

/* Build idx4 and sub4 over start4/nseg4 (bytes accounted in t->bytes). 0 or -ENOMEM. */
int rasn_table_index4(struct rasn_table *t);
/* Build idx6 and shift6 over start6/n6. 0 or -ENOMEM. */
int rasn_table_index6(struct rasn_table *t);
/* Free a table and everything it holds (whatever part of it was built). */
void rasn_table_free_impl(struct rasn_table *t);

#endif
