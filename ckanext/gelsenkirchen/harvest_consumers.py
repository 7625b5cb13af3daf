"""Harvest queue consumers that survive an idle queue.

ckanext-harvest 1.6.3 consumes its Redis queues with a BLPOP that waits
forever, on a connection made with redis-py's defaults. redis-py 8 (pinned
by CKAN 2.12) defaults to a 5 s socket timeout, so
``ckan harvester gather-consumer`` and ``fetch-consumer`` die with
``TimeoutError`` after five idle seconds. These consumers run ckanext-harvest's
own consumer class and callbacks unchanged, on ckanext-harvest's own
connection (:func:`queue_connection`) without a read timeout, with TCP
keepalive and periodic health checks instead.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
import redis

log = logging.getLogger(__name__)

STAGES = ("gather", "fetch")


def queue_connection(**connection_options: Any) -> redis.Redis:
    """ckanext-harvest's own connection to its queues
    (``ckanext.harvest.queue.get_connection_redis``: ``ckan.redis.url`` or the
    ``ckan.harvest.mq.*`` options), with ``connection_options`` (timeouts)
    set before its pool opens a connection."""
    from ckanext.harvest.queue import get_connection_redis

    conn = get_connection_redis()
    conn.connection_pool.connection_kwargs.update(connection_options)
    return conn


def _connection() -> redis.Redis:
    # BLPOP blocks until a message arrives: no read timeout, but notice a
    # dead server or a dropped connection.
    return queue_connection(socket_timeout=None, socket_keepalive=True,
                            health_check_interval=30, socket_connect_timeout=10)


def run_consumer(stage: str) -> None:
    """Consume the gather or fetch queue until the process is stopped."""
    from ckanext.harvest import queue

    if stage not in STAGES:
        raise ValueError(f"unknown harvest stage {stage!r}: use one of {', '.join(STAGES)}")
    backend = tk.config.get("ckan.harvest.mq.type", queue.MQ_TYPE)
    if backend != "redis":
        raise tk.ObjectNotFound(
            f"ckan.harvest.mq.type is {backend!r}: use `ckan harvester {stage}-consumer`, "
            "this consumer is only needed for the Redis backend")

    if stage == "gather":
        routing_key, queue_name = queue.get_gather_routing_key(), queue.get_gather_queue_name()
        callback: Callable[..., Any] = queue.gather_callback
    else:
        routing_key, queue_name = queue.get_fetch_routing_key(), queue.get_fetch_queue_name()
        callback = queue.fetch_callback

    consumer = queue.RedisConsumer(_connection(), routing_key)
    log.info("harvest %s consumer waiting on Redis list %s", stage, routing_key)
    for method, header, body in consumer.consume(queue=queue_name):
        callback(consumer, method, header, body)
