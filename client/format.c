/* Reply formatting for the rasn client (see format.h). Replies are parsed with jansson, except
 * in --json mode, where the line is copied through and only its status is scanned. Text that
 * reaches a terminal or a pipe-separated row is cleaned of control characters, so an AS name
 * in a dataset cannot move the cursor or split a row. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "format.h"

/* One thread writes stdout: skip stdio's per-call locking on this per-character path. */
#define fputc(c, f) putc_unlocked((c), (f))
#define fputs(s, f) fputs_unlocked((s), (f))
#define fwrite(p, sz, n, f) fwrite_unlocked((p), (sz), (n), (f))

/* Initial human column widths: an IPv4 address, an ASN, an IPv4 prefix. They grow to the
 * widest value seen so far, so IPv6 rows line up after the first one. */
#define W_IP 15
#define W_ASN 6
#define W_PREFIX 18

struct rasn_format {
	enum rasn_format_kind kind;
	FILE *f;
	int w_ip, w_asn, w_prefix;
	bool ip_header, cc_col;          /* human: header printed; CC column chosen */
	bool cymru_ip_hdr, cymru_as_hdr; /* cymru: each header once, as rasnd's bulk mode does */
};

struct rasn_format *rasn_format_new(enum rasn_format_kind kind, FILE *f)
{
	struct rasn_format *fm = calloc(1, sizeof(*fm));
	if (!fm)
		return NULL;
	fm->kind = kind;
	fm->f = f;
	fm->w_ip = W_IP;
	fm->w_asn = W_ASN;
	fm->w_prefix = W_PREFIX;
	return fm;
}

void rasn_format_free(struct rasn_format *fm)
{
	free(fm);
}

/* --- small helpers ------------------------------------------------------------------------ */

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jint(const json_t *o, const char *key, json_int_t *out)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static enum rasn_reply_class class_of(const char *status)
{
	if (status && !strcmp(status, "ok"))
		return RASN_REPLY_OK;
	if (status && !strcmp(status, "not_found"))
		return RASN_REPLY_NOT_FOUND;
	return RASN_REPLY_ERROR;
}

/* Write s with control characters (C0, DEL, and C1 as UTF-8) shown as '?'; keep_nl keeps
 * newlines and tabs (multi-line help text). Returns the bytes written. */
static size_t put_clean(FILE *f, const char *s, bool keep_nl)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	for (; *p; p++, n++) {
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fputc('?', f);
			p++;
		} else if ((*p < 0x20 && !(keep_nl && (*p == '\n' || *p == '\t'))) || *p == 0x7f) {
			fputc('?', f);
		} else {
			fputc(*p, f);
		}
	}
	return n;
}

/* s cleaned, then spaces up to width w (display width taken as bytes: these columns are
 * addresses, numbers and country codes). */
static void put_pad(FILE *f, const char *s, int w)
{
	size_t n = put_clean(f, s, false);
	for (; (int)n < w; n++)
		fputc(' ', f);
}

static void widen(int *w, const char *s)
{
	size_t n = strlen(s);
	if (n > (size_t)*w && n < 256)
		*w = (int)n;
}

/* Text of a scalar member for CSV and rows: strings as they are, integers in decimal into
 * buf. NULL when absent or not a scalar. */
static const char *scalar_text(const json_t *v, char *buf, size_t n)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, n, "%.15g", json_real_value(v));
		return buf;
	}
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	return NULL;
}

/* --- human: a readable tree for stats and anything without a dedicated form ---------------- */

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static void put_scalar(FILE *f, const json_t *v)
{
	char num[40];
	const char *s = scalar_text(v, num, sizeof(num));
	put_clean(f, s ? s : "null", false);
}

static bool all_scalar(const json_t *a)
{
	size_t i;
	const json_t *v;
	json_array_foreach(a, i, v) {
		if (!is_scalar(v))
			return false;
	}
	return true;
}

static bool skipped(const char *key, const char *const *skip)
{
	for (; skip && *skip; skip++) {
		if (!strcmp(key, *skip))
			return true;
	}
	return false;
}

