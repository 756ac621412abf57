/* The `stats` tree and its Prometheus text (stats.c). */
#ifndef RASND_STATS_H
#define RASND_STATS_H

#include <stddef.h>

#include "rasnd.h"

void rasnd_stats_json(struct rasnd *d, struct rasn_buf *b);
/* The Prometheus text format, ending in "# EOF" (the reply's end on the query socket). */
void rasnd_stats_prometheus(struct rasnd *d, struct rasn_buf *b);

#endif
