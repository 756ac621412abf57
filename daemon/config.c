#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "cymru.h"
#include "dataset.h"
#include "build_config.h"
#include "log.h"
#include "netlisten.h"
#include "rasnd.h"
#include "dnsserver.h"
#include "rediscache.h"
#include "url.h"
#include "runner.h"

/* "127.0.0.1:9464" or "[::1]:9464" -> host, port. Loopback only. 0 or -1 with err. */
int rasnd_metrics_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port,
			       const char **err)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s) {
		*err = "not HOST:PORT";
		return -1;
	}
	size_t hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']') {
			*err = "bad [IPv6]:PORT";
			return -1;
		}
		s++;
		hl -= 2;
	}
	if (hl >= hostlen) {
		*err = "address too long";
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p == 0 || p > 65535) {
		*err = "bad port";
		return -1;
	}
	*port = (unsigned)p;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		if ((ntohl(a4.s_addr) >> 24) != 127) {
			*err = "not a loopback address (127.0.0.0/8 or ::1)";
			return -1;
		}
	} else if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&a6)) {
			*err = "not a loopback address (127.0.0.0/8 or ::1)";
			return -1;
		}
	} else {
		*err = "not a numeric address";
		return -1;
	}
	return 0;
}

enum ktype { K_BOOL, K_STR, K_OPTSTR, K_LOOPBACK, K_SIZE, K_MODE, K_SECONDS, K_DATASET, K_FORMAT, K_IO, K_LEVEL, K_ORDER, K_HTTPS, K_DSURL, K_ZONE, K_DNSLISTEN, K_CIDRS, K_NAMES, K_REDIS, K_LISTEN, K_ALLOW };

struct key {
	const char *section, *name;
	enum ktype type;
	size_t off;
	const char *def;  /* default, as text; NULL for lists */
	size_t min, max;  /* K_SIZE bounds */
};

