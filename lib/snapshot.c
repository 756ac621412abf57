/* Table snapshots (see snapshot.h). The image is the table's own arrays, each a section at a
 * 64-byte aligned offset, so reading one is a single io_uring read into one block, checksums,
 * a pass of checks over the records, and the indexes rebuilt: no parsing, no name interning,
 * no per-array allocation. Layout:
 *
 *   header (struct snap_hdr: counts, and per section offset, length and XXH64)
 *   key | files | start4 | info4 | start6 | end6 | info6 | names | names_lower | name entries |
 *   origins | AS entries | AS ranges | org entries
 *
 * The key comes first so that a stale image is recognised from its first 64 KiB. Everything
 * is in the writer's byte order and record layout; a reader of another build refuses the
 * image by its byte-order mark and layout word rather than misread it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "build_config.h"
#include "fileio.h"
#include "mem.h"
#include "snapshot.h"
#include "table_impl.h"

#define SNAP_MAGIC "RASNTBL"          /* 8 bytes with its NUL */
#define SNAP_ORDER 0x01020304u
#define SNAP_ALIGN 64
#define SNAP_HEAD_READ ((size_t)64 << 10) /* header and key are within this */
#define KEY_SAMPLE ((size_t)64 << 10)     /* bytes hashed at each end of a dataset file */

enum { S_KEY, S_FILES, S_START4, S_INFO4, S_START6, S_END6, S_INFO6, S_NAMES, S_LOWER, S_NM,
       S_ORIGINS, S_AS, S_AS_RANGES, S_ORG, S_N };

static const char *const sec_names[S_N] = {
	"key", "files", "start4", "info4", "start6", "end6", "info6", "names", "names_lower", "name entries",
	"origins", "AS entries", "AS ranges", "org entries",
};

struct snap_sec {
	uint64_t off, len, hash;
};

/* One dataset file as the table records it. */
struct snap_file {
	uint32_t format, reserved;
	uint64_t rows, bad, skipped;
};

/* No padding anywhere (checked below): the bytes written are exactly the fields. */
struct snap_hdr {
	char magic[8];
	uint32_t version, order;
	uint64_t file_len;
	uint64_t hdr_hash;         /* XXH64 of the header with this field zero */
	uint32_t hdr_len, abi;
	uint64_t n4, nseg4, n6, n_names, n_origins, n_as, n_as_ranges, n_org, rows, overlaps, n_files;
	struct snap_sec sec[S_N];
};

_Static_assert(sizeof(struct snap_hdr) == 8 + 8 + 8 + 8 + 8 + 11 * 8 + S_N * 24, "snap_hdr has padding");
_Static_assert(sizeof(struct rinfo) == 16 && sizeof(struct name_ent) == 16 && sizeof(struct as_entry) == 20 &&
	       sizeof(struct org_entry) == 8 && sizeof(struct snap_file) == 32, "record layout");

/* The record sizes and the window padding: an image of another layout is refused whole. */
#define SNAP_ABI ((uint32_t)sizeof(struct rinfo) | (uint32_t)sizeof(struct as_entry) << 8 | \
		  (uint32_t)sizeof(struct name_ent) << 16 | (uint32_t)V4_WIN << 24)

/* ---- XXH64 ------------------------------------------------------------------------------- */

#define P1 11400714785074694791ull
#define P2 14029467366897019727ull
#define P3 1609587929392839161ull
#define P4 9650029242287828579ull
#define P5 2870177450012600261ull

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t xround(uint64_t acc, uint64_t in)
{
	acc += in * P2;
	acc = rotl(acc, 31);
	return acc * P1;
}

static inline uint64_t xmerge(uint64_t acc, uint64_t v)
{
	acc ^= xround(0, v);
	return acc * P1 + P4;
}

