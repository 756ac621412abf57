/* Building a table off the loop: a worker thread parses the dataset files into a new table
 * and signals the loop through an eventfd; the loop swaps it in. A table that fails to build
 * never replaces the one being served. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rasnd.h"
#include "reply.h"
#include "sdnotify.h"
#include "snapshot.h"
#include "clock.h"
#include "reload.h"
#include "lifecycle.h"
#include "session.h"

/* [dataset] snapshot: the table's image in the state directory; NULL when off. */
static char *snapshot_path(const struct rasnd_config *c)
{
	char *p;
	if (!c->snapshot || !c->state_dir || !c->state_dir[0])
		return NULL;
	return asprintf(&p, "%s/table.snap", c->state_dir) < 0 ? NULL : p;
}

static int same_key(const struct rasn_buf *a, const struct rasn_buf *b)
{
	return a->len == b->len && !a->oom && !b->oom && memcmp(a->data, b->data, a->len) == 0;
}

/* Build a table from files: from their snapshot (snap, may be NULL) when one was made from
 * exactly these files, else by parsing them. After a parse, *want_image is set when an image
 * should be written (the files did not change while being parsed); key then holds its key.
 * Runs on the start-up path or in the worker thread; logging is one write(2) per line, so
 * safe from either. Returns 0 or -1 with err. */
static int build_table(char *const *paths, size_t n, int format, const struct rasn_table_opts *opts,
		       unsigned threads, const char *snap, struct rasn_buf *key, int *want_image,
		       struct rasn_table **out, char *err, size_t errlen)
{
	char serr[1024];
	*want_image = 0;
	if (snap && rasn_snapshot_key(paths, n, format, key, serr, sizeof(serr)) == 0) {
		int rc = rasn_snapshot_read(snap, key->data, key->len, paths, n, opts, out, serr, sizeof(serr));
		if (rc == 0)
			return 0;
		if (rc == -ENOENT)
			log_info("snapshot %s: none yet, parsing the dataset", snap);
		else
			log_warn("snapshot %s not used, parsing the dataset: %s", snap, serr);
	} else if (snap) {
		key->len = 0; /* a file is missing: the parse says which */
	}
	struct rasn_table_builder *b = rasn_table_builder_new(opts);
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = rasn_table_builder_add_files(b, paths, n, (enum rasn_ds_format)format, threads, err, errlen);
	if (rc == 0)
		rc = rasn_table_build(b, out, err, errlen);
	rasn_table_builder_free(b);
	/* the build's file buffers and scratch arrays are gone: give their pages back */
	malloc_trim(0);
	if (rc == 0 && snap && key->len) {
		/* an image keyed by files that changed under the parse would answer for the new ones */
		struct rasn_buf now;
		rasn_buf_init(&now);
		if (rasn_snapshot_key(paths, n, format, &now, serr, sizeof(serr)) == 0 && same_key(key, &now))
			*want_image = 1;
		else
			log_info("snapshot %s: the dataset changed while it was parsed; no image written", snap);
		rasn_buf_free(&now);
	}
	return rc < 0 ? -1 : 0;
}

/* Write t's image to snap (its directory made if missing). Off the loop. */
static void write_snapshot(const char *snap, const struct rasn_table *t, const struct rasn_buf *key)
{
	char err[1024], *dir = strdup(snap), *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			log_warn("snapshot: cannot create %s: %s", dir, strerror(errno));
	}
	free(dir);
	double t0 = 1e3 * rasn_clock_mono_s();
	if (rasn_snapshot_write(t, snap, key->data, key->len, err, sizeof(err)) < 0)
		log_warn("snapshot not written: %s", err);
	else
		log_info("snapshot %s written in %.1f ms", snap, 1e3 * rasn_clock_mono_s() - t0);
}

struct snap_writer {
	char *path;
	struct rasn_table *t;
	struct rasn_buf key;
};

static void *snap_writer(void *arg)
{
	struct snap_writer *w = arg;
	write_snapshot(w->path, w->t, &w->key);
	rasn_table_unref(w->t);
	rasn_buf_free(&w->key);
	free(w->path);
	free(w);
	return NULL;
}

/* The start-up image writer, if one runs: wait for it (it is short; a reload's worker must
 * not write the same file at the same time). */