#define OFF(f) offsetof(struct rasnd_config, f)
static const struct key keys[] = {
	{ "server", "socket", K_STR, OFF(socket), RASN_DEFAULT_SOCKET, 0, 0 },
	{ "server", "socket_mode", K_MODE, OFF(socket_mode), "0660", 0, 0 },
	{ "server", "max_clients", K_SIZE, OFF(max_clients), "1024", 1, 1000000 },
	{ "server", "read_buffer", K_SIZE, OFF(read_buffer), "262144", 8192, 64 << 20 },
	{ "server", "output_high_water", K_SIZE, OFF(output_high_water), "4194304", 65536, (size_t)1 << 32 },
	{ "server", "output_low_water", K_SIZE, OFF(output_low_water), "1048576", 4096, (size_t)1 << 32 },
	{ "server", "drain_timeout", K_SECONDS, OFF(drain_timeout), "10", 0, 0 },
	{ "server", "max_pending", K_SIZE, OFF(max_pending), "1024", 1, 1 << 20 },
	{ "server", "idle_timeout", K_SECONDS, OFF(idle_timeout), "0", 0, 0 },
	{ "dataset", "file", K_DATASET, 0, NULL, 0, 0 },
	{ "dataset", "format", K_FORMAT, OFF(dataset_format), "auto", 0, 0 },
	{ "dataset", "max_bad_lines", K_SIZE, OFF(max_bad_lines), "0", 0, SIZE_MAX },
	{ "dataset", "max_file_size", K_SIZE, OFF(max_file_size), "1073741824", 1, SIZE_MAX },
	{ "dataset", "io", K_IO, OFF(io_read), "uring", 0, 0 },
	{ "dataset", "load_threads", K_SIZE, OFF(load_threads), "1", 0, 8 },
	{ "dataset", "snapshot", K_BOOL, OFF(snapshot), "yes", 0, 0 },
	{ "lookup", "order", K_ORDER, OFF(order), "auto", 0, 0 },
	{ "lookup", "org_max_results", K_SIZE, OFF(org_max_results), "100", 1, 100000 },
	{ "log", "level", K_LEVEL, OFF(log_level), "info", 0, 0 },
	{ "state", "dir", K_STR, OFF(state_dir), RASN_DEFAULT_STATEDIR, 0, 0 },
	{ "dns", "servers", K_OPTSTR, OFF(dns_servers), NULL, 0, 0 },
	{ "dns", "channels", K_SIZE, OFF(dns_channels), "2", 1, 16 },
	{ "dns", "timeout_ms", K_SIZE, OFF(dns_timeout_ms), "2000", 10, 60000 },
	{ "dns", "tries", K_SIZE, OFF(dns_tries), "2", 1, 10 },
	{ "dns", "tcp", K_BOOL, OFF(dns_tcp), "no", 0, 0 },
	{ "tcp", "nodelay", K_BOOL, OFF(tcp_nodelay), "yes", 0, 0 },
	{ "tcp", "sndbuf", K_SIZE, OFF(tcp_sndbuf), "262144", 0, 1 << 30 },
	{ "tcp", "rcvbuf", K_SIZE, OFF(tcp_rcvbuf), "262144", 0, 1 << 30 },
	{ "tcp", "keepalive", K_BOOL, OFF(tcp_keepalive), "yes", 0, 0 },
	{ "tcp", "keepalive_idle", K_SIZE, OFF(tcp_keepalive_idle), "60", 1, 32767 },
	{ "tcp", "keepalive_interval", K_SIZE, OFF(tcp_keepalive_interval), "10", 1, 32767 },
	{ "tcp", "keepalive_count", K_SIZE, OFF(tcp_keepalive_count), "6", 1, 127 },
	{ "cache", "enabled", K_BOOL, OFF(cache_enabled), "yes", 0, 0 },
	{ "cache", "disk", K_BOOL, OFF(cache_disk), "yes", 0, 0 },
	{ "cache", "entries", K_SIZE, OFF(cache_entries), "65536", 16, 1 << 26 },
	{ "cache", "ttl", K_SIZE, OFF(cache_ttl_s), "21600", 0, 30 * 86400 },
	{ "cache", "negative_ttl", K_SIZE, OFF(cache_negative_ttl_s), "300", 0, 86400 },
	{ "cache", "dns_ttl_floor", K_SIZE, OFF(cache_dns_ttl_floor_s), "30", 0, 86400 },
	{ "cache", "dns_ttl_cap", K_SIZE, OFF(cache_dns_ttl_cap_s), "86400", 1, 7 * 86400 },
	{ "cache", "redis", K_REDIS, OFF(cache_redis), "", 0, 0 },
	{ "cache", "redis_password_file", K_OPTSTR, OFF(cache_redis_password_file), "", 0, 0 },
	{ "cache", "redis_prefix", K_REDIS, OFF(cache_redis_prefix), "rasn:", 0, 0 },
	{ "cache", "redis_timeout", K_REDIS, OFF(cache_redis_timeout), "0.25", 0, 0 },
	{ "cymru", "origin_zone", K_ZONE, OFF(cymru_origin_zone), "origin.asn.cymru.com", 0, 0 },
	{ "cymru", "origin6_zone", K_ZONE, OFF(cymru_origin6_zone), "origin6.asn.cymru.com", 0, 0 },
	{ "cymru", "as_zone", K_ZONE, OFF(cymru_as_zone), "asn.cymru.com", 0, 0 },
	{ "batch", "enabled", K_BOOL, OFF(batch_enabled), "yes", 0, 0 },
	{ "batch", "coalesce", K_BOOL, OFF(batch_coalesce), "yes", 0, 0 },
	{ "batch", "max_batch", K_SIZE, OFF(batch_max_batch), "50", 1, 10000 },
	{ "batch", "max_delay_ms", K_SIZE, OFF(batch_max_delay_ms), "100", 0, 60000 },
	{ "batch", "max_queued", K_SIZE, OFF(batch_max_queued), "4096", 1, 1 << 22 },
	{ "batch", "max_waiters", K_SIZE, OFF(batch_max_waiters), "65536", 1, 1 << 24 },
	{ "retry", "initial_ms", K_SIZE, OFF(retry_initial_ms), "100", 1, 3600000 },
	{ "retry", "multiplier", K_SIZE, OFF(retry_multiplier), "2", 1, 100 },
	{ "retry", "max_ms", K_SIZE, OFF(retry_max_ms), "10000", 1, 3600000 },
	{ "retry", "jitter", K_SIZE, OFF(retry_jitter), "20", 0, 100 },
	{ "retry", "give_up_ms", K_SIZE, OFF(retry_give_up_ms), "60000", 1, 86400000 },
	{ "breaker", "failures", K_SIZE, OFF(breaker_failures), "5", 1, 1000000 },
	{ "breaker", "open_ms", K_SIZE, OFF(breaker_open_ms), "30000", 0, 86400000 },
	{ "breaker", "half_open_probes", K_SIZE, OFF(breaker_half_open_probes), "1", 1, 1000000 },
	{ "breaker", "successes", K_SIZE, OFF(breaker_successes), "2", 1, 1000000 },
	{ "dataset", "url", K_DSURL, 0, NULL, 0, 0 },
	{ "dataset", "refresh", K_SIZE, OFF(dataset_refresh_s), "86400", 0, 365 * 86400 },
	{ "dataset", "max_shrink", K_SIZE, OFF(dataset_max_shrink), "25", 0, 100 },
	{ "http", "ca_file", K_OPTSTR, OFF(http_ca_file), NULL, 0, 0 },
	{ "http", "idle_per_host", K_SIZE, OFF(http_idle_per_host), "100", 0, 100000 },
	{ "http", "max_conns_per_host", K_SIZE, OFF(http_max_conns_per_host), "16", 1, 10000 },
	{ "http", "idle_timeout_ms", K_SIZE, OFF(http_idle_timeout_ms), "90000", 10, 86400000 },
	{ "http", "ping_interval_ms", K_SIZE, OFF(http_ping_interval_ms), "20000", 0, 86400000 },
	{ "http", "ping_timeout_ms", K_SIZE, OFF(http_ping_timeout_ms), "20000", 10, 86400000 },
	{ "http", "connect_timeout_ms", K_SIZE, OFF(http_connect_timeout_ms), "10000", 10, 600000 },
	{ "http", "request_timeout_ms", K_SIZE, OFF(http_request_timeout_ms), "30000", 10, 3600000 },
	{ "http", "stream_window", K_SIZE, OFF(http_stream_window), "2097152", 65535, 2147483647 },
	{ "http", "conn_window", K_SIZE, OFF(http_conn_window), "4194304", 65535, 2147483647 },
	{ "http", "max_body", K_SIZE, OFF(http_max_body), "268435456", 1024, (size_t)1 << 32 },
	{ "http", "max_queued", K_SIZE, OFF(http_max_queued), "4096", 1, 1 << 20 },
	{ "http", "session_cache", K_SIZE, OFF(http_session_cache), "1024", 0, 1 << 20 },
	{ "http", "http2", K_BOOL, OFF(http_http2), "yes", 0, 0 },
	{ "http", "reuse", K_BOOL, OFF(http_reuse), "yes", 0, 0 },
	{ "ripestat", "base_url", K_HTTPS, OFF(ripe_base_url), "https://stat.ripe.net", 0, 0 },
	{ "ripestat", "sourceapp", K_OPTSTR, OFF(ripe_sourceapp), "rasn", 0, 0 },
	{ "ripestat", "max_body", K_SIZE, OFF(ripe_max_body), "16777216", 1024, 16777216 },
	{ "dns_server", "listen", K_DNSLISTEN, 0, NULL, 0, 0 },
	{ "dns_server", "allow", K_CIDRS, OFF(dnss_allow), "127.0.0.0/8 ::1", 0, 0 },
	{ "dns_server", "origin_zone", K_ZONE, OFF(dnss_origin_zone), "origin.asn.cymru.com", 0, 0 },
	{ "dns_server", "origin6_zone", K_ZONE, OFF(dnss_origin6_zone), "origin6.asn.cymru.com", 0, 0 },
	{ "dns_server", "as_zone", K_ZONE, OFF(dnss_as_zone), "asn.cymru.com", 0, 0 },
	{ "dns_server", "ttl", K_SIZE, OFF(dnss_ttl), "3600", 0, 604800 },
	{ "dns_server", "negative_ttl", K_SIZE, OFF(dnss_negative_ttl), "300", 0, 86400 },
	{ "dns_server", "ns", K_NAMES, OFF(dnss_ns), "localhost.", 0, 0 },
	{ "dns_server", "soa_mname", K_NAMES, OFF(dnss_soa_mname), "", 0, 0 },
	{ "dns_server", "soa_rname", K_NAMES, OFF(dnss_soa_rname), "hostmaster.localhost.", 0, 0 },
	{ "dns_server", "soa_refresh", K_SIZE, OFF(dnss_soa_refresh), "3600", 0, 2147483647 },
	{ "dns_server", "soa_retry", K_SIZE, OFF(dnss_soa_retry), "600", 0, 2147483647 },
	{ "dns_server", "soa_expire", K_SIZE, OFF(dnss_soa_expire), "604800", 0, 2147483647 },
	{ "dns_server", "udp_max", K_SIZE, OFF(dnss_udp_max), "1232", 512, 4096 },
	{ "dns_server", "tcp_idle_timeout", K_SIZE, OFF(dnss_tcp_idle_timeout), "10", 1, 3600 },
	{ "dns_server", "tcp_max_clients", K_SIZE, OFF(dnss_tcp_max_clients), "256", 1, 100000 },
	{ "dns_server", "rrl_rate", K_SIZE, OFF(dnss_rrl_rate), "200", 0, 1000000 },
	{ "dns_server", "rrl_slip", K_SIZE, OFF(dnss_rrl_slip), "2", 0, 100 },
	{ "dns_server", "rrl_ipv4_prefix", K_SIZE, OFF(dnss_rrl_ipv4_prefix), "24", 8, 32 },
	{ "dns_server", "rrl_ipv6_prefix", K_SIZE, OFF(dnss_rrl_ipv6_prefix), "56", 16, 128 },
	{ "dns_server", "rrl_table_size", K_SIZE, OFF(dnss_rrl_table_size), "65536", 16, 1 << 24 },
	{ "metrics", "listen", K_LOOPBACK, OFF(metrics_listen), NULL, 0, 0 },
	{ "whois", "listen", K_LISTEN, OFF(whois), NULL, 0, 0 },
	{ "whois", "allow", K_ALLOW, OFF(whois), "127.0.0.0/8 ::1/128", 0, 0 },
	{ "whois", "max_clients", K_SIZE, OFF(whois.max_clients), "256", 1, 1000000 },
	{ "whois", "max_conns_per_addr", K_SIZE, OFF(whois.max_conns_per_addr), "8", 0, 1000000 },
	{ "whois", "rate", K_SIZE, OFF(whois.rate), "20", 0, 1000000 },
	{ "whois", "burst", K_SIZE, OFF(whois.burst), "40", 1, 1000000 },
	{ "whois", "timeout", K_SIZE, OFF(whois.timeout_s), "30", 1, 3600 },
	{ "http_api", "listen", K_LISTEN, OFF(api), NULL, 0, 0 },
	{ "http_api", "allow", K_ALLOW, OFF(api), "127.0.0.0/8 ::1/128", 0, 0 },
	{ "http_api", "max_clients", K_SIZE, OFF(api.max_clients), "1024", 1, 1000000 },
	{ "http_api", "max_conns_per_addr", K_SIZE, OFF(api.max_conns_per_addr), "256", 0, 1000000 },
	{ "http_api", "rate", K_SIZE, OFF(api.rate), "5000", 0, 10000000 },
	{ "http_api", "burst", K_SIZE, OFF(api.burst), "10000", 1, 10000000 },
	{ "http_api", "timeout", K_SIZE, OFF(api.timeout_s), "30", 1, 3600 },
	{ "http_api", "max_header_size", K_SIZE, OFF(api_max_header_size), "8192", 1024, 1 << 20 },
	{ "http_api", "max_body", K_SIZE, OFF(api_max_body), "1048576", 1024, (size_t)1 << 30 },
	{ "http_api", "metrics", K_BOOL, OFF(api_metrics), "no", 0, 0 },
	{ "sysctl", "apply", K_BOOL, OFF(sysctl_apply), "yes", 0, 0 },
	{ "sysctl", "rmem_max", K_SIZE, OFF(sysctl_rmem_max), "16777216", 0, SIZE_MAX },
	{ "sysctl", "wmem_max", K_SIZE, OFF(sysctl_wmem_max), "16777216", 0, SIZE_MAX },
	{ "sysctl", "tcp_window_scaling", K_SIZE, OFF(sysctl_tcp_window_scaling), "1", 0, 1 },
	{ "sysctl", "tcp_fastopen", K_SIZE, OFF(sysctl_tcp_fastopen), "3", 0, 0xffff },
	{ "sysctl", "somaxconn", K_SIZE, OFF(sysctl_somaxconn), "4096", 0, 1 << 30 },
	{ "sysctl", "tcp_tw_reuse", K_SIZE, OFF(sysctl_tcp_tw_reuse), "1", 0, 2 },
};