uint64_t rasn_snapshot_hash(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data, *end = p + len;
	uint64_t h;
	if (len >= 32) {
		uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
		const unsigned char *limit = end - 32;
		do {
			v1 = xround(v1, rd64(p));
			v2 = xround(v2, rd64(p + 8));
			v3 = xround(v3, rd64(p + 16));
			v4 = xround(v4, rd64(p + 24));
			p += 32;
		} while (p <= limit);
		h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
		h = xmerge(h, v1);
		h = xmerge(h, v2);
		h = xmerge(h, v3);
		h = xmerge(h, v4);
	} else {
		h = seed + P5;
	}
	h += (uint64_t)len;
	while (end - p >= 8) {
		h ^= xround(0, rd64(p));
		h = rotl(h, 27) * P1 + P4;
		p += 8;
	}
	if (end - p >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		h ^= (uint64_t)w * P1;
		h = rotl(h, 23) * P2 + P3;
		p += 4;
	}
	while (p < end) {
		h ^= (uint64_t)*p++ * P5;
		h = rotl(h, 11) * P1;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

/* ---- key --------------------------------------------------------------------------------- */

static int pread_full(int fd, char *buf, size_t n, off_t off)
{
	size_t got;
	int rc = rasn_file_pread(fd, buf, n, (uint64_t)off, &got);
	if (rc == 0 && got < n)
		rc = -EIO; /* shorter than fstat said: changing under us */
	return rc;
}

int rasn_snapshot_key(char *const *paths, size_t n, int fmt, struct rasn_buf *key, char *err, size_t errlen)
{
	char *sample = malloc(KEY_SAMPLE);
	int rc = 0;
	if (!sample)
		return -ENOMEM;
	rasn_buf_printf(key, "rasn table snapshot %d, rasn %s, layout %08x, format %s, %zu files\n",
			RASN_SNAPSHOT_VERSION, RASN_VERSION, (unsigned)SNAP_ABI,
			rasn_ds_format_name((enum rasn_ds_format)fmt), n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			rc = -errno;
		} else if (!S_ISREG(st.st_mode)) {
			rc = -EINVAL;
		} else {
			/* content: the first and the last 64 KiB (a cheap check beside size and times) */
			size_t size = (size_t)st.st_size, a = size < KEY_SAMPLE ? size : KEY_SAMPLE;
			uint64_t head = 0, tail = 0;
			if ((rc = pread_full(fd, sample, a, 0)) == 0) {
				head = rasn_snapshot_hash(sample, a, 0);
				rc = pread_full(fd, sample, a, (off_t)(size - a));
				tail = rasn_snapshot_hash(sample, a, 0);
			}
			rasn_buf_printf(key, "%s size=%llu mtime=%lld.%09ld ctime=%lld.%09ld ino=%llu head=%016llx tail=%016llx\n",
					paths[i], (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
					st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
					(unsigned long long)st.st_ino, (unsigned long long)head, (unsigned long long)tail);
		}
		if (rc < 0)
			snprintf(err, errlen, "%s: %s", paths[i], rasn_strerror(rc));
		if (fd >= 0)
			close(fd);
	}
	free(sample);
	if (rc == 0 && key->oom)
		rc = -ENOMEM;
	return rc;
}

/* ---- write ------------------------------------------------------------------------------- */

struct layout {
	struct snap_hdr h;
	const void *data[S_N];
	struct snap_file *files;
};

static size_t align_up(size_t v)
{
	return (v + SNAP_ALIGN - 1) & ~(size_t)(SNAP_ALIGN - 1);
}

/* Sections of t at their offsets, hashed. 0 or -ENOMEM. */
static int layout(const struct rasn_table *t, const char *key, size_t key_len, struct layout *l)
{
	memset(l, 0, sizeof(*l));
	l->files = calloc(t->n_files ? t->n_files : 1, sizeof(*l->files));
	if (!l->files)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_files; i++)
		l->files[i] = (struct snap_file){ (uint32_t)t->files[i].format, 0, t->files[i].rows, t->files[i].bad,
						  t->files[i].skipped };
	struct snap_hdr *h = &l->h;
	memcpy(h->magic, SNAP_MAGIC, 8);
	h->version = RASN_SNAPSHOT_VERSION;
	h->order = SNAP_ORDER;
	h->hdr_len = sizeof(*h);
	h->abi = SNAP_ABI;
	h->n4 = t->n4;
	h->nseg4 = t->nseg4;
	h->n6 = t->n6;
	h->n_names = t->n_names;
	h->n_origins = t->n_origins_total;
	h->n_as = t->n_as;
	h->n_as_ranges = t->n_as_ranges;
	h->n_org = t->n_org;
	h->rows = t->rows;
	h->overlaps = t->overlaps;
	h->n_files = t->n_files;
	const void *d[S_N] = { key, l->files, t->start4, t->info4, t->start6, t->end6, t->info6, t->names,
			       t->names_lower, t->nm, t->origins, t->as, t->as_ranges, t->org };
	size_t len[S_N] = {
		key_len, t->n_files * sizeof(struct snap_file), (t->nseg4 + V4_WIN) * sizeof(uint32_t),
		t->nseg4 * sizeof(struct rinfo), t->n6 * sizeof(rasn_u128), t->n6 * sizeof(rasn_u128),
		t->n6 * sizeof(struct rinfo), t->names_len, t->lower_len, t->n_names * sizeof(struct name_ent),
		t->n_origins_total * sizeof(uint32_t), t->n_as * sizeof(struct as_entry),
		t->n_as_ranges * sizeof(uint32_t), t->n_org * sizeof(struct org_entry),
	};
	size_t off = align_up(sizeof(*h));
	for (int s = 0; s < S_N; s++) {
		l->data[s] = d[s];
		h->sec[s].off = off;
		h->sec[s].len = len[s];
		h->sec[s].hash = rasn_snapshot_hash(len[s] ? d[s] : "", len[s], (uint64_t)s);
		off = align_up(off + len[s]);
	}
	h->file_len = off;
	h->hdr_hash = 0;
	h->hdr_hash = rasn_snapshot_hash(h, sizeof(*h), 0);
	return 0;
}

int rasn_snapshot_image(const struct rasn_table *t, const char *key, size_t key_len, char **buf, size_t *len)
{
	struct layout l;
	*buf = NULL;
	if (layout(t, key, key_len, &l) < 0)
		return -ENOMEM;
	char *b = calloc(1, l.h.file_len);
	if (!b) {
		free(l.files);
		return -ENOMEM;
	}
	memcpy(b, &l.h, sizeof(l.h));
	for (int s = 0; s < S_N; s++)
		if (l.h.sec[s].len)
			memcpy(b + l.h.sec[s].off, l.data[s], l.h.sec[s].len);
	free(l.files);
	*buf = b;
	*len = l.h.file_len;
	return 0;
}

/* Write everything in iov at once, retrying short writes. */
static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n > 1024 ? 1024 : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int rasn_snapshot_write(const struct rasn_table *t, const char *path, const char *key, size_t key_len,
			char *err, size_t errlen)
{
	static const char zeros[SNAP_ALIGN];
	struct layout l;
	char tmp[4096];
	int fd = -1, rc;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	if ((rc = layout(t, key, key_len, &l)) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	/* a temporary file of our own name, replaced if a crash left one behind */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		goto done;
	}
	struct iovec iov[2 * S_N + 2];
	int n = 0;
	size_t pos = sizeof(l.h);
	iov[n++] = (struct iovec){ &l.h, sizeof(l.h) };
	for (int s = 0; s < S_N; s++) {
		size_t pad = l.h.sec[s].off - pos;
		if (pad)
			iov[n++] = (struct iovec){ (void *)zeros, pad };
		if (l.h.sec[s].len)
			iov[n++] = (struct iovec){ (void *)l.data[s], l.h.sec[s].len };
		pos = l.h.sec[s].off + l.h.sec[s].len;
	}
	if (l.h.file_len > pos)
		iov[n++] = (struct iovec){ (void *)zeros, l.h.file_len - pos };
	if ((rc = write_all(fd, iov, n)) < 0 || (close(fd) < 0 && (rc = -errno) < 0)) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		unlink(tmp);
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(-rc));
		unlink(tmp);
		goto done;
	}
	rc = 0;
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(l.files);
	return rc;
}