/* One "key: value" line per member; nested objects indented; arrays of scalars on one line;
 * an array's objects as "- " items. inline_first: the first line's indent is already written. */
static void put_tree(FILE *f, const json_t *v, int indent, const char *const *skip,
		     bool inline_first)
{
	if (indent > 40)   /* a reply nested this deep is not worth drawing */
		return;
	if (json_is_object(v)) {
		const char *key;
		json_t *x;
		json_object_foreach((json_t *)v, key, x) {
			if (skipped(key, skip))
				continue;
			if (!inline_first)
				fprintf(f, "%*s", indent, "");
			inline_first = false;
			put_clean(f, key, false);
			fputc(':', f);
			if (is_scalar(x)) {
				fputc(' ', f);
				put_scalar(f, x);
				fputc('\n', f);
			} else if (json_is_array(x) && all_scalar(x)) {
				size_t i;
				json_t *e;
				if (json_array_size(x) == 0)
					fputs(" (none)", f);
				json_array_foreach(x, i, e) {
					fputs(i ? ", " : " ", f);
					put_scalar(f, e);
				}
				fputc('\n', f);
			} else {
				fputc('\n', f);
				put_tree(f, x, indent + 2, NULL, false);
			}
		}
		if (inline_first)       /* an empty object after "- " */
			fputs("{}\n", f);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!inline_first)
				fprintf(f, "%*s", indent, "");
			inline_first = false;
			fputs("- ", f);
			if (is_scalar(e)) {
				put_scalar(f, e);
				fputc('\n', f);
			} else {
				put_tree(f, e, indent + 2, NULL, true);
			}
		}
		if (inline_first)
			fputs("[]\n", f);
	} else {
		if (!inline_first)
			fprintf(f, "%*s", indent, "");
		put_scalar(f, v);
		fputc('\n', f);
	}
}

/* --- human ---------------------------------------------------------------------------------- */

/* The ASN column: "15169", or every origin "15169,36040" when a prefix has several. */
static void asn_text(const json_t *r, char *buf, size_t n)
{
	const json_t *origins = json_object_get(r, "origins");
	json_int_t asn;
	buf[0] = '\0';
	if (json_is_array(origins) && json_array_size(origins) > 1) {
		size_t i, len = 0;
		json_t *e;
		json_array_foreach(origins, i, e) {
			json_int_t a;
			if (json_is_integer(e))
				a = json_integer_value(e);
			else if (!jint(e, "asn", &a))
				continue;
			int w = snprintf(buf + len, n - len, "%s%" JSON_INTEGER_FORMAT, len ? "," : "", a);
			if (w < 0 || (size_t)w >= n - len)
				break;
			len += (size_t)w;
		}
		if (len)
			return;
	}
	if (jint(r, "asn", &asn))
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, asn);
	else
		snprintf(buf, n, "-");
}

static void human_ip(struct rasn_format *fm, const json_t *r, const char *query, bool found)
{
	FILE *f = fm->f;
	const char *ip = jstr(r, "ip");
	const char *prefix = found ? jstr(r, "prefix") : NULL;
	const char *name = jstr(r, "as_name");
	const char *cc = jstr(r, "cc");
	char asn[96];

	if (!ip)
		ip = query;
	if (!prefix)
		prefix = "-";
	if (found)
		asn_text(r, asn, sizeof(asn));
	else
		snprintf(asn, sizeof(asn), "-");
	if (!fm->ip_header) {
		fm->ip_header = true;
		fm->cc_col = cc != NULL;
		put_pad(f, "IP", fm->w_ip);
		fputs("  ", f);
		put_pad(f, "ASN", fm->w_asn);
		fputs("  ", f);
		put_pad(f, "PREFIX", fm->w_prefix);
		fputs(fm->cc_col ? "  CC  AS NAME\n" : "  AS NAME\n", f);
	}
	widen(&fm->w_ip, ip);
	widen(&fm->w_asn, asn);
	widen(&fm->w_prefix, prefix);
	put_pad(f, ip, fm->w_ip);
	fputs("  ", f);
	put_pad(f, asn, fm->w_asn);
	fputs("  ", f);
	put_pad(f, prefix, fm->w_prefix);
	fputs("  ", f);
	if (fm->cc_col) {
		put_pad(f, cc ? cc : "--", 2);
		fputs("  ", f);
	}
	if (!found && jstr(r, "reason")) {
		/* a special-purpose address (private-use, loopback, ...): say which */
		fputs("(not found: ", f);
		put_clean(f, jstr(r, "reason"), false);
		fputc(')', f);
	} else if (!found) {
		fputs("(not found)", f);
	} else {
		put_clean(f, name ? name : "-", false);
	}
	if (!fm->cc_col && cc) {
		fputs(" (", f);
		put_clean(f, cc, false);
		fputc(')', f);
	}
	fputc('\n', f);
}

