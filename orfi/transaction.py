"""One transaction per request or command: services flush, the edge commits.

Services add, change and flush rows; they never commit nor roll back. The edge — a
view, a CLI command — runs the work of one request or command in :func:`unit_of_work`,
which commits once at its end and rolls back if anything in it raises. Whatever a
request leaves uncommitted is rolled back when the request ends (:func:`register`),
the 500 handler's request included.

Long commands that write in batches on purpose (demo loading, purge, imports) run one
unit of work per batch and say so in their docstring.

With ``ORFI_TRANSACTION_GUARD`` set (tests), a commit made during a request outside a
unit of work raises: a view that commits by hand fails its tests.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from flask import Flask, current_app, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from orfi.database import write_intent
from orfi.extensions import db

#: How many units of work enclose the running code (for the guard, see register).
_depth: contextvars.ContextVar[int] = contextvars.ContextVar(
    "orfi_unit_of_work_depth", default=0
)


class Work:
    """What :func:`unit_of_work` yields: :meth:`discard` turns its commit into a
    rollback (a dry run, an import refused whole)."""

    __slots__ = ("discarded",)

    def __init__(self) -> None:
        self.discarded = False

    def discard(self) -> None:
        """Roll back, not commit, when the block ends."""
        self.discarded = True


@contextlib.contextmanager
def unit_of_work() -> Iterator[Work]:
    """Run the block as one write transaction: commit at its end, roll back if it
    raises (the commit's own failure included, ``sys.exit`` too), then re-raise.

    On SQLite a transaction begun in the block starts with ``BEGIN IMMEDIATE``
    (see :mod:`orfi.database`); write requests already begin that way.
    """
    work = Work()
    depth = _depth.set(_depth.get() + 1)
    try:
        with write_intent():
            try:
                yield work
                if work.discarded:
                    db.session.rollback()
                else:
                    db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
    finally:
        _depth.reset(depth)


def rollback() -> None:
    """Undo what the current session holds uncommitted (an error path's edge)."""
    db.session.rollback()


def register(app: Flask) -> None:
    """Roll back, at the end of every request, whatever it left uncommitted; with
    ``ORFI_TRANSACTION_GUARD``, refuse a request's commits outside a unit of work."""

    @app.teardown_request
    def _roll_back_leftovers(_exc: BaseException | None) -> None:
        db.session.rollback()

    # One listener for every app (the session is shared): it reads the config of the
    # app at work when a commit happens.
    if not event.contains(db.session, "before_commit", _refuse_stray_commit):
        event.listen(db.session, "before_commit", _refuse_stray_commit)


def _refuse_stray_commit(_session: Session) -> None:
    if (
        _depth.get() == 0
        and has_request_context()
        and current_app.config.get("ORFI_TRANSACTION_GUARD")
    ):
        raise RuntimeError(
            "commit() during a request outside unit_of_work(): end the view's "
            "writes with orfi.transaction.unit_of_work."
        )
