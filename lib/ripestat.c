/* RIPEstat data API: request URLs and the parsers for network-info, as-overview,
 * announced-prefixes and searchcomplete. jansson does the JSON (bounded by the length given,
 * duplicate keys refused, nesting capped by its JSON_PARSER_MAX_DEPTH); everything after that
 * is checked here field by field, and every string is read with its jansson length, never
 * with strlen. Each parser has one exit label that frees the tree. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "buf.h"
#include "ripestat.h"

/* Far above any real answer (announced-prefixes of a large AS is a few MiB); a bound on the
 * memory jansson may build from one body. */
#define BODY_MAX ((size_t)16 << 20)
/* How much of a server message or a jansson error is quoted in err. */
#define QUOTE_MAX 120

static const char *const call_names[] = {
	[RASN_RIPE_NETWORK_INFO] = "network-info",
	[RASN_RIPE_AS_OVERVIEW] = "as-overview",
	[RASN_RIPE_ANNOUNCED_PREFIXES] = "announced-prefixes",
	[RASN_RIPE_SEARCHCOMPLETE] = "searchcomplete",
};

static void fail(char *err, size_t errlen, enum rasn_ripe_call call, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(char *err, size_t errlen, enum rasn_ripe_call call, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || errlen == 0)
		return;
	n = snprintf(err, errlen, "%s: ", call_names[call]);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	/* a reason cut short by errlen must not end inside a UTF-8 sequence */
	size_t len = strlen(err), start = len;
	while (start > 0 && len - start < 4 && ((unsigned char)err[start - 1] & 0xc0) == 0x80)
		start--;
	if (start > 0 && (unsigned char)err[start - 1] >= 0xc0) {
		start--;
		if (rasn_utf8_len((const unsigned char *)err + start, len - start) != len - start)
			err[start] = '\0';
	}
}

/* Length of the first n bytes of s, cut back so no UTF-8 sequence is split. s[n] must exist
 * when n < len. */
static size_t utf8_cut(const char *s, size_t len, size_t n)
{
	if (len <= n)
		return len;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* Outside text (a server message, a jansson error quoting the body) made safe to log: at most
 * QUOTE_MAX bytes of valid UTF-8, controls (C0, DEL, C1) and broken sequences shown as '?'. */
static void quote(const char *s, size_t len, char out[QUOTE_MAX + 1])
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;
	while (i < len) {
		size_t k = rasn_utf8_len(u + i, len - i);
		if (k == 0 || u[i] < 0x20 || u[i] == 0x7f || (u[i] == 0xc2 && u[i + 1] <= 0x9f)) {
			if (o + 1 > QUOTE_MAX)
				break;
			out[o++] = '?';
			i += k ? k : 1;
			continue;
		}
		if (o + k > QUOTE_MAX)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
}

/* Decimal 0..4294967295: digits only, no sign, no leading zero. */
static int parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return RASN_ESYNTAX;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return RASN_ESYNTAX;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return RASN_ESYNTAX;
	*out = (uint32_t)v;
	return 0;
}

/* An AS number as RIPEstat writes it: a JSON integer or a string of digits, with "AS"
 * (any case) in front when as_ok. */
static int json_asn(const json_t *v, int as_ok, uint32_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0 || i > (json_int_t)UINT32_MAX)
			return RASN_ESYNTAX;
		*out = (uint32_t)i;
		return 0;
	}
	if (!json_is_string(v))
		return RASN_ESYNTAX;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (as_ok && n >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) {
		s += 2;
		n -= 2;
	}
	return parse_u32(s, n, out);
}

/* A name for display: no control characters anywhere (C0, DEL, C1), cut to cap - 1 bytes on a
 * UTF-8 boundary. jansson has already refused invalid UTF-8 and "\u0000". */
static int copy_name(const char *s, size_t len, char *out, size_t cap)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return RASN_ESYNTAX;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return RASN_ESYNTAX;
	}
	size_t n = utf8_cut(s, len, cap - 1);
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int covers(const struct rasn_prefix *p, const struct rasn_addr *a)
{
	if (p->family != a->family || p->len > rasn_af_bits(p->family))
		return 0;
	return (a->v & ~rasn_hostmask(a->family, p->len)) == p->addr;
}

/* Parse the body, check the envelope ("status" is "ok") and find "data", an object.
 * On success *root is the tree to json_decref; on failure it is NULL and err is written. */
