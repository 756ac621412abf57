/* Per-client-address accounting for the network listeners (docs/whois.md, docs/http-api.md):
 * connections open from each address, and a token bucket of requests per address. No I/O and
 * no clock of its own: the caller passes the time (monotonic seconds), so tests control it.
 * An address's entry lives while it has connections, or until its bucket has refilled. */
#ifndef RASN_PEERS_H
#define RASN_PEERS_H

#include <stddef.h>

#include "addr.h"

struct rasn_peers;

/* At most max_entries addresses tracked at once. Returns NULL when out of memory. */
struct rasn_peers *rasn_peers_new(size_t max_entries);
void rasn_peers_free(struct rasn_peers *t);

/* A connection from a opens. Returns 0, -EMFILE (a has max_conns open already) or -ENOSPC
 * (max_entries addresses tracked, none idle) or -ENOMEM; nothing is counted then. */
int rasn_peers_open(struct rasn_peers *t, const struct rasn_addr *a, size_t max_conns, double now);
/* A connection counted by rasn_peers_open closes. */
void rasn_peers_close(struct rasn_peers *t, const struct rasn_addr *a, double now);
/* A request from a: takes one token from its bucket (burst tokens, refilled at rate per
 * second; rate 0: no limit). Returns 0, -EAGAIN (bucket empty) or -ENOSPC/-ENOMEM as above. */
int rasn_peers_take(struct rasn_peers *t, const struct rasn_addr *a, double rate, double burst, double now);
/* Connections open from a now. */
size_t rasn_peers_conns(const struct rasn_peers *t, const struct rasn_addr *a);
/* Addresses tracked now. */
size_t rasn_peers_count(const struct rasn_peers *t);

/* 1 when a lies in one of the n prefixes, else 0. */
int rasn_peers_allowed(const struct rasn_prefix *allow, size_t n, const struct rasn_addr *a);

#endif
