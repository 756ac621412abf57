"""An independent reference for what rasnd must answer, written in plain Python from the
dataset files: csv module for parsing, ipaddress for the CIDR math, bisect for lookups.
Rules it shares with rasnd by specification, not by code: the narrowest row that holds an
address wins, ties go to the row read first; the reported range is the effective one; the
prefix is the largest CIDR block inside that range holding the address."""
import bisect
import collections
import csv
import heapq
import ipaddress


def read_ipldb_csv(path):
    """Rows (family, first, last, asn, name, order) of an ip-location-db CSV file."""
    rows = []
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        for n, rec in enumerate(csv.reader(f)):
            if not rec:
                continue
            a, b = ipaddress.ip_address(rec[0]), ipaddress.ip_address(rec[1])
            rows.append((a.version, int(a), int(b), int(rec[2]), rec[3]))
    return rows


def resolve(rows):
    """Non-overlapping (first, last, asn, name) per family from possibly overlapping rows."""
    out = {}
    for fam in (4, 6):
        fr = sorted((r[1], i, r) for i, r in enumerate(rows) if r[0] == fam)
        segs = []
        heap = []  # (width, order, row)
        i, n = 0, len(fr)
        maxv = (1 << (32 if fam == 4 else 128)) - 1
        pos = fr[0][0] if fr else 0
        while fr:
            while heap and heap[0][2][2] < pos:
                heapq.heappop(heap)
            if not heap:
                if i >= n:
                    break
                pos = fr[i][0]
            while i < n and fr[i][0] == pos:
                r = fr[i][2]
                heapq.heappush(heap, (r[2] - r[1], fr[i][1], r))
                i += 1
            while heap and heap[0][2][2] < pos:
                heapq.heappop(heap)
            if not heap:
                continue
            top = heap[0][2]
            end = top[2]
            if i < n and fr[i][0] - 1 < end:
                end = fr[i][0] - 1
            if segs and segs[-1][4] is top and segs[-1][1] + 1 == pos:
                segs[-1] = (segs[-1][0], end, top[3], top[4], top)
            else:
                segs.append((pos, end, top[3], top[4], top))
            if end == maxv:
                break
            pos = end + 1
        out[fam] = [s[:4] for s in segs]
    return out


class Reference:
    def __init__(self, paths):
        rows = []
        for p in paths:
            rows.extend(read_ipldb_csv(p))
        self.rows = rows
        self.segs = resolve(rows)
        self.starts = {f: [s[0] for s in self.segs[f]] for f in (4, 6)}
        by_as = collections.defaultdict(list)
        names = collections.defaultdict(collections.Counter)
        first_seen = {}
        for i, r in enumerate(rows):
            names[r[3]][r[4]] += 1
            first_seen.setdefault((r[3], r[4]), i)
        for f in (4, 6):
            for s in self.segs[f]:
                by_as[s[2]].append((f, s[0], s[1]))
        self.by_as = by_as
        # most frequent name; ties to the one read first
        self.as_name = {a: min(c, key=lambda nm: (-c[nm], first_seen[(a, nm)])) for a, c in names.items()}
        self.names_of = {a: set(c) for a, c in names.items()}

    def lookup(self, ip):
        a = ipaddress.ip_address(ip)
        if a.version == 6 and a.ipv4_mapped:
            a = a.ipv4_mapped
        f, v = a.version, int(a)
        i = bisect.bisect_right(self.starts[f], v) - 1
        if i < 0 or self.segs[f][i][1] < v:
            return None
        first, last, asn, name = self.segs[f][i]
        return {
            "ip": str(a), "asn": asn, "as_name": name,
            "prefix": covering(f, first, last, v),
            "first_ip": str(ipaddress.ip_address(first) if f == 4 else ipaddress.IPv6Address(first)),
            "last_ip": str(ipaddress.ip_address(last) if f == 4 else ipaddress.IPv6Address(last)),
        }

    def prefixes(self, asn):
        nets = {4: [], 6: []}
        for f, first, last in self.by_as.get(asn, []):
            cls = ipaddress.IPv4Address if f == 4 else ipaddress.IPv6Address
            nets[f].extend(ipaddress.summarize_address_range(cls(first), cls(last)))
        out = []
        for f in (4, 6):
            out.extend(str(n) for n in sorted(ipaddress.collapse_addresses(nets[f])))
        return out

    def org(self, text):
        t = alower(text)
        return sorted(a for a, ns in self.names_of.items() if any(t in alower(n) for n in ns))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def alower(s):
    """ASCII-only lower case, as rasnd folds case (names are bytes to it)."""
    return s.translate(_ASCII_LOWER)


def covering(fam, first, last, v):
    bits = 32 if fam == 4 else 128
    for plen in range(0, bits + 1):
        host = (1 << (bits - plen)) - 1
        net = v & ~host
        if net >= first and net | host <= last:
            cls = ipaddress.IPv4Network if fam == 4 else ipaddress.IPv6Network
            return str(cls((net, plen)))
    raise AssertionError("unreachable: a /32 or /128 always fits")
