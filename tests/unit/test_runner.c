/* Unit tests for daemon/runner.c: the walk of [lookup] order (hand-on, the last source's reply,
 * enrichment of the table by the source after it, one source asked by name), with the real
 * table source (daemon/srctable.c) over a small table and two scripted sources in place of
 * Team Cymru and RIPEstat, answering at once or later. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "reply.h"
#include "runner.h"
#include "session.h"

/* ---- what the runner links against: the slot's completion and the logger ---- */

static int completed;

void rasnd_slot_complete(struct rasnd_slot *slot)
{
	slot->done = 1;
	completed++;
}

void rasnd_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

/* ---- scripted sources: what each answers next, now or later ---- */

struct script {
	enum rasnd_found found;
	int later;                  /* answer when the test says (run_later), not inside the call */
	int asked;                  /* times asked */
	int asked_enrich;           /* of which as an enricher */
	struct rasnd_lookup *pending;
};

static struct script cymru_script, ripe_script;

static void answer(const char *name, struct script *sc, struct rasnd_lookup *lk)
{
	struct rasn_buf *b = &lk->slot->reply;
	static const char *const words[] = { "found", "none", "failed" };
	rasn_buf_printf(b, "%s:%s\n", name, words[sc->found]);
	if (sc->found == RASND_FOUND && !strcmp(name, "cymru")) {
		lk->has_extra = 1;
		snprintf(lk->cc, sizeof(lk->cc), "ZZ");
		snprintf(lk->registry, sizeof(lk->registry), "arin");
		snprintf(lk->allocated, sizeof(lk->allocated), "2000-01-01");
	}
	rasnd_lookup_done(lk, sc->found);
}

static void ask(const char *name, struct script *sc, struct rasnd_lookup *lk)
{
	sc->asked++;
	sc->asked_enrich += lk->enrich;
	if (sc->later) {
		assert_null(sc->pending);
		sc->pending = lk;
		return;
	}
	answer(name, sc, lk);
}

static void run_later(const char *name, struct script *sc)
{
	struct rasnd_lookup *lk = sc->pending;
	assert_non_null(lk);
	sc->pending = NULL;
	sc->later = 0;
	answer(name, sc, lk);
}

static void cymru_ask(struct rasnd_lookup *lk)
{
	ask("cymru", &cymru_script, lk);
}

static void ripe_ask(struct rasnd_lookup *lk)
{
	ask("ripestat", &ripe_script, lk);
}

const struct rasnd_source rasnd_source_cymru = {
	.name = "cymru", .order = RASND_ANS_IP | RASND_ANS_AS, .asked = RASND_ANS_IP | RASND_ANS_AS,
	.asked_error = "@cymru answers addresses and AS numbers",
	.ip = cymru_ask, .as = cymru_ask, .enriches = RASND_SRC_TABLE,
};
const struct rasnd_source rasnd_source_ripestat = {
	.name = "ripestat", .order = RASND_ANS_IP | RASND_ANS_AS, .asked = RASND_ANS_IP | RASND_ANS_AS,
	.ip = ripe_ask, .as = ripe_ask,
};

/* ---- fixture ---- */

static struct rasnd d;

static int setup(void **state)
{
	static const char csv[] = "8.8.8.0,8.8.8.255,15169,Google LLC\n";
	struct rasn_table_builder *b = rasn_table_builder_new(NULL);
	char err[256];
	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(rasn_table_builder_add_buffer(b, "t", csv, strlen(csv), RASN_DS_AUTO, err, sizeof(err)), 0);
	assert_int_equal(rasn_table_build(b, &d.table, err, sizeof(err)), 0);
	rasn_table_builder_free(b);
	memset(&cymru_script, 0, sizeof(cymru_script));
	memset(&ripe_script, 0, sizeof(ripe_script));
	completed = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rasn_table_unref(d.table);
	return 0;
}

static void order(int a, int b, int c)
{
	int v[] = { a, b, c };
	d.cfg.order_n = 0;
	for (int i = 0; i < 3 && v[i]; i++)
		d.cfg.order_src[d.cfg.order_n++] = v[i];
}

static struct rasnd_slot *slot_for(const char *q)
{
	struct rasnd_slot *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	rasn_buf_init(&s->reply);
	s->qlen = strlen(q);
	memcpy(s->query, q, s->qlen);
	return s;
}

/* The reply of an address lookup through the order from position 0, once complete. */
static char *ip(const char *q)
{
	struct rasnd_slot *s = slot_for(q);
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse(q, strlen(q), &a), 0);
	rasnd_order_ip(&d, s, &a, 0);
	assert_true(s->done);
	rasn_buf_addc(&s->reply, '\0');
	char *r = strdup(s->reply.data);
	rasn_buf_free(&s->reply);
	free(s);
	return r;
}

