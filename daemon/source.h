/* The source interface: what the order runner (daemon/runner.c) knows of a source of answers
 * (the table, Team Cymru, RIPEstat). A source answers a lookup into the lookup's slot and then
 * calls the lookup's continuation; it never calls the runner or the dispatcher itself: whether
 * its "not found" is the reply or the next source is asked is the runner's business. */
#ifndef RASND_SOURCE_H
#define RASND_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "rasnd.h"

struct rasnd_upstream;

/* What a source answers (struct rasnd_source's `order` and `asked`). */
enum {
	RASND_ANS_IP = 1,
	RASND_ANS_AS = 2,
	RASND_ANS_PREFIXES = 4,
	RASND_ANS_ORG = 8,
	RASND_ANS_DOMAIN = 16,  /* "domain NAME @name": each address of the name from this source */
};

/* How a source's lookup ended (the continuation's argument). */
enum rasnd_found {
	RASND_FOUND = 0,    /* an answer: the reply in the slot is it */
	RASND_NONE = 1,     /* not found */
	RASND_FAILED = 2,   /* an error (timeout, circuit open, malformed answer, ...) */
};

/* One address or AS lookup walking [lookup] order. The source writes its whole reply (answer,
 * not_found or error) into slot->reply, fills `extra` when it has enrichment fields, and calls
 * done() exactly once, now or later. The runner may drop that reply and go on. */
struct rasnd_lookup {
	struct rasnd *d;
	struct rasnd_slot *slot;
	int kind;                     /* RASND_ANS_IP or RASND_ANS_AS */
	struct rasn_addr addr;        /* RASND_ANS_IP */
	uint32_t asn;                 /* RASND_ANS_AS */
	int pos;                      /* this source's position in the order; -1: asked by @name */
	int enrich;                   /* asked as an enricher: fill extra too (struct rasnd_source) */
	size_t mark;                  /* slot->reply's length before this source wrote */
	/* enrichment fields of the answer (Cymru's); has_extra 0: none */
	int has_extra;
	char cc[3], registry[16], allocated[11];
	void (*done)(struct rasnd_lookup *lk, enum rasnd_found found);
	/* the runner's own state (daemon/runner.c) */
	int phase;
	enum rasnd_found enricher_found;
	size_t enricher_end;
};

/* The continuation: a source's last word on lk (lk may be freed by it). */
static inline void rasnd_lookup_done(struct rasnd_lookup *lk, enum rasnd_found found)
{
	lk->done(lk, found);
}

struct rasnd_source {
	const char *name;             /* the [lookup] order token and the @NAME of a request */
	unsigned order;               /* what it answers in [lookup] order: RASND_ANS_IP | _AS */
	unsigned asked;               /* what "QUERY @name" may ask it */
	const char *asked_error;      /* the error reply for anything else asked with @name */
	const char *help;             /* its entry in `help`: "name (what it answers asked alone)" */
	/* set-up and teardown on the loop's thread (NULL: none); a failed init leaves the source
	 * answering errors, the daemon runs on */
	int (*init)(struct rasnd *d, char *err, size_t errlen);
	void (*free)(struct rasnd *d);
	/* lookups: address and AS through struct rasnd_lookup; prefixes and org into a slot that
	 * the source completes */
	void (*ip)(struct rasnd_lookup *lk);
	void (*as)(struct rasnd_lookup *lk);
	void (*prefixes)(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn);
	void (*org)(struct rasnd *d, struct rasnd_slot *slot, const char *text, size_t len);
	/* stats (daemon/stats.c): its upstream (NULL: none) and the requests it sent */
	struct rasnd_upstream *(*upstream)(const struct rasnd *d);
	uint64_t (*sent)(const struct rasnd *d);
	const char *sent_help;
	/* enrichment: when this source follows source `enriches` (a RASND_SRC_ id, 0: none) in
	 * the order, the runner asks it first, then that source, which adds this one's `extra`
	 * fields to its answer; what that source lacks, this one answers */
	int enriches;
};

#endif
