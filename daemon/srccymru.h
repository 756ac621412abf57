/* The Team Cymru source (DNS TXT through the pool): its set-up and the `auto` probe. */
#ifndef RASND_SRCCYMRU_H
#define RASND_SRCCYMRU_H

#include "rasnd.h"

/* The "cymru" upstream over the DNS pool (one endpoint per resolver), into d->up_cymru; the
 * "dns" upstream of domain lookups (daemon/domain.h) shares its endpoints: one circuit breaker
 * per resolver for both. None (0, NULL) when there is no DNS pool. Returns 0 or -1 with err.
 * Its lookups are the source rasnd_source_cymru (daemon/source.h, daemon/runner.c). */
int rasnd_cymru_init(struct rasnd *d, char *err, size_t errlen);

/* An upstream config over the DNS pool's resolvers, one endpoint each (at most
 * RASND_RESOLVER_MAX), named into names (which must outlive the call to rasnd_upstream_new),
 * the rest from [batch], [retry], [breaker]. */
#define RASND_RESOLVER_MAX 16
struct rasnd_upstream_cfg;
void rasnd_resolver_upstream_cfg(struct rasnd *d, const char *name, const char **names,
				 struct rasnd_upstream_cfg *uc);
/* Answers what is still waiting ("shutting down"). Free the DNS pool first or after, and
 * the domain upstream first. */
void rasnd_cymru_free(struct rasnd *d);

/* With [lookup] order = auto: ask once whether a resolver answers for Cymru's zones, and
 * turn Cymru on (after the table) when one does. */
void rasnd_cymru_probe(struct rasnd *d);

#endif