/* ---- read -------------------------------------------------------------------------------- */

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); rc = -EBADMSG; goto fail; } while (0)

/* The header's own checks: magic, version, layout, lengths, offsets. */
static int check_header(const struct snap_hdr *h, size_t len, unsigned flags, char *err, size_t errlen)
{
	int rc = 0;
	if (len < sizeof(*h) || memcmp(h->magic, SNAP_MAGIC, 8) != 0)
		BAD("not a rasn table snapshot (%zu bytes)", len);
	if (h->version != RASN_SNAPSHOT_VERSION)
		BAD("snapshot format version %u, this rasnd reads version %d", h->version, RASN_SNAPSHOT_VERSION);
	if (h->order != SNAP_ORDER || h->abi != SNAP_ABI || h->hdr_len != sizeof(*h))
		BAD("snapshot written by a build with another byte order or record layout");
	if (!(flags & RASN_SNAPSHOT_NO_HASH)) {
		struct snap_hdr c = *h;
		c.hdr_hash = 0;
		if (rasn_snapshot_hash(&c, sizeof(c), 0) != h->hdr_hash)
			BAD("snapshot header checksum mismatch");
	}
	if (h->file_len != len)
		BAD("snapshot is %zu bytes, its header says %llu (truncated?)", len, (unsigned long long)h->file_len);
	/* sections in order, each at the next aligned offset: every byte of the file is in the
	 * header, in a section (both hashed) or in padding (checked to be zero) */
	uint64_t pos = align_up(sizeof(*h));
	for (int s = 0; s < S_N; s++) {
		const struct snap_sec *sc = &h->sec[s];
		if (sc->off != pos || sc->off > len || sc->len > len - sc->off)
			BAD("snapshot section %s out of bounds", sec_names[s]);
		pos = align_up(sc->off + sc->len);
	}
	if (pos != len)
		BAD("snapshot sections do not end at its end");
fail:
	return rc;
}