/* "IPv4: 20 prefixes in 12 ranges, 8960 addresses" from whichever counts the reply has. */
static void human_counts(FILE *f, const json_t *r, const char *fam, const char *sfx, bool *first)
{
	char k_pfx[24], k_rng[24], k_addr[24];
	json_int_t pfx = 0, rng = 0, addr = 0;
	snprintf(k_pfx, sizeof(k_pfx), "prefixes_%s", sfx);
	snprintf(k_rng, sizeof(k_rng), "ranges_%s", sfx);
	snprintf(k_addr, sizeof(k_addr), "addresses_%s", sfx);
	bool hp = jint(r, k_pfx, &pfx), hr = jint(r, k_rng, &rng), ha = jint(r, k_addr, &addr);
	if (!hp && !hr && !ha)
		return;
	fprintf(f, "%s%s:", *first ? "  (" : "; ", fam);
	*first = false;
	if (hp)
		fprintf(f, " %" JSON_INTEGER_FORMAT " prefix%s", pfx, pfx == 1 ? "" : "es");
	if (hr)
		fprintf(f, "%s %" JSON_INTEGER_FORMAT " range%s", hp ? " in" : "", rng, rng == 1 ? "" : "s");
	if (ha)
		fprintf(f, ", %" JSON_INTEGER_FORMAT " address%s", addr, addr == 1 ? "" : "es");
}

static void human_as(struct rasn_format *fm, const json_t *r, const char *query, bool found)
{
	FILE *f = fm->f;
	json_int_t asn;
	if (jint(r, "asn", &asn))
		fprintf(f, "AS%" JSON_INTEGER_FORMAT, asn);
	else
		put_clean(f, query, false);
	if (!found) {
		fputs("  (not found)\n", f);
		return;
	}
	const char *name = jstr(r, "as_name");
	fputs("  ", f);
	put_clean(f, name ? name : "-", false);
	bool first = true;
	human_counts(f, r, "IPv4", "v4", &first);
	human_counts(f, r, "IPv6", "v6", &first);
	if (!first)
		fputc(')', f);
	/* Enrichment, when an upstream gave it. */
	static const char *const extra[] = { "cc", "registry", "allocated" };
	first = true;
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		const char *v = jstr(r, extra[i]);
		if (!v || !*v)
			continue;
		fputs(first ? "  [" : ", ", f);
		first = false;
		put_clean(f, v, false);
	}
	if (!first)
		fputc(']', f);
	fputc('\n', f);
}

static void human_prefixes(struct rasn_format *fm, const json_t *r, const char *query, bool found)
{
	FILE *f = fm->f;
	json_int_t asn;
	const char *name = jstr(r, "as_name");
	const json_t *list = json_object_get(r, "prefixes");
	if (jint(r, "asn", &asn))
		fprintf(f, "AS%" JSON_INTEGER_FORMAT, asn);
	else
		put_clean(f, query, false);
	if (name) {
		fputs("  ", f);
		put_clean(f, name, false);
	}
	if (!found || !json_is_array(list)) {
		fputs(": no announced prefixes\n", f);
		return;
	}
	size_t n = json_array_size(list), i;
	json_t *e;
	fprintf(f, ": %zu prefix%s\n", n, n == 1 ? "" : "es");
	json_array_foreach(list, i, e) {
		fputs("    ", f);
		put_scalar(f, e);
		fputc('\n', f);
	}
}

