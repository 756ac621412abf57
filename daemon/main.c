/* rasnd: start-up in order (config, table, loop, socket), one loop, teardown in reverse. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "build_config.h"
#include "clock.h"
#include "log.h"
#include "rasnd.h"
#include "httpapi.h"
#include "whois.h"
#include "sdnotify.h"
#include "sockact.h"
#include "sysctl.h"
#include "dns.h"
#include "http.h"
#include "srccymru.h"
#include "domain.h"
#include "http.h"
#include "runner.h"
#include "cache.h"
#include "dnsserver.h"
#include "rediscache.h"
#include "clock.h"
#include "metrics_http.h"
#include "query.h"
#include "refresh.h"
#include "reload.h"
#include "server.h"
#include "stats.h"
#include "session.h"

#include <sys/random.h>
#include <sys/types.h>

#include <ares.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rasnd [-c FILE] [-s SOCKET] [-d DATASET]... [-S STATE_DIR] [-v]\n"
		"       rasnd --check-config [-c FILE]\n"
		"\n"
		"IP-to-ASN lookup daemon: answers one request per line on a Unix socket.\n"
		"\n"
		"  -c, --config FILE    config file (default %s/rasnd.conf; absent means defaults)\n"
		"  -s, --socket PATH    query socket (default %s)\n"
		"  -d, --dataset FILE   dataset file; repeat for IPv4 and IPv6 (replaces [dataset] file)\n"
		"  -S, --state-dir DIR  state directory (default %s)\n"
		"  -v, --verbose        log at debug level\n"
		"      --check-config   check the config file and exit (0 when valid)\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n"
		"\n"
		"Signals: SIGHUP reloads config and dataset; SIGTERM/SIGINT answer what is in flight, then exit 0.\n",
		RASN_SYSCONFDIR, RASN_DEFAULT_SOCKET, RASN_DEFAULT_STATEDIR);
}

/* Read the config file (if any) over the defaults and apply command-line overrides. */
static int configure(struct rasnd *d, struct rasnd_config *c, char *err, size_t errlen)
{
	rasnd_config_defaults(c);
	if (d->config_path && rasnd_config_load(c, d->config_path, d->config_must_exist, err, errlen) < 0)
		return -1;
	if (d->opt_socket && rasnd_config_set_string(&c->socket, d->opt_socket) < 0)
		goto oom;
	if (d->opt_state_dir && rasnd_config_set_string(&c->state_dir, d->opt_state_dir) < 0)
		goto oom;
	if (d->opt_n_datasets) {
		for (size_t i = 0; i < c->n_datasets; i++)
			free(c->datasets[i]);
		c->n_datasets = 0;
		for (size_t i = 0; i < d->opt_n_datasets; i++)
			if (!(c->datasets[c->n_datasets++] = strdup(d->opt_datasets[i])))
				goto oom;
	}
	if (d->opt_verbose)
		c->log_level = RASND_LOG_DEBUG;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void cache_log(void *ud, int level, const char *msg)
{
	rasnd_log(level <= RASN_CACHE_LOG_ERR ? RASND_LOG_ERR : level == RASN_CACHE_LOG_WARNING ? RASND_LOG_WARN
											: RASND_LOG_INFO,
		  "cache: %s", msg);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd *d = arg;
	/* bounded work per tick, so the loop never stalls on a large store */
	size_t n = rasn_cache_sweep(d->cache, rasn_clock_wall_ms(), 2000);
	if (n)
		log_debug("cache: %zu expired entries removed", n);
}

/* The cache of upstream answers: memory, then RocksDB under the state directory. Opening
 * RocksDB takes ~15 ms, so this runs on the prep thread (see prep_main); the sweep timer is
 * armed on the loop's thread afterwards (cache_arm). */
static void cache_open(struct rasnd *d)
{
	d->cache = NULL;
	if (!d->cfg.cache_enabled)
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/cache", d->cfg.state_dir);
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)rasn_clock_wall_s() ^ (uint64_t)getpid() << 32;
	struct rasn_cache_opts o = {
		.l1_max_entries = d->cfg.cache_entries,
		.negative_ttl_ms = (uint64_t)d->cfg.cache_negative_ttl_s * 1000,
		.name_ttl_floor_ms = (uint64_t)d->cfg.cache_dns_ttl_floor_s * 1000,
		.name_ttl_cap_ms = (uint64_t)d->cfg.cache_dns_ttl_cap_s * 1000,
		.l2_path = d->cfg.cache_disk ? path : NULL,
		.now_ms = rasn_clock_wall_ms(),
		.hash_seed = seed,
		.log = cache_log,
		/* write-through to the shared level: d->redis is set on the loop's thread later */
		.on_store = d->cfg.cache_redis && d->cfg.cache_redis[0] ? rasnd_redis_on_store : NULL,
		.store_ud = d,
		.log_ud = d,
	};
	if (d->cfg.cache_disk && mkdir(d->cfg.state_dir, 0750) < 0 && errno != EEXIST)
		log_warn("cache: cannot create %s: %s; keeping answers in memory only", d->cfg.state_dir, strerror(errno));
	if (rasn_cache_new(&o, &d->cache) < 0) {
		log_warn("cache: cannot set up; upstream answers are not kept");
		d->cache = NULL;
	}
}

