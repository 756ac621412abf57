"""Loopback ports for servers that the tests start and that bind their own sockets (knotd,
nginx, rasnd's metrics listener).

A port taken with bind(0) and released comes from the kernel's ephemeral range, the same range
every outgoing connection draws its local port from: between the release and the server's own
bind, a connection of rasnd's or of another test could take it ("address already in use", seen
once with knotd). Ports below the ephemeral range are never handed out that way, so a port
checked free there stays free unless another server is started on it on purpose."""
import random
import socket

_rng = random.Random()
_given = set()


def _low_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        lo = 32768
    return 10000, max(10001, min(lo, 65536)) - 1


def free_ports(n, udp=False):
    """n distinct loopback ports below the ephemeral range, each bindable now for TCP (and for
    UDP too when udp is true), none given out before by this process."""
    lo, hi = _low_range()
    out = []
    for _ in range(20000):
        if len(out) == n:
            return out
        p = _rng.randint(lo, hi)
        if p in _given:
            continue
        kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else [])
        ok = True
        for k in kinds:
            s = socket.socket(socket.AF_INET, k)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            _given.add(p)
            out.append(p)
    raise RuntimeError(f"no {n} free ports in {lo}-{hi}")