static void human_org(struct rasn_format *fm, const json_t *r, const char *query, bool found)
{
	FILE *f = fm->f;
	const json_t *list = json_object_get(r, "matches");
	put_clean(f, query, false);
	if (!found || !json_is_array(list)) {
		fputs(": no match\n", f);
		return;
	}
	size_t n = json_array_size(list), i;
	json_t *e;
	fprintf(f, ": %zu match%s%s\n", n, n == 1 ? "" : "es",
		json_is_true(json_object_get(r, "truncated")) ? " (truncated; more exist)" : "");
	json_array_foreach(list, i, e) {
		json_int_t asn;
		char num[32] = "-";
		const char *name = jstr(e, "as_name");
		if (jint(e, "asn", &asn))
			snprintf(num, sizeof(num), "AS%" JSON_INTEGER_FORMAT, asn);
		fputs("    ", f);
		put_pad(f, num, 12);
		fputs("  ", f);
		put_clean(f, name ? name : "-", false);
		fputc('\n', f);
	}
}

static void human_error(struct rasn_format *fm, const json_t *r, const char *query)
{
	const char *err = jstr(r, "error");
	put_pad(fm->f, *query ? query : "\"\"", fm->w_ip);
	fputs("  error: ", fm->f);
	put_clean(fm->f, err ? err : "(no reason given)", false);
	fputc('\n', fm->f);
}

static void human_reply(struct rasn_format *fm, const json_t *r)
{
	static const char *const head[] = { "query", "type", "status", NULL };
	FILE *f = fm->f;
	const char *type = jstr(r, "type");
	const char *status = jstr(r, "status");
	const char *query = jstr(r, "query");
	enum rasn_reply_class cls = class_of(status);
	bool found = cls == RASN_REPLY_OK;
	json_int_t a, b;

	if (!type)
		type = "";
	if (!query)
		query = "";
	if (cls == RASN_REPLY_ERROR) {
		human_error(fm, r, query);
	} else if (!strcmp(type, "ip")) {
		human_ip(fm, r, query, found);
	} else if (!strcmp(type, "as")) {
		human_as(fm, r, query, found);
	} else if (!strcmp(type, "prefixes")) {
		human_prefixes(fm, r, query, found);
	} else if (!strcmp(type, "org")) {
		human_org(fm, r, query, found);
	} else if (!strcmp(type, "ping") && found) {
		const char *v = jstr(r, "version");
		fputs("ping: rasnd", f);
		if (v) {
			fputc(' ', f);
			put_clean(f, v, false);
		}
		fputs(" is alive\n", f);
	} else if (!strcmp(type, "help") && jstr(r, "help")) {
		const char *h = jstr(r, "help");
		size_t n = put_clean(f, h, true);
		if (n == 0 || h[n - 1] != '\n')
			fputc('\n', f);
	} else if (!strcmp(type, "reload") && found && jint(r, "ranges_v4", &a) &&
		   jint(r, "ranges_v6", &b) && json_is_number(json_object_get(r, "ms"))) {
		fprintf(f, "reload: ok, %" JSON_INTEGER_FORMAT " IPv4 and %" JSON_INTEGER_FORMAT
			" IPv6 ranges in %.0f ms\n", a, b,
			json_number_value(json_object_get(r, "ms")));
	} else if (!strcmp(type, "stats") && json_is_object(json_object_get(r, "stats"))) {
		fputs("stats:\n", f);
		put_tree(f, json_object_get(r, "stats"), 2, NULL, false);
	} else {
		/* A type without a dedicated form (domain, or one added later): its members. */
		put_clean(f, *query ? query : type, false);
		fputs(" (", f);
		put_clean(f, *type ? type : "?", false);
		fputs(cls == RASN_REPLY_OK ? "):\n" : ", not found):\n", f);
		put_tree(f, r, 2, head, false);
	}
}

/* --- CSV (RFC 4180) ------------------------------------------------------------------------- */

enum { C_QUERY, C_TYPE, C_STATUS, C_IP, C_ASN, C_PREFIX, C_FIRST, C_LAST, C_NAME, C_CC, C_ERROR,
       C_N };
