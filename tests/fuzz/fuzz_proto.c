/* Fuzz target for lib/proto.c (and the JSON escaping every reply applies to the echoed request
 * line). The input is one request line; the parsed request must be self-consistent, point only
 * into the line, and say the same thing when written back out and parsed again. Any broken
 * invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static int within(const char *p, size_t n, const char *line, size_t len)
{
	return p >= line && n <= len && (size_t)(p - line) <= len - n;
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the UTF-8 character at s, or 0 if invalid; decodes the code point and checks its
 * range, a different method from the byte table in buf.c. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The escaped form is valid JSON string text that decodes back to the input, with each byte of
 * invalid UTF-8 replaced by U+FFFD. */
static void json_checks(const char *line, size_t len)
{
	struct rasn_buf b;
	const unsigned char *in = (const unsigned char *)line;
	size_t i = 0, j = 0;

	rasn_buf_init(&b);
	rasn_buf_json_esc(&b, line, len);
	check(!b.oom);
	const char *o = b.data;
	while (j < b.len) {
		unsigned char c = (unsigned char)o[j];
		check(c >= 0x20 && c != 0x7f && c != '"');
		if (c == '\\') {
			check(j + 1 < b.len);
			char e = o[j + 1], want = 0;
			switch (e) {
			case '"': want = '"'; break;
			case '\\': want = '\\'; break;
			case 'b': want = '\b'; break;
			case 'f': want = '\f'; break;
			case 'n': want = '\n'; break;
			case 'r': want = '\r'; break;
			case 't': want = '\t'; break;
			case 'u': break;
			default: check(0);
			}
			if (e != 'u') {
				check(i < len && line[i] == want);
				i++;
				j += 2;
				continue;
			}
			check(j + 6 <= b.len);
			unsigned v = 0;
			for (int k = 2; k < 6; k++) {
				int h = hexv(o[j + k]);
				check(h >= 0);
				v = v << 4 | (unsigned)h;
			}
			check(i < len);
			if (v == 0xfffd) {
				check(utf8_char(in + i, len - i) == 0);
			} else {
				/* only controls use \u, and only those without a short form */
				check((v < 0x20 || v == 0x7f) && in[i] == v);
				check(v != '\b' && v != '\f' && v != '\n' && v != '\r' && v != '\t');
			}
			i++;
			j += 6;
			continue;
		}
		/* literal text: a whole valid character, identical to the input */
		size_t l = utf8_char((const unsigned char *)o + j, b.len - j);
		check(l > 0 && i + l <= len && memcmp(o + j, line + i, l) == 0);
		check(utf8_char(in + i, len - i) == l);
		i += l;
		j += l;
	}
	check(i == len);
	rasn_buf_free(&b);
}

static void request_checks(const char *line, size_t len)
{
	struct rasn_request r, r2;
	char text[RASN_ADDR_STRLEN + 64];
	int rc = rasn_proto_parse(line, len, &r);

	check(rc == 0 || rc == RASN_ESYNTAX);
	check((rc == 0) == (r.type != RASN_Q_INVALID));
	check((rc == 0) == (r.error == NULL));
	check(r.type >= RASN_Q_INVALID && r.type <= RASN_Q_END);
	check(rasn_qtype_name(r.type) != NULL);
	if (r.error)
		check(strlen(r.error) > 0 && strlen(r.error) < 80);
	if (len > 0 && memchr(line, '\0', len))
		check(r.error && strcmp(r.error, "line holds a NUL byte") == 0);
	if (len > RASN_LINE_MAX)
		check(rc != 0);

	/* deterministic */
	check(rasn_proto_parse(line, len, &r2) == rc && r2.type == r.type && r2.arg == r.arg &&
	      r2.arg_len == r.arg_len && r2.source == r.source && r2.error == r.error);

	if (r.arg) {
		check(within(r.arg, r.arg_len, line, len) && r.arg_len > 0);
		check(!blank(r.arg[0]) && !blank(r.arg[r.arg_len - 1]));
	} else {
		check(r.arg_len == 0);
	}
	if (r.source) {
		check(within(r.source, r.source_len, line, len));
		check(r.source > line && r.source[-1] == '@');
		check(r.source_len >= 1 && r.source_len <= 32);
		for (size_t i = 0; i < r.source_len; i++) {
			char c = r.source[i];
			check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      c == '-' || c == '_');
		}
	} else {
		check(r.source_len == 0);
	}
	if (rc != 0)
		return;

	size_t n;
	switch (r.type) {
	case RASN_Q_IP:
		check(r.arg == NULL);
		check(r.addr.family == RASN_AF4 || r.addr.family == RASN_AF6);
		if (r.addr.family == RASN_AF4)
			check(r.addr.v <= 0xffffffffu);
		/* the canonical text asks the same question */
		memcpy(text, "ip ", 3);
		n = 3 + rasn_addr_format(r.addr.family, r.addr.v, text + 3);
		check(rasn_proto_parse(text, n, &r2) == 0 && r2.type == RASN_Q_IP &&
		      r2.addr.family == r.addr.family && r2.addr.v == r.addr.v);
		check(rasn_proto_parse(text + 3, n - 3, &r2) == 0 && r2.type == RASN_Q_IP &&
		      r2.addr.v == r.addr.v);
		break;
	case RASN_Q_AS:
	case RASN_Q_PREFIXES: {
		struct rasn_buf b;
		uint32_t asn;
		rasn_buf_init(&b);
		rasn_buf_lit(&b, "AS");
		rasn_buf_u64(&b, r.asn);
		check(!b.oom && rasn_asn_parse(b.data, b.len, &asn) == 0 && asn == r.asn);
		check(rasn_asn_parse(b.data + 2, b.len - 2, &asn) == 0 && asn == r.asn);
		check(rasn_proto_parse(b.data, b.len, &r2) == 0 && r2.type == RASN_Q_AS &&
		      r2.asn == r.asn);
		rasn_buf_free(&b);
		break;
	}
	case RASN_Q_DOMAIN:
		check(r.arg != NULL && r.arg[r.arg_len - 1] != '.');
		check(r.arg_len <= RASN_DOMAIN_MAX && rasn_domain_valid(r.arg, r.arg_len));
		check(rasn_proto_parse(r.arg, r.arg_len, &r2) == 0 && r2.type == RASN_Q_DOMAIN &&
		      r2.arg == r.arg && r2.arg_len == r.arg_len);
		break;
	case RASN_Q_ORG:
		check(r.arg != NULL && r.arg_len >= 1 && r.arg_len <= 256);
		break;
	case RASN_Q_STATS:
		if (r.arg)
			check(r.arg_len <= 32);
		break;
	default:
		check(r.arg == NULL);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	uint32_t asn;

	request_checks(line, size);
	if (rasn_asn_parse(line, size, &asn) == 0)
		check(size >= 1 && size <= 12);
	if (rasn_domain_valid(line, size))
		check(size >= 3 && size <= RASN_DOMAIN_MAX + 1 && memchr(line, '\0', size) == NULL);
	json_checks(line, size);
	return 0;
}
