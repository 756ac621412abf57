/* daemon/hconn.c, one HTTPS connection, driven with no socket: the client's SSL object reads
 * and writes memory BIOs; a real OpenSSL server SSL object (a self-signed certificate made
 * here) and, for HTTP/2, a real nghttp2 server session answer on the other side; the test
 * moves the bytes between them. The clock is the test's (rasnd_hconn_ops.now_ms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "hconn.h"
#include "tlscache.h"

struct fx {
	/* the server side */
	EVP_PKEY *key;
	X509 *cert;
	SSL_CTX *sctx, *cctx;
	SSL *s;
	BIO *cr, *cw, *sr, *sw;      /* client read/write, server read/write (memory BIOs) */
	const char *alpn;            /* what the server picks: "h2" or "http/1.1" */
	int s_ready;
	nghttp2_session *ng;
	int h2_respond;              /* answer each request with 200, etag, h2_body */
	int h2_refuse;               /* reset each request REFUSED_STREAM instead */
	const char *h2_body;
	size_t h2_off;
	char path[256], authority[256];
	int s_closed;                /* a stream closed on the server: its code */
	uint32_t s_close_code;
	struct rasn_buf sin;         /* HTTP/1.1: the request bytes the server read */
	const char *raw_reply;       /* written once after the handshake (HTTP/1.1 after the request) */
	size_t raw_len;
	int raw_sent;
	int raw_hold;                /* not yet */
	/* the client side */
	struct rasnd_http_opts o;
	struct rasnd_http_stats st;
	struct rasnd_hconn hc;
	uint64_t now;
	int finished, kicks, requeued;
	enum rasnd_http_err err;
	int status;
	char msg[512], body[256], etag[64];
};

/* ---- the owner's side of hconn.h ---- */

static void o_finish(void *owner, struct rasnd_hreq *r, enum rasnd_http_err err, const char *msg)
{
	struct fx *f = owner;
	assert_null(r->c);
	f->finished++;
	f->err = err;
	f->status = r->status;
	snprintf(f->msg, sizeof(f->msg), "%s", msg ? msg : "");
	snprintf(f->body, sizeof(f->body), "%.*s", (int)r->body.len, r->body.data ? r->body.data : "");
	snprintf(f->etag, sizeof(f->etag), "%s", r->etag ? r->etag : "");
}

static void o_requeue(void *owner, struct rasnd_hreq *r)
{
	((struct fx *)owner)->requeued++;
}

static void o_kick(void *owner)
{
	((struct fx *)owner)->kicks++;
}

static void o_nothing(void *owner)
{
	/* memory BIOs never refuse a write, and the test calls rasnd_hconn_io until quiet */
}

static uint64_t o_now(void *owner)
{
	return ((struct fx *)owner)->now;
}

static const struct rasnd_hconn_ops ops = {
	.finish = o_finish, .requeue = o_requeue, .kick = o_kick,
	.want_write = o_nothing, .want_read = o_nothing, .now_ms = o_now,
};

/* ---- the server ---- */

static int s_on_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *n, size_t nl, const uint8_t *v,
		       size_t vl, uint8_t flags, void *ud)
{
	struct fx *f = ud;
	if (nl == 5 && memcmp(n, ":path", 5) == 0)
		snprintf(f->path, sizeof(f->path), "%.*s", (int)vl, (const char *)v);
	if (nl == 10 && memcmp(n, ":authority", 10) == 0)
		snprintf(f->authority, sizeof(f->authority), "%.*s", (int)vl, (const char *)v);
	return 0;
}