int rasnd_config_set_string(char **slot, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(*slot);
	*slot = v;
	return 0;
}

/* What is wrong with an https URL the HTTPS client would refuse (lib/url.h), or NULL. */
static const char *url_problem(const char *v)
{
	struct rasn_url u;
	if (strncasecmp(v, "https://", 8) != 0)
		return "not an https:// URL (TLS is not optional)";
	int rc = rasn_url_parse(v, strlen(v), &u);
	if (rc == -ENAMETOOLONG)
		return "host name too long";
	if (rc < 0)
		return "not https://HOST[:PORT][/PATH] (HOST a name, IPv4 or [IPv6]; port 1-65535; no spaces)";
	return NULL;
}

static void *p_of(struct rasnd_config *c, const struct key *k)
{
	return (char *)c + k->off;
}

/* Sets one key from text. Returns NULL or an error message. */
static const char unknown_source[] = "unknown source";

static const char *set_key(struct rasnd_config *c, const struct key *k, const char *v, int *datasets_reset)
{
	char *p = (char *)c + k->off, *end;
	switch (k->type) {
	case K_LISTEN: {
		struct rasnd_netcfg *nc = (struct rasnd_netcfg *)p;
		struct sockaddr_storage ss;
		socklen_t sl;
		const char *why;
		if (rasnd_net_parse_hostport(v, &ss, &sl, &why) < 0)
			return why;
		if (nc->n_listen == RASND_LISTEN_MAX)
			return "too many listen addresses (at most 8)";
		if (!(nc->listen[nc->n_listen] = strdup(v)))
			return "out of memory";
		nc->n_listen++;
		return NULL;
	}
	case K_ALLOW: {
		struct rasnd_netcfg *nc = (struct rasnd_netcfg *)p;
		char tmp[2048], *save = NULL;
		size_t n = 0;
		if (strlen(v) >= sizeof(tmp))
			return "too long";
		snprintf(tmp, sizeof(tmp), "%s", v);
		for (char *tok = strtok_r(tmp, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
			if (n == RASND_ALLOW_MAX)
				return "too many prefixes (at most 32)";
			struct rasn_addr a;
			if (!strchr(tok, '/') && rasn_addr_parse(tok, strlen(tok), &a) == 0)
				/* a bare address is its own prefix, as in [dns_server] allow */
				nc->allow[n] = (struct rasn_prefix){ a.family, a.v, rasn_af_bits(a.family) };
			else if (rasn_prefix_parse(tok, strlen(tok), &nc->allow[n]) < 0)
				return "not a list of CIDR prefixes with host bits zero, or addresses (e.g. 127.0.0.0/8 ::1)";
			n++;
		}
		nc->n_allow = n; /* an empty list lets nobody in */
		return NULL;
	}
	case K_BOOL:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
			*(int *)p = 1;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
			*(int *)p = 0;
		else
			return "not yes or no";
		return NULL;
	case K_LOOPBACK: {
		char host[64];
		unsigned port;
		const char *why;
		if (*v && rasnd_metrics_parse_listen(v, host, sizeof(host), &port, &why) < 0)
			return why;
		return rasnd_config_set_string((char **)p, v) ? "out of memory" : NULL;
	}
	case K_OPTSTR: /* may be empty: "use the default" */
		return rasnd_config_set_string((char **)p, v) ? "out of memory" : NULL;
	case K_STR:
		if (!*v)
			return "empty value";
		return rasnd_config_set_string((char **)p, v) ? "out of memory" : NULL;
	case K_ZONE: {
		/* checked by building the longest name asked under it, as the daemon will */
		char qn[RASN_CYMRU_QNAME_MAX];
		struct rasn_addr a4 = { RASN_AF4, 0xffffffffu }, a6 = { RASN_AF6, ~(rasn_u128)0 };
		int rc = !strcmp(k->name, "as_zone")        ? rasn_cymru_as_qname(4294967295u, v, qn, sizeof(qn))
			 : !strcmp(k->name, "origin6_zone") ? rasn_cymru_origin_qname(&a6, v, qn, sizeof(qn))
							    : rasn_cymru_origin_qname(&a4, v, qn, sizeof(qn));
		if (rc == -ENAMETOOLONG)
			return "too long: the names asked under it would pass 253 bytes";
		if (rc < 0)
			return "not a DNS zone name (letters, digits, '-', '_', dots between labels)";
		return rasnd_config_set_string((char **)p, v) ? "out of memory" : NULL;
	}
	case K_DNSLISTEN: {
		struct rasnd_dnss_listen l;
		const char *why;
		if (rasnd_dnss_parse_listen(v, &l, &why) < 0)
			return why;
		if (c->n_dnss_listen == RASND_MAX_DNSS_LISTEN)
			return "too many listen addresses";
		if (!(c->dnss_listen[c->n_dnss_listen] = strdup(v)))
			return "out of memory";
		c->n_dnss_listen++;
		return NULL;
	}
	case K_CIDRS: {
		struct rasn_prefix px[RASND_DNSS_MAX_ALLOW];
		size_t n;
		const char *why;
		if (rasnd_dnss_parse_allow(v, px, RASND_DNSS_MAX_ALLOW, &n, &why) < 0)
			return why;
		return rasnd_config_set_string((char **)p_of(c, k), v) ? "out of memory" : NULL;
	}
	case K_NAMES: {
		/* domain names, blank- or comma-separated: letters, digits, '-', '_', dots between labels */
		size_t names = 0;
		for (const char *q = v; *q;) {
			size_t len = strcspn(q, " \t,"), lab = 0;
			if (len > 253)
				return "a name is too long";
			for (size_t i = 0; i < len; i++) {
				char ch = q[i];
				if (ch == '.') {
					if (!lab && !(i == len - 1 && len == 1))
						return "an empty label (two dots)";
					lab = 0;
				} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
					   ch == '-' || ch == '_') {
					if (++lab > 63)
						return "a label over 63 bytes";
				} else {
					return "not a domain name";
				}
			}
			names += len > 0;
			q += len;
			q += strspn(q, " \t,");
		}
		if (names > 16)
			return "at most 16 names";
		if (!names && strcmp(k->name, "soa_mname") != 0)
			return "empty";
		if (k->off == OFF(dnss_ns) && c->dnss_ns_more) {
			/* ns may be given on several lines (a line holds at most a few names) */
			size_t n = strlen(c->dnss_ns) + 1 + strlen(v) + 1;
			char *j = malloc(n);
			if (!j)
				return "out of memory";
			snprintf(j, n, "%s %s", c->dnss_ns, v);
			free(c->dnss_ns);
			c->dnss_ns = j;
			return NULL;
		}
		if (k->off == OFF(dnss_ns))
			c->dnss_ns_more = 1;
		return rasnd_config_set_string((char **)p_of(c, k), v) ? "out of memory" : NULL;
	}
	case K_REDIS: /* daemon/rediscache.c: [cache] redis, redis_prefix, redis_timeout */
		if (!strcmp(k->name, "redis_timeout")) {
			errno = 0;
			double t = strtod(v, &end);
			if (!*v || *end || errno || !(t > 0 && t <= 60))
				return "not a number of seconds above 0 and at most 60 (e.g. 0.25)";
			*(double *)p = t;
			return NULL;
		}
		if (!strcmp(k->name, "redis_prefix")) {
			if (strlen(v) > 64)
				return "longer than 64 bytes";
			for (const char *q = v; *q; q++)
				if (*q <= ' ' || *q == 0x7f)
					return "spaces and control characters are not allowed";
		} else if (*v) {
			char host[256];
			unsigned port;
			const char *why;
			if (rasnd_redis_parse_addr(v, host, sizeof(host), &port, &why) < 0)
				return why;
		}
		return rasnd_config_set_string((char **)p, v) ? "out of memory" : NULL;
	case K_HTTPS:
		if (url_problem(v))
			return url_problem(v);
		return rasnd_config_set_string((char **)p, v) ? "out of memory" : NULL;
	case K_DSURL:
		if (url_problem(v))
			return url_problem(v);
		if (c->n_dataset_urls == RASND_MAX_DATASETS)
			return "too many dataset URLs";
		if (!(c->dataset_urls[c->n_dataset_urls] = strdup(v)))
			return "out of memory";
		c->n_dataset_urls++;
		return NULL;
	case K_ORDER: {
		char tmp[256], *save = NULL;
		int n = 0;
		c->order_n = 0;
		c->order_auto = strcmp(v, "auto") == 0;
		if (c->order_auto) {
			/* "table" until a resolver is seen to answer Cymru's zone, then "table cymru" */
			c->order_src[0] = RASND_SRC_TABLE;
			c->order_n = 1;
			return rasnd_config_set_string((char **)p, v) ? "out of memory" : NULL;
		}
		if (strlen(v) >= sizeof(tmp))
			return "too long";
		snprintf(tmp, sizeof(tmp), "%s", v);
		for (char *tok = strtok_r(tmp, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
			/* the names of the registry (daemon/runner.c), in lower case as documented */
			int src = rasnd_source_find(tok, strlen(tok));
			if (!src || strcmp(tok, rasnd_source(src)->name) != 0)
				return unknown_source; /* on_key lists the known ones */
			for (int m = 0; m < n; m++)
				if (c->order_src[m] == src)
					return "a source is listed twice";
			c->order_src[n++] = src; /* at most RASND_ORDER_MAX: each once */
		}
		if (!n)
			return "empty list";
		c->order_n = n;
		return rasnd_config_set_string((char **)p, v) ? "out of memory" : NULL;
	}
	case K_SIZE: {
		errno = 0;
		if (*v == '-' || !*v)
			return "not a non-negative whole number";
		unsigned long long x = strtoull(v, &end, 10);
		unsigned long long mul = 1;
		if (*end == 'K' || *end == 'k')
			mul = 1024, end++;
		else if (*end == 'M' || *end == 'm')
			mul = 1024 * 1024, end++;
		else if (*end == 'G' || *end == 'g')
			mul = 1024ULL * 1024 * 1024, end++;
		if (errno || *end || x > SIZE_MAX / mul)
			return "not a non-negative whole number (K, M, G suffixes allowed)";
		x *= mul;
		if (x < k->min || x > k->max)
			return "out of range";
		*(size_t *)p = (size_t)x;
		return NULL;
	}
	case K_MODE: {
		unsigned long m = strtoul(v, &end, 8);
		if (!*v || *end || m > 0777)
			return "not an octal file mode (e.g. 0660)";
		*(unsigned *)p = (unsigned)m;
		return NULL;
	}
	case K_SECONDS: {
		errno = 0;
		double d = strtod(v, &end);
		if (!*v || *end || errno || !(d >= 0 && d <= 86400))
			return "not a number of seconds (0 to 86400)";
		*(double *)p = d;
		return NULL;
	}
	case K_DATASET:
		if (!*v)
			return "empty path";
		if (!*datasets_reset) {
			/* a config that names files replaces the built-in default list */
			for (size_t i = 0; i < c->n_datasets; i++)
				free(c->datasets[i]);
			c->n_datasets = 0;
			*datasets_reset = 1;
		}
		if (c->n_datasets == RASND_MAX_DATASETS)
			return "too many dataset files";
		if (!(c->datasets[c->n_datasets] = strdup(v)))
			return "out of memory";
		c->n_datasets++;
		return NULL;
	case K_FORMAT: {
		int f = rasn_ds_format_parse(v);
		if (f < 0)
			return "unknown format (auto, csv, iptoasn, pfx2as)";
		*(int *)p = f;
		return NULL;
	}
	case K_IO:
		if (strcmp(v, "uring") == 0)
			*(int *)p = 0;
		else if (strcmp(v, "read") == 0)
			*(int *)p = 1;
		else
			return "unknown (uring, read)";
		return NULL;
	case K_LEVEL: {
		int l = rasnd_log_level_parse(v);
		if (l < 0)
			return "unknown level (err, warning, notice, info, debug)";
		*(int *)p = l;
		return NULL;
	}
	}
	return "internal error";
}

void rasnd_config_defaults(struct rasnd_config *c)
{
	memset(c, 0, sizeof(*c));
	int reset = 1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].def && set_key(c, &keys[i], keys[i].def, &reset))
			abort(); /* a default that does not parse is a programming error */
	c->dnss_ns_more = 0; /* the first ns line of a file replaces the default */
	c->datasets[0] = strdup(RASN_DEFAULT_DATADIR "/asn-ipv4.csv");
	c->datasets[1] = strdup(RASN_DEFAULT_DATADIR "/asn-ipv6.csv");
	c->n_datasets = 2;
}

