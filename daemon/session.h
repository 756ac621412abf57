/* One client connection and its reply slots (session.c). */
#ifndef RASND_SESSION_H
#define RASND_SESSION_H

#include <stddef.h>

#include "rasnd.h"

void rasnd_session_new(struct rasnd *d, int fd);
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
