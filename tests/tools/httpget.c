/* rasn-httpget: fetch URLs with daemon/http.c on one libevent loop, for testing and debugging.
 *
 *   rasn-httpget [--ca FILE] [--n N] [--no-h2] [--no-reuse] [--no-resume] [options] URL...
 *
 * Every URL is fetched N times, all at once (or one after another with --seq, the next one
 * started from inside the previous one's callback). One JSON line per response
 * {url,status,err,errmsg,body_len,http2,reused,resumed,etag}, then one line of statistics
 * and one of origins. Options for the pool's timers and bounds:
 *   --seq  --wait MS (keep the loop running after the last response)  --idle-ms MS
 *   --idle-per-host N  --ping-ms MS  --ping-timeout-ms MS  --max-body BYTES  --max-conns N
 *   --max-queued N  --timeout-ms MS  --connect-timeout-ms MS  --inm ETAG  --quiet
 *   --free-after MS (free the client MS after start, whatever is pending)
 *   --dns SERVERS (resolvers for origin names, "ip[:port],..."; default /etc/resolv.conf) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dns.h"
#include "http.h"
#include "log.h"

struct run {
	struct event_base *base;
	struct rasnd_http *h;
	struct rasnd_dns *dns;
	char **urls;
	int n_urls;
	long n;
	long started, done, total;
	int seq, quiet;
	const char *inm;
	long wait_ms;
	struct event *timer;
};

static void start_next(struct run *run);

static void print_stats(struct run *run)
{
	struct rasnd_http_stats s;
	struct rasn_buf b;
	rasnd_http_stats(run->h, &s);
	rasn_buf_init(&b);
	rasn_buf_printf(&b,
			"{\"stats\":{\"conns_opened\":%lu,\"conns_reused\":%lu,\"closed_idle\":%lu,\"closed_ping\":%lu,"
			"\"closed_peer\":%lu,\"closed_error\":%lu,\"closed_oneshot\":%lu,\"closed_shutdown\":%lu,"
			"\"tls_full\":%lu,\"tls_resumed\":%lu,\"tls_failed\":%lu,\"h2_conns\":%lu,\"h1_conns\":%lu,"
			"\"requests\":%lu,\"responses\":%lu,\"status_2xx\":%lu,\"status_3xx\":%lu,\"status_4xx\":%lu,"
			"\"status_5xx\":%lu,\"streams_max\":%lu,\"streams_total_closed\":%lu,\"conns_closed\":%lu,"
			"\"pings_sent\":%lu,\"pings_acked\":%lu,\"bytes_in\":%lu,\"bytes_out\":%lu,\"queued_max\":%lu,"
			"\"conns_open\":%lu,\"conns_idle\":%lu,\"in_flight\":%lu,\"queued\":%lu,"
			"\"streams_in_flight_max\":%lu,\"streams_total\":%lu,\"errors\":{",
			s.conns_opened, s.conns_reused, s.closed_idle, s.closed_ping, s.closed_peer, s.closed_error,
			s.closed_oneshot, s.closed_shutdown, s.tls_full, s.tls_resumed, s.tls_failed, s.h2_conns, s.h1_conns,
			s.requests, s.responses, s.status_2xx, s.status_3xx, s.status_4xx, s.status_5xx, s.streams_max,
			s.streams_total_closed, s.conns_closed, s.pings_sent, s.pings_acked, s.bytes_in, s.bytes_out,
			s.queued_max, s.conns_open, s.conns_idle, s.in_flight, s.queued, s.streams_in_flight_max,
			s.streams_total);
	for (int e = RASND_HTTP_EURL; e <= RASND_HTTP_ESHUTDOWN; e++)
		rasn_buf_printf(&b, "%s\"%s\":%lu", e == RASND_HTTP_EURL ? "" : ",",
				rasnd_http_err_name((enum rasnd_http_err)e), s.errors[e]);
	rasn_buf_lit(&b, "}}}\n{\"origins\":");
	rasnd_http_origins_json(run->h, &b);
	rasn_buf_lit(&b, "}\n");
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	rasn_buf_free(&b);
}

struct one {
	struct run *run;
	const char *url;
};

static void on_resp(void *ud, const struct rasnd_http_response *r)
{
	struct one *one = ud;
	struct run *run = one->run;
	if (!run->quiet) {
		struct rasn_buf b;
		rasn_buf_init(&b);
		rasn_buf_lit(&b, "{\"url\":");
		rasn_buf_json_str(&b, one->url, strlen(one->url));
		rasn_buf_printf(&b, ",\"status\":%d,\"err\":\"%s\",\"errmsg\":", r->status, rasnd_http_err_name(r->err));
		rasn_buf_json_str(&b, r->errmsg, strlen(r->errmsg));
		rasn_buf_printf(&b, ",\"body_len\":%zu,\"http2\":%d,\"reused\":%d,\"resumed\":%d,\"etag\":", r->body_len,
				r->http2, r->reused, r->resumed);
		if (r->etag)
			rasn_buf_json_str(&b, r->etag, strlen(r->etag));
		else
			rasn_buf_lit(&b, "null");
		rasn_buf_lit(&b, "}\n");
		fwrite(b.data, 1, b.len, stdout);
		rasn_buf_free(&b);
	}
	free(one);
	run->done++;
	if (run->seq)
		start_next(run);
	if (run->done == run->total) {
		if (run->wait_ms > 0) {
			struct timeval tv = { run->wait_ms / 1000, (run->wait_ms % 1000) * 1000 };
			event_base_loopexit(run->base, &tv);
		} else {
			event_base_loopbreak(run->base);
		}
	}
}

static void start_next(struct run *run)
{
	if (run->started >= run->total)
		return;
	long i = run->started++;
	struct one *one = malloc(sizeof(*one));
	if (!one) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	one->run = run;
	one->url = run->urls[i % run->n_urls];
	struct rasnd_http_req req = { .url = one->url, .if_none_match = run->inm };
	int rc = rasnd_http_get(run->h, &req, on_resp, one);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", one->url, strerror(-rc));
		free(one);
		run->done++;
		if (run->done == run->total)
			event_base_loopbreak(run->base);
	}
}

static void on_free_timer(evutil_socket_t fd, short what, void *arg)
{
	struct run *run = arg;
	print_stats(run);
	rasnd_http_free(run->h);
	run->h = NULL;
	event_base_loopbreak(run->base);
}

static void usage(void)
{
	fprintf(stderr, "usage: rasn-httpget [--ca FILE] [--n N] [--no-h2] [--no-reuse] [--no-resume] [--seq] [--wait MS]\n"
			"  [--idle-ms MS] [--idle-per-host N] [--ping-ms MS] [--ping-timeout-ms MS] [--max-body BYTES]\n"
			"  [--max-conns N] [--max-queued N] [--timeout-ms MS] [--connect-timeout-ms MS] [--inm ETAG]\n"
			"  [--quiet] [--free-after MS] [--dns SERVERS] URL...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct rasnd_http_opts o;
	struct run run;
	long free_after = -1;
	const char *dns_servers = NULL;
	char err[256];
	memset(&run, 0, sizeof(run));
	run.n = 1;
	rasnd_http_opts_default(&o);
	rasnd_log_init(RASND_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	int i;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && (v || (usage(), 0)) && ++i)
		if (ARG("--ca"))
			o.ca_file = v;
		else if (ARG("--n"))
			run.n = atol(v);
		else if (strcmp(a, "--no-h2") == 0)
			o.http2 = 0;
		else if (strcmp(a, "--no-reuse") == 0)
			o.reuse = 0;
		else if (strcmp(a, "--no-resume") == 0)
			o.session_cache = 0;
		else if (strcmp(a, "--seq") == 0)
			run.seq = 1;
		else if (strcmp(a, "--quiet") == 0)
			run.quiet = 1;
		else if (ARG("--wait"))
			run.wait_ms = atol(v);
		else if (ARG("--idle-ms"))
			o.idle_timeout_ms = (unsigned)atol(v);
		else if (ARG("--idle-per-host"))
			o.idle_per_host = (unsigned)atol(v);
		else if (ARG("--ping-ms"))
			o.ping_interval_ms = (unsigned)atol(v);
		else if (ARG("--ping-timeout-ms"))
			o.ping_timeout_ms = (unsigned)atol(v);
		else if (ARG("--max-body"))
			o.max_body = (size_t)atol(v);
		else if (ARG("--max-conns"))
			o.max_conns_per_host = (unsigned)atol(v);
		else if (ARG("--max-queued"))
			o.max_queued = (size_t)atol(v);
		else if (ARG("--timeout-ms"))
			o.request_timeout_ms = (unsigned)atol(v);
		else if (ARG("--connect-timeout-ms"))
			o.connect_timeout_ms = (unsigned)atol(v);
		else if (ARG("--inm"))
			run.inm = v;
		else if (ARG("--dns"))
			dns_servers = v;
		else if (ARG("--free-after"))
			free_after = atol(v);
		else
			usage();
#undef ARG
	}
	if (i >= argc || run.n < 1)
		usage();
	run.urls = argv + i;
	run.n_urls = argc - i;
	run.total = run.n * run.n_urls;
	run.base = event_base_new();
	if (!run.base || rasnd_http_new(run.base, &o, &run.h, err, sizeof(err)) < 0) {
		fprintf(stderr, "rasn-httpget: %s\n", run.base ? err : "no event base");
		return 1;
	}
	struct rasnd_dns_opts dop = { .servers = dns_servers, .channels = 1 };
	if (rasnd_dns_new(run.base, &dop, &run.dns, err, sizeof(err)) < 0)
		fprintf(stderr, "rasn-httpget: %s: numeric hosts only\n", err);
	rasnd_http_set_dns(run.h, run.dns);
	if (run.seq)
		start_next(&run);
	else
		while (run.started < run.total)
			start_next(&run);
	if (free_after >= 0) {
		struct timeval tv = { free_after / 1000, (free_after % 1000) * 1000 };
		run.timer = evtimer_new(run.base, on_free_timer, &run);
		evtimer_add(run.timer, &tv);
	}
	if (run.done < run.total || run.wait_ms > 0)
		event_base_dispatch(run.base);
	if (run.h) {
		print_stats(&run);
		rasnd_http_free(run.h);
	}
	rasnd_dns_free(run.dns); /* after the client: its lookups end into a live client */
	if (run.timer)
		event_free(run.timer);
	event_base_free(run.base);
	return 0;
}
