"""Search behaviour over HTTP with pysolr, as CKAN talks to Solr."""
from __future__ import annotations

import pysolr
import pytest

from .conftest import make_doc

QF = "name^4 title^4 tags^2 groups^2 text"
DISMAX = {"defType": "dismax", "qf": QF, "mm": "2<-1 5<80%", "tie": "0.1", "q.op": "AND"}


def ids(res: pysolr.Results) -> list[str]:
    return [d["id"] for d in res.docs]


@pytest.fixture()
def corpus(solr: pysolr.Solr) -> pysolr.Solr:
    solr.add([
        make_doc("glas", title="Glasfaser Ausbau", notes="Alle Glasfaseranschlüsse der Stadt",
                 tags=["internet", "breitband"], groups=["infrastruktur"],
                 organization="stadtwerke", res_format=["CSV", "JSON"],
                 metadata_modified="2024-03-01T10:00:00Z", num_resources=2),
        make_doc("wlan", title="WLAN Hotspots", notes="Öffentliche Hotspots in Buer",
                 tags=["internet", "wlan"], organization="stadtwerke", res_format=["CSV"],
                 metadata_modified="2023-06-15T08:30:00Z", num_resources=1),
        make_doc("parks", title="City park", notes="All parks and green spaces of the city",
                 tags=["umwelt"], groups=["umwelt"], organization="gruenflaechen",
                 res_format=["GeoJSON"], metadata_modified="2022-01-01T00:00:00Z",
                 num_resources=5, extras_quelle="Grünflächenamt Gelsenkirchen"),
        make_doc("strassen", title="Straßenverzeichnis", notes="Alle Straßen der Stadt Gelsenkirchen",
                 tags=["verkehr"], organization="vermessung", res_format=["CSV", "PDF"],
                 metadata_modified="2025-01-01T00:00:00Z", num_resources=3,
                 state="draft"),
    ])
    return solr


def test_stemming_german_and_english(corpus: pysolr.Solr) -> None:
    assert ids(corpus.search("Glasfaseranschluss")) == ["glas"]
    assert ids(corpus.search("Hotspot")) == ["wlan"]
    assert ids(corpus.search("park")) == ["parks"]
    assert ids(corpus.search("parks", **DISMAX)) == ["parks"]


def test_umlauts_and_unicode(corpus: pysolr.Solr) -> None:
    assert ids(corpus.search("öffentliche")) == ["wlan"]
    assert ids(corpus.search("Strasse")) == ["strassen"]
    assert ids(corpus.search("Straße")) == ["strassen"]
    assert ids(corpus.search('extras_quelle:"Grünflächenamt"')) == ["parks"]


def test_phrase(corpus: pysolr.Solr) -> None:
    assert ids(corpus.search('"green spaces"')) == ["parks"]
    assert ids(corpus.search('"spaces green"')) == []
    assert ids(corpus.search('notes:"Alle Straßen"')) == ["strassen"]


def test_field_string_vs_text(corpus: pysolr.Solr) -> None:
    assert ids(corpus.search("name:wlan")) == ["wlan"]
    assert ids(corpus.search("name:WLAN")) == []   # string fields are exact
    assert ids(corpus.search("title:wlan")) == ["wlan"]  # text fields are analysed
    assert ids(corpus.search('name:"glas" OR id:"glas"')) == ["glas"]


def test_wildcards(corpus: pysolr.Solr) -> None:
    assert ids(corpus.search("title:glas*")) == ["glas"]
    assert ids(corpus.search("Glasf*")) == ["glas"]
    assert sorted(ids(corpus.search("name:*a*"))) == ["glas", "parks", "strassen", "wlan"]
    assert ids(corpus.search("name:w?an")) == ["wlan"]
    assert sorted(ids(corpus.search("res_format:G*"))) == ["parks"]
    assert sorted(ids(corpus.search("groups:*"))) == ["glas", "parks"]
    assert ids(corpus.search("title:*otspots")) == ["wlan"]


