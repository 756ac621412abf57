/* The RIPEstat source: its HTTPS data API through the pooled HTTP/2 client, behind the
 * upstream layer (batching, coalescing, retries, circuit breaker) and the answer cache. */
#ifndef RASND_SRCRIPE_H
#define RASND_SRCRIPE_H

#include "rasnd.h"

enum {
	RASND_RIPE_ONLY = 0,      /* RIPEstat's answer, or not_found / error */
	RASND_RIPE_FALLBACK = 1,  /* RIPEstat first; the table when it has no answer or fails */
};

/* Create the HTTPS client and the "ripestat" upstream (when the order or a query may need
 * them: always, they cost nothing idle). Returns 0 or -1 with err. */
int rasnd_ripe_init(struct rasnd *d, char *err, size_t errlen);
void rasnd_ripe_free(struct rasnd *d);

/* Each answers into slot and completes it (possibly before returning). */
void rasnd_ripe_ip(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int mode);
void rasnd_ripe_as(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, int mode);
void rasnd_ripe_prefixes(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn);
void rasnd_ripe_org(struct rasnd *d, struct rasnd_slot *slot, const char *text, size_t len);

#endif
