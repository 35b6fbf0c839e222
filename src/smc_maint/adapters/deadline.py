"""A total deadline for blocking socket work (a TLS handshake): socket timeouts apply per read.

A peer that sends one byte a second never trips a per-read timeout; at the deadline the socket
is shut down from a timer thread, which ends the blocked call in the caller's thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class Deadline:
    def __init__(self) -> None:
        self.fired = False


@contextlib.contextmanager
def socket_deadline(sock: socket.socket, seconds: float) -> Iterator[Deadline]:
    """Shut ``sock`` down after ``seconds``; ``.fired`` tells the caller why its call failed."""
    state = Deadline()

    def fire() -> None:
        state.fired = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield state
    finally:
        timer.cancel()
