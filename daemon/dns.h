/* The DNS pool: c-ares channels driven by the daemon's libevent loop. Each configured resolver
 * gets `channels` channels of its own (one server each). Lookups pick the resolver through the
 * upstream layer (daemon/upstream.h: one breaker per resolver, retries, coalescing) and ask
 * rasnd_dns_query_server(), round-robin over that resolver's channels; rasnd_dns_query()
 * (round-robin over all channels, no breaker) is for the one-off start-up probe. c-ares does
 * the protocol; this
 * module owns its sockets' events and its timeout timer, re-armed after every query and every
 * processing call (c-ares 1.18 has no event thread: a timer not re-armed hangs a dropped
 * query forever). */
#ifndef RASND_DNS_H
#define RASND_DNS_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "backoff.h"
#include "tcptune.h"

struct event_base;
struct rasnd_dns;

struct rasnd_dns_opts {
	const char *servers;      /* "ip[:port],..." ; NULL or "": /etc/resolv.conf */
	unsigned channels;        /* channels per resolver (>= 1) */
	unsigned timeout_ms;      /* per try */
	unsigned tries;           /* tries per query */
	int tcp;                  /* queries over TCP, connections kept open */
	struct rasnd_tcp_opts sock; /* applied to every socket c-ares opens */
};

/* Outcome of one query: status is an ARES_* code (ARES_SUCCESS, ARES_ENOTFOUND for NXDOMAIN,
 * ARES_ENODATA for no record of the type, ARES_ESERVFAIL, ARES_ETIMEOUT, ...); abuf is the
 * whole answer (valid during the call). */
typedef void (*rasnd_dns_cb)(void *ud, int status, const unsigned char *abuf, int alen);

int rasnd_dns_new(struct event_base *base, const struct rasnd_dns_opts *o, struct rasnd_dns **out,
		  char *err, size_t errlen);
/* Cancels queries in flight (their callbacks run with ARES_EDESTRUCTION). */
void rasnd_dns_free(struct rasnd_dns *d);

/* Start a query (class IN; type ns_t_a, ns_t_aaaa, ns_t_txt...). The callback runs exactly
 * once, later, on the loop. Returns 0 or -ENOMEM. */
int rasnd_dns_query(struct rasnd_dns *d, const char *name, int type, rasnd_dns_cb cb, void *ud);

/* The same, on one resolver (0 <= server < rasnd_dns_n_servers()), round-robin over its own
 * channels: for callers that pick the resolver themselves (one circuit breaker each).
 * Returns 0, -EINVAL (no such resolver) or -ENOMEM. */
int rasnd_dns_query_server(struct rasnd_dns *d, size_t server, const char *name, int type, rasnd_dns_cb cb,
			   void *ud);
/* The addresses of a host name, for a TCP connection to port (the HTTPS client's origins):
 * c-ares' getaddrinfo (the hosts file first, then A and AAAA from the resolvers) on a channel
 * of its own that knows every configured resolver, so a dead one is failed over by c-ares
 * itself; these lookups are not counted in the per-resolver query stats. The callback runs
 * exactly once: inside this call when c-ares knows at once (the hosts file, a numeric host),
 * otherwise later on the loop, and at rasnd_dns_free; err NULL and res->n >= 1, or err says
 * why (res->n 0). A lookup cannot be cancelled: the caller detaches from ud.
 * Returns 0 or -ENOMEM. */
#define RASND_DNS_ADDRS_MAX 8
struct rasnd_dns_addrs {
	size_t n;
	struct sockaddr_storage addr[RASND_DNS_ADDRS_MAX];
	socklen_t len[RASND_DNS_ADDRS_MAX];
};
typedef void (*rasnd_dns_addrs_cb)(void *ud, const struct rasnd_dns_addrs *res, const char *err);
int rasnd_dns_resolve(struct rasnd_dns *d, const char *host, uint16_t port, rasnd_dns_addrs_cb cb, void *ud);

/* Resolvers configured, and the address of one ("ip:port"; NULL out of range). */
size_t rasnd_dns_n_servers(const struct rasnd_dns *d);
/* An ARES_* status of a query as the upstream layer's outcome: timeouts, SERVFAIL and
 * refused connections retried; NXDOMAIN and no data answers; the rest final. */
enum rasn_outcome rasnd_dns_outcome(int status);
const char *rasnd_dns_server_name(const struct rasnd_dns *d, size_t server);

struct rasnd_dns_server_stats {
	char addr[64];
	uint64_t sent, answers, nxdomain, servfail, timeouts, errors;
};
/* Per resolver; returns the count (at most cap written). */
size_t rasnd_dns_stats(const struct rasnd_dns *d, struct rasnd_dns_server_stats *out, size_t cap);
/* Queries sent per channel (channel i serves resolver i / channels). */
size_t rasnd_dns_channel_sent(const struct rasnd_dns *d, uint64_t *out, size_t cap);
size_t rasnd_dns_in_flight(const struct rasnd_dns *d);
/* The upstream sockets open now, with their options as the kernel reports them (JSON array). */
void rasnd_dns_sockets_json(const struct rasnd_dns *d, struct rasn_buf *b);

#endif