static void join_snap_writer(struct rasnd_reload *r)
{
	if (r->snap_running) {
		pthread_join(r->snap_thread, NULL);
		r->snap_running = 0;
	}
}

static void table_opts(const struct rasnd_config *c, struct rasn_table_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_bad_lines = c->max_bad_lines;
	o->max_file_size = c->max_file_size;
	o->force_read = c->io_read;
}

/* 0 in the config means one per online CPU (at most 8). */
static unsigned load_threads(const struct rasnd_config *c)
{
	if (c->load_threads)
		return (unsigned)c->load_threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

/* READY=1 with a one-line STATUS of the table being served, and of the last reload when it
 * failed (systemctl status shows why the old table is still up). */
void rasnd_notify_ready(struct rasnd *d)
{
	struct rasn_table_info ti;
	rasn_table_info(d->table, &ti);
	char why[400]; /* the datagram stays well under rasnd_notifyf's bound */
	size_t n = strnlen(d->last_reload_error, sizeof(why) - 1);
	memcpy(why, d->last_reload_error, n);
	why[n] = '\0';
	for (char *p = why; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' '; /* one STATUS line */
	rasnd_notifyf("READY=1\nSTATUS=serving %zu IPv4 and %zu IPv6 ranges, %zu ASes%s%s\n", ti.ranges_v4,
		      ti.ranges_v6, ti.asns, why[0] ? "; last reload failed: " : "", why);
}

static void log_table(struct rasnd *d, const char *what)
{
	struct rasn_table_info ti;
	rasn_table_info(d->table, &ti);
	log_info("%s: %zu IPv4 and %zu IPv6 ranges, %zu ASes, %zu rows (%zu overlapping) from %zu files%s in %.1f ms, %.1f MiB",
		 what, ti.ranges_v4, ti.ranges_v6, ti.asns, ti.rows, ti.overlaps, ti.n_files,
		 ti.from_snapshot ? " (read from their snapshot)" : "", d->last_load_ms, (double)ti.bytes / (1024.0 * 1024.0));
	for (size_t i = 0; i < ti.n_files; i++)
		log_info("dataset %s: %s, %zu rows, %zu malformed, %zu skipped, %s with %s",
			 ti.files[i].path, rasn_ds_format_name(ti.files[i].format), ti.files[i].rows,
			 ti.files[i].bad, ti.files[i].skipped, ti.from_snapshot ? "snapshot read" : "read",
			 ti.files[i].method == RASN_IO_URING ? "io_uring" : "read()");
}

int rasnd_load_initial(struct rasnd *d, char *err, size_t errlen)
{
	struct rasn_table_opts o;
	struct rasn_buf key;
	int want_image;
	char *snap = snapshot_path(&d->cfg);
	table_opts(&d->cfg, &o);
	rasn_buf_init(&key);
	double t0 = 1e3 * rasn_clock_mono_s();
	if (build_table(d->cfg.datasets, d->cfg.n_datasets, d->cfg.dataset_format, &o, load_threads(&d->cfg), snap,
			&key, &want_image, &d->table, err, errlen) < 0) {
		rasn_buf_free(&key);
		free(snap);
		return -1;
	}
	d->last_load_ms = 1e3 * rasn_clock_mono_s() - t0;
	d->table_loaded_at = rasn_clock_wall_s();
	log_table(d, "table loaded");
	/* the image is written beside the first answers, not before them */
	struct snap_writer *w = want_image ? calloc(1, sizeof(*w)) : NULL;
	if (w) {
		*w = (struct snap_writer){ snap, rasn_table_ref(d->table), key };
		if (pthread_create(&d->reload.snap_thread, NULL, snap_writer, w) == 0) {
			d->reload.snap_running = 1;
			return 0;
		}
		log_warn("snapshot: no thread to write it");
		rasn_table_unref(w->t);
		free(w);
	}
	rasn_buf_free(&key);
	free(snap);
	return 0;
}

static void *worker(void *arg)
{
	struct rasnd_reload *r = arg;
	struct rasn_buf key;
	int want_image;
	double t0 = 1e3 * rasn_clock_mono_s();
	r->result = NULL;
	r->err[0] = '\0';
	join_snap_writer(r);
	rasn_buf_init(&key);
	build_table(r->paths, r->n_paths, r->format, &r->opts, r->threads, r->snap, &key, &want_image, &r->result, r->err,
		    sizeof(r->err));
	r->ms = 1e3 * rasn_clock_mono_s() - t0;
	/* before the loop hears of it: the table is immutable, and the loop never waits for this */
	if (want_image && r->result)
		write_snapshot(r->snap, r->result, &key);
	rasn_buf_free(&key);
	uint64_t one = 1;
	/* the eventfd write is the release: everything above is visible to the loop after it */
	ssize_t w = write(r->efd, &one, sizeof(one));
	(void)w;
	return NULL;
}

static void free_paths(struct rasnd_reload *r)
{
	for (size_t i = 0; i < r->n_paths; i++)
		free(r->paths[i]);
	free(r->paths);
	r->paths = NULL;
	r->n_paths = 0;
	free(r->snap);
	r->snap = NULL;
}

static int copy_paths(struct rasnd_reload *r, char *const *paths, size_t n)
{
	r->paths = calloc(n ? n : 1, sizeof(char *));
	if (!r->paths)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(r->paths[i] = strdup(paths[i]))) {
			free_paths(r);
			return -ENOMEM;
		}
		r->n_paths++;
	}
	return 0;
}

