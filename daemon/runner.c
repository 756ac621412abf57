/* The order runner: walks [lookup] order for an address or AS lookup, one source after the
 * other, through the continuation of struct rasnd_lookup (daemon/source.h). The hand-on and
 * the enrichment rule live here and nowhere else:
 *   - a source that has no answer or fails hands on to the next position; the last one's
 *     reply (answer, not_found or error) is the reply;
 *   - a source whose `enriches` names the source just before it (Cymru after the table) is
 *     asked first; then the source before it answers with its fields added; when that one has
 *     nothing, the enricher's own reply stands (and hands on as any other). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "reply.h"
#include "special.h"
#include "runner.h"
#include "session.h"

/* The registry. A source is one file (daemon/srcNAME.c) defining its struct rasnd_source; its
 * id is its place here (config.h's RASND_SRC_ values name the first three). */
extern const struct rasnd_source rasnd_source_table, rasnd_source_cymru, rasnd_source_ripestat;
static const struct rasnd_source *const registry[] = {
	NULL, /* ids start at 1: 0 is "none" in [lookup] order */
	&rasnd_source_table,
	&rasnd_source_cymru,
	&rasnd_source_ripestat,
};
#define N_SOURCES (sizeof(registry) / sizeof(registry[0]) - 1)
_Static_assert(N_SOURCES <= RASND_ORDER_MAX, "[lookup] order holds each source once");

size_t rasnd_sources_n(void)
{
	return N_SOURCES;
}

const struct rasnd_source *rasnd_source(int id)
{
	return id >= 1 && (size_t)id <= N_SOURCES ? registry[id] : NULL;
}

int rasnd_source_find(const char *name, size_t len)
{
	for (size_t i = 1; i <= N_SOURCES; i++)
		if (strlen(registry[i]->name) == len && strncasecmp(registry[i]->name, name, len) == 0)
			return (int)i;
	return 0;
}

void rasnd_sources_init(struct rasnd *d)
{
	char err[1024];
	for (size_t i = 1; i <= N_SOURCES; i++)
		if (registry[i]->init && registry[i]->init(d, err, sizeof(err)) < 0)
			log_warn("%s: source %s is off", err, registry[i]->name);
}

void rasnd_sources_free(struct rasnd *d)
{
	for (size_t i = N_SOURCES; i >= 1; i--)
		if (registry[i]->free)
			registry[i]->free(d);
}

int rasnd_order_next(const struct rasnd_config *c, int pos)
{
	return pos + 1 < c->order_n ? pos + 1 : -1;
}

/* Does the source at pos + 1 enrich the one at pos? */
static int enriched_at(const struct rasnd_config *c, int pos, int kind)
{
	int next = rasnd_order_next(c, pos);
	const struct rasnd_source *y = next >= 0 ? rasnd_source(c->order_src[next]) : NULL;
	return y && y->enriches && y->enriches == c->order_src[pos] && (y->order & kind);
}

int rasnd_order_table_alone(const struct rasnd_config *c, int pos)
{
	return pos < c->order_n && c->order_src[pos] == RASND_SRC_TABLE && !enriched_at(c, pos, RASND_ANS_IP);
}

int rasnd_order_special(struct rasnd *d, struct rasn_buf *b, const struct rasn_addr *a, const char *q, size_t qlen)
{
	const struct rasn_special *sp = rasn_special_lookup(a);
	if (!sp)
		return 0;
	d->stats.special++;
	rasn_reply_ip_special(b, q, qlen, a, sp->reason, "special");
	return 1;
}

enum { ASK_SOURCE, ASK_ENRICHER, ASK_ENRICHED };

static void on_done(struct rasnd_lookup *lk, enum rasnd_found found);

static void ask(const struct rasnd_source *src, struct rasnd_lookup *lk)
{
	void (*fn)(struct rasnd_lookup *) = lk->kind == RASND_ANS_IP ? src->ip : src->as;
	if (!fn || (!(src->order & lk->kind) && lk->pos >= 0)) {
		struct rasnd_slot *slot = lk->slot;
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, lk->kind == RASND_ANS_IP ? "ip" : "as",
				 src->asked_error ? src->asked_error : "the source does not answer this");
		on_done(lk, RASND_FAILED);
		return;
	}
	fn(lk);
}

