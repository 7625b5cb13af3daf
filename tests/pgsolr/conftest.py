"""A real pgsolr server on a free port, in a thread, against PostgreSQL.

DSN from PGSOLR_TEST_DSN (default postgresql://postgres@127.0.0.1/pgsolr_test);
the database is created if missing. Every test gets a fresh core name.
Independent of CKAN's pytest plugin and fixtures.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

import psycopg2
import pysolr
import pytest

from pgsolr.server import PgSolrServer, create_server

DSN = os.environ.get("PGSOLR_TEST_DSN", "postgresql://postgres@127.0.0.1/pgsolr_test")


def _ensure_database(dsn: str) -> None:
    parts = urlparse(dsn)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    try:
        psycopg2.connect(dsn).close()
        return
    except psycopg2.OperationalError:
        pass
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


@pytest.fixture(scope="session")
def pgsolr_dsn() -> str:
    _ensure_database(DSN)
    return DSN


@pytest.fixture(scope="session")
def pgsolr_server(pgsolr_dsn: str) -> Iterator[PgSolrServer]:
    server = create_server(pgsolr_dsn, "127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture()
def core_url(pgsolr_server: PgSolrServer) -> Iterator[str]:
    core = "t_" + uuid.uuid4().hex[:12]
    url = f"{pgsolr_server.url}/{core}"
    yield url
    pysolr.Solr(url).delete(q="*:*", commit=True)


@pytest.fixture()
def solr(core_url: str) -> pysolr.Solr:
    return pysolr.Solr(core_url, always_commit=True)


def make_doc(uid: str, **fields: object) -> dict[str, object]:
    """A minimal CKAN-like document for the default (CKAN) schema."""
    doc: dict[str, object] = {
        "id": uid, "index_id": "idx-" + uid, "site_id": "site-a", "name": uid,
        "entity_type": "package", "dataset_type": "dataset", "state": "active",
        "capacity": "public", "permission_labels": ["public"],
        "metadata_modified": "2024-01-01T00:00:00Z",
    }
    doc.update(fields)
    return doc