static void cache_arm(struct rasnd *d)
{
	if (!d->cache)
		return;
	struct timeval tv = { 60, 0 };
	d->cache_sweep = event_new(d->base, -1, EV_PERSIST, on_sweep, d);
	if (d->cache_sweep)
		event_add(d->cache_sweep, &tv);
}

/* The daemon's HTTPS client, shared by RIPEstat and dataset refresh. */
static int http_client_new(struct rasnd *d, char *err, size_t errlen)
{
	const struct rasnd_config *c = &d->cfg;
	struct rasnd_http_opts o;
	rasnd_http_opts_default(&o);
	o.ca_file = c->http_ca_file;
	o.idle_per_host = (unsigned)c->http_idle_per_host;
	o.max_conns_per_host = (unsigned)c->http_max_conns_per_host;
	o.idle_timeout_ms = (unsigned)c->http_idle_timeout_ms;
	o.ping_interval_ms = (unsigned)c->http_ping_interval_ms;
	o.ping_timeout_ms = (unsigned)c->http_ping_timeout_ms;
	o.connect_timeout_ms = (unsigned)c->http_connect_timeout_ms;
	o.request_timeout_ms = (unsigned)c->http_request_timeout_ms;
	o.stream_window = (uint32_t)c->http_stream_window;
	o.conn_window = (uint32_t)c->http_conn_window;
	o.max_body = c->http_max_body;
	o.max_queued = c->http_max_queued;
	o.session_cache = (unsigned)c->http_session_cache;
	o.http2 = c->http_http2;
	o.reuse = c->http_reuse;
	o.sock = (struct rasnd_tcp_opts){ c->tcp_nodelay, (int)c->tcp_sndbuf, (int)c->tcp_rcvbuf, c->tcp_keepalive,
					  (int)c->tcp_keepalive_idle, (int)c->tcp_keepalive_interval,
					  (int)c->tcp_keepalive_count };
	return rasnd_http_new(d->base, &o, &d->httpc, err, errlen);
}

/* Start-up work that the first answer does not need, done on a second thread while the loop's
 * thread builds the table: loading the system CA store for the HTTPS client (~45 ms: OpenSSL
 * parses every certificate of the bundle) and opening RocksDB (~15 ms). Both only set up
 * objects nobody else touches yet (event_new reads the base, it does not change it); the
 * main thread joins before anything can use them, so every lookup sees them ready. */
struct prep {
	struct rasnd *d;
	pthread_t thread;
	int started;
	int http_rc;
	char http_err[1024];
};

static void *prep_main(void *arg)
{
	struct prep *p = arg;
	p->http_rc = http_client_new(p->d, p->http_err, sizeof(p->http_err));
	cache_open(p->d);
	return NULL;
}

static void prep_start(struct prep *p, struct rasnd *d)
{
	p->d = d;
	p->started = pthread_create(&p->thread, NULL, prep_main, p) == 0;
	if (!p->started)
		prep_main(p); /* no thread: the same work, in line */
}