def test_ranges_numbers_strings_dates(corpus: pysolr.Solr) -> None:
    # num_resources falls under CKAN's '*' dynamic field: a string range
    assert sorted(ids(corpus.search("num_resources:[2 TO 3]"))) == ["glas", "strassen"]
    assert sorted(ids(corpus.search("name:[p TO t]"))) == ["parks", "strassen"]
    assert sorted(ids(corpus.search("name:{parks TO wlan}"))) == ["strassen"]
    assert sorted(ids(corpus.search("metadata_modified:[2023-01-01T00:00:00Z TO *]"))) == \
        ["glas", "strassen", "wlan"]
    assert sorted(ids(corpus.search(
        "metadata_modified:[2022-01-01T00:00:00Z+1YEAR TO 2024-03-01T10:00:00Z}"))) == ["wlan"]
    assert sorted(ids(corpus.search("metadata_modified:[NOW-100YEARS TO NOW/DAY+1DAY]"))) == \
        ["glas", "parks", "strassen", "wlan"]
    assert ids(corpus.search("metadata_modified:[NOW+1YEAR TO *]")) == []
    assert ids(corpus.search("metadata_modified:[* TO 2022-06-01T00:00:00Z]")) == ["parks"]


def test_numeric_fields_ranges(solr: pysolr.Solr) -> None:
    solr.add([make_doc("a", bbox_area=0.5, views_total=10),
              make_doc("b", bbox_area=2.5, views_total=200)])
    assert ids(solr.search("bbox_area:[0 TO 1]")) == ["a"]
    assert ids(solr.search("views_total:[100 TO *]")) == ["b"]
    assert ids(solr.search("views_total:{* TO 10]")) == ["a"]
    assert ids(solr.search("views_total:10")) == ["a"]


def test_boolean_operators(corpus: pysolr.Solr) -> None:
    assert ids(corpus.search("tags:internet AND tags:wlan")) == ["wlan"]
    assert sorted(ids(corpus.search("tags:umwelt OR tags:verkehr"))) == ["parks", "strassen"]
    assert ids(corpus.search("tags:internet NOT tags:wlan")) == ["glas"]
    assert ids(corpus.search("+tags:internet -tags:wlan")) == ["glas"]
    assert sorted(ids(corpus.search("-tags:internet"))) == ["parks", "strassen"]
    assert sorted(ids(corpus.search("(tags:umwelt OR tags:wlan) AND organization:stadtwerke"))) \
        == ["wlan"]
    assert len(ids(corpus.search("*:*"))) == 4
    # CKAN's permission filter: '+capacity:public OR permission_labels:(...)'
    res = corpus.search("*:*", fq=['+capacity:public OR permission_labels:("x" OR "y")'])
    assert len(res.docs) == 4


def test_q_op_and_mm(corpus: pysolr.Solr) -> None:
    assert ids(corpus.search("hotspots glasfaser", **{"q.op": "AND"})) == []
    assert sorted(ids(corpus.search("hotspots glasfaser", **{"q.op": "OR"}))) == ["glas", "wlan"]
    dismax = dict(DISMAX)
    assert ids(corpus.search("hotspots buer", **dismax)) == ["wlan"]
    assert ids(corpus.search("hotspots glasfaser", **dismax)) == []
    dismax["mm"] = "1"
    assert sorted(ids(corpus.search("hotspots glasfaser", **dismax))) == ["glas", "wlan"]
    # 3 terms with '2<-1': two of three suffice
    assert ids(corpus.search("hotspots buer nonexistentword", **DISMAX)) == ["wlan"]


def test_dismax_qf_boosts_change_order(solr: pysolr.Solr) -> None:
    solr.add([make_doc("in-title", title="Bäume", notes="Liste"),
              make_doc("in-notes", title="Liste", notes="Bäume Bäume")])
    by_title = solr.search("Bäume", defType="edismax", qf="title^10 notes", fl="id,score")
    assert ids(by_title) == ["in-title", "in-notes"]
    by_notes = solr.search("Bäume", defType="edismax", qf="title notes^10", fl="id,score")
    assert ids(by_notes) == ["in-notes", "in-title"]
    assert by_notes.docs[0]["score"] > by_notes.docs[1]["score"]