/* 1 (with a message naming the first line of key that differs) when the image's key is not
 * key, else 0. */
static int key_differs(const char *a, size_t alen, const char *key, size_t key_len, char *err, size_t errlen)
{
	if (alen == key_len && memcmp(a, key, key_len) == 0)
		return 0;
	const char *ae = a + alen, *b = key, *be = key + key_len;
	while (a < ae && b < be) {
		const char *na = memchr(a, '\n', (size_t)(ae - a)), *nb = memchr(b, '\n', (size_t)(be - b));
		size_t la = na ? (size_t)(na - a) : (size_t)(ae - a), lb = nb ? (size_t)(nb - b) : (size_t)(be - b);
		if (la != lb || memcmp(a, b, la) != 0)
			break;
		a += la + (na != NULL);
		b += lb + (nb != NULL);
	}
	const char *nb = b < be ? memchr(b, '\n', (size_t)(be - b)) : NULL;
	int lb = (int)((nb ? nb : be) - b);
	snprintf(err, errlen, "snapshot is for other files or another build; changed: %.*s", lb > 400 ? 400 : lb, b);
	return 1;
}

/* The bytes between the header and the sections are zero (layout checked already). */
static int padding_zero(const char *buf, size_t len, const struct snap_sec *sec)
{
	for (size_t i = sizeof(struct snap_hdr); i < sec[0].off; i++)
		if (buf[i])
			return 0;
	for (int s = 0; s < S_N; s++)
		for (size_t i = sec[s].off + sec[s].len; i < (s + 1 < S_N ? sec[s + 1].off : len); i++)
			if (buf[i])
				return 0;
	return 1;
}

/* count * size == len, without overflow */
static int sized(uint64_t len, uint64_t count, size_t size)
{
	return count <= len / size && count * size == len;
}

