/* An optional scrape endpoint: GET (or HEAD) /metrics over HTTP on a loopback address, served by
 * libevent's evhttp in the same loop. Off unless [metrics] listen is set; anything but a
 * loopback address is refused at config time (the query socket's permissions do not reach
 * TCP, so the counters must not either). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"
#include "rasnd.h"
#include "metrics_http.h"
#include "stats.h"
#include "sockact.h"

static void on_request(struct evhttp_request *req, void *arg)
{
	struct rasnd *d = arg;
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	/* HEAD: the same headers, Content-Length of the text included, and no body (libevent
	 * 2.1's evhttp would send a body given to a HEAD reply). */
	if ((cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) ||
	    !(strcmp(uri, "/metrics") == 0 || strncmp(uri, "/metrics?", 9) == 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only GET or HEAD /metrics here");
		return;
	}
	struct rasn_buf b;
	rasn_buf_init(&b);
	rasnd_stats_prometheus(d, &b);
	struct evbuffer *out = evbuffer_new();
	if (b.oom || !out) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
	} else {
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);
		evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		if (cmd == EVHTTP_REQ_HEAD) {
			char len[24];
			snprintf(len, sizeof(len), "%zu", b.len);
			evhttp_add_header(h, "Content-Length", len);
		} else {
			evbuffer_add(out, b.data, b.len);
		}
		evhttp_send_reply(req, HTTP_OK, "OK", out);
	}
	if (out)
		evbuffer_free(out);
	rasn_buf_free(&b);
}

/* The sockets the service manager passed as "metrics" (daemon/sockact.h checked that they
 * listen on loopback addresses). 0 or -1 with err. */
static int serve_passed(struct rasnd *d, char *err, size_t errlen)
{
	struct rasnd_passed_sock *ps;
	if (d->cfg.metrics_listen && *d->cfg.metrics_listen)
		log_info("metrics: serving the sockets passed by the service manager; not binding [metrics] listen = %s",
			 d->cfg.metrics_listen);
	while ((ps = rasnd_passed_take(d->passed, RASND_SOCK_METRICS))) {
		if (!evhttp_accept_socket_with_handle(d->http, ps->fd)) {
			close(ps->fd);
			snprintf(err, errlen, "metrics endpoint: cannot serve %s", ps->where);
			return -1;
		}
		log_info("metrics: /metrics on %s, passed by the service manager", ps->where);
	}
	return 0;
}

int rasnd_metrics_start(struct rasnd *d, char *err, size_t errlen)
{
	int passed = rasnd_passed_count(d->passed, RASND_SOCK_METRICS) > 0;
	if ((!d->cfg.metrics_listen || !*d->cfg.metrics_listen) && !passed)
		return 0;
	char host[64];
	unsigned port;
	const char *why;
	if (!passed && rasnd_metrics_parse_listen(d->cfg.metrics_listen, host, sizeof(host), &port, &why) < 0) {
		snprintf(err, errlen, "[metrics] listen = %s: %s", d->cfg.metrics_listen, why);
		return -1;
	}
	d->http = evhttp_new(d->base);
	if (!d->http) {
		snprintf(err, errlen, "metrics endpoint: out of memory");
		return -1;
	}
	if (passed) {
		if (serve_passed(d, err, errlen) < 0)
			return -1;
	} else if (!evhttp_bind_socket_with_handle(d->http, host, (ev_uint16_t)port)) {
		snprintf(err, errlen, "metrics endpoint: cannot listen on %s", d->cfg.metrics_listen);
		return -1;
	} else {
		log_info("metrics: http://%s/metrics", d->cfg.metrics_listen);
	}
	evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(d->http, on_request, d);
	evhttp_set_timeout(d->http, 10);
	return 0;
}

void rasnd_metrics_stop(struct rasnd *d)
{
	if (d->http) {
		evhttp_free(d->http);
		d->http = NULL;
	}
}
