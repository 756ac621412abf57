/* Which listener takes which passed socket: see sockact.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sdnotify.h"
#include "sockact.h"

static const char *const role_names[RASND_SOCK_ROLES] = {
	[RASND_SOCK_QUERY] = "query",
	[RASND_SOCK_WHOIS] = "whois",
	[RASND_SOCK_API] = "http-api",
	[RASND_SOCK_DNS] = "dns",
	[RASND_SOCK_METRICS] = "metrics",
};

/* the most sockets (for dns: addresses) each listener serves */
static const size_t role_max[RASND_SOCK_ROLES] = {
	[RASND_SOCK_QUERY] = 1,
	[RASND_SOCK_WHOIS] = RASND_LISTEN_MAX,
	[RASND_SOCK_API] = RASND_LISTEN_MAX,
	[RASND_SOCK_DNS] = RASND_LISTEN_MAX,
	[RASND_SOCK_METRICS] = RASND_LISTEN_MAX,
};

const char *rasnd_passed_role_name(enum rasnd_sock_role role)
{
	return role < RASND_SOCK_ROLES ? role_names[role] : "?";
}

static int role_of(const char *name, int lone)
{
	for (int r = 0; r < RASND_SOCK_ROLES; r++)
		if (strcmp(name, role_names[r]) == 0)
			return r;
	if (strcmp(name, "rasnd.socket") == 0)
		return RASND_SOCK_QUERY;
	size_t n = strlen(name);
	/* a unit without FileDescriptorName= passes its own name */
	if (lone && (!*name || strcmp(name, "unknown") == 0 || (n > 7 && strcmp(name + n - 7, ".socket") == 0)))
		return RASND_SOCK_QUERY;
	return -1;
}

static void format_addr(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, cap, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, cap, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const void *)ss;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		size_t pl = len > off ? len - off : 0;
		if (pl == 0)
			snprintf(buf, cap, "unnamed Unix socket");
		else if (su->sun_path[0] == '\0')
			snprintf(buf, cap, "@%.*s", (int)(pl - 1), su->sun_path + 1);
		else
			snprintf(buf, cap, "%.*s", (int)strnlen(su->sun_path, pl), su->sun_path);
	} else {
		snprintf(buf, cap, "address family %d", ss->ss_family);
	}
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr);
}

/* Does socket s fit its listener? NULL, or what is wrong. */
static const char *misfit(const struct rasnd_passed_sock *s, int family, int listening)
{
	int ip = family == AF_INET || family == AF_INET6;
	switch (s->role) {
	case RASND_SOCK_QUERY:
		if (family != AF_UNIX || s->type != SOCK_STREAM || !listening)
			return "the query socket must be a listening Unix stream socket (ListenStream=/PATH)";
		return NULL;
	case RASND_SOCK_DNS:
		if (!ip || (s->type != SOCK_DGRAM && s->type != SOCK_STREAM) || (s->type == SOCK_STREAM && !listening))
			return "dns takes IPv4 or IPv6 UDP sockets and listening TCP sockets (ListenDatagram=, ListenStream=)";
		return NULL;
	case RASND_SOCK_METRICS:
		if (ip && s->type == SOCK_STREAM && listening && !is_loopback(&s->addr))
			return "metrics listens on loopback addresses only (127.0.0.0/8, ::1)";
		/* fall through */
	default:
		if (!ip || s->type != SOCK_STREAM || !listening)
			return "this listener needs a listening IPv4 or IPv6 TCP socket (ListenStream=HOST:PORT)";
		return NULL;
	}
}

static const char *type_name(int type)
{
	return type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "datagram" : type == SOCK_SEQPACKET ? "seqpacket" : "other";
}

