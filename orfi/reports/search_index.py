"""The facts' full-text index, kept by the database itself (docs/work-queue.md).

One document per fact: its description, the comments of its history and the notes of
its follow-up actions. SQLite keeps it in an FTS5 table (``unicode61`` tokenizer,
accents removed), PostgreSQL in a ``tsvector`` table with the 'french' configuration
(stemming) and a GIN index. Triggers on ``report``, ``report_event`` and
``followup_action`` rewrite a fact's document in the same transaction as any change of
these texts, whoever writes: a correction, a redaction, the purge, a restore. So a
word a redaction removes can no longer be found, and no service has a call to forget.

Migration 0015 creates it on existing databases; ``db.create_all()`` (tests) through
:func:`install`. Alembic leaves its tables alone (:func:`include_name`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

#: Every table of the index starts with this name (FTS5's shadow tables too).
TABLE = "report_search"

# The document of fact :rid on SQLite; group_concat's order does not matter to a match.
_SQLITE_DOCUMENT = (
    "SELECT r.id, r.description"
    " || ' ' || coalesce((SELECT group_concat(e.comment, ' ') FROM report_event e"
    " WHERE e.report_id = r.id), '')"
    " || ' ' || coalesce((SELECT group_concat(a.note, ' ') FROM followup_action a"
    " WHERE a.report_id = r.id), '')"
    " FROM report r WHERE r.id = {rid}"
)


def _sqlite_refresh(rid: str) -> str:
    return (
        f"DELETE FROM {TABLE} WHERE rowid = {rid};"
        f" INSERT INTO {TABLE}(rowid, body) {_SQLITE_DOCUMENT.format(rid=rid)};"
    )


def _sqlite_trigger(name: str, when: str, table: str, rid: str) -> str:
    return (
        f"CREATE TRIGGER {name} AFTER {when} ON {table} FOR EACH ROW"
        f" BEGIN {_sqlite_refresh(rid)} END"
    )


#: (trigger, event, table, the fact's id in the changed row) of the SQLite index.
_SQLITE_TRIGGERS = (
    ("report_ins", "INSERT", "report", "new.id"),
    ("report_upd", "UPDATE OF description", "report", "new.id"),
    ("event_ins", "INSERT", "report_event", "new.report_id"),
    ("event_upd", "UPDATE OF comment", "report_event", "new.report_id"),
    ("event_del", "DELETE", "report_event", "old.report_id"),
    ("action_ins", "INSERT", "followup_action", "new.report_id"),
    ("action_upd", "UPDATE OF note", "followup_action", "new.report_id"),
    ("action_del", "DELETE", "followup_action", "old.report_id"),
)

SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
    "body, tokenize = 'unicode61 remove_diacritics 2')",
    *(
        _sqlite_trigger(f"{TABLE}_{name}", when, table, rid)
        for name, when, table, rid in _SQLITE_TRIGGERS
    ),
    f"CREATE TRIGGER {TABLE}_report_del AFTER DELETE ON report FOR EACH ROW"
    f" BEGIN DELETE FROM {TABLE} WHERE rowid = old.id; END",
    # Facts already there (migration of an existing database).
    f"INSERT INTO {TABLE}(rowid, body) {_SQLITE_DOCUMENT.format(rid='r.id')}",
)

# The triggers are the written tables' (report…): they outlive the index's table.
SQLITE_DROP = (
    *(f"DROP TRIGGER IF EXISTS {TABLE}_{name}" for name, *_r in _SQLITE_TRIGGERS),
    f"DROP TRIGGER IF EXISTS {TABLE}_report_del",
    f"DROP TABLE IF EXISTS {TABLE}",
)

_PG_TRIGGERS = (
    ("report", "INSERT OR UPDATE OF description"),
    ("report_event", "INSERT OR UPDATE OF comment OR DELETE"),
    ("followup_action", "INSERT OR UPDATE OF note OR DELETE"),
)

POSTGRESQL_CREATE = (
    f"CREATE TABLE {TABLE} ("
    " report_id integer PRIMARY KEY REFERENCES report(id) ON DELETE CASCADE,"
    " document tsvector NOT NULL)",
    f"CREATE INDEX ix_{TABLE}_document ON {TABLE} USING gin (document)",
    """CREATE FUNCTION orfi_report_document(rid integer) RETURNS tsvector
    LANGUAGE sql STABLE AS $$
      SELECT to_tsvector('french', r.description
        || ' ' || coalesce((SELECT string_agg(e.comment, ' ') FROM report_event e
                            WHERE e.report_id = r.id), '')
        || ' ' || coalesce((SELECT string_agg(a.note, ' ') FROM followup_action a
                            WHERE a.report_id = r.id), ''))
      FROM report r WHERE r.id = rid
    $$""",
    f"""CREATE FUNCTION orfi_report_search_refresh() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE rid integer;
    BEGIN
      IF TG_TABLE_NAME = 'report' THEN rid := NEW.id;
      ELSIF TG_OP = 'DELETE' THEN rid := OLD.report_id;
      ELSE rid := NEW.report_id;
      END IF;
      -- A fact being deleted has no document left to write.
      IF EXISTS (SELECT 1 FROM report WHERE id = rid) THEN
        INSERT INTO {TABLE}(report_id, document)
          VALUES (rid, orfi_report_document(rid))
          ON CONFLICT (report_id) DO UPDATE SET document = excluded.document;
      END IF;
      RETURN NULL;
    END $$""",
    *(
        f"CREATE TRIGGER report_search_{table} AFTER {when} ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION orfi_report_search_refresh()"
        for table, when in _PG_TRIGGERS
    ),
    f"INSERT INTO {TABLE}(report_id, document)"
    " SELECT id, orfi_report_document(id) FROM report",
)

# CASCADE: the triggers go with their function. Functions outlive the tables they
# read: a restore that drops the tables leaves them, and a migration then meets them.
POSTGRESQL_DROP = (
    "DROP FUNCTION IF EXISTS orfi_report_search_refresh() CASCADE",
    "DROP FUNCTION IF EXISTS orfi_report_document(integer) CASCADE",
    f"DROP TABLE IF EXISTS {TABLE}",
)

_CREATE = {"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE}
_DROP = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}


def create_search_index(connection: sa.Connection) -> None:
    """Create the index, its triggers, and the documents of the facts already there
    (anew: whatever was left of an earlier one goes first)."""
    drop_search_index(connection)
    for statement in _CREATE[connection.dialect.name]:
        connection.exec_driver_sql(statement)


def drop_search_index(connection: sa.Connection) -> None:
    """Drop the index and its triggers."""
    for statement in _DROP[connection.dialect.name]:
        connection.exec_driver_sql(statement)


def include_name(name: str | None, type_: str, _parents: dict) -> bool:
    """Alembic's filter: the index is no model's table (see the module's docstring)."""
    return not (type_ == "table" and name and name.startswith(TABLE))


def install(metadata: sa.MetaData) -> None:
    """Create the index with ``metadata.create_all`` and drop it before ``drop_all``."""
    event.listen(
        metadata, "after_create", lambda _m, conn, **_k: create_search_index(conn)
    )
    event.listen(
        metadata, "before_drop", lambda _m, conn, **_k: drop_search_index(conn)
    )