def test_fl_and_score(corpus: pysolr.Solr) -> None:
    res = corpus.search("Hotspots", fl="id,name,score")
    assert set(res.docs[0]) == {"id", "name", "score"}
    assert res.docs[0]["score"] > 0
    res = corpus.search("name:wlan", fl="*,score")
    doc = res.docs[0]
    assert doc["tags"] == ["internet", "wlan"]  # multi-valued as list
    assert doc["metadata_modified"] == "2023-06-15T08:30:00Z"
    assert "permission_labels" not in doc   # not stored
    assert "text" not in doc
    assert "score" in doc
    res = corpus.search("name:wlan", fl="id validated_data_dict")
    assert res.docs == [{"id": "wlan"}]


def test_sort_multiple_keys(corpus: pysolr.Solr) -> None:
    res = corpus.search("*:*", sort="organization asc, metadata_modified desc")
    assert ids(res) == ["parks", "glas", "wlan", "strassen"]
    res = corpus.search("*:*", sort="metadata_modified asc")
    assert ids(res) == ["parks", "wlan", "glas", "strassen"]
    res = corpus.search("tags:internet", sort="score desc, name desc")
    assert ids(res) == ["wlan", "glas"]


def test_rows_start(corpus: pysolr.Solr) -> None:
    res = corpus.search("*:*", sort="name asc", rows=2, start=1)
    assert ids(res) == ["parks", "strassen"]
    assert res.hits == 4


def test_filters_ckan_style(corpus: pysolr.Solr) -> None:
    res = corpus.search("*:*", fq=["+dataset_type:dataset", '+site_id:"site-a"', "+state:active",
                                   '+permission_labels:("public" OR "creator-1")'])
    assert sorted(ids(res)) == ["glas", "parks", "wlan"]


def test_several_filters_on_one_field(corpus: pysolr.Solr) -> None:
    """Equality filters are merged into one containment test: values of a
    multi-valued field must all be present, two values of a single-valued
    field exclude each other."""
    assert ids(corpus.search("*:*", fq=["tags:internet", "tags:wlan"])) == ["wlan"]
    assert sorted(ids(corpus.search("*:*", fq=["tags:internet", "organization:stadtwerke"]))) \
        == ["glas", "wlan"]
    assert corpus.search("*:*", fq=["organization:stadtwerke",
                                    "organization:gruenflaechen"]).hits == 0
    assert ids(corpus.search("*:*", fq=["organization:stadtwerke", "-tags:wlan",
                                        "organization:stadtwerke"])) == ["glas"]


def test_facets(corpus: pysolr.Solr) -> None:
    res = corpus.search("*:*", facet="true", **{"facet.field": ["tags", "res_format", "organization"],
                                               "facet.mincount": 1, "facet.limit": 50})
    ff = res.facets["facet_fields"]
    assert ff["tags"] == ["internet", 2, "breitband", 1, "umwelt", 1, "verkehr", 1, "wlan", 1]
    assert ff["res_format"] == ["CSV", 3, "GeoJSON", 1, "JSON", 1, "PDF", 1]
    assert ff["organization"] == ["stadtwerke", 2, "gruenflaechen", 1, "vermessung", 1]
    assert res.facets["facet_queries"] == {} and res.facets["facet_ranges"] == {}
    # facets count over the full result set, not the page
    res = corpus.search("tags:internet", rows=1, facet="true",
                        **{"facet.field": "res_format", "facet.mincount": 1})
    assert res.facets["facet_fields"]["res_format"] == ["CSV", 2, "JSON", 1]


def test_facets_count_documents_not_repeated_values(solr: pysolr.Solr) -> None:
    """A dataset with two CSV resources counts once for "CSV", as in Solr."""
    solr.add([make_doc("a", res_format=["CSV", "CSV", "JSON"]), make_doc("b", res_format=["CSV"])])
    res = solr.search("*:*", facet="true", **{"facet.field": "res_format", "facet.mincount": 1})
    assert res.facets["facet_fields"]["res_format"] == ["CSV", 2, "JSON", 1]
    assert solr.search("a", df="id").docs[0]["res_format"] == ["CSV", "CSV", "JSON"]  # stored as sent


