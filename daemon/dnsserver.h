/* [dns_server]: rasnd as an authoritative server for Team Cymru's DNS names (lib/dnsresp.h
 * decides every answer), on the daemon's loop. UDP is read and written in batches
 * (recvmmsg/sendmmsg); TCP takes pipelined queries with an idle timeout. Each listener has an
 * allow list (others are REFUSED); UDP answers pass response rate limiting per client
 * prefix (after Knot DNS's rrl module: a token bucket per prefix, answer class and name;
 * over the rate every slip-th answer goes out truncated, the others are dropped). Answers
 * come from the table, then from the cache of upstream answers; never from an upstream. */
#ifndef RASND_DNSSERVER_H
#define RASND_DNSSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct rasnd;
struct rasnd_dnsserver;

#define RASND_DNSS_MAX_ALLOW 32

/* One `listen` value: "HOST:PORT" or "[V6]:PORT", optionally " allow=CIDR,CIDR,...". */
struct rasnd_dnss_listen {
	struct rasn_addr host;
	unsigned port;
	struct rasn_prefix allow[RASND_DNSS_MAX_ALLOW];
	size_t n_allow;               /* 0: the section's allow list */
	int has_allow;
};

/* Returns 0, or -EINVAL with *why. */
int rasnd_dnss_parse_listen(const char *s, struct rasnd_dnss_listen *out, const char **why);
/* A list of CIDR prefixes (or plain addresses) separated by blanks or commas. */
int rasnd_dnss_parse_allow(const char *s, struct rasn_prefix *out, size_t cap, size_t *n, const char **why);

/* Listen on every [dns_server] listen address (none: off, 0). Returns 0, or -1 with err. */
int rasnd_dnsserver_start(struct rasnd *d, char *err, size_t errlen);
/* After SIGHUP: zones, TTLs, SOA, NS, allow lists and RRL from the new config (listen
 * addresses stay until a restart). */
void rasnd_dnsserver_reconfigure(struct rasnd *d);
/* Stop reading new queries (shutdown); open TCP connections are closed. */
void rasnd_dnsserver_stop(struct rasnd *d);
void rasnd_dnsserver_free(struct rasnd *d);

struct rasnd_dnss_counters {
	uint64_t listeners, queries_udp, queries_tcp;
	uint64_t answers, nodata, nxdomain, refused, formerr, notimp, badvers, dropped;
	uint64_t truncated, edns, allow_refused, rrl_dropped, rrl_slipped;
	uint64_t from_table, from_cache;
	uint64_t udp_batches, udp_batch_max, udp_send_errors;
	uint64_t tcp_accepted, tcp_rejected, tcp_idle_closed, tcp_read_pauses, tcp_current;
	uint64_t bytes_in, bytes_out;
};
void rasnd_dnsserver_counters(const struct rasnd *d, struct rasnd_dnss_counters *out);

#endif