int rasn_snapshot_parse(char *buf, size_t len, const char *key, size_t key_len, char *const *paths, size_t n,
			const struct rasn_table_opts *opts, unsigned flags, struct rasn_table **out,
			char *err, size_t errlen)
{
	struct snap_hdr h;
	struct rasn_table *t = NULL;
	int rc;
	*out = NULL;
	if (len < sizeof(h)) {
		snprintf(err, errlen, "snapshot truncated (%zu bytes)", len);
		return -EBADMSG;
	}
	memcpy(&h, buf, sizeof(h));
	if ((rc = check_header(&h, len, flags, err, errlen)) < 0)
		return rc;
	const struct snap_sec *sec = h.sec;
	if (key && key_differs(buf + sec[S_KEY].off, sec[S_KEY].len, key, key_len, err, errlen))
		return -ESTALE;
	if (!padding_zero(buf, len, sec)) {
		snprintf(err, errlen, "snapshot padding damaged");
		return -EBADMSG;
	}
	if (!(flags & RASN_SNAPSHOT_NO_HASH))
		for (int s = 0; s < S_N; s++)
			if (rasn_snapshot_hash(sec[s].len ? buf + sec[s].off : "", sec[s].len, (uint64_t)s) != sec[s].hash) {
				snprintf(err, errlen, "snapshot section %s checksum mismatch", sec_names[s]);
				return -EBADMSG;
			}
	/* counts against section lengths: each array is exactly its count of records */
	if (!sized(sec[S_FILES].len, h.n_files, sizeof(struct snap_file)) ||
	    h.nseg4 >= V4_BIG || !sized(sec[S_START4].len, h.nseg4 + V4_WIN, sizeof(uint32_t)) ||
	    !sized(sec[S_INFO4].len, h.nseg4, sizeof(struct rinfo)) ||
	    h.n6 >= UINT32_MAX || !sized(sec[S_START6].len, h.n6, sizeof(rasn_u128)) ||
	    !sized(sec[S_END6].len, h.n6, sizeof(rasn_u128)) || !sized(sec[S_INFO6].len, h.n6, sizeof(struct rinfo)) ||
	    !sized(sec[S_NM].len, h.n_names, sizeof(struct name_ent)) ||
	    !sized(sec[S_ORIGINS].len, h.n_origins, sizeof(uint32_t)) ||
	    !sized(sec[S_AS].len, h.n_as, sizeof(struct as_entry)) ||
	    !sized(sec[S_AS_RANGES].len, h.n_as_ranges, sizeof(uint32_t)) ||
	    !sized(sec[S_ORG].len, h.n_org, sizeof(struct org_entry))) {
		snprintf(err, errlen, "snapshot counts do not match its sections");
		return -EBADMSG;
	}
	if (paths && h.n_files != n) {
		snprintf(err, errlen, "snapshot records %llu files, %zu are configured", (unsigned long long)h.n_files, n);
		return -ESTALE;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&t->refs, 1);
	t->n4 = h.n4;
	t->nseg4 = h.nseg4;
	t->start4 = (uint32_t *)(buf + sec[S_START4].off);
	t->info4 = (struct rinfo *)(buf + sec[S_INFO4].off);
	t->n6 = h.n6;
	t->start6 = (rasn_u128 *)(buf + sec[S_START6].off);
	t->end6 = (rasn_u128 *)(buf + sec[S_END6].off);
	t->info6 = (struct rinfo *)(buf + sec[S_INFO6].off);
	t->n_names = h.n_names;
	t->names = buf + sec[S_NAMES].off;
	t->names_len = sec[S_NAMES].len;
	t->names_lower = buf + sec[S_LOWER].off;
	t->lower_len = sec[S_LOWER].len;
	t->nm = (struct name_ent *)(buf + sec[S_NM].off);
	t->origins = (uint32_t *)(buf + sec[S_ORIGINS].off);
	t->n_origins_total = h.n_origins;
	t->n_as = h.n_as;
	t->as = (struct as_entry *)(buf + sec[S_AS].off);
	t->n_as_ranges = h.n_as_ranges;
	t->as_ranges = (uint32_t *)(buf + sec[S_AS_RANGES].off);
	t->n_org = h.n_org;
	t->org = (struct org_entry *)(buf + sec[S_ORG].off);
	t->rows = h.rows;
	t->overlaps = h.overlaps;

	/* names: every C string read from the blobs ends inside them */
	if (t->names_len == 0 || t->names[t->names_len - 1] || t->lower_len == 0 || t->names_lower[t->lower_len - 1])
		BAD("snapshot name blobs not terminated");
	if (t->n_names == 0)
		BAD("snapshot has no name entries");
	for (size_t i = 0; i < t->n_names; i++) {
		const struct name_ent *e = &t->nm[i];
		if ((uint64_t)e->json + e->json_len >= t->names_len || e->raw >= t->names_len ||
		    (uint64_t)e->lower + e->len >= t->lower_len)
			BAD("snapshot name entry %zu out of bounds", i);
	}
	/* v4 segments: from 0.0.0.0, strictly increasing, then the padding */
	if (t->nseg4 == 0 || t->start4[0] != 0)
		BAD("snapshot IPv4 segments do not start at 0.0.0.0");
	size_t ranges = 0;
	for (size_t i = 0; i < t->nseg4; i++) {
		const struct rinfo *ri = &t->info4[i];
		if (i > 0 && t->start4[i] <= t->start4[i - 1])
			BAD("snapshot IPv4 segment %zu out of order", i);
		if ((uint64_t)ri->name_id + ri->json_len + 1 >= t->names_len || ORI_N(ri) > RASN_DS_MAX_ORIGINS ||
		    (ORI_N(ri) > 1 && (uint64_t)ORI_OFF(ri) + ORI_N(ri) > t->n_origins_total))
			BAD("snapshot IPv4 segment %zu refers outside the table", i);
		ranges += ORI_N(ri) != 0;
	}
	for (size_t i = t->nseg4; i < t->nseg4 + V4_WIN; i++)
		if (t->start4[i] != UINT32_MAX)
			BAD("snapshot IPv4 padding damaged");
	if (ranges != t->n4)
		BAD("snapshot IPv4 range count %zu, header says %zu", ranges, t->n4);
	/* v6 ranges: sorted, not overlapping, each with an origin */
	for (size_t i = 0; i < t->n6; i++) {
		const struct rinfo *ri = &t->info6[i];
		if (t->start6[i] > t->end6[i] || (i > 0 && t->start6[i] <= t->end6[i - 1]))
			BAD("snapshot IPv6 range %zu out of order", i);
		if ((uint64_t)ri->name_id + ri->json_len + 1 >= t->names_len || ORI_N(ri) < 1 ||
		    ORI_N(ri) > RASN_DS_MAX_ORIGINS ||
		    (ORI_N(ri) > 1 && (uint64_t)ORI_OFF(ri) + ORI_N(ri) > t->n_origins_total))
			BAD("snapshot IPv6 range %zu refers outside the table", i);
	}
	if (t->n4 + t->n6 == 0)
		BAD("snapshot holds no ranges");
	/* AS index: sorted, the entries' ranges one after the other (so checking them is linear),
	 * each inside its array and a real range (not a gap) */
	uint64_t next = 0;
	for (size_t i = 0; i < t->n_as; i++) {
		const struct as_entry *e = &t->as[i];
		if ((i > 0 && e->asn <= t->as[i - 1].asn) || e->name_id >= t->n_names || e->off != next ||
		    (uint64_t)e->off + e->n4 + e->n6 > t->n_as_ranges)
			BAD("snapshot AS entry %zu damaged", i);
		next = (uint64_t)e->off + e->n4 + e->n6;
		for (uint32_t k = 0; k < e->n4; k++) {
			uint32_t r = t->as_ranges[e->off + k];
			if (r >= t->nseg4 || ORI_N(&t->info4[r]) == 0)
				BAD("snapshot AS entry %zu: IPv4 range out of bounds", i);
		}
		for (uint32_t k = 0; k < e->n6; k++)
			if (t->as_ranges[(uint64_t)e->off + e->n4 + k] >= t->n6)
				BAD("snapshot AS entry %zu: IPv6 range out of bounds", i);
	}
	if (next != t->n_as_ranges)
		BAD("snapshot AS ranges not all owned");
	for (size_t i = 0; i < t->n_org; i++)
		if (t->org[i].name_id >= t->n_names || (i > 0 && t->org[i].asn < t->org[i - 1].asn))
			BAD("snapshot org entry %zu damaged", i);
	const struct snap_file *sf = (const struct snap_file *)(buf + sec[S_FILES].off);
	t->files = calloc(h.n_files ? h.n_files : 1, sizeof(*t->files));
	if (!t->files) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < h.n_files; i++) {
		if (sf[i].format < RASN_DS_IPLDB_CSV || sf[i].format > RASN_DS_PFX2AS)
			BAD("snapshot file record %zu damaged", i);
		if (opts && sf[i].bad > opts->max_bad_lines) {
			snprintf(err, errlen, "%s had %llu malformed lines, over [dataset] max_bad_lines (%zu)",
				 paths ? paths[i] : "snapshot", (unsigned long long)sf[i].bad, opts->max_bad_lines);
			rc = -ESTALE;
			goto fail;
		}
		struct rasn_table_file *f = &t->files[i];
		f->format = (enum rasn_ds_format)sf[i].format;
		f->rows = (size_t)sf[i].rows;
		f->bad = (size_t)sf[i].bad;
		f->skipped = (size_t)sf[i].skipped;
		f->method = RASN_IO_READ;
		if (!(f->path = strdup(paths ? paths[i] : "snapshot"))) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		t->n_files++;
	}
	for (int s = S_START4; s < S_N; s++)
		t->bytes += sec[s].len;
	if (rasn_table_index4(t) < 0 || rasn_table_index6(t) < 0) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->bytes += sizeof(*t);
	t->image = buf;
	t->image_len = len;
	*out = t;
	return 0;
