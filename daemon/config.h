/* rasnd.conf: INI (libinih). Every key has a default (documented in conf/rasnd.conf); an
 * unknown section or key, or a bad value, is an error naming file:line. */
#ifndef RASND_CONFIG_H
#define RASND_CONFIG_H

#include <stddef.h>

#include "addr.h"

#define RASND_MAX_DATASETS 16
#define RASND_MAX_DNSS_LISTEN 8

/* The sources of [lookup] order: ids in the registry of daemon/runner.c, which holds at most
 * RASND_ORDER_MAX (each is listed once). */
enum { RASND_SRC_TABLE = 1, RASND_SRC_CYMRU = 2, RASND_SRC_RIPE = 3 };
#define RASND_ORDER_MAX 8

/* [whois] and [http_api]: a network listener's addresses and exposure limits */
#define RASND_LISTEN_MAX 8
#define RASND_ALLOW_MAX 32
struct rasnd_netcfg {
	char *listen[RASND_LISTEN_MAX]; /* HOST:PORT, numeric; none: off */
	size_t n_listen;
	struct rasn_prefix allow[RASND_ALLOW_MAX]; /* clients allowed in */
	size_t n_allow;
	size_t max_clients;          /* connections at once, all addresses */
	size_t max_conns_per_addr;   /* connections at once from one address (0: no limit) */
	size_t rate, burst;          /* requests per second per address, bucket size (rate 0: off) */
	size_t timeout_s;            /* idle, header and request read time */
};

struct rasnd_config {
	/* [server] */
	char *socket;
	unsigned socket_mode;
	size_t max_clients;
	size_t read_buffer;          /* bytes read per client per wakeup: the fairness budget */
	size_t output_high_water;    /* stop reading a client with this much unread output */
	size_t output_low_water;     /* resume below this */
	double drain_timeout;        /* seconds SIGTERM waits for replies in flight */
	size_t max_pending;          /* answers one client may have outstanding upstream */
	double idle_timeout;         /* close a client quiet this long with nothing pending; 0: never */
	/* [dataset] */
	char *datasets[RASND_MAX_DATASETS];
	size_t n_datasets;
	int dataset_format;          /* enum rasn_ds_format */
	size_t max_bad_lines;
	size_t max_file_size;
	int io_read;                 /* io = read: skip io_uring */
	size_t load_threads;         /* 0: one per online CPU, at most 8 */
	int snapshot;                /* keep the built table's image in the state directory */
	/* [lookup] */
	char *order;                 /* sources in order: "table", "cymru", "ripestat" */
	int order_src[RASND_ORDER_MAX]; /* RASND_SRC_*, as listed (each at most once) */
	int order_n;
	int order_auto;              /* "auto": table, plus cymru once a resolver answers for it */
	size_t org_max_results;
	/* [log] */
	int log_level;
	/* [state] */
	char *state_dir;
	/* [dns] */
	char *dns_servers;           /* "ip[:port],..."; NULL: /etc/resolv.conf */
	size_t dns_channels, dns_timeout_ms, dns_tries;
	int dns_tcp;
	/* [tcp]: options of upstream sockets */
	int tcp_nodelay, tcp_keepalive;
	size_t tcp_sndbuf, tcp_rcvbuf, tcp_keepalive_idle, tcp_keepalive_interval, tcp_keepalive_count;
	/* [cache] */
	int cache_enabled, cache_disk;
	size_t cache_entries, cache_ttl_s, cache_negative_ttl_s, cache_dns_ttl_floor_s, cache_dns_ttl_cap_s;
	char *cache_redis;           /* HOST:PORT or a socket path; "": no shared level */
	char *cache_redis_password_file, *cache_redis_prefix;
	double cache_redis_timeout;  /* seconds */
	/* [cymru] */
	char *cymru_origin_zone, *cymru_origin6_zone, *cymru_as_zone;
	/* [batch], [retry], [breaker]: the upstream call path (daemon/upstream.c) */
	int batch_enabled, batch_coalesce;
	size_t batch_max_batch, batch_max_delay_ms, batch_max_queued, batch_max_waiters;
	size_t retry_initial_ms, retry_multiplier, retry_max_ms, retry_jitter, retry_give_up_ms;
	size_t breaker_failures, breaker_open_ms, breaker_half_open_probes, breaker_successes;
	/* [http]: the HTTPS client (ripestat, dataset refresh) */
	char *http_ca_file;          /* NULL: the system store */
	size_t http_idle_per_host, http_max_conns_per_host, http_idle_timeout_ms, http_ping_interval_ms,
		http_ping_timeout_ms, http_connect_timeout_ms, http_request_timeout_ms, http_stream_window,
		http_conn_window, http_max_body, http_max_queued, http_session_cache;
	int http_http2, http_reuse;
	/* [ripestat] */
	char *ripe_base_url, *ripe_sourceapp;
	size_t ripe_max_body;        /* bytes; lib/ripestat refuses more than 16 MiB anyway */
	/* [dataset] url / refresh: url i is fetched into file i */
	char *dataset_urls[RASND_MAX_DATASETS];
	size_t n_dataset_urls;
	size_t dataset_refresh_s;    /* 0: only on the `refresh` command */
	size_t dataset_max_shrink;   /* percent of a file's rows a refresh may lose; 100: no check */
	/* [dns_server]: daemon/dnsserver.h */
	char *dnss_listen[RASND_MAX_DNSS_LISTEN];
	size_t n_dnss_listen;
	char *dnss_allow;
	char *dnss_origin_zone, *dnss_origin6_zone, *dnss_as_zone;
	size_t dnss_ttl, dnss_negative_ttl;
	char *dnss_ns, *dnss_soa_mname, *dnss_soa_rname;
	int dnss_ns_more;            /* while parsing: a further ns line adds names */
	size_t dnss_soa_refresh, dnss_soa_retry, dnss_soa_expire;
	size_t dnss_udp_max, dnss_tcp_idle_timeout, dnss_tcp_max_clients;
	size_t dnss_rrl_rate, dnss_rrl_slip, dnss_rrl_ipv4_prefix, dnss_rrl_ipv6_prefix, dnss_rrl_table_size;
	/* [metrics] */
	char *metrics_listen;        /* loopback HOST:PORT for GET /metrics; NULL: off */
	/* [whois], [http_api] */
	struct rasnd_netcfg whois, api;
	size_t api_max_header_size, api_max_body;
	int api_metrics;             /* GET /metrics on the API listener too */
	/* [sysctl]: targets raised at start-up (never lowered) when apply is on */
	int sysctl_apply;
	size_t sysctl_rmem_max, sysctl_wmem_max, sysctl_tcp_window_scaling, sysctl_tcp_fastopen,
		sysctl_somaxconn, sysctl_tcp_tw_reuse;
};

void rasnd_config_defaults(struct rasnd_config *c);
void rasnd_config_free(struct rasnd_config *c);

/* Parse path over the defaults already in c. must_exist 0: a missing file is not an error.
 * Returns 0, or -1 with "file:line: message" in err. */
int rasnd_config_load(struct rasnd_config *c, const char *path, int must_exist, char *err, size_t errlen);

/* [metrics] listen: "127.0.0.1:9464" or "[::1]:9464" -> host, port. Loopback only. 0 or -1
 * with err. */
int rasnd_metrics_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port, const char **err);

/* Replace the dataset list with one path (first call) or add one (later calls). */
int rasnd_config_set_string(char **slot, const char *value);

#endif