static int launch_paths(struct rasnd *d);

static int launch(struct rasnd *d)
{
	struct rasnd_reload *r = &d->reload;
	if (copy_paths(r, d->cfg.datasets, d->cfg.n_datasets) < 0)
		return -ENOMEM;
	return launch_paths(d);
}

int rasnd_reload_start_files(struct rasnd *d, char *const *paths, size_t n,
			     int (*check)(struct rasnd *d, const struct rasn_table *t, char *err, size_t errlen),
			     void (*done)(struct rasnd *d, struct rasn_table *t, int ok, const char *err))
{
	struct rasnd_reload *r = &d->reload;
	if (r->running)
		return -EBUSY;
	if (copy_paths(r, paths, n) < 0)
		return -ENOMEM;
	r->hook = done;
	r->check = check;
	r->with_hook = 1;
	int rc = launch_paths(d);
	if (rc < 0)
		r->with_hook = 0;
	return rc;
}

static int launch_paths(struct rasnd *d)
{
	struct rasnd_reload *r = &d->reload;
	r->format = d->cfg.dataset_format;
	r->threads = load_threads(&d->cfg);
	/* a refresh parses files under temporary names: its image is made at the next start */
	r->snap = r->with_hook ? NULL : snapshot_path(&d->cfg);
	table_opts(&d->cfg, &r->opts);
	int rc = pthread_create(&r->thread, NULL, worker, r);
	if (rc) {
		free_paths(r);
		return -rc;
	}
	r->running = 1;
	rasnd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the dataset\n",
		      (unsigned long long)rasn_clock_mono_us());
	log_info("reload started (%zu files)", r->n_paths);
	return 0;
}

static void answer(struct rasnd_slot *list, int ok, struct rasnd *d, const char *err)
{
	while (list) {
		struct rasnd_slot *next = list->next_waiter;
		if (ok) {
			struct rasn_table_info ti;
			rasn_table_info(d->table, &ti);
			rasn_reply_open(&list->reply, list->query, list->qlen, "reload", "ok");
			rasn_buf_printf(&list->reply, ",\"ranges_v4\":%zu,\"ranges_v6\":%zu,\"ms\":%.1f",
					ti.ranges_v4, ti.ranges_v6, d->last_load_ms);
			rasn_reply_close(&list->reply, NULL);
		} else {
			char msg[1200];
			snprintf(msg, sizeof(msg), "reload failed: %s; still serving the previous table", err);
			rasn_reply_error(&list->reply, list->query, list->qlen, "reload", msg);
		}
		rasnd_slot_complete(list);
		list = next;
	}
}

/* The worker's table, if it built one, replaces the one served. Returns 1 if swapped; else
 * logs why (after what) and counts the failure. */
static int swap_in(struct rasnd *d, const char *what)
{
	struct rasnd_reload *r = &d->reload;
	if (!r->result) {
		d->stats.reloads_failed++;
		snprintf(d->last_reload_error, sizeof(d->last_reload_error), "%s", r->err);
		log_err("%s, still serving the previous table: %s", what, r->err);
		return 0;
	}
	struct rasn_table *old = d->table;
	d->table = r->result;
	r->result = NULL;
	rasn_table_unref(old);
	d->last_load_ms = r->ms;
	d->table_loaded_at = rasn_clock_wall_s();
	d->stats.reloads_ok++;
	d->last_reload_error[0] = '\0';
	return 1;
}

