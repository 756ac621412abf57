/* The order runner: the registry of sources and the walk of [lookup] order (daemon/source.h
 * is the interface a source implements). */
#ifndef RASND_RUNNER_H
#define RASND_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "rasnd.h"
#include "source.h"

/* The registry: ids 1..rasnd_sources_n() (the RASND_SRC_ values of daemon/config.h). */
size_t rasnd_sources_n(void);
const struct rasnd_source *rasnd_source(int id);
/* The id of the source called name (len bytes, any case), or 0. */
int rasnd_source_find(const char *name, size_t len);

/* Every source's init in registry order; a failure is logged and leaves that source
 * answering errors. And every source's free, in reverse. */
void rasnd_sources_init(struct rasnd *d);
void rasnd_sources_free(struct rasnd *d);

/* The position after pos in [lookup] order, or -1 at its end. */
int rasnd_order_next(const struct rasnd_config *c, int pos);
/* 1 when the table answers at position pos by itself (the table, no source enriching it): the
 * dispatcher then looks it up in line, batched, without the runner. */
int rasnd_order_table_alone(const struct rasnd_config *c, int pos);

/* An address no AS can originate (lib/special.h): answered into b as not_found with the
 * registry's reason, before the table or any source, whatever the order or @SOURCE says (a
 * dataset row covering it does not count). Returns 1 when answered, 0 for any other. */
int rasnd_order_special(struct rasnd *d, struct rasn_buf *b, const struct rasn_addr *a, const char *q, size_t qlen);

/* Answer an address (an AS number) into slot, completing it now or later, by the sources of
 * [lookup] order from position pos on: each that has no answer or fails hands on to the
 * next; the last one's answer or error is the reply. A source that enriches the one before it
 * (Cymru after the table) is asked first and its fields are added to that one's answer. */
void rasnd_order_ip(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int pos);
void rasnd_order_as(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, int pos);

/* Ask one source only ("QUERY @name"): its answer, not_found or error is the reply. */
void rasnd_source_ip(struct rasnd *d, struct rasnd_slot *slot, int id, const struct rasn_addr *a);
void rasnd_source_as(struct rasnd *d, struct rasnd_slot *slot, int id, uint32_t asn);

#endif
