/* Socket activation with named sockets: the sockets the service manager passes
 * (LISTEN_FDS, daemon/sdnotify.h), each given to the listener its name
 * (FileDescriptorName= in the .socket unit) selects:
 *   query     the Unix query socket (daemon/server.c); one at most
 *   whois     [whois], TCP (daemon/whois.c)
 *   http-api  [http_api], TCP (daemon/httpapi.c)
 *   dns       [dns_server], UDP and TCP: one .socket unit with ListenDatagram= and
 *             ListenStream= names both; a UDP and a TCP socket on the same address form one
 *             listener (daemon/dnsserver.c)
 *   metrics   [metrics], TCP on a loopback address (daemon/metrics_http.c)
 * A lone socket without a name of ours (LISTEN_FDNAMES unset, "unknown", or systemd's default
 * name, the unit's "NAME.socket") is the query socket, as before names existed; so is a
 * socket named "rasnd.socket" (systemd/rasnd.socket without FileDescriptorName=). Every socket
 * is checked (SO_DOMAIN, SO_TYPE, SO_ACCEPTCONN) at start-up, before the table is loaded. A
 * listener with passed sockets serves those and binds none of its `listen` lines. */
#ifndef RASND_SOCKACT_H
#define RASND_SOCKACT_H

#include <stddef.h>
#include <sys/socket.h>

#include "sdlisten.h"

enum rasnd_sock_role {
	RASND_SOCK_QUERY,
	RASND_SOCK_WHOIS,
	RASND_SOCK_API,
	RASND_SOCK_DNS,
	RASND_SOCK_METRICS,
	RASND_SOCK_ROLES
};

struct rasnd_passed_sock {
	int fd;
	enum rasnd_sock_role role;
	int type;                        /* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage addr;    /* getsockname */
	char where[160];                 /* "127.0.0.1:43 (fd 4, \"whois\")", for the logs */
	int taken;
};

struct rasnd_passed {
	size_t n;
	long other_pid;                  /* LISTEN_PID named another process: nothing taken */
	struct rasnd_passed_sock s[RASN_SDLISTEN_MAX];
};

/* Reads the environment (rasnd_listen_fds) and checks that every passed socket fits the
 * listener its name selects; makes them non-blocking. Returns 0 (p->n may be 0), or -1 with
 * one line in err: malformed variables, an unknown name, a socket of the wrong family, type
 * or state, or more sockets than a listener takes. */
int rasnd_passed_init(struct rasnd_passed *p, char *err, size_t errlen);
/* Sockets passed for role (p may be NULL: 0). */
size_t rasnd_passed_count(const struct rasnd_passed *p, enum rasnd_sock_role role);
/* The next socket for role not taken yet, now the caller's to close; NULL when none left. */
struct rasnd_passed_sock *rasnd_passed_take(struct rasnd_passed *p, enum rasnd_sock_role role);
/* The listener's name for role: "whois", ... */
const char *rasnd_passed_role_name(enum rasnd_sock_role role);
/* Closes the sockets no listener took (after start-up, and on a failed start). */
void rasnd_passed_close(struct rasnd_passed *p);

#endif
