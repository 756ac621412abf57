/* What each request line gets (query.c): the NDJSON protocol and the Cymru bulk block. */
#ifndef RASND_QUERY_H
#define RASND_QUERY_H

#include <stddef.h>

#include "rasnd.h"

/* Answer lines in order; runs of address lines share one batched table lookup. Returns how
 * many were consumed: fewer than n when one of them set a barrier (the rest must wait). */
size_t rasnd_query_lines(struct rasnd_session *s, const struct rasnd_line *ln, size_t n);
void rasnd_query_line(struct rasnd_session *s, const char *line, size_t len);
void rasnd_query_long_line(struct rasnd_session *s, const char *line, size_t len);
/* The three above as the sessions' protocol (struct rasnd_proto, d->proto). */
extern const struct rasnd_proto rasnd_query_proto;

#endif