static ssize_t s_read_body(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
			   nghttp2_data_source *src, void *ud)
{
	struct fx *f = ud;
	size_t n = strlen(f->h2_body) - f->h2_off;
	if (n > len)
		n = len;
	memcpy(buf, f->h2_body + f->h2_off, n);
	f->h2_off += n;
	if (f->h2_off == strlen(f->h2_body))
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int s_on_frame(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
	struct fx *f = ud;
	if (fr->hd.type == NGHTTP2_HEADERS && (fr->hd.flags & NGHTTP2_FLAG_END_STREAM) && f->h2_refuse) {
		assert_int_equal(nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, fr->hd.stream_id,
							   NGHTTP2_REFUSED_STREAM), 0);
		return 0;
	}
	if (fr->hd.type == NGHTTP2_HEADERS && (fr->hd.flags & NGHTTP2_FLAG_END_STREAM) && f->h2_respond) {
		nghttp2_nv hdrs[] = {
			{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
			{ (uint8_t *)"etag", (uint8_t *)"\"h2e\"", 4, 5, NGHTTP2_NV_FLAG_NONE },
		};
		nghttp2_data_provider dp = { .read_callback = s_read_body };
		f->h2_off = 0;
		assert_int_equal(nghttp2_submit_response(s, fr->hd.stream_id, hdrs, 2, &dp), 0);
	}
	return 0;
}

static int s_on_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
	struct fx *f = ud;
	f->s_closed++;
	f->s_close_code = code;
	return 0;
}

static void server_step(struct fx *f)
{
	if (!f->s_ready) {
		ERR_clear_error();
		if (SSL_do_handshake(f->s) != 1)
			return;
		f->s_ready = 1;
		if (strcmp(f->alpn, "h2") == 0 && !f->raw_reply) {
			nghttp2_session_callbacks *cbs;
			assert_int_equal(nghttp2_session_callbacks_new(&cbs), 0);
			nghttp2_session_callbacks_set_on_header_callback(cbs, s_on_header);
			nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, s_on_frame);
			nghttp2_session_callbacks_set_on_stream_close_callback(cbs, s_on_close);
			assert_int_equal(nghttp2_session_server_new(&f->ng, cbs, f), 0);
			nghttp2_session_callbacks_del(cbs);
			assert_int_equal(nghttp2_submit_settings(f->ng, NGHTTP2_FLAG_NONE, NULL, 0), 0);
		}
	}
	char buf[16384];
	int n;
	while ((n = SSL_read(f->s, buf, sizeof(buf))) > 0) {
		if (f->ng)
			assert_true(nghttp2_session_mem_recv(f->ng, (const uint8_t *)buf, (size_t)n) == n);
		else
			rasn_buf_add(&f->sin, buf, (size_t)n);
	}
	ERR_clear_error();
	if (f->ng) {
		const uint8_t *p;
		ssize_t k;
		while ((k = nghttp2_session_mem_send(f->ng, &p)) > 0)
			assert_int_equal(SSL_write(f->s, p, (int)k), (int)k);
	}
	/* HTTP/2 garbage goes at once; an HTTP/1.1 reply once the request is in */
	int h2 = strcmp(f->alpn, "h2") == 0;
	if (f->raw_reply && !f->raw_sent && !f->raw_hold &&
	    (h2 || (f->sin.len && memmem(f->sin.data, f->sin.len, "\r\n\r\n", 4)))) {
		assert_int_equal(SSL_write(f->s, f->raw_reply, (int)f->raw_len), (int)f->raw_len);
		f->raw_sent = 1;
	}
}

static int move(BIO *from, BIO *to)
{
	char buf[16384];
	int n, total = 0;
	while ((n = BIO_read(from, buf, sizeof(buf))) > 0) {
		assert_int_equal(BIO_write(to, buf, n), n);
		total += n;
	}
	return total;
}

/* Client I/O and server turns until no byte moves; the first -1 from the client ends it. */
static int run(struct fx *f)
{
	for (int i = 0; i < 100; i++) {
		int rc = rasnd_hconn_io(&f->hc);
		if (rc < 0)
			return rc;
		int moved = move(f->cw, f->sr);
		server_step(f);
		moved += move(f->sw, f->cr);
		if (!moved)
			return 0;
	}
	fail_msg("the connection never went quiet");
	return -1;
}

/* ---- set-up ---- */

static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned inlen, void *arg)
{
	struct fx *f = arg;
	size_t want = strlen(f->alpn);
	for (unsigned i = 0; i < inlen; i += 1u + in[i])
		if (in[i] == want && i + 1u + want <= inlen && memcmp(in + i + 1, f->alpn, want) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)want;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_NOACK;
}

static void make_cert(struct fx *f)
{
	f->key = EVP_EC_gen("P-256");
	assert_non_null(f->key);
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
	X509_set_pubkey(x, f->key);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, f->key, EVP_sha256()) > 0);
	f->cert = x;
}