static void prep_join(struct prep *p)
{
	if (p->started)
		pthread_join(p->thread, NULL);
	p->started = 0;
}

/* Is pid a running rasnd (one that may still be writing its temporary file)? */
static int rasnd_running(long pid)
{
	char path[64], comm[32] = "";
	if (pid == (long)getpid())
		return 0; /* a file of our own name is from an earlier life of this PID */
	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int is = fgets(comm, sizeof(comm), f) && !strncmp(comm, "rasnd", 5);
	fclose(f);
	return is;
}

static void remove_stale(const char *path, const char *why)
{
	if (unlink(path) == 0)
		log_info("removed stale temporary file %s (%s)", path, why);
	else if (errno != ENOENT)
		log_warn("cannot remove stale temporary file %s: %s", path, strerror(errno));
}

/* Temporary files a killed rasnd leaves behind (issue 11): the snapshot's STATE/table.snap.tmp.PID
 * (lib/snapshot.c; 2-24 MiB each) unless that PID is a rasnd still running, and the dataset
 * refresh's FILE.new and FILE.http.tmp (daemon/refresh.c) for files with a [dataset] url. Only
 * these exact name patterns are touched; runs after rasnd_server_precheck, so a live rasnd on
 * the same socket never loses a file it is writing. */
static void remove_stale_temps(const struct rasnd *d)
{
	static const char snap_prefix[] = "table.snap.tmp.";
	char path[4200], why[64];
	DIR *dir = d->cfg.state_dir && d->cfg.state_dir[0] ? opendir(d->cfg.state_dir) : NULL;
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		const char *num = e->d_name + sizeof(snap_prefix) - 1;
		char *end;
		if (strncmp(e->d_name, snap_prefix, sizeof(snap_prefix) - 1) || *num < '0' || *num > '9')
			continue;
		long pid = strtol(num, &end, 10);
		if (*end || rasnd_running(pid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, e->d_name);
		snprintf(why, sizeof(why), "snapshot of process %ld, which is gone", pid);
		remove_stale(path, why);
	}
	if (dir)
		closedir(dir);
	for (size_t i = 0; i < d->cfg.n_datasets && i < d->cfg.n_dataset_urls; i++) {
		if (!d->cfg.dataset_urls[i] || !d->cfg.dataset_urls[i][0])
			continue;
		snprintf(path, sizeof(path), "%s.new", d->cfg.datasets[i]);
		remove_stale(path, "an unfinished dataset download");
		snprintf(path, sizeof(path), "%s.http.tmp", d->cfg.datasets[i]);
		remove_stale(path, "unfinished download validators");
	}
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct rasnd *d = arg;
	log_info("signal %d: shutting down", (int)sig);
	rasnd_whois_drain(d);
	rasnd_api_drain(d);
	rasnd_server_drain(d);
}