/* Ask the source at lk->pos (or its enricher first). */
static void step(struct rasnd_lookup *lk)
{
	const struct rasnd_config *c = &lk->d->cfg;
	lk->mark = lk->slot->reply.len;
	lk->has_extra = 0;
	if (enriched_at(c, lk->pos, lk->kind)) {
		lk->phase = ASK_ENRICHER;
		lk->enrich = 1;
		ask(rasnd_source(c->order_src[lk->pos + 1]), lk);
		return;
	}
	lk->phase = ASK_SOURCE;
	lk->enrich = 0;
	ask(rasnd_source(c->order_src[lk->pos]), lk);
}

static void on_done(struct rasnd_lookup *lk, enum rasnd_found found)
{
	const struct rasnd_config *c = &lk->d->cfg;
	struct rasnd_slot *slot = lk->slot;
	struct rasn_buf *b = &slot->reply;
	if (lk->phase == ASK_ENRICHER) {
		/* the enricher's reply stays in [mark, enricher_end); the enriched source writes after
		 * it, with the enricher's fields when it found something */
		lk->phase = ASK_ENRICHED;
		lk->enricher_found = found;
		lk->enricher_end = b->len;
		lk->has_extra = lk->has_extra && found == RASND_FOUND;
		lk->enrich = 0;
		ask(rasnd_source(c->order_src[lk->pos]), lk);
		return;
	}
	if (lk->phase == ASK_ENRICHED) {
		if (found == RASND_FOUND) {
			if (!b->oom) {
				memmove(b->data + lk->mark, b->data + lk->enricher_end, b->len - lk->enricher_end);
				b->len -= lk->enricher_end - lk->mark;
			}
			goto complete;
		}
		/* the enriched source has nothing: the enricher's reply, from the enricher's place */
		if (!b->oom)
			b->len = lk->enricher_end;
		found = lk->enricher_found;
		lk->pos++;
	}
	if (found != RASND_FOUND && lk->pos >= 0 && rasnd_order_next(c, lk->pos) >= 0) {
		if (!b->oom)
			b->len = lk->mark; /* the next source's reply instead */
		lk->pos++;
		step(lk);
		return;
	}
complete:
	free(lk);
	rasnd_slot_complete(slot);
}

static struct rasnd_lookup *lookup_new(struct rasnd *d, struct rasnd_slot *slot, int kind, int pos)
{
	struct rasnd_lookup *lk = calloc(1, sizeof(*lk));
	if (!lk) {
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, kind == RASND_ANS_IP ? "ip" : "as",
				 "out of memory");
		rasnd_slot_complete(slot);
		return NULL;
	}
	lk->d = d;
	lk->slot = slot;
	lk->kind = kind;
	lk->pos = pos;
	lk->done = on_done;
	return lk;
}

/* pos is past the order's end only when a caller asks the table after it (an empty order
 * cannot be configured): the table then answers. */
static void run(struct rasnd_lookup *lk)
{
	if (lk->pos >= lk->d->cfg.order_n) {
		lk->pos = -1;
		lk->phase = ASK_SOURCE;
		ask(rasnd_source(RASND_SRC_TABLE), lk);
		return;
	}
	step(lk);
}

void rasnd_order_ip(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int pos)
{
	struct rasnd_lookup *lk = lookup_new(d, slot, RASND_ANS_IP, pos);
	if (!lk)
		return;
	lk->addr = *a;
	run(lk);
}

void rasnd_order_as(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, int pos)
{
	struct rasnd_lookup *lk = lookup_new(d, slot, RASND_ANS_AS, pos);
	if (!lk)
		return;
	lk->asn = asn;
	run(lk);
}

void rasnd_source_ip(struct rasnd *d, struct rasnd_slot *slot, int id, const struct rasn_addr *a)
{
	struct rasnd_lookup *lk = lookup_new(d, slot, RASND_ANS_IP, -1);
	if (!lk)
		return;
	lk->addr = *a;
	lk->phase = ASK_SOURCE;
	ask(rasnd_source(id), lk);
}

void rasnd_source_as(struct rasnd *d, struct rasnd_slot *slot, int id, uint32_t asn)
{
	struct rasnd_lookup *lk = lookup_new(d, slot, RASND_ANS_AS, -1);
	if (!lk)
		return;
	lk->asn = asn;
	lk->phase = ASK_SOURCE;
	ask(rasnd_source(id), lk);
}
