/* Domain lookups: A and AAAA through the "dns" upstream, then each address answered as an
 * address lookup (daemon/runner.h), into one reply. */
#ifndef RASND_DOMAIN_H
#define RASND_DOMAIN_H

#include <stddef.h>

#include "rasnd.h"

/* The "dns" upstream (d->up_dns) over the DNS pool, sharing d->up_cymru's endpoints (one
 * breaker per resolver): after rasnd_cymru_init. None without a pool. Returns 0 or -1 with
 * err. */
int rasnd_domain_init(struct rasnd *d, char *err, size_t errlen);
void rasnd_domain_free(struct rasnd *d);

/* Answer "domain NAME" (len bytes) into slot and complete it, now or later; only_table: each
 * address from the table alone ("@table"). Needs d->up_dns. */
void rasnd_domain_lookup(struct rasnd *d, struct rasnd_slot *slot, const char *name, size_t len, int only_table);

#endif