static const char *const csv_cols[C_N] = {
	"query", "type", "status", "ip", "asn", "prefix", "first_ip", "last_ip", "as_name", "cc",
	"error",
};

struct csv_row {
	const char *v[C_N];
	char num[C_N][32];
};

static void csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_put(FILE *f, const struct csv_row *row)
{
	for (int i = 0; i < C_N; i++) {
		if (i)
			fputc(',', f);
		csv_field(f, row->v[i]);
	}
	fputs("\r\n", f);
}

/* Columns taken from the members of the same name in o (the reply, or a match inside it). */
static void csv_fill(struct csv_row *row, const json_t *o)
{
	for (int i = 0; i < C_N; i++) {
		const json_t *v = json_object_get(o, csv_cols[i]);
		if (v)
			row->v[i] = scalar_text(v, row->num[i], sizeof(row->num[i]));
	}
}

static void csv_reply(struct rasn_format *fm, const json_t *r)
{
	struct csv_row row = { 0 };
	const char *type = jstr(r, "type");
	const json_t *list;
	size_t i;
	json_t *e;

	csv_fill(&row, r);
	/* why a special-purpose address has no answer goes where an error's text goes */
	if (!row.v[C_ERROR])
		row.v[C_ERROR] = jstr(r, "reason");
	/* A prefixes or org answer is a list: one row per prefix or match. */
	if (type && !strcmp(type, "prefixes") && json_is_array(list = json_object_get(r, "prefixes")) &&
	    json_array_size(list) > 0) {
		json_array_foreach(list, i, e) {
			row.v[C_PREFIX] = json_is_string(e) ? json_string_value(e) : NULL;
			csv_put(fm->f, &row);
		}
		return;
	}
	if (type && !strcmp(type, "org") && json_is_array(list = json_object_get(r, "matches")) &&
	    json_array_size(list) > 0) {
		json_array_foreach(list, i, e) {
			struct csv_row m = row;
			/* the pointers into row.num must follow the copy */
			for (int c = 0; c < C_N; c++) {
				if (row.v[c] == row.num[c])
					m.v[c] = m.num[c];
			}
			m.v[C_ASN] = m.v[C_NAME] = m.v[C_CC] = NULL;
			if (json_is_object(e))
				csv_fill(&m, e);
			csv_put(fm->f, &m);
		}
		return;
	}
	csv_put(fm->f, &row);
}

/* --- Team Cymru verbose whois rows ------------------------------------------------------------ */

static void cymru_cell(FILE *f, const char *s, int w)
{
	put_pad(f, s ? s : "", w);
	fputs("| ", f);
}

static void cymru_ip_row(struct rasn_format *fm, const char *asn, const char *ip,
			 const char *prefix, const json_t *r, const char *name)
{
	FILE *f = fm->f;
	cymru_cell(f, asn, 8);
	cymru_cell(f, ip, 17);
	cymru_cell(f, prefix, 20);
	cymru_cell(f, r ? jstr(r, "cc") : NULL, 3);
	cymru_cell(f, r ? jstr(r, "registry") : NULL, 9);
	cymru_cell(f, r ? jstr(r, "allocated") : NULL, 11);
	put_clean(f, name ? name : "", false);
	fputc('\n', f);
}

static void cymru_as_row(struct rasn_format *fm, const char *asn, const json_t *r, const char *name)
{
	FILE *f = fm->f;
	if (!fm->cymru_as_hdr) {
		fm->cymru_as_hdr = true;
		fputs("AS      | CC | Registry | Allocated  | AS Name\n", f);
	}
	cymru_cell(f, asn, 8);
	cymru_cell(f, r ? jstr(r, "cc") : NULL, 3);
	cymru_cell(f, r ? jstr(r, "registry") : NULL, 9);
	cymru_cell(f, r ? jstr(r, "allocated") : NULL, 11);
	put_clean(f, name ? name : "", false);
	fputc('\n', f);
}

