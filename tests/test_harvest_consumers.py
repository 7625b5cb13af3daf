"""The harvest consumers keep consuming after the queue has been idle.

ckanext-harvest's own Redis consumers die after redis-py 8's default 5 s
socket timeout; ``ckan gelsenkirchen harvest-consumer`` must not.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time

import ckan.plugins.toolkit as tk
import pytest
import redis

ROOT = pathlib.Path(__file__).resolve().parents[1]
CKAN = pathlib.Path(sys.executable).with_name("ckan")


@pytest.mark.usefixtures("with_plugins")
def test_fetch_consumer_takes_a_message_after_an_idle_queue():
    from ckanext.harvest.queue import get_fetch_routing_key

    conn = redis.Redis.from_url(tk.config["ckan.redis.url"])
    routing_key = get_fetch_routing_key()
    conn.delete(routing_key)
    consumer = subprocess.Popen(
        [str(CKAN), "-c", str(ROOT / "test.ini"), "gelsenkirchen", "harvest-consumer", "fetch"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Longer than redis-py's default socket timeout of 5 s, after start-up.
        time.sleep(12)
        assert consumer.poll() is None, consumer.stdout.read()

        conn.rpush(routing_key, json.dumps({"harvest_object_id": "no-such-object"}))
        deadline = time.monotonic() + 20
        while conn.llen(routing_key) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert conn.llen(routing_key) == 0, "the consumer did not take the message"
        assert consumer.poll() is None
    finally:
        consumer.terminate()
        output = consumer.communicate(timeout=10)[0]
    assert "TimeoutError" not in output
