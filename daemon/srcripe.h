/* The RIPEstat source: its HTTPS data API through the pooled HTTP/2 client, behind the
 * upstream layer (batching, coalescing, retries, circuit breaker) and the answer cache. */
#ifndef RASND_SRCRIPE_H
#define RASND_SRCRIPE_H

#include "rasnd.h"

/* Create the HTTPS client and the "ripestat" upstream (when the order or a query may need
 * them: always, they cost nothing idle). Returns 0 or -1 with err. */
int rasnd_ripe_init(struct rasnd *d, char *err, size_t errlen);
void rasnd_ripe_free(struct rasnd *d);

/* Each answers into slot and completes it (possibly before returning). When RIPEstat has no
 * answer, fails or its circuit is open, the address and AS lookups go on with the sources of
 * [lookup] order from position next (rasnd_order_ip, rasnd_order_as); next < 0: RIPEstat's
 * not_found or error is the reply. */
void rasnd_ripe_ip(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int next);
void rasnd_ripe_as(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, int next);
void rasnd_ripe_prefixes(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn);
void rasnd_ripe_org(struct rasnd *d, struct rasnd_slot *slot, const char *text, size_t len);

#endif