/* A server picking alpn, a client trusting the certificate, a connection to host. */
static struct fx *fx_new(const char *alpn, const char *host)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->alpn = alpn;
	f->now = 1000;
	f->h2_respond = 1;
	f->h2_body = "hello over h2";
	rasn_buf_init(&f->sin);
	make_cert(f);
	f->sctx = SSL_CTX_new(TLS_server_method());
	assert_true(SSL_CTX_use_certificate(f->sctx, f->cert) == 1 && SSL_CTX_use_PrivateKey(f->sctx, f->key) == 1);
	SSL_CTX_set_alpn_select_cb(f->sctx, alpn_select, f);
	f->cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(f->cctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(f->cctx, SSL_VERIFY_PEER, NULL);
	assert_true(X509_STORE_add_cert(SSL_CTX_get_cert_store(f->cctx), f->cert) == 1);

	f->cr = BIO_new(BIO_s_mem());
	f->cw = BIO_new(BIO_s_mem());
	f->sr = BIO_new(BIO_s_mem());
	f->sw = BIO_new(BIO_s_mem());
	f->s = SSL_new(f->sctx);
	SSL_set_bio(f->s, f->sr, f->sw);
	SSL_set_accept_state(f->s);

	/* what rasnd_http_opts_default gives (daemon/http.c, not linked here), clocks shortened */
	f->o.http2 = 1;
	f->o.reuse = 1;
	f->o.stream_window = 2u << 20;
	f->o.conn_window = 4u << 20;
	f->o.max_body = 1u << 20;
	f->o.ping_interval_ms = 1000;
	f->o.ping_timeout_ms = 500;
	f->o.idle_timeout_ms = 100000;
	rasnd_hconn_init(&f->hc, &f->o, &f->st, &ops, f, "localhost:443");
	SSL *c = SSL_new(f->cctx);
	SSL_set_bio(c, f->cr, f->cw);
	assert_int_equal(rasnd_hconn_attach(&f->hc, c, host, 0), 0);
	return f;
}

static struct rasnd_hreq *req_new(const char *path)
{
	struct rasnd_hreq *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->path = strdup(path);
	r->max_body = 1 << 20;
	rasn_buf_init(&r->body);
	return r;
}

static void req_free(struct rasnd_hreq *r)
{
	free(r->path);
	free(r->etag);
	free(r->last_modified);
	free(r->retry_after);
	rasn_buf_free(&r->body);
	free(r);
}

/* What the pool does when a connection fails: the requests on it get its error. */
static void fx_close(struct fx *f)
{
	struct rasnd_hreq_list act;
	if (f->hc.fail)
		rasnd_hconn_close_prep(&f->hc);
	rasnd_hconn_shutdown(&f->hc, !f->hc.fail);
	rasnd_hconn_release(&f->hc, &act);
	struct rasnd_hreq *r;
	while ((r = rasnd_hreq_list_pop(&act)))
		o_finish(f, r, f->hc.fail_err, f->hc.fail_msg);
}

static void fx_free(struct fx *f)
{
	if (f->hc.ssl)
		fx_close(f);
	if (f->ng)
		nghttp2_session_del(f->ng);
	SSL_free(f->s);
	SSL_CTX_free(f->sctx);
	SSL_CTX_free(f->cctx);
	X509_free(f->cert);
	EVP_PKEY_free(f->key);
	rasn_buf_free(&f->sin);
	free(f);
}

/* ---- tests ---- */