/* After a reload ended and its table (or the failure) is in place: READY=1 describing what
 * is served now, unless another reload has started (its end will say it) or we are stopping
 * (STOPPING=1 was sent; READY would contradict it). */
static void notify_serving(struct rasnd *d)
{
	if (!d->reload.running && !d->draining)
		rasnd_notify_ready(d);
}

static void reload_done(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd *d = arg;
	struct rasnd_reload *r = &d->reload;
	uint64_t v;
	if (read(r->efd, &v, sizeof(v)) < 0)
		return;
	pthread_join(r->thread, NULL);
	r->running = 0;
	free_paths(r);
	struct rasnd_slot *waiters = r->waiters;
	r->waiters = NULL;
	if (r->with_hook) {
		/* a dataset refresh: its files, its answer; reload slots wait for their own run */
		r->with_hook = 0;
		r->waiters = waiters;
		waiters = NULL;
		/* a table that builds may still be refused (a file cut at a line boundary) */
		if (r->result && r->check && r->check(d, r->result, r->err, sizeof(r->err)) != 0) {
			rasn_table_unref(r->result);
			r->result = NULL;
		}
		/* swapped before the hook: what it answers, and what follows, sees the new table */
		int ok = swap_in(d, "refreshed dataset rejected");
		/* the hook may rename the table's files: it runs on the loop, the only reader */
		r->hook(d, ok ? d->table : NULL, ok, r->err);
		if (ok)
			log_table(d, "table refreshed");
		if (r->waiters || r->again) {
			/* a reload asked for meanwhile */
			r->again = 0;
			if (!r->waiters) {
				r->waiters = r->next_waiters;
				r->next_waiters = NULL;
			}
			if (d->draining || launch(d) < 0) {
				struct rasnd_slot *w = r->waiters;
				r->waiters = NULL;
				answer(w, 0, d, "shutting down");
			}
		}
		notify_serving(d);
		rasnd_server_maybe_exit(d);
		return;
	}
	if (swap_in(d, "reload failed")) {
		log_table(d, "table reloaded");
		answer(waiters, 1, d, NULL);
	} else {
		answer(waiters, 0, d, r->err);
	}
	if (r->again && !d->draining) {
		r->again = 0;
		r->waiters = r->next_waiters;
		r->next_waiters = NULL;
		if (launch(d) < 0) {
			struct rasnd_slot *w = r->waiters;
			r->waiters = NULL;
			answer(w, 0, d, "cannot start a worker thread");
		}
	} else if (r->next_waiters) {
		struct rasnd_slot *w = r->next_waiters;
		r->next_waiters = NULL;
		r->again = 0;
		answer(w, 0, d, "shutting down");
	}
	notify_serving(d);
	rasnd_server_maybe_exit(d);
}

int rasnd_reload_init(struct rasnd *d)
{
	d->reload.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->reload.efd < 0)
		return -errno;
	d->reload.ev = event_new(d->base, d->reload.efd, EV_READ | EV_PERSIST, reload_done, d);
	if (!d->reload.ev || event_add(d->reload.ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void rasnd_reload_free(struct rasnd *d)
{
	struct rasnd_reload *r = &d->reload;
	if (r->running) {
		pthread_join(r->thread, NULL);
		r->running = 0;
		if (r->result)
			rasn_table_unref(r->result);
		free_paths(r);
	}
	join_snap_writer(r);
	if (r->ev)
		event_free(r->ev);
	if (r->efd >= 0)
		close(r->efd);
}

void rasnd_reload_start(struct rasnd *d, struct rasnd_slot *slot)
{
	struct rasnd_reload *r = &d->reload;
	if (r->running) {
		/* The files may have changed after the running reload opened them: run once more. */
		r->again = 1;
		if (slot) {
			slot->next_waiter = r->next_waiters;
			r->next_waiters = slot;
		}
		return;
	}
	if (slot) {
		slot->next_waiter = r->waiters;
		r->waiters = slot;
	}
	int rc = launch(d);
	if (rc < 0) {
		struct rasnd_slot *w = r->waiters;
		r->waiters = NULL;
		log_err("cannot start a reload: %s", strerror(-rc));
		answer(w, 0, d, "cannot start a worker thread");
	}
}
