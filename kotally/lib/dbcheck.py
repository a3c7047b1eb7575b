"""The health check of a pooled PostgreSQL connection, without a round trip per request."""

import select

from psycopg_pool import ConnectionPool


def check_connection(conn) -> None:
    """psycopg_pool's `check`, run each time the pool hands out a connection.

    An idle connection has nothing to read. A server that stops or restarts sends its
    FATAL notice and closes the socket, which makes it readable: only then is the real check
    (an empty query) paid for, and it raises, so the pool drops the connection and hands out
    another. A server that vanishes without closing its sockets (a host lost) is not seen
    here; the request that meets it fails and Django discards the connection afterwards, as
    a `SELECT 1` check would not have answered in time either.
    """
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if conn.closed or poller.poll(0):
        ConnectionPool.check_connection(conn)
