#!/usr/bin/env python3
"""One end of a bulk exchange through the relay (tests/app/tst_cli_relay.cpp).

  relay_peer.py server ADDR BYTES SEED   listen on ADDR (HOST:PORT, port 0 for a free one, or a
                                         Unix socket path), print "listening ADDR", accept one
                                         connection
  relay_peer.py client ADDR BYTES SEED   connect to ADDR

Either end then sends BYTES pseudo-random bytes (from SEED) while it receives until end-of-file,
half-closes after its last byte, and prints "sent=<sha256> received=<sha256> count=<bytes received>".
"""
import hashlib
import random
import socket
import sys
import threading


def endpoint(addr):
    if "/" in addr:
        return socket.AF_UNIX, addr
    host, port = addr.rsplit(":", 1)
    return socket.AF_INET, (host, int(port))


def exchange(sock, total, seed):
    rng = random.Random(seed)
    sent = hashlib.sha256()

    def send():
        left = total
        while left:
            chunk = rng.randbytes(min(left, 1 << 20))
            sent.update(chunk)
            sock.sendall(chunk)
            left -= len(chunk)
        sock.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=send)
    t.start()
    got = hashlib.sha256()
    count = 0
    while True:
        b = sock.recv(1 << 20)
        if not b:
            break
        got.update(b)
        count += len(b)
    t.join()
    print(f"sent={sent.hexdigest()} received={got.hexdigest()} count={count}", flush=True)


def main():
    role, addr, total, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    family, where = endpoint(addr)
    if role == "server":
        ls = socket.socket(family, socket.SOCK_STREAM)
        ls.bind(where)
        ls.listen(1)
        name = ls.getsockname()
        print("listening " + (name if family == socket.AF_UNIX else f"{name[0]}:{name[1]}"), flush=True)
        conn, _ = ls.accept()
        ls.close()
        exchange(conn, total, seed)
    else:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.connect(where)
        exchange(s, total, seed)


if __name__ == "__main__":
    main()
