/* The Team Cymru source (DNS TXT through the pool). */
#ifndef RASND_SRCCYMRU_H
#define RASND_SRCCYMRU_H

#include "rasnd.h"

enum {
	RASND_CYMRU_ONLY = 0,     /* Cymru's answer */
	RASND_CYMRU_ENRICH = 2,   /* the table answers, Cymru adds cc, registry, allocated;
				   * what the table lacks, Cymru answers */
};

/* The "cymru" upstream over the DNS pool (one endpoint per resolver), into d->up_cymru, and
 * the "dns" upstream of domain lookups (d->up_dns, rasnd_domain_init) over the same endpoints:
 * one circuit breaker per resolver for both. None (0, NULL) when there is no DNS pool.
 * Returns 0 or -1 with err. */
int rasnd_cymru_init(struct rasnd *d, char *err, size_t errlen);

/* An upstream config over the DNS pool's resolvers, one endpoint each (at most
 * RASND_RESOLVER_MAX), named into names (which must outlive the call to rasnd_upstream_new),
 * the rest from [batch], [retry], [breaker]. */
#define RASND_RESOLVER_MAX 16
struct rasnd_upstream_cfg;
void rasnd_resolver_upstream_cfg(struct rasnd *d, const char *name, const char **names,
				 struct rasnd_upstream_cfg *uc);
/* Both upstreams: answers what is still waiting ("shutting down"). Free the DNS pool first or
 * after. */
void rasnd_cymru_free(struct rasnd *d);

/* Answer the address into slot (and complete it), as mode says. When Cymru has no answer,
 * fails or its circuit is open, the sources of [lookup] order from position next on answer
 * (rasnd_order_ip); next < 0: Cymru's not_found or error is the reply. */
void rasnd_cymru_ip(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int mode, int next);

/* The same for an AS number: name, country, registry, allocation date from Cymru's AS zone. */
void rasnd_cymru_as(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, int mode, int next);

/* With [lookup] order = auto: ask once whether a resolver answers for Cymru's zones, and
 * turn Cymru on (after the table) when one does. */
void rasnd_cymru_probe(struct rasnd *d);

#endif