static void cymru_ip(struct rasn_format *fm, const json_t *r, const char *query, bool found)
{
	const char *ip = jstr(r, "ip");
	const json_t *origins = json_object_get(r, "origins");
	char asn[32];
	json_int_t a, first;

	if (!fm->cymru_ip_hdr) {
		fm->cymru_ip_hdr = true;
		fputs("AS      | IP               | BGP Prefix          | CC | Registry | Allocated  | "
		      "AS Name\n", fm->f);
	}
	if (!ip)
		ip = query;
	if (!found || !jint(r, "asn", &first)) {
		/* NA in every column as Cymru writes it; a special-purpose address's reason in the
		 * free-text AS Name column */
		const char *why = jstr(r, "reason");
		cymru_ip_row(fm, "NA", ip, "NA", NULL, why ? why : "NA");
		return;
	}
	/* One row per origin, as Cymru does; the reply names only the first origin's AS. */
	if (json_is_array(origins) && json_array_size(origins) > 1) {
		size_t i;
		json_t *e;
		json_array_foreach(origins, i, e) {
			const char *name = NULL;
			if (json_is_integer(e)) {
				a = json_integer_value(e);
			} else if (jint(e, "asn", &a)) {
				name = jstr(e, "as_name");
			} else {
				continue;
			}
			if (!name && a == first)
				name = jstr(r, "as_name");
			snprintf(asn, sizeof(asn), "%" JSON_INTEGER_FORMAT, a);
			cymru_ip_row(fm, asn, ip, jstr(r, "prefix"), r, name);
		}
		return;
	}
	snprintf(asn, sizeof(asn), "%" JSON_INTEGER_FORMAT, first);
	cymru_ip_row(fm, asn, ip, jstr(r, "prefix"), r, jstr(r, "as_name"));
}

static void cymru_reply(struct rasn_format *fm, const json_t *r)
{
	FILE *f = fm->f;
	const char *type = jstr(r, "type");
	const char *query = jstr(r, "query");
	enum rasn_reply_class cls = class_of(jstr(r, "status"));
	char asn[32];
	json_int_t a;

	if (!type)
		type = "";
	if (!query)
		query = "";
	if (cls == RASN_REPLY_ERROR) {
		const char *err = jstr(r, "error");
		fputs("Error: ", f);
		put_clean(f, query, false);
		fputs(": ", f);
		put_clean(f, err ? err : "(no reason given)", false);
		fputc('\n', f);
	} else if (!strcmp(type, "ip")) {
		cymru_ip(fm, r, query, cls == RASN_REPLY_OK);
	} else if (!strcmp(type, "as")) {
		if (jint(r, "asn", &a))
			snprintf(asn, sizeof(asn), "%" JSON_INTEGER_FORMAT, a);
		else
			snprintf(asn, sizeof(asn), "NA");
		if (cls == RASN_REPLY_OK)
			cymru_as_row(fm, asn, r, jstr(r, "as_name"));
		else
			cymru_as_row(fm, asn, NULL, "NA");
	} else if (!strcmp(type, "org") && cls == RASN_REPLY_OK &&
		   json_is_array(json_object_get(r, "matches"))) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(r, "matches"), i, e) {
			if (!jint(e, "asn", &a))
				continue;
			snprintf(asn, sizeof(asn), "%" JSON_INTEGER_FORMAT, a);
			cymru_as_row(fm, asn, e, jstr(e, "as_name"));
		}
	} else if (!strcmp(type, "org")) {
		fputs("Error: ", f);
		put_clean(f, query, false);
		fputs(": no match\n", f);
	} else {
		fputs("Error: ", f);
		put_clean(f, query, false);
		fputs(": no Team Cymru form for this reply; use the default output, --json or --csv\n",
		      f);
	}
}

/* --- dispatch ------------------------------------------------------------------------------- */

/* A reply line that is not a JSON object: say so in the chosen format. */
static void bad_reply(struct rasn_format *fm, const char *line, size_t len)
{
	char shown[201];
	size_t n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;
	memcpy(shown, line, n);
	shown[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (shown[i] == '\0')
			shown[i] = '?';
	}
	if (fm->kind == RASN_FORMAT_CSV) {
		struct csv_row row = { 0 };
		char err[256];
		snprintf(err, sizeof(err), "unparseable reply from rasnd: %s", shown);
		row.v[C_STATUS] = "error";
		row.v[C_ERROR] = err;
		csv_put(fm->f, &row);
		return;
	}
	fputs(fm->kind == RASN_FORMAT_CYMRU ? "Error: unparseable reply from rasnd: "
					    : "(unparseable reply from rasnd) ", fm->f);
	put_clean(fm->f, shown, false);
	fputc('\n', fm->f);
}

