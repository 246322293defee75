#!/usr/bin/env python3
"""A plain epoll program for the attach tests (docs/attach.md): ReadyScope attaches to it.

It listens on 127.0.0.1 (an ephemeral port, or argv[1]), makes an eventfd and watches
stdin; one epoll instance holds:
  - the listener, EPOLLIN (level)
  - stdin (a pipe from the test), EPOLLIN (level)
  - the eventfd, EPOLLIN | EPOLLET
  - each accepted connection, EPOLLIN | EPOLLRDHUP | EPOLLET (echoed, read to EAGAIN)
With "--second-epoll" a second epoll instance watches a pipe's read end with EPOLLONESHOT.

It prints one line per step, flushed, so a test knows when a change is in place:
  "port N" at start, "pid P", "registered FD EVENTS" (EVENTS in hex, as fdinfo shows them less
  ERR|HUP), "modified FD EVENTS", "unregistered FD", "accepted FD PEER", "closed FD", "bye".
Commands on stdin, one per line: "mod" (the eventfd to IN|OUT|ET), "unreg" (remove the
eventfd), "exit". At the end of stdin it unregisters stdin and serves on; a stdin epoll cannot watch (</dev/null,
a file) is left out.
"""
import os
import select
import socket
import sys

ep = select.epoll()
ls = socket.socket()
ls.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0))
ls.listen()
ls.setblocking(False)
efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
os.set_blocking(0, False)


def say(*words):
    print(*words, flush=True)


def reg(fd, events):
    ep.register(fd, events)
    say("registered", fd, format(events & 0xffffffff, "x"))


say("pid", os.getpid())
reg(ls.fileno(), select.EPOLLIN)
try:
    reg(0, select.EPOLLIN)
except PermissionError:  # stdin is a file or /dev/null: epoll cannot watch it
    say("stdin not watched")
reg(efd, select.EPOLLIN | select.EPOLLET)
second = None
if "--second-epoll" in sys.argv:
    second = select.epoll()
    r, w = os.pipe()
    second.register(r, select.EPOLLIN | select.EPOLLONESHOT)
    say("second", second.fileno(), r)
say("port", ls.getsockname()[1])

conns = {}
pending = b""
while True:
    for fd, ev in ep.poll(1.0):
        if fd == ls.fileno():
            while True:
                try:
                    c, peer = ls.accept()
                except BlockingIOError:
                    break
                c.setblocking(False)
                conns[c.fileno()] = c
                say("accepted", c.fileno(), "%s:%d" % peer)
                reg(c.fileno(), select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLET)
        elif fd == 0:
            try:
                pending += os.read(0, 4096)
            except BlockingIOError:
                continue
            if not pending:  # stdin ended (</dev/null): keep serving without it
                ep.unregister(0)
                say("unregistered", 0)
                continue
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                cmd = line.decode().strip()
                if cmd == "mod":
                    ep.modify(efd, select.EPOLLIN | select.EPOLLOUT | select.EPOLLET)
                    say("modified", efd, format(select.EPOLLIN | select.EPOLLOUT | select.EPOLLET, "x"))
                elif cmd == "unreg":
                    ep.unregister(efd)
                    say("unregistered", efd)
                elif cmd == "exit":
                    say("bye")
                    sys.exit(0)
        elif fd in conns:
            c = conns[fd]
            while True:
                try:
                    data = c.recv(4096)
                except BlockingIOError:
                    break
                except ConnectionError:
                    data = b""
                if not data:
                    ep.unregister(fd)
                    c.close()
                    del conns[fd]
                    say("closed", fd)
                    break
                c.sendall(data)
