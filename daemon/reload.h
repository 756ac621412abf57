/* Building a table off the loop: reload, the start-up load and its snapshot (reload.c). */
#ifndef RASND_RELOAD_H
#define RASND_RELOAD_H

#include <stddef.h>

#include "rasnd.h"

int rasnd_reload_init(struct rasnd *d);
void rasnd_reload_free(struct rasnd *d);
/* Start a reload (or queue one after the running one); slot may be NULL (SIGHUP). */
void rasnd_reload_start(struct rasnd *d, struct rasnd_slot *slot);
/* Build a table from these files (copied) off the loop; on the loop, check(d, table) (NULL:
 * none) may refuse a table that built (nonzero, with err), then the table is swapped in (if
 * it built and was not refused) and done(d, table or NULL, ok, err) runs (it may rename the
 * table's files); no reload slot is answered. Returns 0, -EBUSY (a reload is running) or
 * -ENOMEM. */
int rasnd_reload_start_files(struct rasnd *d, char *const *paths, size_t n,
			     int (*check)(struct rasnd *d, const struct rasn_table *t, char *err, size_t errlen),
			     void (*done)(struct rasnd *d, struct rasn_table *t, int ok, const char *err));
/* Synchronous load at start-up. Returns 0 or -1 with err. */
int rasnd_load_initial(struct rasnd *d, char *err, size_t errlen);

/* READY=1 with a STATUS line describing the table (sd_notify). */
void rasnd_notify_ready(struct rasnd *d);

#endif