void rasn_format_text(struct rasn_format *fm, const char *line, size_t len, int first)
{
	switch (fm->kind) {
	case RASN_FORMAT_CSV:
		if (first) {
			struct csv_row row = { 0 };
			row.v[C_QUERY] = "stats prometheus";
			row.v[C_TYPE] = "stats";
			row.v[C_STATUS] = "ok";
			csv_put(fm->f, &row);
		}
		break;
	case RASN_FORMAT_CYMRU:
		if (first)
			fputs("Error: stats prometheus: no Team Cymru form for this reply; use the default "
			      "output or --json\n", fm->f);
		break;
	case RASN_FORMAT_JSON:
		fwrite(line, 1, len, fm->f);
		fputc('\n', fm->f);
		break;
	default:
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)line[i];
			fputc(ch < 0x20 && ch != '\t' ? '?' : ch, fm->f);
		}
		fputc('\n', fm->f);
		break;
	}
}

void rasn_format_begin(struct rasn_format *fm)
{
	if (fm->kind != RASN_FORMAT_CSV)
		return;
	for (int i = 0; i < C_N; i++) {
		if (i)
			fputc(',', fm->f);
		fputs(csv_cols[i], fm->f);
	}
	fputs("\r\n", fm->f);
}

enum rasn_reply_class rasn_format_reply(struct rasn_format *fm, const char *line, size_t len)
{
	enum rasn_reply_class cls;
	json_error_t jerr;
	json_t *r;

	if (fm->kind == RASN_FORMAT_JSON) {
		fwrite(line, 1, len, fm->f);
		fputc('\n', fm->f);
		return rasn_format_scan_status(line, len);
	}
	r = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(r)) {
		bad_reply(fm, line, len);
		json_decref(r);
		return RASN_REPLY_ERROR;
	}
	cls = class_of(jstr(r, "status"));
	switch (fm->kind) {
	case RASN_FORMAT_CSV:
		csv_reply(fm, r);
		break;
	case RASN_FORMAT_CYMRU:
		cymru_reply(fm, r);
		break;
	default:
		human_reply(fm, r);
		break;
	}
	json_decref(r);
	return cls;
}

/* --- the --json fast path ------------------------------------------------------------------- */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* Index just past the string whose opening quote is at s[i], or n when it is unterminated. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

static bool value_is(const char *s, size_t i, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	return n - i >= k + 2 && s[i] == '"' && !memcmp(s + i + 1, lit, k) && s[i + 1 + k] == '"';
}

enum rasn_reply_class rasn_format_scan_status(const char *s, size_t n)
{
	size_t i = skip_ws(s, 0, n);
	int depth = 1;
	bool want_key = true;

	if (i >= n || s[i] != '{')
		return RASN_REPLY_ERROR;
	for (i++; i < n;) {
		char c = s[i];
		if (c == '"') {
			size_t start = i + 1, end = skip_string(s, i, n);
			if (end >= n)
				return RASN_REPLY_ERROR;
			i = end;
			if (depth != 1 || !want_key)
				continue;
			want_key = false;
			i = skip_ws(s, i, n);
			if (i >= n || s[i] != ':')
				return RASN_REPLY_ERROR;
			i = skip_ws(s, i + 1, n);
			if (end - 1 - start == 6 && !memcmp(s + start, "status", 6)) {
				if (value_is(s, i, n, "ok"))
					return RASN_REPLY_OK;
				if (value_is(s, i, n, "not_found"))
					return RASN_REPLY_NOT_FOUND;
				return RASN_REPLY_ERROR;
			}
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return RASN_REPLY_ERROR;   /* the object ended without a status */
		} else if (c == ',' && depth == 1) {
			want_key = true;
		}
		i++;
	}
	return RASN_REPLY_ERROR;
}
