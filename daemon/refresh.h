/* Dataset refresh (refresh.c): [dataset] url, fetched with conditional GETs, parsed off the loop,
 * swapped in. */
#ifndef RASND_REFRESH_H
#define RASND_REFRESH_H

#include <stddef.h>

#include "rasnd.h"

int rasnd_refresh_init(struct rasnd *d, char *err, size_t errlen);
void rasnd_refresh_free(struct rasnd *d);
/* Fetch now; slot (may be NULL) is answered when the run ends. */
void rasnd_refresh_start(struct rasnd *d, struct rasnd_slot *slot);
void rasnd_refresh_stats_json(struct rasnd *d, struct rasn_buf *b);

#endif