def test_facet_limit_mincount_sort_per_field(corpus: pysolr.Solr) -> None:
    params = {"facet.field": ["tags", "res_format"], "facet.limit": 2, "facet.mincount": 1,
              "f.res_format.facet.limit": -1, "f.res_format.facet.sort": "index"}
    ff = corpus.search("*:*", facet="true", **params).facets["facet_fields"]
    assert ff["tags"] == ["internet", 2, "breitband", 1]
    assert ff["res_format"] == ["CSV", 3, "GeoJSON", 1, "JSON", 1, "PDF", 1]
    ff = corpus.search("tags:umwelt", facet="true",
                       **{"facet.field": "tags", "facet.mincount": 0}).facets["facet_fields"]
    assert ff["tags"][:2] == ["umwelt", 1]
    assert set(ff["tags"][3::2]) == {0}
    assert set(ff["tags"][2::2]) == {"breitband", "internet", "verkehr", "wlan"}
    ff = corpus.search("*:*", facet="true", **{"facet.field": "tags", "facet.mincount": 2}) \
        .facets["facet_fields"]
    assert ff["tags"] == ["internet", 2]


def test_facet_on_a_text_field_is_empty_not_an_error(corpus: pysolr.Solr) -> None:
    # Solr facets text fields by their tokens; pgsolr answers with no values,
    # with and without facet.missing, never with a server error.
    for extra in ({}, {"facet.missing": "true"}):
        ff = corpus.search("*:*", facet="true", **{"facet.field": ["title", "tags"], **extra}) \
            .facets["facet_fields"]
        assert ff["title"] == []
        assert ff["tags"][:2] == ["internet", 2]


def test_local_params(corpus: pysolr.Solr) -> None:
    assert ids(corpus.search("{!lucene}name:wlan")) == ["wlan"]
    assert ids(corpus.search("{!dismax qf=title}hotspots")) == ["wlan"]
    res = corpus.search("*:*", fq=["{!tag=org}organization:vermessung"], facet="true",
                        **{"facet.field": "{!ex=org}organization", "facet.mincount": 1})
    assert ids(res) == ["strassen"]
    assert "organization" in res.facets["facet_fields"]


def test_bool_query_parser(corpus: pysolr.Solr) -> None:
    # Solr's {!bool}: must/should/must_not/filter, repeatable, sub-queries in lucene syntax
    assert ids(corpus.search("{!bool must=hotspots}", df="text")) == ["wlan"]
    assert ids(corpus.search("{!type=bool must=beetles}", df="text")) == []
    assert ids(corpus.search("{!must=hotspots type=bool}", df="text")) == ["wlan"]
    both = corpus.search("{!bool must=tags:internet must=organization:stadtwerke "
                         "must_not=name:wlan}", df="text")
    assert ids(both) == ["glas"]
    either = corpus.search("{!bool should=name:wlan should=name:parks}", df="text", sort="id asc")
    assert ids(either) == ["parks", "wlan"]
    # with a required clause (filter too), should clauses are optional, as in Lucene
    optional = corpus.search("{!bool should=name:wlan filter=state:active}", df="text",
                             fl="id,score")
    assert [d["id"] for d in optional.docs][0] == "wlan" and len(optional.docs) == 3
    assert sorted(ids(corpus.search("{!bool must_not=state:active}", df="text"))) == ["strassen"]
    # a clause may carry its own parser
    assert ids(corpus.search("{!bool must='{!term f=tags}wlan'}", df="text")) == ["wlan"]
    with pytest.raises(pysolr.SolrError, match="knn"):
        corpus.search("{!knn f=vector topK=10}[1.0, 2.0]")


def test_ngram_fields_follow_the_schema_analyzer(solr: pysolr.Solr) -> None:
    # CKAN's text_ngram: NGramTokenizer(2..10) + LowerCase at index time,
    # whitespace + lower case at query time: any 2..10 character substring matches
    solr.add([make_doc("warandpeace", title="Some public stuff"),
              make_doc("other", title="Some random Stuff")])
    query = "name_ngram:{0} OR title_ngram:{0}"
    assert ids(solr.search(query.format("bli"))) == ["warandpeace"]
    assert sorted(ids(solr.search(query.format("TUF")))) == ["other", "warandpeace"]
    assert ids(solr.search(query.format("andpea"))) == ["warandpeace"]
    assert ids(solr.search(query.format("e"))) == []            # shorter than minGramSize
    assert ids(solr.search(query.format("warandpeace"))) == []  # longer than maxGramSize
    assert ids(solr.search("title_ngram:(public AND stuff)")) == ["warandpeace"]