static int open_body(enum rasn_ripe_call call, const char *body, size_t len, json_t **root, json_t **data,
		     char *err, size_t errlen)
{
	json_error_t je;
	json_t *r = NULL, *st, *msgs, *d;
	char q[QUOTE_MAX + 1], q2[QUOTE_MAX + 1];
	int rc = RASN_ESYNTAX;

	*root = NULL;
	*data = NULL;
	if (!body || len == 0) {
		fail(err, errlen, call, "empty body");
		goto done;
	}
	if (len > BODY_MAX) {
		fail(err, errlen, call, "body of %zu bytes is over the %zu-byte limit", len, BODY_MAX);
		goto done;
	}
	r = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!r) {
		quote(je.text, strnlen(je.text, sizeof(je.text)), q);
		fail(err, errlen, call, "bad JSON at byte %d: %s", je.position, q);
		goto done;
	}
	if (!json_is_object(r)) {
		fail(err, errlen, call, "the answer is not a JSON object");
		goto done;
	}
	st = json_object_get(r, "status");
	if (!json_is_string(st)) {
		fail(err, errlen, call, st ? "status is not a string" : "no status");
		goto done;
	}
	if (json_string_length(st) != 2 || memcmp(json_string_value(st), "ok", 2) != 0) {
		const char *text = NULL;
		size_t tlen = 0;
		json_t *m;
		msgs = json_object_get(r, "messages");
		m = json_is_array(msgs) ? json_array_get(msgs, 0) : NULL;
		/* RIPEstat sends [level, text] pairs; a bare string is taken too */
		if (json_is_array(m))
			m = json_array_size(m) >= 2 ? json_array_get(m, 1) : json_array_get(m, 0);
		if (json_is_string(m)) {
			text = json_string_value(m);
			tlen = json_string_length(m);
		}
		quote(json_string_value(st), json_string_length(st), q);
		if (text) {
			quote(text, tlen, q2);
			fail(err, errlen, call, "status \"%s\": %s", q, q2);
		} else {
			fail(err, errlen, call, "status \"%s\"", q);
		}
		goto done;
	}
	d = json_object_get(r, "data");
	if (!json_is_object(d)) {
		fail(err, errlen, call, d ? "data is not an object" : "no data");
		goto done;
	}
	*data = d;
	rc = 0;
done:
	if (rc < 0)
		json_decref(r);
	else
		*root = r;
	return rc;
}

/* An optional "resource" naming an AS must name this one. */
static int check_resource(enum rasn_ripe_call call, const json_t *data, uint32_t asn, int required, char *err,
			  size_t errlen)
{
	const json_t *res = json_object_get(data, "resource");
	uint32_t got;
	if (!res) {
		if (!required)
			return 0;
		fail(err, errlen, call, "no data.resource");
		return RASN_ESYNTAX;
	}
	if (json_asn(res, 1, &got) < 0) {
		fail(err, errlen, call, "data.resource is not an AS number");
		return RASN_ESYNTAX;
	}
	if (got != asn) {
		fail(err, errlen, call, "data.resource is AS%u, not the AS%u asked about", got, asn);
		return RASN_ESYNTAX;
	}
	return 0;
}

/* Append n bytes at *at, keeping room for the NUL. */
static int put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
	if (cap - *at <= n)
		return RASN_ERANGE;
	memcpy(out + *at, s, n);
	*at += n;
	return 0;
}

static int put_encoded(char *out, size_t cap, size_t *at, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '/' || c == '@';
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
		if (keep ? put(out, cap, at, s, 1) < 0 : put(out, cap, at, esc, 3) < 0)
			return RASN_ERANGE;
	}
	return 0;
}

int rasn_ripe_url(const char *base, enum rasn_ripe_call call, const char *resource, const char *sourceapp,
		  char *out, size_t cap)
{
	static const char data[] = "/data/", tail[] = "/data.json?resource=", app[] = "&sourceapp=";
	size_t at = 0, blen;
	const char *name;
	int rc = RASN_ERANGE;

	if (!out || cap == 0)
		return RASN_ERANGE;
	out[0] = '\0';
	if (!base || !resource || (unsigned)call >= RASN_ARRAY_LEN(call_names))
		return -EINVAL;
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--; /* "https://stat.ripe.net/" too: no "//data" */
	name = call_names[call];
	if (put(out, cap, &at, base, blen) < 0 || put(out, cap, &at, data, sizeof(data) - 1) < 0 ||
	    put(out, cap, &at, name, strlen(name)) < 0 || put(out, cap, &at, tail, sizeof(tail) - 1) < 0 ||
	    put_encoded(out, cap, &at, resource) < 0)
		goto done;
	if (sourceapp && *sourceapp &&
	    (put(out, cap, &at, app, sizeof(app) - 1) < 0 || put_encoded(out, cap, &at, sourceapp) < 0))
		goto done;
	if (at > INT32_MAX)
		goto done;
	out[at] = '\0';
	rc = (int)at;
done:
	if (rc < 0)
		out[0] = '\0';
	return rc;
}

