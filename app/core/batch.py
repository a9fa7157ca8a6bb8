"""Several independent writes in one round trip, with statements built once per shape.

A write is a single-row insert, or an update or delete of rows picked by equal columns (and at most
one IN list). On PostgreSQL the writes of one call go as one statement, the first ones as
data-modifying CTEs of the last: they run on one snapshot and in no set order, so they must not
depend on each other's effects (callers write different rows). Elsewhere they run one by one.

Each distinct sequence of write shapes is built and compiled once and then executed with bound
parameters; building a statement per call costs more CPU than the round trips it saves.
"""

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Table, and_, bindparam, delete, insert, update

from app.extensions import db


@dataclass(frozen=True)
class Write:
    shape: tuple  # (kind, table, columns...): what decides the statement's text
    params: dict


def insert_row(table: Table, row: dict) -> Write:
    return Write(("insert", table, tuple(row)), row)


def update_rows(table: Table, where: dict, values: dict) -> Write:
    return Write(("update", table, tuple(where), tuple(values)),
                 {**{f"k_{c}": v for c, v in where.items()}, **{f"v_{c}": v for c, v in values.items()}})


def delete_rows(table: Table, where: dict, within: tuple[str, list] | None = None) -> Write:
    params = {f"k_{c}": v for c, v in where.items()}
    if within:
        params[f"in_{within[0]}"] = list(within[1])
    return Write(("delete", table, tuple(where), within[0] if within else None), params)


def _build(shape: tuple, prefix: str):
    kind, table = shape[0], shape[1]

    def where(columns):
        return and_(*[table.c[c] == bindparam(f"{prefix}k_{c}") for c in columns])

    if kind == "insert":
        return insert(table).values({c: bindparam(f"{prefix}{c}") for c in shape[2]})
    if kind == "update":
        return update(table).where(where(shape[2])).values({c: bindparam(f"{prefix}v_{c}") for c in shape[3]})
    statement = delete(table).where(where(shape[2]))
    if shape[3]:
        statement = statement.where(table.c[shape[3]].in_(bindparam(f"{prefix}in_{shape[3]}", expanding=True)))
    return statement


@lru_cache(maxsize=512)
def _together(shapes: tuple):
    *first, last = [_build(shape, f"w{i}_") for i, shape in enumerate(shapes)]
    return last.add_cte(*[s.cte(f"w{i}") for i, s in enumerate(first)]) if first else last


@lru_cache(maxsize=512)
def _single(shape: tuple):
    return _build(shape, "")


def execute_together(writes: list[Write]):
    """Execute the writes; returns the result of the last one (None when there are none)."""
    if len(writes) > 1 and db.session.get_bind().dialect.name == "postgresql":
        params = {f"w{i}_{key}": value for i, w in enumerate(writes) for key, value in w.params.items()}
        return db.session.execute(_together(tuple(w.shape for w in writes)), params)
    result = None
    for w in writes:
        result = db.session.execute(_single(w.shape), w.params)
    return result
