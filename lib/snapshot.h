/* Table snapshots: the binary image of a built table, written after a parse so that the next
 * start (or a reload of unchanged files) reads it instead of parsing the dataset again.
 *
 * An image is keyed by the identity of the dataset files it was built from (paths, sizes,
 * mtimes, ctimes, inodes, a hash of each file's first and last 64 KiB), the image format
 * version, the library version and the layout of the table's records: a key that differs
 * means the image is not for these files and is not used. The image itself is hostile input
 * (a state directory can be damaged or written by someone else): every count, offset and
 * length is checked, every section carries an XXH64 checksum and the header one of its own,
 * and the contents are checked for what the lookups rely on (sorted ranges, offsets inside
 * their arrays, NUL-terminated names); the indexes are rebuilt rather than read. Any problem
 * is an error with a message, never a crash. */
#ifndef RASN_SNAPSHOT_H
#define RASN_SNAPSHOT_H

#include "buf.h"
#include "table.h"

/* Bumped whenever the image layout or the meaning of any field changes. */
#define RASN_SNAPSHOT_VERSION 1

/* XXH64 (the xxHash 64-bit hash, as specified by its author) of len bytes. */
uint64_t rasn_snapshot_hash(const void *p, size_t len, uint64_t seed);

/* The key for the files at paths (in order) parsed with format fmt (enum rasn_ds_format),
 * appended to key as text, one line per file. Returns 0 or a negative errno (a file that
 * cannot be opened or read; err says which). */
int rasn_snapshot_key(char *const *paths, size_t n, int fmt, struct rasn_buf *key, char *err, size_t errlen);

/* Write t's image to path, keyed by key: into a temporary file beside it, then renamed over
 * path, so a reader sees the old image or the new one, never part of one. Not synced: an
 * image cut short by a crash fails its checksum and is ignored. Returns 0 or a negative errno
 * (err says what failed). */
int rasn_snapshot_write(const struct rasn_table *t, const char *path, const char *key, size_t key_len,
			char *err, size_t errlen);

/* Read the image at path (through io_uring unless opts->force_read) and make a table of it if
 * its key is key. paths name the n dataset files (as recorded in the table). opts may be
 * NULL; with it, a file whose recorded malformed lines exceed opts->max_bad_lines, or an
 * image over opts->max_file_size times 16, is refused (the parse would have been).
 * Returns 0 with *out holding one reference; -ENOENT when there is no image; -ESTALE when it is
 * for other files or another build (err says what differs); -EBADMSG when it is damaged
 * (truncated, checksum, version, contents; err says what); -ENOMEM; another negative errno
 * from reading it. */
int rasn_snapshot_read(const char *path, const char *key, size_t key_len, char *const *paths, size_t n,
		       const struct rasn_table_opts *opts, struct rasn_table **out, char *err, size_t errlen);

/* The same from an image in memory. buf (len bytes) must come from malloc or rasn_big_alloc;
 * on success the table owns it, else the caller still does. key NULL accepts any key; with
 * RASN_SNAPSHOT_NO_HASH the checksums are not checked (fuzzing only: everything else is).
 * paths may be NULL (files are then called "snapshot"). */
#define RASN_SNAPSHOT_NO_HASH 1u
int rasn_snapshot_parse(char *buf, size_t len, const char *key, size_t key_len, char *const *paths, size_t n,
			const struct rasn_table_opts *opts, unsigned flags, struct rasn_table **out,
			char *err, size_t errlen);

/* The image of t in memory (what rasn_snapshot_write writes), malloc'd into *buf (free it).
 * Returns 0 or -ENOMEM. Tests and fuzz corpora use it. */
int rasn_snapshot_image(const struct rasn_table *t, const char *key, size_t key_len, char **buf, size_t *len);

/* Where the section called name ("key", "info4", "names", ...) lies in an image: 0, -ENOENT
 * (no such section) or -EBADMSG. For tests that damage one on purpose. */
int rasn_snapshot_section(const char *buf, size_t len, const char *name, size_t *off, size_t *slen);

#endif