static void test_h2_get(void **state)
{
	struct fx *f = fx_new("h2", "localhost");
	assert_int_equal(run(f), 0);
	assert_true(f->hc.ready && f->hc.h2);
	assert_int_equal(f->st.h2_conns, 1);
	assert_int_equal(f->st.tls_full, 1);
	assert_true(rasnd_hconn_room(&f->hc) > 0);
	struct rasnd_hreq *r = req_new("/data/x?q=1");
	r->inm = (char *)"\"old\"";
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	assert_ptr_equal(r->c, &f->hc);
	assert_int_equal(f->hc.active.n, 1);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_OK);
	assert_int_equal(f->status, 200);
	assert_string_equal(f->body, "hello over h2");
	assert_string_equal(f->etag, "\"h2e\"");
	assert_string_equal(f->path, "/data/x?q=1");
	assert_string_equal(f->authority, "localhost");
	assert_true(r->h2 && !r->reused);
	assert_int_equal(f->hc.active.n, 0);
	assert_int_equal(f->hc.idle_since, 1000);
	/* a second request on the same connection is a reused one */
	struct rasnd_hreq *r2 = req_new("/second");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r2, "localhost"), 0);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->finished, 2);
	assert_true(r2->reused);
	assert_int_equal(f->hc.carried, 2);
	assert_string_equal(f->path, "/second");
	r->inm = NULL;
	req_free(r);
	req_free(r2);
	rasnd_hconn_count_bytes(&f->hc);
	assert_true(f->st.bytes_in > 0 && f->st.bytes_out > 0);
	fx_free(f);
}

static void test_h1_get(void **state)
{
	struct fx *f = fx_new("http/1.1", "localhost");
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"e1\"\r\n\r\nhello";
	f->raw_reply = reply;
	f->raw_len = sizeof(reply) - 1;
	assert_int_equal(run(f), 0);
	assert_true(f->hc.ready && !f->hc.h2);
	assert_int_equal(f->st.h1_conns, 1);
	assert_int_equal(rasnd_hconn_room(&f->hc), 1);
	struct rasnd_hreq *r = req_new("/one");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost:8443"), 0);
	assert_int_equal(rasnd_hconn_room(&f->hc), 0); /* one request at a time */
	assert_int_equal(run(f), 0);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_OK);
	assert_int_equal(f->status, 200);
	assert_string_equal(f->body, "hello");
	assert_string_equal(f->etag, "\"e1\"");
	rasn_buf_addc(&f->sin, '\0');
	assert_non_null(strstr(f->sin.data, "GET /one HTTP/1.1\r\nHost: localhost:8443\r\n"));
	assert_non_null(strstr(f->sin.data, "User-Agent: rasnd/"));
	assert_int_equal(rasnd_hconn_room(&f->hc), 1);
	req_free(r);
	fx_free(f);
}

static void test_tls_name_mismatch(void **state)
{
	struct fx *f = fx_new("h2", "wrong.example");
	assert_int_equal(run(f), -1);
	assert_false(f->hc.ready);
	assert_int_equal(f->hc.fail_err, RASND_HTTP_ETLS);
	assert_int_equal(f->hc.fail_why, RASND_HCONN_ERROR);
	assert_non_null(strstr(f->hc.fail_msg, "certificate verify failed"));
	assert_non_null(strstr(f->hc.fail_msg, "hostname mismatch"));
	assert_int_equal(f->st.tls_failed, 1);
	assert_int_equal(f->st.tls_full, 0);
	assert_null(f->ng); /* the server never got to HTTP */
	fx_free(f);
}

static void test_untrusted_certificate(void **state)
{
	struct fx *f = fx_new("h2", "localhost");
	/* a client that trusts nothing: the same server is refused */
	SSL_CTX *empty = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(empty, SSL_VERIFY_PEER, NULL);
	struct rasnd_hreq_list act;
	rasnd_hconn_release(&f->hc, &act);
	f->cr = BIO_new(BIO_s_mem());
	f->cw = BIO_new(BIO_s_mem());
	rasnd_hconn_init(&f->hc, &f->o, &f->st, &ops, f, "localhost:443");
	SSL *c = SSL_new(empty);
	SSL_set_bio(c, f->cr, f->cw);
	assert_int_equal(rasnd_hconn_attach(&f->hc, c, "localhost", 0), 0);
	assert_int_equal(run(f), -1);
	assert_int_equal(f->hc.fail_err, RASND_HTTP_ETLS);
	assert_non_null(strstr(f->hc.fail_msg, "self-signed certificate"));
	SSL_CTX_free(empty);
	fx_free(f);
}