int rasn_ripe_parse_network_info(const char *body, size_t len, const struct rasn_addr *queried,
				 struct rasn_ripe_netinfo *out, char *err, size_t errlen)
{
	const enum rasn_ripe_call call = RASN_RIPE_NETWORK_INFO;
	json_t *root = NULL, *data, *asns, *pfx;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = open_body(call, body, len, &root, &data, err, errlen);
	if (rc < 0)
		goto done;
	rc = RASN_ESYNTAX;
	asns = json_object_get(data, "asns");
	if (!json_is_array(asns)) {
		fail(err, errlen, call, asns ? "data.asns is not an array" : "no data.asns");
		goto done;
	}
	n = json_array_size(asns);
	for (size_t i = 0; i < n; i++) {
		uint32_t a;
		if (json_asn(json_array_get(asns, i), 0, &a) < 0 || a == 0) {
			fail(err, errlen, call, "data.asns[%zu] is not an AS number", i);
			goto done;
		}
		if (i < RASN_RIPE_MAX_ORIGINS)
			out->asns[out->n_asns++] = a;
	}

	pfx = json_object_get(data, "prefix");
	if (!pfx || json_is_null(pfx) || (json_is_string(pfx) && json_string_length(pfx) == 0)) {
		if (n > 0) {
			fail(err, errlen, call, "data.asns is not empty but there is no data.prefix");
			goto done;
		}
		rc = 0;
		goto done;
	}
	if (!json_is_string(pfx)) {
		fail(err, errlen, call, "data.prefix is not a string");
		goto done;
	}
	if (rasn_prefix_parse(json_string_value(pfx), json_string_length(pfx), &out->prefix) < 0) {
		fail(err, errlen, call, "data.prefix is not a prefix");
		goto done;
	}
	if (n == 0) {
		/* a prefix without an origin: well-formed, but nothing is announced */
		memset(&out->prefix, 0, sizeof(out->prefix));
		rc = 0;
		goto done;
	}
	if (queried && !covers(&out->prefix, queried)) {
		char p[RASN_PREFIX_STRLEN];
		rasn_prefix_format(&out->prefix, p);
		fail(err, errlen, call, "data.prefix %s does not cover the address asked about", p);
		goto done;
	}
	rc = 0;
done:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	json_decref(root);
	return rc;
}

int rasn_ripe_parse_as_overview(const char *body, size_t len, uint32_t asn, struct rasn_ripe_as *out,
				char *err, size_t errlen)
{
	const enum rasn_ripe_call call = RASN_RIPE_AS_OVERVIEW;
	json_t *root = NULL, *data, *holder, *ann;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = open_body(call, body, len, &root, &data, err, errlen);
	if (rc < 0)
		goto done;
	rc = check_resource(call, data, asn, 1, err, errlen);
	if (rc < 0)
		goto done;
	rc = RASN_ESYNTAX;
	holder = json_object_get(data, "holder");
	if (json_is_string(holder)) {
		if (copy_name(json_string_value(holder), json_string_length(holder), out->holder,
			      sizeof(out->holder)) < 0) {
			fail(err, errlen, call, "data.holder has a control character");
			goto done;
		}
		out->found = 1;
	} else if (!json_is_null(holder)) {
		fail(err, errlen, call, holder ? "data.holder is not a string" : "no data.holder");
		goto done;
	}
	ann = json_object_get(data, "announced");
	if (ann && !json_is_boolean(ann)) {
		fail(err, errlen, call, "data.announced is not a boolean");
		goto done;
	}
	out->announced = json_is_true(ann);
	out->asn = asn;
	rc = 0;
done:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	json_decref(root);
	return rc;
}