fail:
	/* the arrays are the caller's buffer: free only what was allocated here */
	free(t->idx4);
	free(t->sub4);
	free(t->idx6);
	for (size_t i = 0; i < t->n_files; i++)
		free((char *)t->files[i].path);
	free(t->files);
	free(t);
	return rc;
}

int rasn_snapshot_section(const char *buf, size_t len, const char *name, size_t *off, size_t *slen)
{
	struct snap_hdr h;
	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	for (int s = 0; s < S_N; s++)
		if (!strcmp(name, sec_names[s])) {
			if (h.sec[s].off > len || h.sec[s].len > len - h.sec[s].off)
				return -EBADMSG;
			*off = (size_t)h.sec[s].off;
			*slen = (size_t)h.sec[s].len;
			return 0;
		}
	return -ENOENT;
}

int rasn_snapshot_read(const char *path, const char *key, size_t key_len, char *const *paths, size_t n,
		       const struct rasn_table_opts *opts, struct rasn_table **out, char *err, size_t errlen)
{
	int rc;
	*out = NULL;
	/* First the header and key alone: a stale image costs 64 KiB, not a whole read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	char *head = malloc(SNAP_HEAD_READ);
	struct stat st;
	size_t got = 0;
	rc = 0;
	if (!head)
		rc = -ENOMEM;
	else if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else
		rc = rasn_file_pread(fd, head, SNAP_HEAD_READ, 0, &got);
	close(fd);
	if (rc < 0) {
		free(head);
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	struct snap_hdr h;
	if (got < sizeof(h)) {
		free(head);
		snprintf(err, errlen, "snapshot truncated (%zu bytes)", got);
		return -EBADMSG;
	}
	memcpy(&h, head, sizeof(h));
	/* against the file's size: a truncated image fails here, before the whole read */
	rc = check_header(&h, (size_t)st.st_size, 0, err, errlen);
	if (rc == 0 && key && h.sec[S_KEY].off + h.sec[S_KEY].len <= (uint64_t)got &&
	    key_differs(head + h.sec[S_KEY].off, h.sec[S_KEY].len, key, key_len, err, errlen))
		rc = -ESTALE;
	free(head);
	if (rc < 0)
		return rc;
	/* the whole image, checked again from scratch: it may have changed since */
	size_t max = opts && opts->max_file_size ? (opts->max_file_size > SIZE_MAX / 32 ? SIZE_MAX / 2 : opts->max_file_size * 16) : 0;
	char *buf;
	size_t len;
	enum rasn_io_method method;
	rc = rasn_file_read(path, max, opts ? opts->force_read : 0, &buf, &len, &method);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ? "snapshot larger than the dataset could make" : strerror(-rc));
		return rc == -EFBIG ? -EBADMSG : rc;
	}
	rc = rasn_snapshot_parse(buf, len, key, key_len, paths, n, opts, 0, out, err, errlen);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	for (size_t i = 0; i < (*out)->n_files; i++)
		(*out)->files[i].method = method;
	return 0;
}