/* Do two configs listen on the same addresses (a listener's sockets stay until restart)? */
static int same_listen(const struct rasnd_netcfg *a, const struct rasnd_netcfg *b)
{
	if (a->n_listen != b->n_listen)
		return 0;
	for (size_t i = 0; i < a->n_listen; i++)
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return 0;
	return 1;
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct rasnd *d = arg;
	char err[1024];
	struct rasnd_config c;
	log_info("SIGHUP: reloading config and dataset");
	if (configure(d, &c, err, sizeof(err)) < 0) {
		log_err("config reload failed, keeping the running config: %s", err);
		rasnd_config_free(&c);
	} else {
		if (strcmp(c.socket, d->cfg.socket) != 0)
			log_warn("socket path changed to %s: takes effect at restart", c.socket);
		if (!same_listen(&c.whois, &d->cfg.whois) || !same_listen(&c.api, &d->cfg.api))
			log_warn("[whois] or [http_api] listen changed: takes effect at restart");
		/* the socket in use stays; everything else takes the new values */
		free(c.socket);
		c.socket = d->cfg.socket;
		d->cfg.socket = NULL;
		rasnd_config_free(&d->cfg);
		d->cfg = c;
		rasnd_log_set_level(d->cfg.log_level);
		rasnd_cymru_probe(d); /* "auto" decides again with the new config */
		rasnd_dnsserver_reconfigure(d);
		rasnd_session_idle_arm(d);
	}
	rasnd_reload_start(d, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "dataset", required_argument, NULL, 'd' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct rasnd d;
	struct rasnd_passed passed;
	struct prep prep = { 0 };
	char err[1024];
	int check_only = 0, opt, rc = 1;
	memset(&d, 0, sizeof(d));
	/* what the sessions and listeners call without depending on (daemon/rasnd.h) */
	d.proto = &rasnd_query_proto;
	d.stats_json = rasnd_stats_json;
	d.stats_prometheus = rasnd_stats_prometheus;
	d.listen_fd = -1;
	d.reload.efd = -1;
	passed.n = 0;
	d.passed = &passed;
	TAILQ_INIT(&d.sessions);
	TAILQ_INIT(&d.rejects);
	d.config_path = RASN_SYSCONFDIR "/rasnd.conf";

	while ((opt = getopt_long(argc, argv, "c:s:d:S:vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			d.config_must_exist = 1;
			break;
		case 's':
			d.opt_socket = optarg;
			break;
		case 'd':
			if (d.opt_n_datasets == RASND_MAX_DATASETS) {
				fprintf(stderr, "rasnd: at most %d dataset files\n", RASND_MAX_DATASETS);
				return 2;
			}
			d.opt_datasets[d.opt_n_datasets++] = optarg;
			break;
		case 'S':
			d.opt_state_dir = optarg;
			break;
		case 'v':
			d.opt_verbose = 1;
			break;
		case 'C':
			check_only = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rasnd %s\n", RASN_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rasnd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	if (configure(&d, &d.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "rasnd: %s\n", err);
		rasnd_config_free(&d.cfg);
		return check_only ? 1 : 78; /* EX_CONFIG: systemd will not restart in a loop */
	}
	if (check_only) {
		printf("%s: OK\n", d.config_path);
		rasnd_config_free(&d.cfg);
		return 0;
	}
	rasnd_log_init(d.cfg.log_level);
	ares_library_init(ARES_LIB_INIT_ALL);
	d.started_us = rasn_clock_mono_us();
	/* a client that goes away mid-write must not kill the daemon */
	signal(SIGPIPE, SIG_IGN);
	/* the sockets from the service manager, each checked against its listener before the
	 * slow start-up work: a unit that passes the wrong socket fails at once */
	if (rasnd_passed_init(&passed, err, sizeof(err)) < 0) {
		log_err("%s", err);
		rc = 78; /* EX_CONFIG: the units are wrong; a restart will not fix them */
		goto out;
	}
	/* before the table and RocksDB: a second rasnd on a live socket stops here, and touches
	 * nothing of the first one's state directory */
	if (rasnd_server_precheck(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		rc = 75; /* EX_TEMPFAIL: it can start once the other one has stopped */
		goto out;
	}
	remove_stale_temps(&d);

	struct event_config *ec = event_config_new();
	/* PRECISE_TIMER: otherwise libevent reads CLOCK_MONOTONIC_COARSE (4 ms steps here), and
	 * retry and flush timers fire up to a tick early */
	if (ec)
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST | EVENT_BASE_FLAG_PRECISE_TIMER);
	d.base = ec ? event_base_new_with_config(ec) : NULL;
	if (ec)
		event_config_free(ec);
	if (!d.base) {
		log_err("cannot create the event loop");
		goto out;
	}
	prep_start(&prep, &d);
	if (rasnd_load_initial(&d, err, sizeof(err)) < 0) {
		log_err("cannot load the dataset: %s", err);
		rc = 66; /* EX_NOINPUT */
		goto out;
	}
	prep_join(&prep);
	{
		struct rasnd_dns_opts dop = {
			.servers = d.cfg.dns_servers,
			.channels = (unsigned)d.cfg.dns_channels,
			.timeout_ms = (unsigned)d.cfg.dns_timeout_ms,
			.tries = (unsigned)d.cfg.dns_tries,
			.tcp = d.cfg.dns_tcp,
			.sock = {
				.nodelay = d.cfg.tcp_nodelay,
				.sndbuf = (int)d.cfg.tcp_sndbuf,
				.rcvbuf = (int)d.cfg.tcp_rcvbuf,
				.keepalive = d.cfg.tcp_keepalive,
				.keep_idle = (int)d.cfg.tcp_keepalive_idle,
				.keep_intvl = (int)d.cfg.tcp_keepalive_interval,
				.keep_cnt = (int)d.cfg.tcp_keepalive_count,
			},
		};
		if (rasnd_dns_new(d.base, &dop, &d.dns, err, sizeof(err)) < 0)
			log_warn("%s: domain lookups will answer an error", err);
		if (d.httpc) /* HTTPS origin names go through the pool (freed after the client) */
			rasnd_http_set_dns(d.httpc, d.dns);
	}
	cache_arm(&d);
	if (rasnd_redis_new(&d, &d.redis, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	/* domain lookups ride Cymru's resolvers, behind the same breakers */
	if (rasnd_cymru_init(&d, err, sizeof(err)) < 0 || rasnd_domain_init(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	rasnd_cymru_probe(&d);
	if (prep.http_rc < 0)
		log_warn("%s: RIPEstat and dataset refresh are off", prep.http_err);
	rasnd_sources_init(&d);
	if (rasnd_refresh_init(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	if (rasnd_reload_init(&d) < 0) {
		log_err("cannot set up reloading");
		goto out;
	}
	if (rasnd_server_listen(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	if (rasnd_metrics_start(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	if (rasnd_dnsserver_start(&d, err, sizeof(err)) < 0 || rasnd_api_start(&d, err, sizeof(err)) < 0 ||
	    rasnd_whois_start(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	rasnd_passed_close(&passed); /* every listener has taken its own: nothing is left */
	/* after the socket is up: a daemon that fails to start leaves the kernel as it was */
	rasnd_sysctl_tune(&d.cfg);
	d.sig_term = evsignal_new(d.base, SIGTERM, on_term, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_term, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	if (!d.sig_term || !d.sig_int || !d.sig_hup || event_add(d.sig_term, NULL) < 0 ||
	    event_add(d.sig_int, NULL) < 0 || event_add(d.sig_hup, NULL) < 0) {
		log_err("cannot install signal handlers");
		goto out;
	}
	log_info("rasnd %s ready", RASN_VERSION);
	/* READY only now: the table is loaded and the socket accepts */
	rasnd_notify_ready(&d);
	event_base_dispatch(d.base);
	rc = 0;
	log_info("stopped");
out:
	prep_join(&prep); /* a failed load: the thread may still be setting up */
	while (!TAILQ_EMPTY(&d.sessions))
		rasnd_session_close(TAILQ_FIRST(&d.sessions));
	rasnd_server_close(&d);
	rasnd_passed_close(&passed);
	rasnd_dnsserver_free(&d);
	rasnd_session_free_all(&d);
	rasnd_metrics_stop(&d);
	rasnd_whois_stop(&d);
	rasnd_api_stop(&d);
	rasnd_redis_free(d.redis); /* its pending lookups go on to the live upstreams */
	d.redis = NULL;
	rasnd_refresh_free(&d);
	/* the HTTPS client first: its requests end (ESHUTDOWN) into the live upstreams */
	rasnd_http_free(d.httpc);
	d.httpc = NULL;
	rasnd_sources_free(&d);
	rasnd_dns_free(d.dns); /* its queries end (ARES_EDESTRUCTION) into the live upstream */
	d.dns = NULL;
	rasnd_domain_free(&d);
	rasnd_cymru_free(&d);
	if (d.cache_sweep)
		event_free(d.cache_sweep);
	rasn_cache_free(d.cache);
	rasnd_reload_free(&d);
	if (d.sig_term)
		event_free(d.sig_term);
	if (d.sig_int)
		event_free(d.sig_int);
	if (d.sig_hup)
		event_free(d.sig_hup);
	if (d.drain_timer)
		event_free(d.drain_timer);
	if (d.base) {
		/* run the deferred frees queued by session closes */
		event_base_loop(d.base, EVLOOP_NONBLOCK);
		event_base_free(d.base);
	}
	if (d.table)
		rasn_table_unref(d.table);
	rasnd_config_free(&d.cfg);
	ares_library_cleanup();
	return rc;
}
