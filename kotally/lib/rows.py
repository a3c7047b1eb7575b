"""Hand-written SQL for the few queries on the API's hot path: model instances from rows,
inserts, and a cursor whose statements PostgreSQL plans once per connection.

Compiling a queryset costs more Python than the query costs the database (issue 14's
profile: the ORM's SQL compiler was a third of a deduct). A `Shape` names a model's columns
once; the hot query selects `shape.columns(alias)` and `shape.build(row, start)` turns that
slice of the row into an instance exactly as the ORM would (`Model.from_db`, the same
database converters, the other fields deferred), so the rest of the code cannot tell the
difference.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


def db():
    """The default database's wrapper for this thread. `django.db.connection` is a proxy
    that looks it up again on every attribute; the hot path looks it up once."""
    return connections[DEFAULT_DB_ALIAS]


def hot_cursor():
    """A cursor for the hot path's fixed statements. On PostgreSQL it binds parameters on the
    server, so psycopg prepares a statement once it has run a few times on a connection
    (`prepare_threshold`) and PostgreSQL stops planning it again: planning was most of these
    statements' database time (0.14–0.24 ms against 0.02–0.1 ms executing, issue 14). The rest
    of the ORM keeps Django's client-side binding. Elsewhere, Django's own cursor.

    Prepared statements live on a session: behind a transaction-pooling proxy (PgBouncer in
    transaction mode before 1.21) this must go back to `connection.cursor()`."""
    connection = db()
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    # What connection.cursor() does, with psycopg's server-binding cursor class; Django's
    # wrapper keeps its error translation, query log and execute_wrappers.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(psycopg.Cursor(connection.connection))


class Shape:
    def __init__(self, model: type[Model], *attnames: str):
        """`attnames`: the columns to load besides the primary key (none: all of them). They
        are selected in the model's field order, which `Model.from_db` expects."""
        meta = model._meta
        wanted = {meta.pk.attname, *attnames}
        unknown = wanted - {f.attname for f in meta.concrete_fields}
        if unknown:
            raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
        fields = [f for f in meta.concrete_fields if f.attname in wanted or not attnames]
        self.model = model
        self.table = meta.db_table
        self.fields = fields
        self.attnames = [f.attname for f in fields]
        self._converters = {}

    def __len__(self):
        return len(self.fields)

    def columns(self, alias: str) -> str:
        return ", ".join(f'{alias}."{f.column}"' for f in self.fields)

    def _conversions(self, connection) -> list:
        vendor = connection.vendor
        if vendor not in self._converters:
            found = []
            for i, f in enumerate(self.fields):
                col = f.get_col(self.table)
                for convert in connection.ops.get_db_converters(col) + col.get_db_converters(
                    connection
                ):
                    found.append((i, convert, col))
            self._converters[vendor] = found
        return self._converters[vendor]

    def build(self, row, start: int = 0) -> Model | None:
        """The instance in row[start:start + len(self)]; None when its primary key is NULL
        (the empty side of an outer join)."""
        values = list(row[start : start + len(self.fields)])
        if values[0] is None:
            return None
        connection = db()
        for i, convert, col in self._conversions(connection):
            values[i] = convert(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


class Insert:
    """`INSERT` of a new instance, every column but the key, `RETURNING` the key; values as
    the ORM's `save` would send them (`pre_save`, then `get_db_prep_save`). With
    `ignore_conflicts`, a row that would break a unique constraint is not inserted (as
    `bulk_create(..., ignore_conflicts=True)`)."""

    def __init__(self, model: type[Model], *, ignore_conflicts: bool = False):
        meta = model._meta
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.sql = "INSERT INTO {table} ({columns}) VALUES ({values}){conflict} RETURNING {pk}"
        self.sql = self.sql.format(
            table=meta.db_table,
            columns=", ".join(f'"{f.column}"' for f in self.fields),
            values=", ".join(["%s"] * len(self.fields)),
            conflict=" ON CONFLICT DO NOTHING" if ignore_conflicts else "",
            pk=f'"{meta.pk.column}"',
        )

    def statement(self, obj: Model) -> tuple[str, list]:
        """The insert of `obj` as (sql, params), to run with another statement."""
        connection = db()
        return self.sql, [
            f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self.fields
        ]

    def run(self, obj: Model, cursor, *, prefix: str = "", params: list = ()) -> bool:
        """Insert `obj` and set its key; False when a conflict left it out. `prefix` and its
        `params` go before the statement (a WITH clause whose data-modifying CTEs share the
        round trip)."""
        sql, values = self.statement(obj)
        cursor.execute(prefix + sql, [*params, *values])
        row = cursor.fetchone()
        if row is None:
            return False
        obj.pk = row[0]
        obj._state.adding = False
        return True
