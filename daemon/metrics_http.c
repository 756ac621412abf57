/* An optional scrape endpoint: GET /metrics over HTTP on a loopback address, served by
 * libevent's evhttp in the same loop. Off unless [metrics] listen is set; anything but a
 * loopback address is refused at config time (the query socket's permissions do not reach
 * TCP, so the counters must not either). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"
#include "rasnd.h"
#include "metrics_http.h"
#include "stats.h"

static void on_request(struct evhttp_request *req, void *arg)
{
	struct rasnd *d = arg;
	const char *uri = evhttp_request_get_uri(req);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET ||
	    !(strcmp(uri, "/metrics") == 0 || strncmp(uri, "/metrics?", 9) == 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only GET /metrics here");
		return;
	}
	struct rasn_buf b;
	rasn_buf_init(&b);
	rasnd_stats_prometheus(d, &b);
	struct evbuffer *out = evbuffer_new();
	if (b.oom || !out) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
	} else {
		evbuffer_add(out, b.data, b.len);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "text/plain; version=0.0.4; charset=utf-8");
		evhttp_send_reply(req, HTTP_OK, "OK", out);
	}
	if (out)
		evbuffer_free(out);
	rasn_buf_free(&b);
}

int rasnd_metrics_start(struct rasnd *d, char *err, size_t errlen)
{
	if (!d->cfg.metrics_listen || !*d->cfg.metrics_listen)
		return 0;
	char host[64];
	unsigned port;
	const char *why;
	if (rasnd_metrics_parse_listen(d->cfg.metrics_listen, host, sizeof(host), &port, &why) < 0) {
		snprintf(err, errlen, "[metrics] listen = %s: %s", d->cfg.metrics_listen, why);
		return -1;
	}
	d->http = evhttp_new(d->base);
	if (!d->http || !evhttp_bind_socket_with_handle(d->http, host, (ev_uint16_t)port)) {
		snprintf(err, errlen, "metrics endpoint: cannot listen on %s", d->cfg.metrics_listen);
		return -1;
	}
	evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET);
	evhttp_set_gencb(d->http, on_request, d);
	evhttp_set_timeout(d->http, 10);
	log_info("metrics: http://%s/metrics", d->cfg.metrics_listen);
	return 0;
}

void rasnd_metrics_stop(struct rasnd *d)
{
	if (d->http) {
		evhttp_free(d->http);
		d->http = NULL;
	}
}
