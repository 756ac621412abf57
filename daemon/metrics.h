/* The Prometheus text format, generated from the `stats` JSON tree so that nothing `stats`
 * shows can be missing from it: every number (and boolean) in the tree becomes a sample.
 *
 * Naming: the family is rasnd_ followed by the path of object keys joined by '_' (characters
 * other than [A-Za-z0-9_] become '_'); counters end in _total. What the path cannot say is
 * carried in labels:
 * - a map (an object whose keys name things, e.g. upstreams: cymru, ripestat) adds
 *   LABEL="KEY" instead of a name part;
 * - an array adds its elements' id fields as labels (endpoints: endpoint="127.0.0.1:53"),
 *   or, when it has none, LABEL="INDEX";
 * - an array of counts per size bucket becomes a histogram (le= buckets, _sum, _count);
 * - a string with a known set of values (a breaker's state) becomes one 0/1 sample per value
 *   with a STATE="VALUE" label; any other string S at key K becomes NAME{K="S"} 1.
 * The descriptions say which objects are maps, which arrays have ids, the type and HELP of
 * each number; a number without one is still written, as untyped, with its path as HELP. */
#ifndef RASND_METRICS_H
#define RASND_METRICS_H

#include <stddef.h>

#include "buf.h"

enum rasnd_prom_kind {
	RASND_PROM_COUNTER,     /* a number that only grows */
	RASND_PROM_GAUGE,       /* a number (or boolean) that goes up and down; a string: its value in a label */
	RASND_PROM_MAP,         /* an object: each key becomes label=KEY */
	RASND_PROM_LIST,        /* an array: elements named by ids, else label=INDEX */
	RASND_PROM_HIST_POW2,   /* an array: element i counts integers in [2^i, 2^(i+1)), the last
				 * everything above: a histogram */
	RASND_PROM_ENUM,        /* a string from values: one sample per value, 1 for the current */
	RASND_PROM_SKIP,        /* not a metric: texts for humans, event logs */
};

#define RASND_PROM_MAX_IDS 4

struct rasnd_prom_desc {
	/* Keys joined by '.', "*" for any key of a map, "[]" for an array's element:
	 * "upstreams.*.endpoints[].state". */
	const char *path;
	enum rasnd_prom_kind kind;
	const char *help;              /* numbers, strings, histograms, enums */
	const char *label;             /* MAP: label of the keys; LIST: of the index (no ids);
					* ENUM: of the value */
	/* LIST: string fields that name an element, "field" or "field=label" */
	const char *ids[RASND_PROM_MAX_IDS];
	const char *const *values;     /* ENUM: NULL-terminated */
	const char *sum;               /* HIST_POW2: the sibling key holding the sum */
};

/* Write the samples of the JSON object json (len bytes) into out, each family's HELP and
 * TYPE once before its samples, the families in the order they first appear, then "# EOF".
 * descs: n_descs descriptions, searched in order (the first match wins); more may follow in
 * extra (n_extra). Returns 0, -EINVAL (not a JSON object) or -ENOMEM; on error out holds a
 * comment saying so and "# EOF". */
int rasnd_prom_from_json(const char *json, size_t len, const struct rasnd_prom_desc *descs, size_t n_descs,
			 const struct rasnd_prom_desc *extra, size_t n_extra, struct rasn_buf *out);

#endif
