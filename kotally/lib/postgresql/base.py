"""Django's PostgreSQL backend whose connection pool checks a connection by its socket.

Django builds psycopg's pool with `check=ConnectionPool.check_connection` when
CONN_HEALTH_CHECKS is on: an empty query, one round trip on every request. An idle connection
has nothing to read, and a server that stops or restarts sends its FATAL notice and closes the
socket, which makes it readable; only then is the empty query paid for. It raises on a dead
connection, so the pool drops it and hands out another (tests/reliability/test_faults.py).
A server that vanishes without closing its sockets (a lost host) is not seen here: the request
that meets it fails and Django discards the connection afterwards, as it would after a
`SELECT 1` that timed out.
"""

import select

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


def check_connection(conn) -> None:
    if not conn.closed:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        if not poller.poll(0):
            return  # nothing to read: the server has not closed it
    ConnectionPool.check_connection(conn)


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        options = self.settings_dict["OPTIONS"].get("pool")
        checked = self.settings_dict["CONN_HEALTH_CHECKS"]
        if options and checked and self.alias not in self._connection_pools:
            # Built as Django builds it, with the cheaper check; Django then reuses it.
            self._connection_pools.setdefault(
                self.alias,
                ConnectionPool(
                    kwargs={**self.get_connection_params(), "autocommit": True},
                    open=False,
                    configure=self._configure_connection,
                    check=check_connection,
                    **({} if options is True else options),
                ),
            )
        return super().pool
