"""The alert state of each harvest source, in the table
``gelsenkirchen_harvest_alert`` (the plugin's migration,
``ckan db upgrade -p gelsenkirchen``): the state seen last, since when, and
which state the mail and the webhook have delivered, so that a state is
alerted once and an alert that could not be delivered is tried again.

One row per source, read ``FOR UPDATE SKIP LOCKED``: two processes
checking alerts at once (``ckan harvester run`` and
``ckan gelsenkirchen harvest-alerts``) never alert a source twice.
"""
from __future__ import annotations

import dataclasses
import datetime

import sqlalchemy as sa

metadata = sa.MetaData()
table = sa.Table(
    "gelsenkirchen_harvest_alert", metadata,
    sa.Column("source_id", sa.UnicodeText, primary_key=True),
    sa.Column("state", sa.UnicodeText, nullable=False),
    sa.Column("since", sa.DateTime, nullable=False),
    sa.Column("mailed", sa.UnicodeText, nullable=False, server_default=""),
    sa.Column("posted", sa.UnicodeText, nullable=False, server_default=""),
    sa.Column("attempted", sa.DateTime),
    sa.Column("error", sa.UnicodeText, nullable=False, server_default=""),
)


@dataclasses.dataclass
class AlertState:
    source_id: str
    state: str
    since: datetime.datetime
    mailed: str = ""  # the state the mail delivered ("" none yet)
    posted: str = ""  # the state the webhook delivered
    attempted: datetime.datetime | None = None
    error: str = ""


def lock(source_id: str, state: str, now: datetime.datetime) -> AlertState | None:
    """The row of ``source_id`` (created with ``state`` when there is none),
    locked until the session commits; None when another process holds it."""
    from ckan import model
    from sqlalchemy.dialects.postgresql import insert

    model.Session.execute(insert(table).values(source_id=source_id, state=state, since=now)
                          .on_conflict_do_nothing(index_elements=["source_id"]))
    row = model.Session.execute(sa.select(table).where(table.c.source_id == source_id)
                                .with_for_update(skip_locked=True)).mappings().first()
    return AlertState(**row) if row is not None else None


def save(current: AlertState) -> None:
    """Write ``current`` back; the caller commits."""
    from ckan import model

    values = dataclasses.asdict(current)
    model.Session.execute(table.update().where(table.c.source_id == values.pop("source_id"))
                          .values(**values))


def get(source_id: str) -> AlertState | None:
    """The row of ``source_id`` as it is, without a lock."""
    from ckan import model

    row = model.Session.execute(sa.select(table).where(table.c.source_id == source_id)
                                ).mappings().first()
    return AlertState(**row) if row is not None else None
