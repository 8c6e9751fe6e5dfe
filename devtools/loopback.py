"""The listening socket every local stand-in serves on: 127.0.0.1 only, never every interface."""

import socket

from callmeback.stand_ins import LOOPBACK_HOST


def bind_loopback(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0 picks a free one). It queues connections
    from the moment it is returned, so clients may connect before the server loop runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK_HOST, port))
    sock.listen(128)
    return sock