static void test_h2_garbage(void **state)
{
	struct fx *f = fx_new("h2", "localhost");
	static const char junk[] = "HTTP/1.1 200 OK\r\nthis is not an HTTP/2 frame at all\r\n\r\n";
	f->raw_reply = junk;
	f->raw_len = sizeof(junk) - 1;
	f->raw_hold = 1;
	assert_int_equal(run(f), 0); /* TLS is up, the request goes out, then the junk comes */
	assert_true(f->hc.ready && f->hc.h2);
	struct rasnd_hreq *r = req_new("/x");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	f->raw_hold = 0;
	assert_int_equal(run(f), -1);
	assert_int_equal(f->hc.fail_err, RASND_HTTP_EPROTO);
	assert_non_null(strstr(f->hc.fail_msg, "HTTP/2: "));
	assert_non_null(strstr(f->hc.fail_msg, "PROTOCOL_ERROR"));
	assert_int_equal(f->finished, 0);
	fx_close(f);
	assert_int_equal(f->finished, 1); /* the request on it fails the same way */
	assert_int_equal(f->err, RASND_HTTP_EPROTO);
	req_free(r);
	fx_free(f);
}

static void test_h1_garbage(void **state)
{
	struct fx *f = fx_new("http/1.1", "localhost");
	static const char junk[] = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
	f->raw_reply = junk;
	f->raw_len = sizeof(junk) - 1;
	assert_int_equal(run(f), 0);
	struct rasnd_hreq *r = req_new("/x");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	assert_int_equal(run(f), -1);
	assert_int_equal(f->hc.fail_err, RASND_HTTP_EPROTO);
	assert_int_equal(f->finished, 0);
	fx_close(f);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_EPROTO);
	req_free(r);
	fx_free(f);
}

/* A body that only the connection's end delimits, ended without close_notify: cut short. */
static void test_h1_cut_short(void **state)
{
	struct fx *f = fx_new("http/1.1", "localhost");
	static const char reply[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial bo";
	f->raw_reply = reply;
	f->raw_len = sizeof(reply) - 1;
	assert_int_equal(run(f), 0);
	struct rasnd_hreq *r = req_new("/x");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->finished, 0); /* the body goes on until the end */
	BIO_set_mem_eof_return(f->cr, 0); /* the server's TCP FIN, no close_notify */
	assert_int_equal(run(f), -1);
	assert_int_equal(f->hc.fail_err, RASND_HTTP_ECLOSED);
	fx_close(f);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_ECLOSED);
	assert_non_null(strstr(f->msg, "response cut short"));
	req_free(r);
	fx_free(f);
}

/* Fewer bytes than Content-Length, then the end: the request fails, never completes. */
static void test_h1_short_length(void **state)
{
	struct fx *f = fx_new("http/1.1", "localhost");
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this";
	f->raw_reply = reply;
	f->raw_len = sizeof(reply) - 1;
	assert_int_equal(run(f), 0);
	struct rasnd_hreq *r = req_new("/x");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	assert_int_equal(run(f), 0);
	SSL_shutdown(f->s); /* a clean close_notify this time */
	move(f->sw, f->cr);
	assert_int_equal(run(f), -1);
	fx_close(f);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_ECLOSED);
	assert_int_equal(f->status, 200);
	req_free(r);
	fx_free(f);
}

/* PING on an idle HTTP/2 connection at the test's clock: acked, then one left unanswered. */
static void test_h2_ping(void **state)
{
	struct fx *f = fx_new("h2", "localhost");
	assert_int_equal(run(f), 0);
	assert_true(f->hc.ready);
	assert_int_equal(rasnd_hconn_deadline(&f->hc), 2000); /* ping_base 1000 + 1000 */
	f->now = 1999;
	assert_int_equal(rasnd_hconn_tick(&f->hc, f->now), 0);
	assert_int_equal(f->st.pings_sent, 0);
	f->now = 2000;
	assert_int_equal(rasnd_hconn_tick(&f->hc, f->now), 0);
	assert_int_equal(f->st.pings_sent, 1);
	assert_int_equal(rasnd_hconn_deadline(&f->hc), 2500); /* the PING's timeout */
	assert_int_equal(run(f), 0);                          /* the server ACKs */
	assert_int_equal(f->st.pings_acked, 1);
	assert_int_equal(rasnd_hconn_deadline(&f->hc), 3000);
	f->now = 3000;
	assert_int_equal(rasnd_hconn_tick(&f->hc, f->now), 0);
	assert_int_equal(f->st.pings_sent, 2);
	/* no pumping: the ACK never comes */
	f->now = 3499;
	assert_int_equal(rasnd_hconn_tick(&f->hc, f->now), 0);
	f->now = 3500;
	assert_int_equal(rasnd_hconn_tick(&f->hc, f->now), -1);
	assert_int_equal(f->hc.fail_why, RASND_HCONN_PING);
	assert_int_equal(f->hc.fail_err, RASND_HTTP_ECLOSED);
	assert_string_equal(f->hc.fail_msg, "no answer to an HTTP/2 PING");
	assert_int_equal(f->st.pings_acked, 1);
	fx_free(f);
}

