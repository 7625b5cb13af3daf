"""The Solr configset of `pgsolr configset`: CKAN's schema, German analysis, word list.

The last two tests ask a real Apache Solr with the German configset
(SEARCH=solr or solrcloud: make test exports its solr_url as CKAN_SOLR_URL)
how it analyses; on pgsolr or the English schema they are skipped, saying so.
"""
from __future__ import annotations

import json
import os
import pathlib
import urllib.parse
import urllib.request

import pytest
from defusedxml import ElementTree

from ckanext.gelsenkirchen import compat
from pgsolr.cli import main
from pgsolr.configset import compound_words, german_normalise, schema_xml
from pgsolr.schema import Schema, merged_schema_xml
from tests.search_service import apache_solr_mode


def _text_type(xml: str):
    root = ElementTree.fromstring(xml.encode())
    return next(t for t in root.iter("fieldType") if t.get("name") == "text")


def test_english_is_ckans_schema_with_the_addition_and_a_long_version() -> None:
    en = schema_xml("en")
    filters = [f.get("class") for f in _text_type(en).iter("filter")]
    assert "solr.SnowballPorterFilterFactory" in filters
    # only _version_ differs: SolrCloud reads it as a long
    changed = set(en.splitlines()) ^ set(merged_schema_xml().splitlines())
    assert all("_version_" in line for line in changed) and len(changed) == 2
    assert Schema(en).field("_version_").kind == "int"
    assert Schema(merged_schema_xml()).field("_version_").kind == "string"


def test_german_replaces_only_the_text_field_type() -> None:
    en, de = schema_xml("en"), schema_xml("de")
    index, query = _text_type(de).findall("analyzer")
    index_filters = [f.get("class").split(".")[-1] for f in index.iter("filter")]
    query_filters = [f.get("class").split(".")[-1] for f in query.iter("filter")]
    for chain in (index_filters, query_filters):
        assert chain.index("GermanNormalizationFilterFactory") < chain.index(
            "GermanLightStemFilterFactory")
        assert "SnowballPorterFilterFactory" not in chain
    assert "DictionaryCompoundWordTokenFilterFactory" in index_filters
    assert "DictionaryCompoundWordTokenFilterFactory" not in query_filters
    # fields, dynamic fields, copyFields and the schema name are CKAN's
    en_schema, de_schema = Schema(en), Schema(de)
    assert de_schema.name == compat.solr_schema_name()  # the installed CKAN's
    assert de_schema.fields == en_schema.fields
    assert de_schema.dynamic == en_schema.dynamic
    assert de_schema.copy_rules == en_schema.copy_rules
    assert de_schema.field("maxx").kind == "float"


@pytest.mark.parametrize(("word", "normalised"), [
    ("Glasfaseranschlüsse", "glasfaseranschlusse"),
    ("Straße", "strasse"),
    ("Gebuehren", "gebuhren"),
    ("Koeln", "koln"),
    ("Haeuser", "hauser"),
    ("Steuer", "steuer"),     # ue after a vowel stays
    ("Bauen", "bauen"),
    ("Quelle", "quelle"),     # ue after q stays
    ("Aue", "aue"),
])
def test_german_normalise_as_lucene(word: str, normalised: str) -> None:
    assert german_normalise(word) == normalised


def test_word_list_is_normalised_and_unique() -> None:
    words = compound_words()
    assert {"glasfaser", "anschluss", "haltestelle", "strasse", "verfugbarkeit"} <= set(words)
    assert len(words) == len(set(words))
    assert all(w == german_normalise(w) and 4 <= len(w) <= 20 for w in words)


def test_configset_command_writes_what_the_schema_names(tmp_path: pathlib.Path) -> None:
    assert main(["configset", str(tmp_path / "de")]) == 0
    assert main(["configset", str(tmp_path / "en"), "--language", "en"]) == 0
    de = {p.relative_to(tmp_path / "de").as_posix() for p in (tmp_path / "de").rglob("*.*")}
    en = {p.relative_to(tmp_path / "en").as_posix() for p in (tmp_path / "en").rglob("*.*")}
    assert de == {"schema.xml", "solrconfig.xml", "synonyms.txt", "protwords.txt",
                  "lang/compounds_de.txt"}
    assert en == de - {"lang/compounds_de.txt"}
    config = ElementTree.fromstring((tmp_path / "de/solrconfig.xml").read_bytes())
    assert config.find("schemaFactory").get("class") == "ClassicIndexSchemaFactory"
    listed = (tmp_path / "de/lang/compounds_de.txt").read_text().split()
    assert "glasfaser" in listed


def _analyse(url: str, text: str, query: str = "") -> dict:
    params = urllib.parse.urlencode({"analysis.fieldtype": "text", "analysis.fieldvalue": text,
                                     "analysis.query": query or text, "wt": "json"})
    with urllib.request.urlopen(f"{url}/analysis/field?{params}", timeout=10) as r:
        return json.load(r)["analysis"]["field_types"]["text"]


def _german_solr_url() -> str:
    """The test solr_url when an Apache Solr with the German configset serves
    it, else skip saying why."""
    url = os.environ.get("CKAN_SOLR_URL", "")
    if not url or apache_solr_mode(url) is None:
        pytest.skip("asks Apache Solr's own analysis: runs with SEARCH=solr or solrcloud "
                    f"(CKAN_SOLR_URL={url or 'unset'} is not an Apache Solr)")
    if not any(str(stage).endswith("GermanNormalizationFilter")
               for stage in _analyse(url, "Straße")["index"][::2]):
        pytest.skip(f"the Solr at {url} analyses text with CKAN's English schema "
                    "(SOLR_SCHEMA=en), not the German configset")
    return url


def test_solr_normalises_the_word_list_as_we_do() -> None:
    url = _german_solr_url()
    words = [w for w in open(pathlib.Path(__file__).parents[2] / "pgsolr/solr/compounds-de.txt",
                             encoding="utf-8").read().split("\n")
             if w.strip() and not w.startswith("#")]
    words += ["Gebuehren", "Koeln", "Steuer", "Quelle", "Aue", "Straße"]
    stages = _analyse(url, " ".join(words))["index"]
    normalised = next(s for c, s in zip(stages[::2], stages[1::2], strict=True)
                      if c.endswith("GermanNormalizationFilter"))
    assert [t["text"] for t in normalised] == [german_normalise(w) for w in words]


def test_solr_finds_compounds_and_inflections() -> None:
    """The German field type on Solr: "Glasfaser" and "Glasfaseranschluss" both
    find a title "Glasfaseranschlüsse"; every query token is an indexed one."""
    url = _german_solr_url()
    for indexed, query in [("Glasfaseranschlüsse in Buer", "Glasfaseranschluss"),
                           ("Glasfaseranschlüsse in Buer", "Glasfaser"),
                           ("Bushaltestellen", "Haltestelle"),
                           ("Straßenbäume", "Strassenbaum")]:
        analysis = _analyse(url, indexed, query)
        index_tokens = {t["text"] for t in analysis["index"][-1]}
        query_tokens = {t["text"] for t in analysis["query"][-1]}
        assert query_tokens <= index_tokens, (indexed, query, index_tokens, query_tokens)
