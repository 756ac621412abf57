/* What the TCP listeners ([whois], [http_api]) share: HOST:PORT parsing, listening sockets
 * tuned from the existing settings (backlog from [sysctl] somaxconn, TCP_NODELAY from [tcp],
 * TCP_FASTOPEN when [sysctl] tcp_fastopen enables the server side), client addresses as
 * lib/addr values, and the counters each listener keeps for `stats`. */
#ifndef RASND_NETLISTEN_H
#define RASND_NETLISTEN_H

#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "sockact.h"

struct rasnd;

struct rasnd_net_stats {
	uint64_t accepted;        /* connections let in */
	uint64_t refused_allow;   /* from an address outside `allow` */
	uint64_t refused_clients; /* past max_clients */
	uint64_t refused_conns;   /* past max_conns_per_addr */
	uint64_t refused_rate;    /* requests refused: the address's token bucket was empty */
	uint64_t refused_busy;    /* requests refused: answers pending past [server] max_pending */
	uint64_t requests;        /* queries (whois) or HTTP requests answered */
	uint64_t lines;           /* bulk lines answered */
	uint64_t timeouts;        /* connections closed by `timeout` */
	uint64_t too_long;        /* lines, headers or bodies over their limits */
	uint64_t current;         /* connections open now */
	uint64_t queued_max;      /* most bytes of answers held in rasnd for one client */
	/* HTTP API responses by status (evhttp's own 413 and 400 for over-long heads not included) */
	uint64_t status_200, status_400, status_403, status_404, status_405, status_429, status_503;
};

/* "127.0.0.1:43", "[::1]:8080", "0.0.0.0:43", "[::]:43": a numeric address and a port
 * 1..65535. Returns 0 or -1 with *err (static text). */
int rasnd_net_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len, const char **err);

/* A listening TCP socket on hostport, non-blocking. Returns the descriptor or -1 with err. */
int rasnd_net_listen(struct rasnd *d, const char *hostport, char *err, size_t errlen);

/* A listening socket for a TCP listener: the next one the service manager passed for role
 * (daemon/sockact.h; its unit's Backlog=, NoDelay=, FastOpen= apply), or with role
 * RASND_SOCK_ROLES a new one on hostport (rasnd_net_listen). what gets the address for the
 * logs. Returns the descriptor or -1 with err. */
int rasnd_net_open(struct rasnd *d, enum rasnd_sock_role role, const char *hostport, char *what, size_t whatlen,
		   char *err, size_t errlen);

/* TCP_NODELAY (per [tcp] nodelay) on an accepted connection. */
void rasnd_net_tune_conn(struct rasnd *d, int fd);

/* A client's address (an IPv4-mapped IPv6 address as IPv4). Returns 0 or -1 (not IP). */
int rasnd_net_peer(const struct sockaddr *sa, struct rasn_addr *out);

/* Monotonic seconds. */
double rasnd_net_now(void);

#endif