#define TABLE_8888 "{\"query\":\"8.8.8.8\",\"type\":\"ip\",\"status\":\"ok\",\"ip\":\"8.8.8.8\",\"asn\":15169," \
	"\"as_name\":\"Google LLC\",\"prefix\":\"8.8.8.0/24\",\"first_ip\":\"8.8.8.0\",\"last_ip\":\"8.8.8.255\""
#define TABLE_MISS "{\"query\":\"9.9.9.9\",\"type\":\"ip\",\"status\":\"not_found\",\"ip\":\"9.9.9.9\",\"source\":\"table\"}\n"

static void check(char *got, const char *want)
{
	assert_string_equal(got, want);
	free(got);
}

/* The table alone answers what it holds and what it lacks. */
static void test_table_alone(void **state)
{
	(void)state;
	order(RASND_SRC_TABLE, 0, 0);
	check(ip("8.8.8.8"), TABLE_8888 ",\"source\":\"table\"}\n");
	check(ip("9.9.9.9"), TABLE_MISS);
	assert_int_equal(d.stats.table_hits, 1);
	assert_int_equal(d.stats.table_misses, 1);
	assert_int_equal(completed, 2);
}

/* Not found and failures hand on; the last source's reply is the reply, the others' dropped. */
static void test_hand_on(void **state)
{
	(void)state;
	order(RASND_SRC_CYMRU, RASND_SRC_RIPE, RASND_SRC_TABLE);
	cymru_script.found = RASND_NONE;
	ripe_script.found = RASND_FAILED;
	check(ip("8.8.8.8"), TABLE_8888 ",\"source\":\"table\"}\n");
	cymru_script.found = RASND_FAILED;
	ripe_script.found = RASND_FOUND;
	check(ip("9.9.9.9"), "ripestat:found\n");
	order(RASND_SRC_CYMRU, RASND_SRC_RIPE, 0);
	ripe_script.found = RASND_FAILED;
	check(ip("9.9.9.9"), "ripestat:failed\n");
	ripe_script.found = RASND_NONE;
	check(ip("9.9.9.9"), "ripestat:none\n");
	assert_int_equal(cymru_script.asked, 4);
	assert_int_equal(ripe_script.asked, 4);
	assert_int_equal(cymru_script.asked_enrich, 0);
	/* a source that answers is the last one asked */
	order(RASND_SRC_RIPE, RASND_SRC_CYMRU, 0);
	ripe_script.found = RASND_FOUND;
	check(ip("9.9.9.9"), "ripestat:found\n");
	assert_int_equal(cymru_script.asked, 4);
}

/* "table cymru": Cymru is asked first; the table answers with Cymru's fields (its own country
 * first); what the table lacks, Cymru answers, and hands on when it has nothing. */
static void test_enrich(void **state)
{
	(void)state;
	order(RASND_SRC_TABLE, RASND_SRC_CYMRU, 0);
	cymru_script.found = RASND_FOUND;
	check(ip("8.8.8.8"),
	      TABLE_8888 ",\"cc\":\"ZZ\",\"registry\":\"arin\",\"allocated\":\"2000-01-01\",\"source\":\"table\"}\n");
	assert_int_equal(cymru_script.asked_enrich, 1);
	cymru_script.found = RASND_FAILED;
	check(ip("8.8.8.8"), TABLE_8888 ",\"source\":\"table\"}\n");
	cymru_script.found = RASND_FOUND;
	check(ip("9.9.9.9"), "cymru:found\n");
	cymru_script.found = RASND_NONE;
	check(ip("9.9.9.9"), "cymru:none\n");
	order(RASND_SRC_TABLE, RASND_SRC_CYMRU, RASND_SRC_RIPE);
	ripe_script.found = RASND_FOUND;
	check(ip("9.9.9.9"), "ripestat:found\n");
	cymru_script.found = RASND_FOUND;
	check(ip("9.9.9.9"), "cymru:found\n");
	assert_int_equal(ripe_script.asked, 1);
	assert_true(rasnd_order_table_alone(&d.cfg, 0) == 0);
	order(RASND_SRC_TABLE, RASND_SRC_RIPE, RASND_SRC_CYMRU);
	assert_true(rasnd_order_table_alone(&d.cfg, 0));
	order(RASND_SRC_CYMRU, RASND_SRC_TABLE, 0);
	assert_false(rasnd_order_table_alone(&d.cfg, 0));
}

/* Answers that come later: the slot completes then, not before; the table is looked up when
 * Cymru's answer comes. */
