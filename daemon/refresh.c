/* Dataset refresh: each [dataset] url is fetched into the [dataset] file of the same rank,
 * on a period and on the `refresh` command, with conditional requests (If-None-Match with the
 * last ETag, If-Modified-Since with the last Last-Modified, both kept next to the file in
 * FILE.http so a restart does not download again). A changed body is written to FILE.new as
 * it arrives (the HTTP client's body_to_fd: a read's worth at a time, never one long write
 * on the loop, never the whole file in memory), the whole file set (new and unchanged files)
 * is parsed off the loop by the reload worker, and only a table that builds and keeps enough
 * of each changed file's rows ([dataset] max_shrink) replaces the one being served; then
 * FILE.new is renamed over FILE, and only then are the new validators saved. A failed
 * download, or a body that does not parse or shrinks too much, keeps the current table and
 * file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "http.h"
#include "clock.h"
#include "log.h"
#include "rasnd.h"
#include "reply.h"
#include "clock.h"
#include "refresh.h"
#include "reload.h"
#include "lifecycle.h"
#include "session.h"

#define VALIDATOR_MAX 256

struct rf_file {
	char etag[VALIDATOR_MAX];
	char last_modified[VALIDATOR_MAX];
	/* this run */
	int done, changed, failed;
	char new_etag[VALIDATOR_MAX], new_last_modified[VALIDATOR_MAX];
	char err[256];
	int fd;                    /* FILE.new while the download runs; -1 */
};

struct rasnd_refresh {
	struct rasnd *d;
	struct event *timer;
	int running;               /* downloads or the parse are under way */
	size_t outstanding;        /* downloads not answered yet */
	struct rasnd_slot *waiters;
	struct rf_file files[RASND_MAX_DATASETS];
	size_t n;
	char reject[1024];         /* the parse error of this run */
	int parsed;                /* this run parsed a new table (ok) */
	int shrunk;                /* the table was refused by max_shrink */
	/* stats */
	uint64_t runs, not_modified, downloaded, download_errors, swapped, rejected, refused_shrink, rename_errors;
	double last_run_at, last_ok_at;
	char last_error[512];
};

static void meta_path(const char *file, char *out, size_t cap)
{
	snprintf(out, cap, "%s.http", file);
}

static void load_meta(struct rasnd_refresh *r, size_t i)
{
	char p[4096];
	meta_path(r->d->cfg.datasets[i], p, sizeof(p));
	FILE *f = fopen(p, "r");
	r->files[i].etag[0] = r->files[i].last_modified[0] = '\0';
	if (!f)
		return;
	/* only trust validators for a file that is there */
	if (access(r->d->cfg.datasets[i], R_OK) == 0) {
		char line[VALIDATOR_MAX + 16];
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (!strncmp(line, "etag: ", 6))
				snprintf(r->files[i].etag, VALIDATOR_MAX, "%.255s", line + 6);
			else if (!strncmp(line, "last-modified: ", 15))
				snprintf(r->files[i].last_modified, VALIDATOR_MAX, "%.255s", line + 15);
		}
	}
	fclose(f);
}