static void test_idle_timeout(void **state)
{
	struct fx *f = fx_new("http/1.1", "localhost");
	assert_int_equal(run(f), 0);
	assert_int_equal(rasnd_hconn_deadline(&f->hc), 1000 + 100000); /* no PING over HTTP/1.1 */
	f->now = 100999;
	assert_int_equal(rasnd_hconn_tick(&f->hc, f->now), 0);
	f->now = 101000;
	assert_int_equal(rasnd_hconn_tick(&f->hc, f->now), -1);
	assert_int_equal(f->hc.fail_why, RASND_HCONN_IDLE);
	fx_free(f);
}

/* A request the server never answers, taken off by its timeout: HTTP/2 resets only its
 * stream (the server sees RST_STREAM CANCEL) and the connection stays. */
static void test_h2_request_timeout(void **state)
{
	struct fx *f = fx_new("h2", "localhost");
	f->h2_respond = 0;
	assert_int_equal(run(f), 0);
	struct rasnd_hreq *r = req_new("/slow");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	f->now = 5000;
	assert_int_equal(run(f), 0);
	assert_int_equal(f->finished, 0);
	assert_int_equal(rasnd_hconn_deadline(&f->hc), UINT64_MAX); /* busy: no idle, no PING */
	assert_int_equal(rasnd_hconn_cancel(&f->hc, r, RASND_HTTP_ETIMEOUT, "no complete response within 30000 ms"), 0);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_ETIMEOUT);
	assert_int_equal(f->hc.active.n, 0);
	assert_int_equal(f->hc.idle_since, 5000);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->s_closed, 1);
	assert_int_equal(f->s_close_code, NGHTTP2_CANCEL);
	assert_false(f->hc.fail);
	assert_true(rasnd_hconn_room(&f->hc) > 0);
	req_free(r);
	fx_free(f);
}

/* HTTP/1.1: the rest of a timed-out response would still come: the connection goes. */
static void test_h1_request_timeout(void **state)
{
	struct fx *f = fx_new("http/1.1", "localhost");
	assert_int_equal(run(f), 0);
	struct rasnd_hreq *r = req_new("/slow");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	assert_int_equal(run(f), 0);
	assert_int_equal(rasnd_hconn_cancel(&f->hc, r, RASND_HTTP_ETIMEOUT, "timed out"), -1);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_ETIMEOUT);
	assert_true(f->hc.fail);
	assert_int_equal(f->hc.fail_err, RASND_HTTP_ECLOSED);
	req_free(r);
	fx_free(f);
}

/* A body over the request's bound: HTTP/2 resets that stream, the request fails ETOOBIG. */
static void test_h2_body_too_big(void **state)
{
	struct fx *f = fx_new("h2", "localhost");
	assert_int_equal(run(f), 0);
	struct rasnd_hreq *r = req_new("/big");
	r->max_body = 5;
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_ETOOBIG);
	assert_non_null(strstr(f->msg, "larger than 5 bytes"));
	assert_false(f->hc.fail);
	req_free(r);
	fx_free(f);
}

/* RFC 9113 8.7: a stream the server refused was not processed: the request goes back to
 * the owner (requeue), once; refused again, it fails. */
