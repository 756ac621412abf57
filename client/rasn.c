/* rasn: the command-line client of rasnd.
 *
 * Every query goes over one Unix-socket connection, pipelined. One poll() loop watches the
 * socket both ways (and stdin): requests are written as fast as the socket takes them while
 * replies are read and printed as they arrive. rasnd answers every request line exactly once,
 * in order, so requests and replies are matched by counting alone and the client keeps no
 * per-request state. A window caps requests sent but not yet answered, and the unsent-bytes
 * buffer has a high-water mark, so memory stays bounded on both ends however long stdin is.
 *
 * Two requests break the one-line rule, and requests are parsed with librasn's own parser to
 * spot them: `stats prometheus` answers text lines ending in "# EOF" (framed here as one
 * reply), and a Team Cymru `begin` ... `end` block answers a varying number of rows. The
 * client never sends a block: it drops the markers and option words and sends the rows as
 * ordinary queries (--cymru gives Cymru rows). */
#include "build_config.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "format.h"
#include "proto.h"

enum {
	EXIT_ALL_OK = 0,
	EXIT_SOME_FAILED = 1,   /* some not_found or error replies (or local I/O trouble) */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,   /* cannot connect, or the daemon hung up before answering all */
};

#define LINE_MAX_PROTO RASN_LINE_MAX  /* longest request line rasnd accepts */
#define WINDOW 16384             /* requests sent but not answered yet */
#define OUT_HIGH (256 * 1024)    /* stop taking input while this much is unsent */
#define IN_CAP (64 * 1024)       /* stdin buffer; must exceed LINE_MAX_PROTO + 1 */
#define READ_CHUNK (256 * 1024)
#define REPLY_MAX (64u << 20)    /* a reply line longer than this is not from rasnd */
#define CONNECT_TIMEOUT_S 10     /* how long to wait when rasnd's listen backlog is full */
#define PROGRESS_MS 1000

/* Where queries come from: the argument list, or stdin one per line. */
struct input {
	char **args;
	size_t nargs, next;
	int fd;                  /* stdin, or -1 when the queries are arguments */
	bool eof;                /* read() returned 0 (or failed) */
	bool done;               /* every query has been queued */
	bool need_data;          /* no complete line buffered: poll stdin */
	bool in_long;            /* streaming a line longer than the buffer's threshold */
	bool in_block;           /* between a Team Cymru `begin` and its `end` */
	bool bulk_noted;
	int err;                 /* errno of a failed stdin read, else 0 */
	size_t off, len;
	char buf[IN_CAP];
};

struct conn {
	int fd;
	struct rasn_buf out;     /* request bytes not yet written */
	struct rasn_buf in;      /* reply bytes not yet a whole line */
	size_t scanned;          /* in.data[0..scanned) holds no LF */
	uint64_t sent;           /* request lines queued (counted when their first byte is) */
	uint64_t answered;       /* replies received */
	/* Sequence numbers of outstanding `stats prometheus` requests (a ring; never more than
	 * WINDOW are outstanding), and whether a text reply is being read. */
	uint64_t text_req[WINDOW];
	size_t text_head, text_n;
	bool in_text;
	bool eof;
	int rerr, werr;          /* errno of a failed recv/send, else 0 */
	char *refused;           /* why rasnd refused or ended the connection, or NULL */
};

struct progress {
	bool on, shown, erase_for_output;
	int64_t next_ms, start_ms;
};

struct client {
	struct input in;
	struct conn c;
	struct progress pg;
	struct rasn_format *fmt;
	int status;              /* EXIT_ALL_OK or EXIT_SOME_FAILED, from the replies */
	int out_err;             /* errno of a failed write to stdout */
};

static const char usage_text[] =
	"usage: rasn [-s SOCKET] [--json|--csv|--cymru] [-q] [QUERY...]\n"
	"       rasn [-s SOCKET] [--json|--csv|--cymru] [-q] [-] < QUERIES\n";