int rasn_ripe_parse_announced_prefixes(const char *body, size_t len, uint32_t asn, struct rasn_prefix *out,
				       size_t cap, size_t *total, char *err, size_t errlen)
{
	const enum rasn_ripe_call call = RASN_RIPE_ANNOUNCED_PREFIXES;
	json_t *root = NULL, *data, *list;
	size_t n = 0, written = 0;
	int rc;

	*total = 0;
	if (!out)
		cap = 0;
	rc = open_body(call, body, len, &root, &data, err, errlen);
	if (rc < 0)
		goto done;
	rc = check_resource(call, data, asn, 0, err, errlen);
	if (rc < 0)
		goto done;
	rc = RASN_ESYNTAX;
	list = json_object_get(data, "prefixes");
	if (!json_is_array(list)) {
		fail(err, errlen, call, list ? "data.prefixes is not an array" : "no data.prefixes");
		goto done;
	}
	n = json_array_size(list);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(list, i), *p;
		struct rasn_prefix pf;
		if (!json_is_object(o)) {
			fail(err, errlen, call, "data.prefixes[%zu] is not an object", i);
			goto done;
		}
		p = json_object_get(o, "prefix");
		if (!json_is_string(p) ||
		    rasn_prefix_parse(json_string_value(p), json_string_length(p), &pf) < 0) {
			fail(err, errlen, call, "data.prefixes[%zu].prefix is not a prefix", i);
			goto done;
		}
		if (written < cap)
			out[written++] = pf;
	}
	*total = n;
	rc = (int)written; /* written <= n, and n is bounded by BODY_MAX */
done:
	if (rc < 0 && written)
		memset(out, 0, written * sizeof(*out));
	json_decref(root);
	return rc;
}

int rasn_ripe_parse_searchcomplete(const char *body, size_t len, struct rasn_ripe_org_hit *out, size_t cap,
				   char *err, size_t errlen)
{
	const enum rasn_ripe_call call = RASN_RIPE_SEARCHCOMPLETE;
	json_t *root = NULL, *data, *cats, *sugg = NULL;
	size_t n, written = 0, asns_at = 0;
	char name[RASN_RIPE_NAME_MAX];
	int rc;

	if (!out)
		cap = 0;
	rc = open_body(call, body, len, &root, &data, err, errlen);
	if (rc < 0)
		goto done;
	rc = RASN_ESYNTAX;
	cats = json_object_get(data, "categories");
	if (!json_is_array(cats)) {
		fail(err, errlen, call, cats ? "data.categories is not an array" : "no data.categories");
		goto done;
	}
	n = json_array_size(cats);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(cats, i), *cname;
		if (!json_is_object(c)) {
			fail(err, errlen, call, "data.categories[%zu] is not an object", i);
			goto done;
		}
		cname = json_object_get(c, "category");
		if (!json_is_string(cname)) {
			fail(err, errlen, call, "data.categories[%zu].category is not a string", i);
			goto done;
		}
		if (json_string_length(cname) != 4 || strncasecmp(json_string_value(cname), "asns", 4) != 0)
			continue;
		if (sugg) {
			fail(err, errlen, call, "data.categories[%zu] is a second ASNs category", i);
			goto done;
		}
		sugg = json_object_get(c, "suggestions");
		if (!json_is_array(sugg)) {
			fail(err, errlen, call, "data.categories[%zu].suggestions is not an array", i);
			goto done;
		}
		asns_at = i;
	}
	n = json_array_size(sugg); /* 0 when there is no ASNs category */
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(sugg, i), *v, *desc;
		uint32_t asn;
		if (!json_is_object(s)) {
			fail(err, errlen, call, "data.categories[%zu].suggestions[%zu] is not an object", asns_at, i);
			goto done;
		}
		v = json_object_get(s, "value");
		if (!json_is_string(v) || json_string_length(v) < 3 ||
		    strncasecmp(json_string_value(v), "AS", 2) != 0 || json_asn(v, 1, &asn) < 0) {
			fail(err, errlen, call, "data.categories[%zu].suggestions[%zu].value is not AS<number>",
			     asns_at, i);
			goto done;
		}
		desc = json_object_get(s, "description");
		if (desc && !json_is_null(desc) && !json_is_string(desc)) {
			fail(err, errlen, call, "data.categories[%zu].suggestions[%zu].description is not a string",
			     asns_at, i);
			goto done;
		}
		/* checked even past cap: a bad answer is bad as a whole */
		name[0] = '\0';
		if (json_is_string(desc) &&
		    copy_name(json_string_value(desc), json_string_length(desc), name, sizeof(name)) < 0) {
			fail(err, errlen, call, "data.categories[%zu].suggestions[%zu].description has a control character",
			     asns_at, i);
			goto done;
		}
		if (written < cap) {
			out[written].asn = asn;
			memcpy(out[written].name, name, sizeof(name));
			written++;
		}
	}
	rc = (int)written;
done:
	if (rc < 0 && written)
		memset(out, 0, written * sizeof(*out));
	json_decref(root);
	return rc;
}