void rasnd_config_free(struct rasnd_config *c)
{
	free(c->socket);
	free(c->order);
	free(c->state_dir);
	free(c->metrics_listen);
	for (size_t i = 0; i < c->n_dnss_listen; i++)
		free(c->dnss_listen[i]);
	free(c->dnss_allow);
	free(c->dnss_origin_zone);
	free(c->dnss_origin6_zone);
	free(c->dnss_as_zone);
	free(c->dnss_ns);
	free(c->dnss_soa_mname);
	free(c->dnss_soa_rname);
	free(c->cache_redis);
	free(c->cache_redis_password_file);
	free(c->cache_redis_prefix);
	for (size_t i = 0; i < c->whois.n_listen; i++)
		free(c->whois.listen[i]);
	for (size_t i = 0; i < c->api.n_listen; i++)
		free(c->api.listen[i]);
	free(c->http_ca_file);
	free(c->ripe_base_url);
	free(c->ripe_sourceapp);
	for (size_t i = 0; i < c->n_dataset_urls; i++)
		free(c->dataset_urls[i]);
	free(c->dns_servers);
	free(c->cymru_origin_zone);
	free(c->cymru_origin6_zone);
	free(c->cymru_as_zone);
	for (size_t i = 0; i < c->n_datasets; i++)
		free(c->datasets[i]);
	memset(c, 0, sizeof(*c));
}