static void print_help(void)
{
	printf("%s", usage_text);
	printf("\n"
"Looks up IP addresses, AS numbers, prefixes and organisations in rasnd, the IP-to-ASN daemon.\n"
"\n"
"Queries (one request each; keywords are case-insensitive):\n"
"  8.8.8.8, 2001:4860::8888, ip ADDR  origin AS, matched prefix and range, AS name\n"
"  AS15169, as 15169                  AS name and prefix counts\n"
"  prefixes AS15169                   the AS's announced prefixes, aggregated\n"
"  org TEXT                           ASes whose name contains TEXT\n"
"  example.com, domain NAME           address lookups for a domain's A and AAAA records\n"
"  ping, stats, help, reload          liveness, counters, the daemon's help, dataset reload\n"
"  refresh                            fetch the daemon's [dataset] url files now\n"
"  QUERY @SOURCE                      one source only: table, cymru, ripestat\n"
"Each QUERY argument is one request: quote those with spaces (rasn \"org google\").\n"
"With no QUERY, or the sole argument '-', queries are read from standard input, one per\n"
"line: CRLF line ends are accepted, blank lines are skipped, and lines longer than %d\n"
"bytes are still sent (rasnd answers them with an error). All queries go over one\n"
"connection, pipelined; replies are printed in query order as they arrive.\n"
"'stats prometheus' prints the daemon's Prometheus text. Team Cymru bulk input is accepted:\n"
"its begin/end lines and option words (verbose, noheader, ...) are skipped and the other\n"
"lines are sent as ordinary queries; --cymru prints Cymru rows.\n"
"\n"
"Options:\n"
"  -s, --socket SOCKET  rasnd's socket (default: $RASN_SOCKET, else %s)\n"
"      --json           the daemon's JSON reply lines, unchanged (one per query)\n"
"      --csv            RFC 4180 CSV (CRLF line ends) with the header\n"
"                       query,type,status,ip,asn,prefix,first_ip,last_ip,as_name,cc,error;\n"
"                       a prefixes or org answer gives one row per prefix or match\n"
"      --cymru          Team Cymru whois verbose rows, computed from the replies:\n"
"                       AS | IP | BGP Prefix | CC | Registry | Allocated | AS Name\n"
"                       (NA when not found; AS queries give AS | CC | Registry | ...)\n"
"  -q, --quiet          no progress report\n"
"  -h, --help           this text\n"
"  -V, --version        the version\n"
"Without --json, --csv or --cymru the output is a table (IP, ASN, PREFIX, AS NAME, and CC\n"
"when the data has it), with readable forms for AS, prefixes, org, stats, ping and help.\n"
"On a long run, when standard error is a terminal (and standard input is not), the number\n"
"of queries sent and answered is shown there every second; -q turns that off.\n"
"\n"
"Environment:\n"
"  RASN_SOCKET          socket path when -s is not given\n"
"\n"
"Exit status:\n"
"  0  every query answered ok\n"
"  1  some query answered not_found or error (or input/output failed)\n"
"  2  usage error\n"
"  3  rasnd unreachable, refused the connection (too many clients), or closed it before\n"
"     answering every query\n"
"A closed standard output (rasn ... | head) ends the run quietly with the status of the\n"
"replies received until then.\n",
		LINE_MAX_PROTO, RASN_DEFAULT_SOCKET);
}

static void __attribute__((format(printf, 1, 2), noreturn)) usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("rasn: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%sTry 'rasn --help' for more.\n", usage_text);
	exit(EXIT_USAGE);
}

/* --- progress on stderr --------------------------------------------------------------------- */

static void progress_erase(struct progress *pg)
{
	if (!pg->shown)
		return;
	fputs("\r\033[K", stderr);
	pg->shown = false;
}

/* Milliseconds poll() may sleep before the next progress line; -1 when progress is off. */
static int progress_timeout(const struct progress *pg)
{
	if (!pg->on)
		return -1;
	int64_t left = pg->next_ms - (int64_t)rasn_clock_mono_ms();
	return left < 0 ? 0 : (int)left;
}

static void progress_tick(struct progress *pg, const struct conn *c)
{
	if (!pg->on)
		return;
	int64_t now = (int64_t)rasn_clock_mono_ms();
	if (now < pg->next_ms)
		return;
	pg->next_ms = now + PROGRESS_MS;
	fprintf(stderr, "\rrasn: %" PRIu64 " sent, %" PRIu64 " answered (%.0f s)\033[K", c->sent,
		c->answered, (double)(now - pg->start_ms) / 1000.0);
	pg->shown = true;
}

/* --- input ---------------------------------------------------------------------------------- */

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != ' ' && p[i] != '\t')
			return false;
	}
	return true;
}

enum req_kind {
	REQ_SEND,
	REQ_SKIP,         /* a bulk block marker or option word: not sent */
	REQ_TEXT,         /* stats prometheus: the reply is text lines up to "# EOF" */
};