static void save_meta(struct rasnd_refresh *r, size_t i)
{
	char p[4096], tmp[4200];
	meta_path(r->d->cfg.datasets[i], p, sizeof(p));
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		log_warn("refresh: cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(f, "etag: %s\nlast-modified: %s\n", r->files[i].etag, r->files[i].last_modified);
	if (fclose(f) != 0 || rename(tmp, p) != 0)
		log_warn("refresh: cannot write %s: %s", p, strerror(errno));
}

/* A validator is a header value: printable ASCII only, bounded (it goes back out in a header). */
static void keep_validator(char *dst, const char *v)
{
	dst[0] = '\0';
	if (!v || strlen(v) >= VALIDATOR_MAX)
		return;
	for (const char *c = v; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return;
	snprintf(dst, VALIDATOR_MAX, "%s", v);
}

static void answer_waiters(struct rasnd_refresh *r)
{
	struct rasnd_slot *w = r->waiters;
	r->waiters = NULL;
	while (w) {
		struct rasnd_slot *next = w->next_waiter;
		struct rasn_buf *b = &w->reply;
		size_t failed = 0, changed = 0;
		for (size_t i = 0; i < r->n; i++) {
			failed += r->files[i].failed;
			changed += r->files[i].changed;
		}
		if (r->reject[0]) {
			char msg[1200];
			snprintf(msg, sizeof(msg), r->shrunk ? "refresh: the new dataset is refused (%s); still serving the previous table"
				 : "refresh: the new dataset does not load (%s); still serving the previous table", r->reject);
			rasn_reply_error(b, w->query, w->qlen, "refresh", msg);
		} else if (failed && !changed) {
			char msg[1200] = "";
			size_t o = 0;
			for (size_t i = 0; i < r->n && o < sizeof(msg); i++)
				if (r->files[i].failed)
					o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s%s: %s", o ? "; " : "refresh: ",
							      r->d->cfg.dataset_urls[i], r->files[i].err);
			if (o < sizeof(msg))
				snprintf(msg + o, sizeof(msg) - o, "; still serving the previous table");
			rasn_reply_error(b, w->query, w->qlen, "refresh", msg);
		} else {
			rasn_reply_open(b, w->query, w->qlen, "refresh", "ok");
			const char *what[3] = { "changed", "unchanged", "failed" };
			for (int k = 0; k < 3; k++) {
				rasn_buf_printf(b, ",\"%s\":[", what[k]);
				int first = 1;
				for (size_t i = 0; i < r->n; i++) {
					struct rf_file *f = &r->files[i];
					int in = k == 0 ? f->changed : k == 1 ? (!f->changed && !f->failed) : f->failed;
					if (!in)
						continue;
					if (!first)
						rasn_buf_addc(b, ',');
					first = 0;
					rasn_buf_json_str(b, r->d->cfg.dataset_urls[i], strlen(r->d->cfg.dataset_urls[i]));
				}
				rasn_buf_addc(b, ']');
			}
			rasn_reply_close(b, NULL);
		}
		rasnd_slot_complete(w);
		w = next;
	}
}

static void new_path(const char *file, char *out, size_t cap)
{
	snprintf(out, cap, "%s.new", file);
}

static void end_run(struct rasnd_refresh *r)
{
	r->running = 0;
	r->last_run_at = rasn_clock_wall_s();
	answer_waiters(r);
	rasnd_server_maybe_exit(r->d);
}

static void on_parsed(struct rasnd *d, struct rasn_table *t, int ok, const char *err)
{
	struct rasnd_refresh *r = d->refresh;
	char nw[4200];
	for (size_t i = 0; i < r->n; i++) {
		struct rf_file *f = &r->files[i];
		if (!f->changed)
			continue;
		new_path(d->cfg.datasets[i], nw, sizeof(nw));
		if (!ok) {
			unlink(nw);
			continue;
		}
		if (rename(nw, d->cfg.datasets[i]) != 0) {
			/* the table is good and served; the file on disk stays the old one, so the
			 * validators do too: saved, they would make every later request a 304 and
			 * the old file would be loaded at each restart, forever */
			r->rename_errors++;
			snprintf(r->last_error, sizeof(r->last_error), "cannot move %.200s into place: %s", nw,
				 strerror(errno));
			log_err("refresh: %s; serving it from there, asking for the whole file again next time",
				r->last_error);
			continue;
		}
		rasn_table_set_file_path(t, i, d->cfg.datasets[i]);
		/* same-sized arrays, the new ones NUL-terminated by keep_validator */
		memcpy(f->etag, f->new_etag, sizeof(f->etag));
		memcpy(f->last_modified, f->new_last_modified, sizeof(f->last_modified));
		save_meta(r, i);
	}
	if (ok) {
		r->shrunk = 0;
		r->swapped++;
		r->last_ok_at = rasn_clock_wall_s();
		log_info("refresh: new dataset swapped in");
	} else {
		if (r->shrunk)
			r->refused_shrink++;
		else
			r->rejected++;
		snprintf(r->reject, sizeof(r->reject), "%s", err && *err ? err : "unknown error");
		snprintf(r->last_error, sizeof(r->last_error), "new dataset %s: %.400s", r->shrunk ? "refused" : "rejected",
			 r->reject);
		for (size_t i = 0; i < r->n; i++)
			r->files[i].changed = 0;
	}
	end_run(r);
}

/* The new table built: refuse it when a changed file lost more than max_shrink percent of
 * the rows it gave the table being served (a file cut at a line boundary parses, but holds
 * half the rows). Files are matched by rank: both tables load the configured files in order. */
static int check_shrink(struct rasnd *d, const struct rasn_table *t, char *err, size_t errlen)
{
	struct rasnd_refresh *r = d->refresh;
	struct rasn_table_info cur, nw;
	r->shrunk = 0;
	if (d->cfg.dataset_max_shrink >= 100 || !d->table)
		return 0;
	rasn_table_info(d->table, &cur);
	rasn_table_info(t, &nw);
	if (cur.n_files != r->n || nw.n_files != r->n)
		return 0; /* not the files refresh manages (a reload changed the list): no basis */
	for (size_t i = 0; i < r->n; i++) {
		size_t was = cur.files[i].rows, now = nw.files[i].rows;
		if (!r->files[i].changed || now >= was)
			continue;
		/* lost/was > max_shrink/100, in integers */
		if ((was - now) * 100 > d->cfg.dataset_max_shrink * was) {
			snprintf(err, errlen, "%s would go from %zu to %zu rows (%.1f %% fewer), more than [dataset] max_shrink = %zu %%",
				 d->cfg.dataset_urls[i], was, now, 100.0 * (double)(was - now) / (double)was,
				 d->cfg.dataset_max_shrink);
			r->shrunk = 1;
			log_warn("refresh: %s", err);
			return -1;
		}
	}
	return 0;
}

/* Every download has answered: parse what changed, or end here. */
static void downloads_done(struct rasnd_refresh *r)
{
	struct rasnd *d = r->d;
	size_t changed = 0;
	for (size_t i = 0; i < r->n; i++)
		changed += r->files[i].changed;
	if (!changed || d->draining) {
		for (size_t i = 0; i < r->n && d->draining; i++)
			r->files[i].changed = 0;
		end_run(r);
		return;
	}
	char *paths[RASND_MAX_DATASETS];
	char bufs[RASND_MAX_DATASETS][4200];
	for (size_t i = 0; i < r->n; i++) {
		if (r->files[i].changed) {
			new_path(d->cfg.datasets[i], bufs[i], sizeof(bufs[i]));
			paths[i] = bufs[i];
		} else {
			paths[i] = d->cfg.datasets[i];
		}
	}
	int rc = rasnd_reload_start_files(d, paths, r->n, check_shrink, on_parsed);
	if (rc < 0) {
		for (size_t i = 0; i < r->n; i++)
			if (r->files[i].changed) {
				unlink(bufs[i]);
				r->files[i].changed = 0;
			}
		snprintf(r->reject, sizeof(r->reject), "%s",
			 rc == -EBUSY ? "a reload is running; try again" : "cannot start the parse");
		end_run(r);
	}
}

struct rf_req {
	struct rasnd_refresh *r;
	size_t i;
};

/* Opens FILE.new for the body to be written into as it arrives. */
static int open_new(struct rasnd_refresh *r, size_t i, char *err, size_t errlen)
{
	char nw[4200];
	new_path(r->d->cfg.datasets[i], nw, sizeof(nw));
	int fd = open(nw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); /* read: its last byte */
	if (fd < 0)
		snprintf(err, errlen, "cannot write %.150s: %s", nw, strerror(errno));
	return fd;
}

/* The download is over: closes FILE.new, keeps it only when it is a complete new file. */
static void on_download(void *ud, const struct rasnd_http_response *resp)
{
	struct rf_req *q = ud;
	struct rasnd_refresh *r = q->r;
	struct rf_file *f = &r->files[q->i];
	const char *url = r->d->cfg.dataset_urls[q->i];
	char nw[4200];
	unsigned char last = 0;
	new_path(r->d->cfg.datasets[q->i], nw, sizeof(nw));
	f->done = 1;
	int keep = 0;
	if (resp->err != RASND_HTTP_OK) {
		f->failed = 1;
		snprintf(f->err, sizeof(f->err), "%s", resp->errmsg ? resp->errmsg : rasnd_http_err_name(resp->err));
	} else if (resp->status == 304) {
		r->not_modified++;
		log_debug("refresh: %s not modified", url);
	} else if (resp->status != 200) {
		f->failed = 1;
		snprintf(f->err, sizeof(f->err), "HTTP %d", resp->status);
	} else if (resp->body_len == 0) {
		f->failed = 1;
		snprintf(f->err, sizeof(f->err), "empty body");
	} else if (pread(f->fd, &last, 1, (off_t)(resp->body_len - 1)) != 1 || last != '\n') {
		/* every dataset ends its last line; one that does not was cut short (a body shorter
		 * than its Content-Length, or one cut without a TLS close_notify, is caught by the
		 * HTTP client already; one cut at a line boundary by max_shrink, after the parse) */
		f->failed = 1;
		snprintf(f->err, sizeof(f->err), "truncated: the file does not end with a line feed");
	} else {
		keep = 1;
	}
	if (close(f->fd) != 0 && keep) {
		f->failed = 1;
		keep = 0;
		snprintf(f->err, sizeof(f->err), "cannot write %.150s: %s", nw, strerror(errno));
	}
	f->fd = -1;
	if (keep) {
		r->downloaded++;
		f->changed = 1;
		keep_validator(f->new_etag, resp->etag);
		keep_validator(f->new_last_modified, resp->last_modified);
		log_info("refresh: %s changed (%zu bytes)", url, resp->body_len);
	} else {
		unlink(nw);
	}
	if (f->failed) {
		r->download_errors++;
		snprintf(r->last_error, sizeof(r->last_error), "%s: %s", url, f->err);
		log_warn("refresh: %s: %s; keeping the current file", url, f->err);
	}
	free(q);
	if (--r->outstanding == 0)
		downloads_done(r);
}

void rasnd_refresh_start(struct rasnd *d, struct rasnd_slot *slot)
{
	struct rasnd_refresh *r = d->refresh;
	if (!r) {
		if (slot) {
			rasn_reply_error(&slot->reply, slot->query, slot->qlen, "refresh",
					 "no [dataset] url is configured");
			rasnd_slot_complete(slot);
		}
		return;
	}
	if (slot) {
		/* a run under way answers it too: it is fetching now */
		slot->next_waiter = r->waiters;
		r->waiters = slot;
	}
	if (r->running)
		return;
	r->running = 1;
	r->runs++;
	r->reject[0] = '\0';
	r->shrunk = 0;
	r->outstanding = r->n;
	for (size_t i = 0; i < r->n; i++) {
		struct rf_file *f = &r->files[i];
		f->done = f->changed = f->failed = 0;
		f->err[0] = '\0';
		f->fd = -1;
	}
	/* count first, then start: a request that fails at once must not end the run early */
	for (size_t i = 0; i < r->n; i++) {
		struct rf_file *f = &r->files[i];
		struct rf_req *q = malloc(sizeof(*q));
		struct rasnd_http_req req = {
			.url = d->cfg.dataset_urls[i],
			.if_none_match = f->etag[0] ? f->etag : NULL,
			.if_modified_since = f->last_modified[0] ? f->last_modified : NULL,
			.max_body = d->cfg.max_file_size,
			.body_to_fd = 1,
		};
		if (q) {
			q->r = r;
			q->i = i;
		}
		snprintf(f->err, sizeof(f->err), "cannot start the request");
		if (q)
			f->fd = open_new(r, i, f->err, sizeof(f->err));
		req.body_fd = f->fd;
		if (!q || f->fd < 0 || rasnd_http_get(d->httpc, &req, on_download, q) < 0) {
			free(q);
			if (f->fd >= 0) {
				char nw[4200];
				close(f->fd);
				f->fd = -1;
				new_path(d->cfg.datasets[i], nw, sizeof(nw));
				unlink(nw);
			}
			f->failed = 1;
			r->download_errors++;
			if (--r->outstanding == 0)
				downloads_done(r);
		}
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct rasnd *d = arg;
	if (!d->draining)
		rasnd_refresh_start(d, NULL);
}

int rasnd_refresh_init(struct rasnd *d, char *err, size_t errlen)
{
	if (!d->cfg.n_dataset_urls)
		return 0;
	if (!d->httpc) {
		snprintf(err, errlen, "[dataset] url needs the HTTPS client, which did not start");
		return -1;
	}
	struct rasnd_refresh *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->d = d;
	r->n = d->cfg.n_dataset_urls;
	for (size_t i = 0; i < r->n; i++)
		load_meta(r, i);
	if (d->cfg.dataset_refresh_s) {
		r->timer = event_new(d->base, -1, EV_PERSIST, on_timer, d);
		struct timeval tv = { (time_t)d->cfg.dataset_refresh_s, 0 };
		if (!r->timer || event_add(r->timer, &tv) < 0) {
			if (r->timer)
				event_free(r->timer);
			free(r);
			snprintf(err, errlen, "cannot arm the refresh timer");
			return -1;
		}
	}
	d->refresh = r;
	log_info("refresh: %zu dataset URLs, every %zu s%s", r->n, d->cfg.dataset_refresh_s,
		 d->cfg.dataset_refresh_s ? "" : " (only on the refresh command)");
	return 0;
}

void rasnd_refresh_free(struct rasnd *d)
{
	struct rasnd_refresh *r = d->refresh;
	if (!r)
		return;
	if (r->timer)
		event_free(r->timer);
	free(r);
	d->refresh = NULL;
}

void rasnd_refresh_stats_json(struct rasnd *d, struct rasn_buf *b)
{
	struct rasnd_refresh *r = d->refresh;
	if (!r) {
		rasn_buf_lit(b, "null");
		return;
	}
	rasn_buf_printf(b, "{\"urls\":%zu,\"every_seconds\":%zu,\"running\":%s,\"runs\":%llu,\"not_modified\":%llu,"
			   "\"downloaded\":%llu,\"download_errors\":%llu,\"swapped\":%llu,\"rejected\":%llu,"
			   "\"refused_shrink\":%llu,\"rename_errors\":%llu,\"max_shrink\":%zu,"
			   "\"last_run_at\":%.3f,\"last_ok_at\":%.3f,\"last_error\":",
			r->n, d->cfg.dataset_refresh_s, r->running ? "true" : "false", (unsigned long long)r->runs,
			(unsigned long long)r->not_modified, (unsigned long long)r->downloaded,
			(unsigned long long)r->download_errors, (unsigned long long)r->swapped,
			(unsigned long long)r->rejected, (unsigned long long)r->refused_shrink,
			(unsigned long long)r->rename_errors, d->cfg.dataset_max_shrink, r->last_run_at, r->last_ok_at);
	rasn_buf_json_str(b, r->last_error, strlen(r->last_error));
	rasn_buf_addc(b, '}');
}