struct parse_ctx {
	struct rasnd_config *c;
	const char *path;
	FILE *f;
	char *err;
	size_t errlen;
	int failed;
	int datasets_reset;
	int lineno;                  /* of the text inih parses now (counted by read_line) */
	int next_line;
	int line_ttl_floor, line_ttl_cap; /* where those were set (0: the default) */
};

/* inih's reader: fgets, counting lines, so that checks of two keys together (made after the
 * whole file is read) can still name the line. A line longer than the buffer comes in parts;
 * only the part that ends it moves the count on. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	char *r = fgets(str, num, p->f);
	if (r) {
		p->lineno = p->next_line;
		if (strchr(r, '\n'))
			p->next_line++;
	}
	return r;
}

static int on_key(void *ud, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = ud;
	if (p->failed)
		return 0; /* inih goes on after an error; the first one is the one to report */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(section, keys[i].section) || strcmp(name, keys[i].name))
			continue;
		const char *e = set_key(p->c, &keys[i], value, &p->datasets_reset);
		if (e == unknown_source) {
			char known[160];
			size_t kn = 0;
			known[0] = '\0';
			for (size_t k = 1; k <= rasnd_sources_n() && kn < sizeof(known); k++)
				kn += (size_t)snprintf(known + kn, sizeof(known) - kn, "%s%s", k > 1 ? ", " : "",
						       rasnd_source((int)k)->name);
			snprintf(p->err, p->errlen, "[%s] %s = %s: %s (known: %s; or auto alone)", section, name, value, e,
				 known);
			p->failed = 1;
			return 0;
		}
		if (e) {
			snprintf(p->err, p->errlen, "[%s] %s = %s: %s", section, name, value, e);
			p->failed = 1;
			return 0;
		}
		if (keys[i].off == OFF(cache_dns_ttl_floor_s) && keys[i].type == K_SIZE)
			p->line_ttl_floor = p->lineno;
		else if (keys[i].off == OFF(cache_dns_ttl_cap_s) && keys[i].type == K_SIZE)
			p->line_ttl_cap = p->lineno;
		return 1;
	}
	snprintf(p->err, p->errlen, "unknown key '%s' in section [%s]", name, section);
	p->failed = 1;
	return 0;
}