/* Option words of Team Cymru's bulk format (rasnd's and whois.cymru.com's). */
static bool cymru_option(const char *p, size_t n)
{
	static const char *const words[] = {
		"verbose", "noverbose", "header", "noheader", "prefix", "noprefix", "asname",
		"noasname", "asnumber", "noasnumber", "countrycode", "nocountrycode", "registry",
		"noregistry", "allocdate", "noallocdate", "truncate", "notruncate",
	};
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i]) == n && !strncasecmp(p, words[i], n))
			return true;
	}
	return n == 0;
}

/* What to do with one request line, parsed as rasnd parses it. */
static enum req_kind classify(struct input *in, const char *p, size_t n)
{
	struct rasn_request r;
	if (n > RASN_LINE_MAX)
		return REQ_SEND;
	rasn_proto_parse(p, n, &r);
	if (r.type == RASN_Q_BEGIN || (in->in_block && r.type == RASN_Q_END)) {
		if (!in->bulk_noted)
			fputs("rasn: Team Cymru bulk input: begin/end and option lines are skipped, "
			      "the rest are sent as ordinary queries (--cymru prints Cymru rows)\n",
			      stderr);
		in->bulk_noted = true;
		in->in_block = r.type == RASN_Q_BEGIN;
		return REQ_SKIP;
	}
	if (in->in_block && cymru_option(p, n))
		return REQ_SKIP;
	if (r.type == RASN_Q_STATS && r.arg_len == 10 && !strncasecmp(r.arg, "prometheus", 10))
		return REQ_TEXT;
	return REQ_SEND;
}

/* Queue one request line (no LF) unless classify() drops it. */
static void queue_request(struct input *in, struct conn *c, const char *p, size_t n)
{
	switch (classify(in, p, n)) {
	case REQ_SKIP:
		return;
	case REQ_TEXT:
		c->text_req[(c->text_head + c->text_n++) % WINDOW] = c->sent;
		break;
	default:
		break;
	}
	c->sent++;
	rasn_buf_add(&c->out, p, n);
	rasn_buf_addc(&c->out, '\n');
}

/* Queue one stdin line (without its LF) as a request. */
static void queue_line(struct input *in, struct conn *c, const char *p, size_t n)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (in->in_long) {
		/* The rest of an over-long line, already counted when it started. */
		in->in_long = false;
		rasn_buf_add(&c->out, p, n);
		rasn_buf_addc(&c->out, '\n');
	} else if (!blank(p, n)) {
		queue_request(in, c, p, n);
	}
}

/* Move queries from the input into the send buffer while the window and the buffer allow. */
static void input_fill(struct input *in, struct conn *c)
{
	in->need_data = false;
	while (!in->done && !c->werr && c->sent - c->answered < WINDOW && c->out.len < OUT_HIGH) {
		if (in->fd < 0) {
			if (in->next == in->nargs) {
				in->done = true;
				break;
			}
			const char *a = in->args[in->next++];
			queue_request(in, c, a, strlen(a));
			continue;
		}
		char *p = in->buf + in->off;
		size_t n = in->len - in->off;
		char *nl = memchr(p, '\n', n);
		if (nl) {
			in->off += (size_t)(nl - p) + 1;
			queue_line(in, c, p, (size_t)(nl - p));
			continue;
		}
		if (in->eof) {
			/* A last line without LF still counts. */
			in->off = in->len;
			if (n || in->in_long)
				queue_line(in, c, p, n);
			in->done = true;
			break;
		}
		if (in->in_long || n > LINE_MAX_PROTO + 1) {
			/* Longer than any valid request (CR included): stream it on, rasnd answers
			 * an error for it. Never buffer a whole line of unbounded length. */
			if (!in->in_long) {
				in->in_long = true;
				c->sent++;
			}
			rasn_buf_add(&c->out, p, n);
			in->off = in->len;
		}
		in->need_data = true;
		break;
	}
}

static void input_read(struct input *in)
{
	if (in->off) {
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	ssize_t r = read(in->fd, in->buf + in->len, IN_CAP - in->len);
	if (r > 0) {
		in->len += (size_t)r;
	} else if (r == 0) {
		in->eof = true;
	} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
		in->err = errno;
		in->eof = true;
	}
}

/* --- the connection ------------------------------------------------------------------------- */

/* Returns 0 or a negative errno. */
static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CONNECT_TIMEOUT_S };
	size_t len = strlen(path);
	int fd, err = 0;

	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A blocking connect() to a Unix socket waits while the listener's backlog is full;
	 * SO_SNDTIMEO bounds that wait (it fails with EAGAIN). */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto done;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		err = -errno;
