/* An incremental HTTP/1.1 response parser: no I/O, no connections, no allocation. The daemon's
 * HTTPS client (daemon/http.c) feeds it the bytes its TLS reads give; everything it reads is
 * hostile, so every structure is bounded:
 *   header block     RASN_H1RESP_HEAD_MAX bytes, the empty line included (1xx blocks too);
 *   chunk-size line  RASN_H1RESP_CHUNK_LINE_MAX bytes with its CR (extensions are skipped);
 *   trailers         RASN_H1RESP_HEAD_MAX bytes in all (read and dropped);
 *   body             max_body bytes, given at init, for every framing.
 *
 * Feeding: rasn_h1resp_feed(p, data, len) consumes what it can and returns how many bytes that
 * was. It consumes whole units only (a header block, a chunk-size line, a chunk's CRLF, a
 * trailer line; body bytes as they come), so the caller keeps the bytes it did not consume and
 * hands them back, with whatever arrives next, on the next call. A short count with no error
 * means "need more bytes". The result never depends on how the stream was split into calls.
 *
 * Events go to a callback struct (any member may be NULL):
 *   on_head      a final response's header block is complete and valid: status, framing,
 *                keep-alive, and the ETag, Last-Modified and Retry-After values (trimmed; the
 *                last one of each wins; NULL when absent), valid during the call only;
 *   on_body      body bytes, already de-chunked, valid during the call only;
 *   on_complete  the response is complete; the parser is ready for the next one (pipelining);
 *   on_error     the stream is unusable: kind (protocol error or too big), a static reason and
 *                the full message (the reason with its numbers, what users see), both valid
 *                until the parser is reset. The parser stays failed: feed consumes nothing.
 * A callback that returns nonzero stops the feed call at once; the event's bytes count as
 * consumed and the parser is consistent, so feeding the rest later carries on.
 *
 * Rules (these are the daemon's, and the error texts are what users see):
 *   status line  "HTTP/1.0" or "HTTP/1.1", one space, three digits, then end or a space and
 *                any reason phrase. 1xx interim blocks are skipped unread (only their status
 *                line is checked); 101 and 0xx are errors.
 *   headers      name: tchars, at least one; value: no control character but TAB (bytes from
 *                0x80 are taken); obs-fold lines are errors (a space is not a tchar).
 *   framing      204 and 304 have no body (whatever the headers say); else Transfer-Encoding
 *                whose last coding is "chunked" (any other is an error), else Content-Length
 *                (1-18 digits; duplicates must agree; above max_body: too big), else the body
 *                runs to the end of the connection: rasn_h1resp_eof() completes it.
 *   keep-alive   HTTP/1.1 keeps the connection, HTTP/1.0 closes it; a Connection header with
 *                "close" closes it, else one with "keep-alive" keeps it; an EOF-delimited body
 *                always closes it.
 *
 * Threads: none; a parser belongs to one caller. */
#ifndef RASN_H1RESP_H
#define RASN_H1RESP_H

#include <stddef.h>
#include <stdint.h>

#define RASN_H1RESP_HEAD_MAX (64 * 1024)
#define RASN_H1RESP_CHUNK_LINE_MAX 1024
#define RASN_H1RESP_MSG_MAX 96      /* on_error's message, NUL included */

enum rasn_h1resp_err {
	RASN_H1RESP_OK = 0,
	RASN_H1RESP_EPROTO,         /* not HTTP/1.x as this parser takes it */
	RASN_H1RESP_ETOOBIG,        /* the body is (or says it will be) over max_body */
};

enum rasn_h1resp_framing {
	RASN_H1RESP_NONE,           /* 204, 304, Content-Length: 0 */
	RASN_H1RESP_LENGTH,
	RASN_H1RESP_CHUNKED,
	RASN_H1RESP_UNTIL_EOF,
};

/* Internal states; the struct is public so that callers can embed it. */
enum rasn_h1resp_state {
	RASN_H1RESP_S_HEAD, RASN_H1RESP_S_LEN, RASN_H1RESP_S_EOF, RASN_H1RESP_S_CHUNK_SIZE,
	RASN_H1RESP_S_CHUNK_DATA, RASN_H1RESP_S_CHUNK_CRLF, RASN_H1RESP_S_TRAILERS,
	RASN_H1RESP_S_DONE,         /* complete, on_complete not called yet (a callback stopped) */
	RASN_H1RESP_S_FAILED, RASN_H1RESP_S_ENDED,
};

struct rasn_h1resp {
	enum rasn_h1resp_state state;
	size_t max_body;
	uint64_t left;              /* of the Content-Length or the chunk */
	size_t body_bytes;          /* of this response */
	size_t trailer_bytes;
	int status;                 /* of the last final head; 0 before one */
	int close;                  /* the connection ends after this response */
	uint64_t interim;           /* 1xx blocks skipped, in all */
	uint64_t responses;         /* completed, in all */
	enum rasn_h1resp_err err;
	const char *reason;         /* static, NULL unless failed */
	char msg[RASN_H1RESP_MSG_MAX];
};

struct rasn_h1resp_head {
	int status;                 /* 200..999 */
	int http10;
	int close;
	enum rasn_h1resp_framing framing;
	uint64_t content_length;    /* RASN_H1RESP_LENGTH only */
	const char *etag, *last_modified, *retry_after; /* NULL when absent */
	size_t etag_len, last_modified_len, retry_after_len;
};

struct rasn_h1resp_cbs {
	int (*on_head)(void *ud, const struct rasn_h1resp_head *h);
	int (*on_body)(void *ud, const char *p, size_t n);
	int (*on_complete)(void *ud);
	void (*on_error)(void *ud, enum rasn_h1resp_err kind, const char *reason, const char *msg);
};

/* Ready for a response (also a reset: errors and counters cleared). max_body: the largest body
 * accepted, per response. */
void rasn_h1resp_init(struct rasn_h1resp *p, size_t max_body);

/* Consume what can be of data[0..len). Returns the count consumed (<= len); see above. cbs may
 * be NULL. After an error, or after rasn_h1resp_eof(), returns 0. */
size_t rasn_h1resp_feed(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud,
			const char *data, size_t len);

/* The connection ended (bytes not consumed are to be dropped by the caller). Returns 1 when
 * that completed an EOF-delimited body (on_complete was called), 0 when no response was under
 * way (as far as consumed bytes show), -1 when one was cut short (no event: the caller knows
 * best how to say it) or the parser had failed. The parser then takes nothing until reset. */
int rasn_h1resp_eof(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud);

/* Is a body being read that only the end of the connection completes? */
static inline int rasn_h1resp_until_eof(const struct rasn_h1resp *p)
{
	return p->state == RASN_H1RESP_S_EOF;
}

/* An HTTP-date (RFC 9110 5.6.7) in the IMF-fixdate form, "Sun, 06 Nov 1994 08:49:37 GMT"
 * (spaces and tabs around it allowed): the form every current server sends, and the one a
 * Retry-After date takes. The obsolete RFC 850 and asctime forms are refused, as is any
 * field out of range (the day name is not checked against the date). Returns 0 with the
 * seconds since the epoch in *unix_s, or -1. */
int rasn_http_date_parse(const char *s, size_t len, int64_t *unix_s);

/* Has the parser failed (p->err, p->reason and p->msg say why)? */
static inline int rasn_h1resp_failed(const struct rasn_h1resp *p)
{
	return p->state == RASN_H1RESP_S_FAILED;
}

#endif