int rasnd_config_load(struct rasnd_config *c, const char *path, int must_exist, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (!must_exist && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char msg[512] = "";
	struct parse_ctx p = { .c = c, .path = path, .f = f, .err = msg, .errlen = sizeof(msg), .next_line = 1 };
	int line = ini_parse_stream(read_line, &p, on_key, &p);
	fclose(f);
	if (line != 0) {
		if (line > 0)
			snprintf(err, errlen, "%s:%d: %s", path, line, p.failed ? msg : "syntax error");
		else
			snprintf(err, errlen, "%s: cannot parse (%d)", path, line);
		return -1;
	}
	if (c->n_dataset_urls && c->n_dataset_urls != c->n_datasets) {
		snprintf(err, errlen, "%s: [dataset] has %zu url and %zu file keys: url N is saved as file N, so give as many of each",
			 path, c->n_dataset_urls, c->n_datasets);
		return -1;
	}
	if (c->retry_max_ms < c->retry_initial_ms) {
		snprintf(err, errlen, "%s: [retry] max_ms must not be below initial_ms", path);
		return -1;
	}
	if (c->cache_dns_ttl_floor_s > c->cache_dns_ttl_cap_s) {
		/* the later of the two lines set the conflict (0: both defaults, which agree) */
		int at = p.line_ttl_floor > p.line_ttl_cap ? p.line_ttl_floor : p.line_ttl_cap;
		snprintf(err, errlen, "%s:%d: [cache] dns_ttl_floor (%zu) is above dns_ttl_cap (%zu)", path, at,
			 c->cache_dns_ttl_floor_s, c->cache_dns_ttl_cap_s);
		return -1;
	}
	if (c->output_low_water >= c->output_high_water) {
		snprintf(err, errlen, "%s: [server] output_low_water must be below output_high_water", path);
		return -1;
	}
	return 0;
}