done:
	if (err < 0)
		close(fd);
	else
		c->fd = fd;
	return err;
}

static void say_unreachable(const char *path, int err)
{
	fprintf(stderr, "rasn: cannot connect to %s: %s\n", path,
		err == -EAGAIN ? "rasnd did not accept the connection in time" : strerror(-err));
	switch (-err) {
	case ECONNREFUSED:
		fputs("rasn: the socket file exists but nothing listens on it (left by a stopped "
		      "rasnd?)\n", stderr);
		break;
	case EACCES:
	case EPERM:
		fputs("rasn: this user may not use that socket: check the permissions of the socket "
		      "and its directory\n", stderr);
		break;
	case ENAMETOOLONG:
		fprintf(stderr, "rasn: a socket path must be shorter than %zu bytes\n",
			sizeof(((struct sockaddr_un *)0)->sun_path));
		return;
	case EAGAIN:
		fprintf(stderr, "rasn: its listen queue stayed full for %d s; rasnd may be overloaded "
			"or stopped\n", CONNECT_TIMEOUT_S);
		break;
	default:
		break;
	}
	fprintf(stderr, "rasn: is rasnd running? Start it with 'rasnd -s %s -d data/asn-ipv4.csv "
		"-d data/asn-ipv6.csv' or 'systemctl start rasnd', or point RASN_SOCKET/-s at its "
		"socket.\n", path);
}

static void conn_write(struct conn *c)
{
	size_t off = 0;
	while (off < c->out.len) {
		ssize_t w = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			/* The daemon hung up; keep reading what it did answer. */
			c->werr = w < 0 ? errno : EPIPE;
			off = c->out.len;
		}
	}
	rasn_buf_consume(&c->out, off);
}

/* Is this line rasnd refusing or ending the connection (daemon/server.c reject(): a line that
 * answers no request, e.g. "too many clients", sent before it closes)? Then returns its reason
 * (malloc'd). Every answer echoes its request, and the only one with an empty query is the
 * answer to an empty line, "empty request": so this line is never the answer to a query. */
static char *refusal(const char *line, size_t n)
{
	json_t *j = json_loadb(line, n, 0, NULL);
	const char *q = json_string_value(json_object_get(j, "query"));
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *st = json_string_value(json_object_get(j, "status"));
	const char *why = json_string_value(json_object_get(j, "error"));
	char *r = NULL;
	if (q && !*q && type && !strcmp(type, "invalid") && st && !strcmp(st, "error") && why &&
	    strcmp(why, "empty request") != 0)
		r = strdup(why);
	json_decref(j);
	return r;
}

/* Print every whole reply line in the receive buffer. */
static void conn_replies(struct client *cl)
{
	struct conn *c = &cl->c;
	size_t start = 0;
	char *nl;

	while (!c->refused && (nl = memchr(c->in.data + c->scanned, '\n', c->in.len - c->scanned))) {
		size_t end = (size_t)(nl - c->in.data), n = end - start;
		const char *line = c->in.data + start;
		bool text = c->text_n && c->text_req[c->text_head] == c->answered;
		start = c->scanned = end + 1;
		if (n && line[n - 1] == '\r')
			n--;
		if (!c->in_text && n && line[0] == '{' && (c->refused = refusal(line, n)))
			break; /* not the answer to a query: rasnd closes next */
		if (text && (c->in_text || (n && line[0] != '{'))) {
			/* A stats prometheus reply: text up to "# EOF" (an error would be JSON). */
			rasn_format_text(cl->fmt, line, n, !c->in_text);
			c->in_text = !(n == 5 && !memcmp(line, "# EOF", 5));
			if (c->in_text)
				continue;
		} else if (rasn_format_reply(cl->fmt, line, n) != RASN_REPLY_OK) {
			cl->status = EXIT_SOME_FAILED;
		}
		if (text) {
			c->text_head = (c->text_head + 1) % WINDOW;
			c->text_n--;
		}
		c->answered++;
	}
	c->scanned = c->refused ? 0 : c->in.len - start;
	rasn_buf_consume(&c->in, c->refused ? c->in.len : start);
	if (fflush(stdout) != 0 && !cl->out_err)
		cl->out_err = errno ? errno : EIO;
}