static void test_later(void **state)
{
	(void)state;
	order(RASND_SRC_TABLE, RASND_SRC_CYMRU, RASND_SRC_RIPE);
	cymru_script.found = RASND_NONE;
	cymru_script.later = 1;
	ripe_script.found = RASND_FOUND;
	ripe_script.later = 1;
	struct rasnd_slot *s = slot_for("9.9.9.9");
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse("9.9.9.9", 7, &a), 0);
	rasnd_order_ip(&d, s, &a, 0);
	assert_false(s->done);
	assert_int_equal(d.stats.table_misses, 0); /* not yet: after Cymru's answer */
	run_later("cymru", &cymru_script);
	assert_false(s->done);
	assert_int_equal(d.stats.table_misses, 1);
	run_later("ripestat", &ripe_script);
	assert_true(s->done);
	rasn_buf_addc(&s->reply, '\0');
	assert_string_equal(s->reply.data, "ripestat:found\n");
	rasn_buf_free(&s->reply);
	free(s);
}

/* AS numbers: the same walk; Cymru's fields on the table's AS answer. */
static void test_as(void **state)
{
	(void)state;
	order(RASND_SRC_TABLE, RASND_SRC_CYMRU, 0);
	cymru_script.found = RASND_FOUND;
	struct rasnd_slot *s = slot_for("AS15169");
	rasnd_order_as(&d, s, 15169, 0);
	assert_true(s->done);
	rasn_buf_addc(&s->reply, '\0');
	assert_non_null(strstr(s->reply.data, "\"as_name\":\"Google LLC\""));
	assert_non_null(strstr(s->reply.data, ",\"cc\":\"ZZ\",\"registry\":\"arin\",\"allocated\":\"2000-01-01\",\"source\":\"table\"}\n"));
	rasn_buf_free(&s->reply);
	rasn_buf_init(&s->reply);
	s->done = 0;
	rasnd_order_as(&d, s, 64999, 0);
	rasn_buf_addc(&s->reply, '\0');
	assert_string_equal(s->reply.data, "cymru:found\n");
	rasn_buf_free(&s->reply);
	free(s);
}

/* AS lookups hand on as addresses do; a position past the order's end is the table's. */
static void test_as_hand_on(void **state)
{
	(void)state;
	order(RASND_SRC_RIPE, RASND_SRC_CYMRU, RASND_SRC_TABLE);
	ripe_script.found = RASND_FAILED;
	cymru_script.found = RASND_NONE;
	struct rasnd_slot *s = slot_for("AS15169");
	rasnd_order_as(&d, s, 15169, 0);
	assert_true(s->done);
	rasn_buf_addc(&s->reply, '\0');
	assert_non_null(strstr(s->reply.data, "\"as_name\":\"Google LLC\""));
	assert_non_null(strstr(s->reply.data, "\"source\":\"table\"}\n"));
	assert_null(strstr(s->reply.data, "ripestat:"));
	assert_int_equal(ripe_script.asked, 1);
	assert_int_equal(cymru_script.asked, 1);
	rasn_buf_free(&s->reply);
	rasn_buf_init(&s->reply);
	s->done = 0;
	rasnd_order_as(&d, s, 64999, 3); /* past the end: the table answers, nobody else */
	assert_true(s->done);
	rasn_buf_addc(&s->reply, '\0');
	assert_non_null(strstr(s->reply.data, "\"status\":\"not_found\""));
	assert_int_equal(ripe_script.asked, 1);
	rasn_buf_free(&s->reply);
	free(s);
}

/* "QUERY @name": that source's reply, whatever the order says. */
static void test_by_name(void **state)
{
	(void)state;
	order(RASND_SRC_TABLE, RASND_SRC_CYMRU, RASND_SRC_RIPE);
	cymru_script.found = RASND_NONE;
	struct rasnd_slot *s = slot_for("8.8.8.8");
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse("8.8.8.8", 7, &a), 0);
	rasnd_source_ip(&d, s, RASND_SRC_CYMRU, &a);
	assert_true(s->done);
	rasn_buf_addc(&s->reply, '\0');
	assert_string_equal(s->reply.data, "cymru:none\n");
	assert_int_equal(ripe_script.asked, 0);
	assert_int_equal(cymru_script.asked_enrich, 0);
	rasn_buf_free(&s->reply);
	free(s);
	assert_int_equal(rasnd_source_find("RIPEstat", 8), RASND_SRC_RIPE);
	assert_int_equal(rasnd_source_find("nope", 4), 0);
	assert_int_equal(rasnd_sources_n(), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hand_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrich, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_as, setup, teardown),
		cmocka_unit_test_setup_teardown(test_as_hand_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_by_name, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
