/* Shared pieces of the TCP listeners: see netlisten.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netlisten.h"
#include "rasnd.h"

int rasnd_net_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len, const char **err)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(s, ':');
	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s) {
		*err = "not HOST:PORT";
		return -1;
	}
	size_t hl = (size_t)(colon - s);
	const char *h = s;
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']') {
			*err = "bad [IPv6]:PORT";
			return -1;
		}
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		*err = "not a numeric address";
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port == 0 || port > 65535) {
		*err = "bad port (1 to 65535)";
		return -1;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (s[0] != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	*err = "not a numeric address (IPv4, or IPv6 in brackets)";
	return -1;
}

int rasnd_net_listen(struct rasnd *d, const char *hostport, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *why;
	int one = 1, fd = -1;
	if (rasnd_net_parse_hostport(hostport, &ss, &sl, &why) < 0) {
		snprintf(err, errlen, "%s: %s", hostport, why);
		goto fail;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s: %s", hostport, strerror(errno));
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, errlen, "bind %s: %s", hostport, strerror(errno));
		goto fail;
	}
	/* accepted sockets inherit TCP_NODELAY on Linux; rasnd_net_tune_conn sets it anyway */
	int nodelay = d->cfg.tcp_nodelay && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
	int tfo = 0;
	if (d->cfg.sysctl_tcp_fastopen & 2) {
		int qlen = 256;
		tfo = setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) == 0 ? qlen : 0;
	}
	int backlog = d->cfg.sysctl_somaxconn > 0 && d->cfg.sysctl_somaxconn < 65536 ? (int)d->cfg.sysctl_somaxconn : 4096;
	if (listen(fd, backlog) < 0) {
		snprintf(err, errlen, "listen %s: %s", hostport, strerror(errno));
		goto fail;
	}
	/* what the socket got, for the operator (and the tests): the kernel caps the backlog at
	 * net.core.somaxconn */
	log_info("listening on %s: backlog %d, TCP_NODELAY %s, TCP_FASTOPEN %d", hostport, backlog,
		 nodelay ? "on" : "off", tfo);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int rasnd_net_open(struct rasnd *d, enum rasnd_sock_role role, const char *hostport, char *what, size_t whatlen,
		   char *err, size_t errlen)
{
	if (role < RASND_SOCK_ROLES) {
		struct rasnd_passed_sock *ps = rasnd_passed_take(d->passed, role);
		if (!ps) {
			snprintf(err, errlen, "%s: no passed socket left", rasnd_passed_role_name(role));
			return -1;
		}
		snprintf(what, whatlen, "%s, passed by the service manager", ps->where);
		return ps->fd;
	}
	snprintf(what, whatlen, "%s", hostport);
	return rasnd_net_listen(d, hostport, err, errlen);
}

void rasnd_net_tune_conn(struct rasnd *d, int fd)
{
	int one = 1;
	if (d->cfg.tcp_nodelay && fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int rasnd_net_peer(const struct sockaddr *sa, struct rasn_addr *out)
{
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
		out->family = RASN_AF4;
		out->v = ntohl(a4->sin_addr.s_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
		rasn_u128 v = 0;
		for (int k = 0; k < 16; k++)
			v = v << 8 | a6->sin6_addr.s6_addr[k];
		int mapped = (v >> 32) == 0xffff;
		out->family = mapped ? RASN_AF4 : RASN_AF6;
		out->v = mapped ? (v & 0xffffffffu) : v;
		return 0;
	}
	return -1;
}

double rasnd_net_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
