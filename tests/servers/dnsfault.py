#!/usr/bin/python3
"""A DNS server for the cases no real server produces on command (dnslib, loopback only).

    dnsfault.py PORT

Answers A/AAAA from a built-in table (pair.test., any name under wild.test., and the names
given with `add`), and reads
commands on stdin, one per line, switchable at run time:
    mode normal|drop|servfail|refused   how to treat queries from now on
    delay MS                            answer every query MS milliseconds late (a slow link)
    hold-pair                           hold A and AAAA answers for a name until both queries
                                        have arrived (5 s at most), then answer both
    add NAME A|AAAA ADDR                add a record
    add NAME TXT TEXT...                add a TXT record (the rest of the line; NAME may be a
                                        wildcard, *.zone, answering every name below it)
    servfail-next N                     answer the next N queries SERVFAIL, then as the mode says
    drop-next N                         drop the next N queries, then as the mode says
Every event is one JSON line on stdout: {"ev":"query"|"answer"|"drop"|..., "name", "type", "t"}.
It prints {"ev":"ready"} once listening."""
import heapq
import itertools
import json
import socket
import sys
import threading
import time

from dnslib import AAAA, TXT, A, DNSRecord, QTYPE, RCODE, RR

lock = threading.Lock()
mode = "normal"
hold_pair = False
delay_ms = 0
records = {("pair.test.", "A"): ["192.0.2.1"], ("pair.test.", "AAAA"): ["2001:db8::1"]}
held = {}  # name -> list of (request, addr)
next_faults = []  # "servfail" / "drop", one per coming query
later = []        # heap of (due, seq, request, addr): delayed answers
later_seq = itertools.count()
later_cv = threading.Condition()


def lookup(qn, qt):
    """Records for (name, type): the name's own, else the closest wildcard's."""
    if (qn, qt) in records:
        return records[(qn, qt)]
    labels = qn.split(".")
    for i in range(1, len(labels)):
        w = "*." + ".".join(labels[i:])
        if (w, qt) in records:
            return records[(w, qt)]
    return None


def exists(qn):
    labels = qn.split(".")
    return any(k[0] == qn or k[0] in ("*." + ".".join(labels[i:]) for i in range(1, len(labels)))
               for k in records)


def log(**kw):
    kw["t"] = time.monotonic()
    with lock:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()


def answer(sock, req, addr, fault=None):
    qn = str(req.q.qname)
    qt = QTYPE[req.q.qtype]
    rep = req.reply()
    if mode == "servfail" or fault == "servfail":
        rep.header.rcode = RCODE.SERVFAIL
    elif mode == "refused":
        rep.header.rcode = RCODE.REFUSED
    else:
        vals = lookup(qn.lower(), qt)
        if vals is None and qn.lower().endswith(".wild.test."):
            vals = ["192.0.2.7"] if qt == "A" else ["2001:db8::7"] if qt == "AAAA" else None
        if vals is None and not exists(qn.lower()) and not qn.lower().endswith(".wild.test."):
            rep.header.rcode = RCODE.NXDOMAIN
        for v in vals or []:
            rdata = A(v) if qt == "A" else AAAA(v) if qt == "AAAA" else TXT(v)
            rep.add_answer(RR(qn, req.q.qtype, rdata=rdata, ttl=60))
    sock.sendto(rep.pack(), addr)
    log(ev="answer", name=qn, type=qt, rcode=RCODE[rep.header.rcode])


def serve(sock):
    while True:
        data, addr = sock.recvfrom(4096)
        try:
            req = DNSRecord.parse(data)
        except Exception:
            log(ev="garbage")
            continue
        qn, qt = str(req.q.qname), QTYPE[req.q.qtype]
        log(ev="query", name=qn, type=qt)
        with lock:
            fault = next_faults.pop(0) if next_faults else None
        if fault == "servfail":
            answer(sock, req, addr, fault)
            continue
        if mode == "drop" or fault == "drop":
            log(ev="drop", name=qn, type=qt)
            continue
        if hold_pair and qt in ("A", "AAAA"):
            with lock:
                lst = held.setdefault(qn, [])
                lst.append((req, addr))
                both = {QTYPE[r.q.qtype] for r, _ in lst} >= {"A", "AAAA"}
                if both:
                    del held[qn]
            if both:
                log(ev="pair-complete", name=qn)
                for r, a in lst:
                    answer(sock, r, a)
            else:
                threading.Timer(5.0, release, args=(sock, qn)).start()
            continue
        if delay_ms:
            with later_cv:
                heapq.heappush(later, (time.monotonic() + delay_ms / 1000.0, next(later_seq), req, addr))
                later_cv.notify()
        else:
            answer(sock, req, addr)


def answer_later(sock):
    """Delayed answers, from one thread (a timer thread per query falls behind at a few
    thousand queries a second)."""
    while True:
        with later_cv:
            while not later or later[0][0] > time.monotonic():
                later_cv.wait(later[0][0] - time.monotonic() if later else None)
            _, _, req, addr = heapq.heappop(later)
        answer(sock, req, addr)


def release(sock, qn):
    with lock:
        lst = held.pop(qn, None)
    if lst:
        log(ev="pair-timeout", name=qn)   # only one of the two arrived within 5 s
        for r, a in lst:
            answer(sock, r, a)


def main():
    global mode, hold_pair, delay_ms
    port = int(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", port))
    threading.Thread(target=serve, args=(sock,), daemon=True).start()
    threading.Thread(target=answer_later, args=(sock,), daemon=True).start()
    log(ev="ready", port=port)
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        if w[0] == "mode":
            mode = w[1]
        elif w[0] == "delay":
            delay_ms = int(w[1])
        elif w[0] == "hold-pair":
            hold_pair = True
        elif w[0] in ("servfail-next", "drop-next"):
            with lock:
                next_faults.extend([w[0].split("-")[0]] * int(w[1]))
        elif w[0] == "add":
            val = line.strip().split(None, 3)[3] if w[2] == "TXT" else w[3]
            records.setdefault((w[1].lower().rstrip(".") + ".", w[2]), []).append(val)
        log(ev="command", cmd=line.strip())


if __name__ == "__main__":
    main()
