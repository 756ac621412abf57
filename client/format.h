/* Output formats of the rasn client. Each reply line from rasnd becomes a row of the human
 * table, CSV, Team Cymru whois rows, or passes through verbatim (--json). Formatting only: no
 * sockets, no reading. */
#ifndef RASN_CLIENT_FORMAT_H
#define RASN_CLIENT_FORMAT_H

#include <stddef.h>
#include <stdio.h>

enum rasn_format_kind {
	RASN_FORMAT_HUMAN,
	RASN_FORMAT_JSON,
	RASN_FORMAT_CSV,
	RASN_FORMAT_CYMRU,
};

/* How a reply counts towards the exit status. */
enum rasn_reply_class {
	RASN_REPLY_OK = 0,
	RASN_REPLY_NOT_FOUND,
	RASN_REPLY_ERROR,      /* status "error", or a line that is not a reply object */
};

struct rasn_format;

/* A formatter writing to f. Returns NULL when out of memory. */
struct rasn_format *rasn_format_new(enum rasn_format_kind kind, FILE *f);
void rasn_format_free(struct rasn_format *fm);

/* Whatever precedes the first reply (the CSV header). Call once, after connecting. */
void rasn_format_begin(struct rasn_format *fm);

/* Format one reply line (no terminator; any bytes). Returns how the reply counts. */
enum rasn_reply_class rasn_format_reply(struct rasn_format *fm, const char *line, size_t len);

/* One line of a text reply (`stats prometheus`: lines up to "# EOF"); first marks its first
 * line. Printed as it is, except that CSV gives one row for the whole reply and --cymru one
 * "Error:" line. A text reply counts as ok. */
void rasn_format_text(struct rasn_format *fm, const char *line, size_t len, int first);

/* Status of a reply from its top-level "status" member, without a full parse (the --json fast
 * path). Anything that is not an object with a status string counts as RASN_REPLY_ERROR. */
enum rasn_reply_class rasn_format_scan_status(const char *line, size_t len);

#endif
