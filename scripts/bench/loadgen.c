/* Pipelined load generator for line servers on a Unix stream socket (benchmark, not a test).
 *   loadgen -s SOCKET [-n LINES] [-k DISTINCT] [-r RUNS] [-t SECONDS] [-w BYTES] [-x SEED]
 * Generates DISTINCT random IPv4 request lines up front, then per run: connects, writes LINES
 * request lines (cycling through the pre-generated ones) while reading the replies with poll(),
 * counts reply lines, and reports lines/s from the first write to the last reply. A run fails
 * (exit 1) when the reply count is not LINES or when it takes longer than SECONDS.
 * Output, one line per run then a summary, "name value unit" like bench_table:
 *   run 1 lines_s 3012345 (10000000 lines, 1.820 GB in, avg reply 182.0 B, 3.320 s)
 *   lines_s_best 3012345 lines/s
 *   lines_s_median 2990000 lines/s
 *   reply_bytes_avg 182.0 B */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char *buf;      /* DISTINCT request lines back to back */
static size_t buf_len; /* bytes */
static size_t *line_off; /* DISTINCT+1 line start offsets */

static int dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "loadgen: socket path too long\n");
		return -1;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "loadgen: connect %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* One run. Returns lines/s, or -1 on failure. */
static double run_once(const char *path, size_t n, size_t k, size_t wchunk, double limit, double *avg_reply,
		       double *secs)
{
	int fd = dial(path);
	if (fd < 0)
		return -1;
	/* the byte stream to send: n/k whole passes over buf, then the first n%k lines */
	size_t total = (n / k) * buf_len + line_off[n % k];
	size_t sent = 0, lines = 0, bytes_in = 0;
	size_t rcap = 1 << 20;
	char *rbuf = malloc(rcap);
	int first_checked = 0, ok = 1;
	if (!rbuf) {
		close(fd);
		return -1;
	}
	double t0 = now(), deadline = t0 + limit, last_progress = t0;
	while (lines < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0) };
		int pr = poll(&p, 1, 1000);
		double t = now();
		if (t > deadline) {
			fprintf(stderr, "loadgen: run exceeded %.0f s (%zu of %zu replies)\n", limit, lines, n);
			ok = 0;
			break;
		}
		if (pr < 0 && errno != EINTR) {
			perror("loadgen: poll");
			ok = 0;
			break;
		}
		if (pr <= 0) {
			if (t - last_progress > 10) {
				fprintf(stderr, "loadgen: no progress for 10 s (%zu of %zu replies)\n", lines, n);
				ok = 0;
				break;
			}
			continue;
		}
		if (p.revents & POLLOUT) {
			size_t pos = sent % buf_len;
			size_t len = buf_len - pos;
			if (len > total - sent)
				len = total - sent;
			if (len > wchunk)
				len = wchunk;
			ssize_t w = write(fd, buf + pos, len);
			if (w > 0) {
				sent += (size_t)w;
				last_progress = t;
				if (sent == total)
					shutdown(fd, SHUT_WR);
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				perror("loadgen: write");
				ok = 0;
				break;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, rbuf, rcap);
			if (r > 0) {
				bytes_in += (size_t)r;
				last_progress = t;
				if (!first_checked) {
					first_checked = 1;
					if (rbuf[0] != '{') {
						fprintf(stderr, "loadgen: first reply is not JSON: %.40s\n", rbuf);
						ok = 0;
						break;
					}
				}
				for (const char *q = rbuf, *e = rbuf + r; (q = memchr(q, '\n', (size_t)(e - q))); q++)
					lines++;
			} else if (r == 0) {
				break; /* server closed: count what we have */
			} else if (errno != EAGAIN && errno != EINTR) {
				perror("loadgen: read");
				ok = 0;
				break;
			}
		}
	}
	double dt = now() - t0;
	close(fd);
	free(rbuf);
	if (lines != n) {
		fprintf(stderr, "loadgen: got %zu reply lines for %zu requests\n", lines, n);
		ok = 0;
	}
	*avg_reply = lines ? (double)bytes_in / (double)lines : 0;
	*secs = dt;
	return ok ? (double)n / dt : -1;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	size_t n = 5000000, k = 1000000, wchunk = 256 << 10;
	int runs = 3, opt;
	double limit = 120;
	while ((opt = getopt(argc, argv, "s:n:k:r:t:w:x:")) != -1) {
		switch (opt) {
		case 's': path = optarg; break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 'k': k = strtoull(optarg, NULL, 10); break;
		case 'r': runs = atoi(optarg); break;
		case 't': limit = atof(optarg); break;
		case 'w': wchunk = strtoull(optarg, NULL, 10); break;
		case 'x': rng = strtoull(optarg, NULL, 0) | 1; break;
		default: goto usage;
		}
	}
	if (!path || n == 0 || k == 0 || runs < 1 || runs > 100 || wchunk == 0) {
usage:
		fprintf(stderr, "usage: loadgen -s SOCKET [-n LINES] [-k DISTINCT] [-r RUNS(1-100)] [-t SECONDS] [-w WRITE_CHUNK] [-x SEED]\n");
		return 2;
	}
	if (k > n)
		k = n;
	buf = malloc(k * 16);
	line_off = malloc((k + 1) * sizeof(*line_off));
	if (!buf || !line_off) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < k; i++) {
		uint32_t a = (uint32_t)(xorshift() >> 16);
		line_off[i] = buf_len;
		buf_len += (size_t)sprintf(buf + buf_len, "%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	}
	line_off[k] = buf_len;

	double *rate = calloc((size_t)runs, sizeof(double)), avg = 0;
	for (int r = 0; r < runs; r++) {
		double secs;
		rate[r] = run_once(path, n, k, wchunk, limit, &avg, &secs);
		if (rate[r] < 0)
			return 1;
		printf("run %d lines_s %.0f (%zu lines, avg reply %.1f B, %.3f s)\n", r + 1, rate[r], n, avg, secs);
		fflush(stdout);
	}
	qsort(rate, (size_t)runs, sizeof(double), cmp_double);
	printf("lines_s_best %.0f lines/s\n", rate[runs - 1]);
	printf("lines_s_median %.0f lines/s\n",
	       runs % 2 ? rate[runs / 2] : (rate[runs / 2 - 1] + rate[runs / 2]) / 2);
	printf("reply_bytes_avg %.1f B\n", avg);
	free(rate);
	free(buf);
	free(line_off);
	return 0;
}