static void conn_read(struct client *cl)
{
	struct conn *c = &cl->c;
	if (rasn_buf_reserve(&c->in, READ_CHUNK) < 0) {
		c->rerr = ENOMEM;
		return;
	}
	ssize_t r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
	if (r < 0) {
		/* A Unix socket closed with our requests still unread in it reports ECONNRESET
		 * once its data is read: that is the daemon hanging up, like EOF. */
		if (errno == ECONNRESET)
			c->eof = true;
		else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			c->rerr = errno;
		return;
	}
	if (r == 0) {
		c->eof = true;
		return;
	}
	c->in.len += (size_t)r;
	/* stdout and the progress line may share a terminal */
	if (cl->pg.erase_for_output)
		progress_erase(&cl->pg);
	conn_replies(cl);
	if (c->in.len > REPLY_MAX)
		c->rerr = EMSGSIZE;
}

/* --- the loop ------------------------------------------------------------------------------- */

/* Returns EXIT_ALL_OK when every query was answered, else EXIT_UNREACHABLE (reported). */
static int run(struct client *cl)
{
	struct input *in = &cl->in;
	struct conn *c = &cl->c;

	for (;;) {
		input_fill(in, c);
		if (c->out.oom || c->in.oom) {
			fputs("rasn: out of memory\n", stderr);
			return EXIT_UNREACHABLE;
		}
		if (c->out.len && !c->werr) {
			size_t before = c->out.len;
			conn_write(c);
			/* Room again: take more input before sleeping. input_fill() left stdin out of
			 * the poll set while the send buffer was full; sleeping now, with the buffer
			 * drained and no reply due (the middle of an over-long line), would wait for
			 * an event that never comes. */
			if (c->out.len < before && c->out.len < OUT_HIGH && !in->done)
				continue;
		}
		if (c->refused)
			break;
		if (in->done && c->out.len == 0 && c->answered >= c->sent)
			return cl->out_err ? EXIT_SOME_FAILED : EXIT_ALL_OK;
		if (cl->out_err)
			return EXIT_SOME_FAILED;
		if (c->eof || c->rerr)
			break;

		struct pollfd pfd[2] = {
			{ .fd = c->fd, .events = POLLIN | (c->out.len && !c->werr ? POLLOUT : 0) },
			{ .fd = -1 },
		};
		if (in->fd >= 0 && in->need_data && !in->eof)
			pfd[1] = (struct pollfd){ .fd = in->fd, .events = POLLIN };
		int n = poll(pfd, 2, progress_timeout(&cl->pg));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "rasn: poll: %s\n", strerror(errno));
			return EXIT_UNREACHABLE;
		}
		if (n > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			conn_read(cl);
		if (n > 0 && pfd[1].revents)
			input_read(in);
		progress_tick(&cl->pg, c);
	}

	progress_erase(&cl->pg);
	uint64_t missing = c->sent - (c->answered < c->sent ? c->answered : c->sent);
	if (c->refused && c->answered == 0) {
		fprintf(stderr, "rasn: rasnd refused the connection: %s%s\n", c->refused,
			!strcmp(c->refused, "too many clients") ? " (its [server] max_clients are "
			"connected); nothing was answered, try again later" : "; nothing was answered");
		return EXIT_UNREACHABLE;
	}
	if (c->refused)
		fprintf(stderr, "rasn: rasnd closed the connection: %s\n", c->refused);
	else if (c->rerr == EMSGSIZE)
		fprintf(stderr, "rasn: a reply from rasnd is longer than %u MiB; giving up\n",
			REPLY_MAX >> 20);
	else if (c->rerr)
		fprintf(stderr, "rasn: reading from rasnd: %s\n", strerror(c->rerr));
	else
		fprintf(stderr, "rasn: rasnd closed the connection early\n");
	fprintf(stderr, "rasn: %" PRIu64 " of %" PRIu64 " queries sent were unanswered%s\n", missing,
		c->sent, in->done ? "" : "; the rest of the input was not sent");
	return EXIT_UNREACHABLE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'J' },
		{ "csv", no_argument, NULL, 'C' },
		{ "cymru", no_argument, NULL, 'Y' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *fmt_name = NULL;
	enum rasn_format_kind kind = RASN_FORMAT_HUMAN;
	bool quiet = false;
	struct client *cl;
	int opt, rc;

	opterr = 0;
	/* a closed stdout is EPIPE (a quiet end, see below), not death by SIGPIPE; the socket's
	 * EPIPE (rasnd refused or left) is already MSG_NOSIGNAL: the client reads on after it */
	signal(SIGPIPE, SIG_IGN);
	/* A fixed hash seed: jansson would otherwise read /dev/urandom on first use, a visible
	 * part of a one-query run; the replies it hashes come from our own daemon. */
	json_object_seed(1);
	while ((opt = getopt_long(argc, argv, ":s:qhV", longopts, NULL)) != -1) {
		const char *name = NULL;
		enum rasn_format_kind k = RASN_FORMAT_HUMAN;
		switch (opt) {
		case 's':
			if (!*optarg)
				usage_error("-s needs a socket path, not an empty string");
			sock = optarg;
			break;
		case 'J':
			name = "--json", k = RASN_FORMAT_JSON;
			break;
		case 'C':
			name = "--csv", k = RASN_FORMAT_CSV;
			break;
		case 'Y':
			name = "--cymru", k = RASN_FORMAT_CYMRU;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			print_help();
			return fflush(stdout) ? EXIT_SOME_FAILED : EXIT_ALL_OK;
		case 'V':
			printf("rasn %s\n", RASN_VERSION);
			return fflush(stdout) ? EXIT_SOME_FAILED : EXIT_ALL_OK;
		case ':':
			usage_error("option '%s' needs an argument", argv[optind - 1]);
			break;
		default:
			if (!strncmp(argv[optind - 1], "--", 2) || !optopt)
				usage_error("unknown option '%s'", argv[optind - 1]);
			usage_error("unknown option '-%c'", optopt);
			break;
		}
		if (name) {
			if (fmt_name && k != kind)
				usage_error("%s and %s cannot be combined: choose one output format",
					    fmt_name, name);
			fmt_name = name;
			kind = k;
		}
	}

	int nq = argc - optind;
	char **queries = argv + optind;
	bool from_stdin = nq == 0 || (nq == 1 && !strcmp(queries[0], "-"));
	for (int i = 0; i < nq && !from_stdin; i++) {
		if (!strcmp(queries[i], "-"))
			usage_error("'-' (read queries from standard input) must be the only QUERY");
		if (strchr(queries[i], '\n'))
			usage_error("a QUERY argument holds a newline; give one query per argument");
	}
	if (!sock) {
		sock = getenv("RASN_SOCKET");
		if (!sock || !*sock)
			sock = RASN_DEFAULT_SOCKET;
	}

	cl = calloc(1, sizeof(*cl));
	if (!cl || !(cl->fmt = rasn_format_new(kind, stdout))) {
		fputs("rasn: out of memory\n", stderr);
		free(cl);
		return EXIT_SOME_FAILED;
	}
	rasn_buf_init(&cl->c.out);
	rasn_buf_init(&cl->c.in);
	cl->c.fd = -1;
	cl->in.fd = from_stdin ? STDIN_FILENO : -1;
	cl->in.args = queries;
	cl->in.nargs = from_stdin ? 0 : (size_t)nq;
	cl->pg.on = !quiet && isatty(STDERR_FILENO) && !(from_stdin && isatty(STDIN_FILENO));
	cl->pg.erase_for_output = isatty(STDOUT_FILENO);
	cl->pg.start_ms = (int64_t)rasn_clock_mono_ms();
	cl->pg.next_ms = cl->pg.start_ms + PROGRESS_MS;
	/* Flushed once per batch of replies: a write per read, not per line. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	int err = conn_open(&cl->c, sock);
	if (err < 0) {
		say_unreachable(sock, err);
		rc = EXIT_UNREACHABLE;
		goto done;
	}
	rasn_format_begin(cl->fmt);
	rc = run(cl);
	progress_erase(&cl->pg);
	if (fflush(stdout) != 0 && !cl->out_err)
		cl->out_err = errno ? errno : EIO;
	if (cl->out_err == EPIPE) {
		/* whoever read our output has gone (rasn ... | head): a normal, quiet end; the
		 * status is that of the replies received until then */
		if (rc != EXIT_UNREACHABLE)
			rc = EXIT_ALL_OK;
	} else if (cl->out_err) {
		fprintf(stderr, "rasn: writing output: %s\n", strerror(cl->out_err));
		if (rc == EXIT_ALL_OK)
			rc = EXIT_SOME_FAILED;
	}
	if (cl->in.err) {
		fprintf(stderr, "rasn: reading standard input: %s\n", strerror(cl->in.err));
		if (rc == EXIT_ALL_OK)
			rc = EXIT_SOME_FAILED;
	}
	if (rc == EXIT_ALL_OK)
		rc = cl->status;
done:
	if (cl->c.fd >= 0)
		close(cl->c.fd);
	rasn_buf_free(&cl->c.out);
	rasn_buf_free(&cl->c.in);
	free(cl->c.refused);
	rasn_format_free(cl->fmt);
	free(cl);
	return rc;
}
