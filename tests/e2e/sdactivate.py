"""Start a program the way systemd starts a socket-activated service (sd_listen_fds(3)): the
listening sockets inherited from the caller move to descriptors 3, 4, ... in the order given,
LISTEN_FDS counts them, LISTEN_FDNAMES names them (FileDescriptorName=), LISTEN_PID is this
process's pid, which exec keeps for the program. Unlike systemd-socket-activate it mixes stream
and datagram sockets and can write wrong values on purpose (the error cases).

    sdactivate.py [--names A:B:...] [--no-names] [--pid PID] [--fds N] FD... -- PROGRAM ARGS...

--pid: LISTEN_PID to write instead of our own (another process's: the program must ignore the
sockets); --fds: LISTEN_FDS to write instead of the count."""
import argparse
import fcntl
import os
import sys


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--names")
    ap.add_argument("--no-names", action="store_true")
    ap.add_argument("--pid")
    ap.add_argument("--fds")
    ap.add_argument("fd", nargs="*", type=int)
    a = ap.parse_args(argv[:sep])
    prog = argv[sep + 1:]
    # out of the way first, so that moving one cannot overwrite another not moved yet
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3 + len(a.fd)) for fd in a.fd]
    for fd in a.fd:
        os.close(fd)
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i)      # dup2 leaves the new descriptor without FD_CLOEXEC
        os.close(fd)
    env = dict(os.environ)
    env["LISTEN_FDS"] = a.fds if a.fds is not None else str(len(a.fd))
    env["LISTEN_PID"] = a.pid if a.pid is not None else str(os.getpid())
    if a.names is not None:
        env["LISTEN_FDNAMES"] = a.names
    if a.no_names:
        env.pop("LISTEN_FDNAMES", None)
    os.execve(prog[0], prog, env)


if __name__ == "__main__":
    main()
