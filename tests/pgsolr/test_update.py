"""/update: XML (pysolr) and JSON bodies, deletes, commits."""
from __future__ import annotations

import json

import pysolr
import pytest
import requests

from .conftest import make_doc


def ids(res: pysolr.Results) -> list[str]:
    return sorted(d["id"] for d in res.docs)


def test_add_overwrite_and_delete_by_id(solr: pysolr.Solr) -> None:
    solr.add([make_doc("a", title="eins"), make_doc("b", title="zwei")])
    solr.add([make_doc("a", title="drei")])          # same uniqueKey: replaced
    assert solr.search("*:*").hits == 2
    assert ids(solr.search("title:drei")) == ["a"]
    assert ids(solr.search("title:eins")) == []
    solr.delete(id="idx-a")
    assert ids(solr.search("*:*")) == ["b"]


def test_delete_by_query_ckan_style(solr: pysolr.Solr) -> None:
    solr.add([make_doc("a"), make_doc("b"), make_doc("c", site_id="other")])
    solr.delete(q='+entity_type:package AND +(id:"a" OR name:"a") AND +site_id:"site-a"')
    assert ids(solr.search("*:*")) == ["b", "c"]
    solr.delete(q='+site_id:"site-a"')
    assert ids(solr.search("*:*")) == ["c"]
    solr.commit()
    solr.optimize()


def test_xml_multivalued_and_commit_bodies(core_url: str, solr: pysolr.Solr) -> None:
    body = ("<add><doc><field name='id'>x</field><field name='index_id'>ix</field>"
            "<field name='site_id'>s</field><field name='tags'>eins</field>"
            "<field name='tags'>zwei</field></doc></add>")
    r = requests.post(core_url + "/update?commit=true", data=body,
                      headers={"Content-type": "text/xml"}, timeout=10)
    assert r.status_code == 200 and r.json()["responseHeader"]["status"] == 0
    r = requests.post(core_url + "/update", data="<commit/>",
                      headers={"Content-type": "text/xml"}, timeout=10)
    assert r.status_code == 200
    doc = solr.search("tags:zwei", fl="id,tags").docs[0]
    assert doc == {"id": "x", "tags": ["eins", "zwei"]}


def test_json_bodies(core_url: str, solr: pysolr.Solr) -> None:
    docs = [make_doc("j1", title="json eins"), make_doc("j2", title="json zwei")]
    r = requests.post(core_url + "/update?commit=true", data=json.dumps(docs),
                      headers={"Content-type": "application/json"}, timeout=10)
    assert r.status_code == 200
    assert ids(solr.search("title:json")) == ["j1", "j2"]
    cmd = ('{"add": {"doc": ' + json.dumps(make_doc("j3"))
           + '}, "delete": {"query": "name:j1"}, "commit": {}}')
    r = requests.post(core_url + "/update", data=cmd,
                      headers={"Content-type": "application/json"}, timeout=10)
    assert r.status_code == 200
    assert ids(solr.search("*:*")) == ["j2", "j3"]
    r = requests.post(core_url + "/update", data='{"delete": ["idx-j2"]}',
                      headers={"Content-type": "application/json"}, timeout=10)
    assert ids(solr.search("*:*")) == ["j3"]


def test_bad_documents_are_rejected(solr: pysolr.Solr) -> None:
    with pytest.raises(pysolr.SolrError, match="uniqueKey"):
        solr.add([{"id": "no-index-id"}])
    with pytest.raises(pysolr.SolrError, match="multiple values"):
        solr.add([make_doc("m", name=["a", "b"])])
    with pytest.raises(pysolr.SolrError, match="Invalid"):
        solr.add([make_doc("d", metadata_modified="not a date")])
    assert solr.search("*:*").hits == 0


def test_types_round_trip(solr: pysolr.Solr) -> None:
    solr.add([make_doc("t", bbox_area=1.5, metadata_created="2024-01-02T03:04:05.123456Z",
                       private=False, views_total="7", extras_x="wert")])
    doc = solr.search("id:t", fl="*").docs[0]
    assert doc["bbox_area"] == 1.5
    assert doc["metadata_created"] == "2024-01-02T03:04:05.123Z"
    assert doc["extras_x"] == "wert"
    assert "private" not in doc          # '*' dynamic field is not stored
    assert solr.search("private:false").hits == 1
    assert solr.search("indexed_ts:[NOW-1HOUR TO NOW+1HOUR]").hits == 1  # default="NOW"