/* Fill p->s[i] for descriptor fd named name. 0 or -1 with err. */
static int classify(struct rasnd_passed_sock *s, int fd, const char *name, int lone, char *err, size_t errlen)
{
	int family = 0, listening = 0;
	socklen_t l1 = sizeof(family), l2 = sizeof(s->type), l3 = sizeof(listening), al = sizeof(s->addr);
	char addr[128];
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &l1) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &s->type, &l2) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l3) < 0 ||
	    getsockname(fd, (struct sockaddr *)&s->addr, &al) < 0) {
		snprintf(err, errlen, "socket activation: descriptor %d (\"%s\") is not a socket: %s", fd, name,
			 strerror(errno));
		return -1;
	}
	format_addr(&s->addr, al, addr, sizeof(addr));
	snprintf(s->where, sizeof(s->where), "%s (fd %d, \"%s\")", addr, fd, name);
	int role = role_of(name, lone);
	if (role < 0) {
		snprintf(err, errlen,
			 "socket activation: %s: no listener takes the name \"%s\" (FileDescriptorName=: query, whois, http-api, dns or metrics)",
			 s->where, name);
		return -1;
	}
	s->role = (enum rasnd_sock_role)role;
	const char *why = misfit(s, family, listening);
	if (why) {
		snprintf(err, errlen, "socket activation: %s: %s %s socket, %s; %s", s->where,
			 family == AF_UNIX ? "Unix" : family == AF_INET6 ? "IPv6" : family == AF_INET ? "IPv4" : "non-IP",
			 type_name(s->type), listening ? "listening" : "not listening", why);
		return -1;
	}
	return 0;
}

/* How many listeners role would have: its sockets, dns's distinct addresses. */
static size_t listeners(const struct rasnd_passed *p, enum rasnd_sock_role role)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->s[i].role != role)
			continue;
		int dup = 0;
		for (size_t j = 0; j < i && role == RASND_SOCK_DNS && !dup; j++)
			dup = p->s[j].role == role && p->s[j].type != p->s[i].type && same_addr(&p->s[j].addr, &p->s[i].addr);
		k += !dup;
	}
	return k;
}

int rasnd_passed_init(struct rasnd_passed *p, char *err, size_t errlen)
{
	struct rasn_sdlisten env;
	memset(p, 0, sizeof(*p));
	int n = rasnd_listen_fds(&env, err, errlen);
	if (n < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "socket activation: %s", why);
		return -1;
	}
	p->other_pid = env.other_pid;
	if (env.other_pid)
		log_info("socket activation: LISTEN_PID=%ld is another process (this is %ld): no sockets taken",
			 env.other_pid, (long)getpid());
	for (int i = 0; i < n; i++) {
		if (classify(&p->s[i], RASN_SDLISTEN_FDS_START + i, env.name[i], n == 1, err, errlen) < 0)
			goto fail;
		p->n++;
	}
	for (int r = 0; r < RASND_SOCK_ROLES; r++) {
		size_t k = listeners(p, (enum rasnd_sock_role)r);
		if (k > role_max[r]) {
			snprintf(err, errlen, "socket activation: %zu sockets named \"%s\"; %s takes at most %zu", k,
				 role_names[r], role_names[r], role_max[r]);
			goto fail;
		}
	}
	for (size_t i = 0; i < p->n; i++) {
		int fl = fcntl(p->s[i].fd, F_GETFL);
		if (fl < 0 || fcntl(p->s[i].fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			snprintf(err, errlen, "socket activation: %s: fcntl: %s", p->s[i].where, strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	p->n = 0; /* not ours to close: the process exits */
	return -1;
}

size_t rasnd_passed_count(const struct rasnd_passed *p, enum rasnd_sock_role role)
{
	size_t k = 0;
	for (size_t i = 0; p && i < p->n; i++)
		k += p->s[i].role == role;
	return k;
}

struct rasnd_passed_sock *rasnd_passed_take(struct rasnd_passed *p, enum rasnd_sock_role role)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (p->s[i].role == role && !p->s[i].taken) {
			p->s[i].taken = 1;
			return &p->s[i];
		}
	return NULL;
}

void rasnd_passed_close(struct rasnd_passed *p)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (!p->s[i].taken) {
			p->s[i].taken = 1;
			close(p->s[i].fd);
		}
}
