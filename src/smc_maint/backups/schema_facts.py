"""Facts a restore must bring back besides table rows: sequence positions, indexes, constraints,
views, functions and extensions.

Read at backup time in the backup's own transaction (sequences before pg_dump starts: they are
not transactional, so pg_dump can only see them at or past this position), and again from the
restored copy. Definitions are compared as md5 of the server's own rendering
(pg_get_indexdef & co.), which is stable within a major version; across majors only names are
compared. Objects that belong to an extension are the extension's, and counted through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from .manifest import SchemaFacts, SequenceFacts

USER_NS = ("n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
           "AND n.nspname NOT LIKE 'pg\\_temp%'")


def _not_member(catalog: str, oid: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} "
            "AND d.deptype = 'e')")


SEQUENCES = f"""
SELECT n.nspname, c.relname, s.seqincrement FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relkind = 'S' AND c.relpersistence <> 't' AND {USER_NS} AND {_not_member('pg_class', 'c.oid')}
ORDER BY 1, 2
"""
INDEXES = f"""
SELECT n.nspname, ci.relname, md5(pg_get_indexdef(i.indexrelid)) FROM pg_index i
JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class ct ON ct.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ci.relnamespace
WHERE ct.relpersistence <> 't' AND {USER_NS} AND {_not_member('pg_class', 'ct.oid')}
"""
CONSTRAINTS = f"""
SELECT n.nspname, coalesce(cl.relname, ty.typname, '-'), con.conname, md5(pg_get_constraintdef(con.oid))
FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
LEFT JOIN pg_class cl ON cl.oid = con.conrelid LEFT JOIN pg_type ty ON ty.oid = con.contypid
WHERE coalesce(cl.relpersistence, 'p') <> 't' AND {USER_NS} AND {_not_member('pg_constraint', 'con.oid')}
  AND (cl.oid IS NULL OR {_not_member('pg_class', 'cl.oid')})
"""
VIEWS = f"""
SELECT n.nspname, c.relname, c.relkind::text || ':' || md5(pg_get_viewdef(c.oid)) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND {USER_NS} AND {_not_member('pg_class', 'c.oid')}
"""
FUNCTIONS = f"""
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
       md5(concat_ws('|', p.prokind, pg_get_function_result(p.oid), p.prosrc, p.probin, p.provolatile,
                     p.proisstrict, p.prosecdef, array_to_string(p.proconfig, ',')))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {USER_NS} AND {_not_member('pg_proc', 'p.oid')}
"""
EXTENSIONS = "SELECT extname, extversion FROM pg_extension"

_SIMPLE = re.compile(r"^[a-z_][a-z0-9_$]*$")


def ident(name: str) -> str:
    """``name`` as SQL would need it written: bare when simple, else double-quoted."""
    return name if _SIMPLE.match(name) else '"' + name.replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    return ".".join(ident(p) for p in parts)


def table_key(schema: str, name: str) -> str:
    """Unambiguous table key (format 2): ``trades``, ``audit.trades``, ``"a.b"`` (a dot in a public name)."""
    return ident(name) if schema == "public" else qualified(schema, name)


def sequence_positions(conn: psycopg.Connection[Any]) -> dict[str, SequenceFacts]:
    """Every user sequence's position now (sequences ignore snapshots)."""
    out: dict[str, SequenceFacts] = {}
    for schema, name, increment in conn.execute(SEQUENCES).fetchall():
        row = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(
            sql.Identifier(schema, name))).fetchone()
        assert row is not None
        out[qualified(schema, name)] = SequenceFacts(last_value=int(row[0]), is_called=bool(row[1]),
                                                     increment=int(increment))
    return out


def _named(conn: psycopg.Connection[Any], query: str) -> dict[str, str]:
    return {qualified(*[str(p) for p in row[:-1]]): str(row[-1]) for row in conn.execute(query).fetchall()}


def _functions(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """``schema.name(identity arguments)``: overloads are distinct functions."""
    return {f"{qualified(schema, name)}({args})": str(digest)
            for schema, name, args, digest in conn.execute(FUNCTIONS).fetchall()}


def schema_facts(conn: psycopg.Connection[Any], sequences: dict[str, SequenceFacts] | None = None) -> SchemaFacts:
    """All object facts of the connected database, in ``conn``'s current transaction."""
    return SchemaFacts(
        server_major=int(conn.info.server_version) // 10000,
        sequences=sequence_positions(conn) if sequences is None else sequences,
        indexes=_named(conn, INDEXES), constraints=_named(conn, CONSTRAINTS), views=_named(conn, VIEWS),
        functions=_functions(conn), extensions=_named(conn, EXTENSIONS))


@dataclass(frozen=True)
class ObjectDifference:
    what: str  # e.g. "sequence public.trades_id_seq"
    problem: str


def _behind(got: SequenceFacts, want: SequenceFacts) -> bool:
    """Is the restored sequence behind its backed-up position (the next value could be reused)?"""
    def position(s: SequenceFacts) -> tuple[int, int]:
        return (s.last_value if s.increment > 0 else -s.last_value, int(s.is_called))
    return position(got) < position(want)


def compare_objects(want: SchemaFacts, got: SchemaFacts) -> list[ObjectDifference]:
    """Every object the restore lost, changed or added; sequences must be at or past their backup position."""
    out: list[ObjectDifference] = []
    same_major = want.server_major == got.server_major
    for name in sorted(want.sequences):
        w, g = want.sequences[name], got.sequences.get(name)
        if g is None:
            out.append(ObjectDifference(f"sequence {name}", "missing after restore"))
        elif _behind(g, w):
            out.append(ObjectDifference(f"sequence {name}", f"at {g.last_value} (is_called {g.is_called}) after "
                                        f"restore, {w.last_value} (is_called {w.is_called}) at backup time: behind "
                                        "the data, the next INSERT may reuse a key"))
    for name in sorted(set(got.sequences) - set(want.sequences)):
        out.append(ObjectDifference(f"sequence {name}", "restored but not in the backup"))
    classes: list[tuple[str, Callable[[SchemaFacts], dict[str, str]]]] = [
        ("index", lambda f: f.indexes), ("constraint", lambda f: f.constraints), ("view", lambda f: f.views),
        ("function", lambda f: f.functions), ("extension", lambda f: f.extensions)]
    for label, of in classes:
        w_all, g_all = of(want), of(got)
        for name in sorted(w_all):
            if name not in g_all:
                out.append(ObjectDifference(f"{label} {name}", "missing after restore"))
            elif w_all[name] != g_all[name] and (same_major or label == "extension"):
                what = "version" if label == "extension" else "definition"
                out.append(ObjectDifference(f"{label} {name}", f"{what} differs after restore"))
        for name in sorted(set(g_all) - set(w_all)):
            out.append(ObjectDifference(f"{label} {name}", "restored but not in the backup"))
    return out
