/* One client connection and its reply slots (session.c). */
#ifndef RASND_SESSION_H
#define RASND_SESSION_H

#include <stddef.h>

#include "rasnd.h"

void rasnd_session_new(struct rasnd *d, int fd);
/* Close the client that has been quiet longest with nothing pending (to admit a new one).
 * Returns 1 if one was closed, 0 if every client has work in flight. */
int rasnd_session_evict_idle(struct rasnd *d);
/* Arm or re-arm the [server] idle_timeout sweep (after a config read). */
void rasnd_session_idle_arm(struct rasnd *d);
/* Ask for the freed memory to be given back to the system shortly (after a burst). */
void rasnd_session_trim_soon(struct rasnd *d);
/* The loop-wide parts (read buffer, timers), at exit. */
void rasnd_session_free_all(struct rasnd *d);
/* Has this pass over the client's lines produced or spent enough (output_high_water of
 * unread replies, or its time budget)? The rest of its lines wait for a later pass. */
int rasnd_session_pass_over(const struct rasnd_session *s);
void rasnd_session_close(struct rasnd_session *s);
struct rasn_buf *rasnd_session_outbuf(struct rasnd_session *s);
/* A reply slot that completes later. A barrier holds back the session's later requests
 * until it completes (reload: what follows must see the new table). */
struct rasnd_slot *rasnd_session_slot(struct rasnd_session *s, const char *q, size_t qlen, int barrier);
void rasnd_slot_complete(struct rasnd_slot *slot);
void rasnd_session_drain_check(struct rasnd_session *s);
/* No more lines are parsed for now: a barrier is pending, or the client has as many
 * answers outstanding as [server] max_pending allows (upstream work stays bounded). */
int rasnd_session_stalled(const struct rasnd_session *s);

#endif
