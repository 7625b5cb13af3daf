"""The per-source advisory lock (harvesters/locking.py)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from ckan import model

from ckanext.gelsenkirchen.harvesters import locking


def test_a_held_source_lock_makes_the_second_run_wait_then_say_who_holds_it():
    key = locking.lock_key("source-1")
    assert key == locking.lock_key("source-1") and key != locking.lock_key("source-2")
    assert all(0 <= part < 2 ** 31 for part in key)
    # a connection of its own (no pool): closing it ends its session and lock
    engine = sa.create_engine(model.meta.engine.url, poolclass=sa.pool.NullPool)
    holder = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        holder.execute(sa.text("SET application_name = 'fetch consumer 1'"))
        holder.execute(sa.text("SELECT pg_advisory_lock(:a, :b)"), {"a": key[0], "b": key[1]})
        with pytest.raises(locking.SourceBusy) as busy:
            with locking.source_lock("source-1", "wlan-quelle", wait=1):
                pass
        assert str(busy.value).startswith(
            "the harvest source wlan-quelle is already being harvested by database backend ")
        assert "(fetch consumer 1)" in str(busy.value) and "waited 1 s" in str(busy.value)
        with locking.source_lock("source-2", "andere-quelle", wait=0):
            pass  # another source is not blocked
    finally:
        holder.close()
    # released with its connection: the server ends the session a moment
    # after the client closes it (under load, more than a moment)
    with locking.source_lock("source-1", "wlan-quelle", wait=10):
        pass