static void test_h2_refused_stream(void **state)
{
	struct fx *f = fx_new("h2", "localhost");
	f->h2_refuse = 1;
	assert_int_equal(run(f), 0);
	struct rasnd_hreq *r = req_new("/x");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->requeued, 1);
	assert_int_equal(f->finished, 0);
	assert_null(r->c);
	assert_true(r->refused && r->stream_id == 0);
	assert_int_equal(f->hc.active.n, 0);
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0); /* what the pool does */
	assert_int_equal(run(f), 0);
	assert_int_equal(f->requeued, 1);
	assert_int_equal(f->finished, 1);
	assert_int_equal(f->err, RASND_HTTP_ECLOSED);
	assert_non_null(strstr(f->msg, "refused"));
	req_free(r);
	fx_free(f);
}

/* A new connection over the same client context: new BIOs, a new server SSL object from the
 * same server context (its ticket keys), the client's SSL bound to the session cache. */
static void fx_reconnect(struct fx *f, struct rasnd_tlscache *tc, const char *key)
{
	fx_close(f);
	if (f->ng)
		nghttp2_session_del(f->ng);
	f->ng = NULL;
	SSL_free(f->s);
	f->s_ready = 0;
	f->cr = BIO_new(BIO_s_mem());
	f->cw = BIO_new(BIO_s_mem());
	f->sr = BIO_new(BIO_s_mem());
	f->sw = BIO_new(BIO_s_mem());
	f->s = SSL_new(f->sctx);
	SSL_set_bio(f->s, f->sr, f->sw);
	SSL_set_accept_state(f->s);
	rasnd_hconn_init(&f->hc, &f->o, &f->st, &ops, f, key);
	SSL *c = SSL_new(f->cctx);
	SSL_set_bio(c, f->cr, f->cw);
	rasnd_tlscache_bind(tc, c, key);
	assert_int_equal(rasnd_hconn_attach(&f->hc, c, "localhost", 0), 0);
}

/* daemon/tlscache.c: the TLS 1.3 ticket that arrives after the first handshake is kept under
 * the origin's key, and the next connection to that origin resumes with it. */
static void test_session_resumption(void **state)
{
	struct fx *f = fx_new("h2", "localhost");
	struct rasnd_tlscache *tc = NULL;
	assert_int_equal(rasnd_tlscache_new(f->cctx, 4, &tc), 0);
	assert_non_null(tc);
	fx_reconnect(f, tc, "localhost:443"); /* the first connection, now with the cache on */
	assert_int_equal(run(f), 0);
	assert_true(f->hc.ready && !f->hc.resumed);
	struct rasnd_hreq *r = req_new("/one");
	assert_int_equal(rasnd_hconn_submit(&f->hc, r, "localhost"), 0);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->finished, 1);
	assert_true(rasnd_tlscache_size(tc) >= 1);
	rasnd_tlscache_unbind(f->hc.ssl);
	fx_reconnect(f, tc, "localhost:443");
	assert_int_equal(run(f), 0);
	assert_true(f->hc.ready && f->hc.resumed);
	assert_int_equal(f->st.tls_full, 1);
	assert_int_equal(f->st.tls_resumed, 1);
	/* another origin has no session to offer */
	rasnd_tlscache_unbind(f->hc.ssl);
	fx_reconnect(f, tc, "127.0.0.1:443");
	assert_int_equal(run(f), 0);
	assert_false(f->hc.resumed);
	assert_int_equal(f->st.tls_full, 2);
	rasnd_tlscache_unbind(f->hc.ssl);
	req_free(r);
	fx_close(f);
	fx_free(f);
	rasnd_tlscache_free(tc); /* after every SSL of the context */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_h2_get),
		cmocka_unit_test(test_h1_get),
		cmocka_unit_test(test_tls_name_mismatch),
		cmocka_unit_test(test_untrusted_certificate),
		cmocka_unit_test(test_h2_garbage),
		cmocka_unit_test(test_h1_garbage),
		cmocka_unit_test(test_h1_cut_short),
		cmocka_unit_test(test_h1_short_length),
		cmocka_unit_test(test_h2_ping),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_h2_request_timeout),
		cmocka_unit_test(test_h1_request_timeout),
		cmocka_unit_test(test_h2_body_too_big),
		cmocka_unit_test(test_h2_refused_stream),
		cmocka_unit_test(test_session_resumption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
