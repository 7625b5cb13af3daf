"""Pure functions: date math, mm, schema parsing, paging by score (no server needed)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pgsolr.dates import parse_date_math, solr_format
from pgsolr.dismax import min_should_match
from pgsolr.local_params import parse_local_params
from pgsolr.ranks import page_by_score
from pgsolr.schema import load_schema

NOW = datetime(2024, 2, 29, 13, 45, 10, 500000, tzinfo=UTC)


def test_date_math() -> None:
    assert solr_format(parse_date_math("NOW", NOW)) == "2024-02-29T13:45:10.500Z"
    assert solr_format(parse_date_math("NOW/DAY", NOW)) == "2024-02-29T00:00:00Z"
    assert solr_format(parse_date_math("NOW-7DAYS", NOW)) == "2024-02-22T13:45:10.500Z"
    assert solr_format(parse_date_math("NOW+1YEAR/DAY", NOW)) == "2025-02-28T00:00:00Z"
    assert solr_format(parse_date_math("2024-01-31T00:00:00Z+1MONTH")) == "2024-02-29T00:00:00Z"
    assert solr_format(parse_date_math("NOW/MONTH-1HOUR", NOW)) == "2024-01-31T23:00:00Z"


# Answered by Apache Solr 9.10.1 for a date field of a document (the same
# parser reads dates in queries): pgsolr accepts and refuses the same.
SOLR_ACCEPTS = {"2019-10-10T01:15:00Z": "2019-10-10T01:15:00Z",
                "2019-10-10T01:15:00.123456Z": "2019-10-10T01:15:00.123Z",
                "2019-10-10T01:15:00.1Z": "2019-10-10T01:15:00.100Z",
                "2019-10-10T01:15:00Z+1DAY": "2019-10-11T01:15:00Z"}
SOLR_REFUSES = ["2019-10-10T01:15:00+00:00", "2019-10-10T01:15:00+0000",
                "2019-10-10T01:15:00+02:00", "2019-10-10", "2019-10-10T01:15:00",
                "2019-10-10T01:15Z", "2019-10-10 01:15:00Z", "2019-10-10t01:15:00z",
                " 2019-10-10T01:15:00Z", "2019-10-10T01:15:60Z", "2019-02-30T00:00:00Z"]


@pytest.mark.parametrize("value", SOLR_ACCEPTS)
def test_dates_that_solr_accepts(value: str) -> None:
    assert solr_format(parse_date_math(value)) == SOLR_ACCEPTS[value]


@pytest.mark.parametrize("value", SOLR_REFUSES)
def test_dates_that_solr_refuses(value: str) -> None:
    from pgsolr.errors import SolrError

    with pytest.raises(SolrError, match="Invalid Date"):
        parse_date_math(value)


def test_min_should_match() -> None:
    ckan = "2<-1 5<80%"
    assert [min_should_match(ckan, n) for n in (1, 2, 3, 5, 6, 10)] == [1, 2, 2, 4, 4, 8]
    assert min_should_match("75%", 4) == 3
    assert min_should_match("-1", 4) == 3
    assert min_should_match("100%", 3) == 3


def test_local_params() -> None:
    params, rest = parse_local_params("{!frange incl=false l=0 u=1}div(1,2)")
    assert params == {"type": "frange", "incl": "false", "l": "0", "u": "1"}
    assert rest == "div(1,2)"
    assert parse_local_params("{!dismax qf='title^2 notes'}x")[0]["qf"] == "title^2 notes"


def test_schema_from_ckan_plus_addition() -> None:
    schema = load_schema()
    assert schema.unique_key == "index_id"
    assert schema.field("bbox_area").kind == "float"
    assert schema.field("extras_foo").kind == "text"
    assert schema.field("res_extras_x").multi
    assert schema.field("foo_date").kind == "date"
    assert "text" in schema.copy_dests("extras_anything")
    assert schema.field("tags").multi and not schema.field("permission_labels").stored


def test_ngram_analysis_is_read_from_the_schema() -> None:
    from pgsolr.analysis import ngram_query_tokens, ngram_windows
    from pgsolr.schema import Schema

    ckan = load_schema()
    spec = ckan.field("title_ngram").ngram
    assert spec is not None and (spec.min, spec.max, spec.edge, spec.whole) == (2, 10, False, True)
    assert ckan.field("title").ngram is None and ckan.field("text").ngram is None
    windows = [w for w, _ in ngram_windows(spec, "Some Public")]
    assert windows[0] == "some publi" and "blic" in windows and "c" not in windows
    assert ngram_query_tokens(spec, "BLI") == ["bli"]
    assert ngram_query_tokens(spec, "x") is None

    # any field name: behaviour comes from the analyzer (an EdgeNGram filter here)
    edge = Schema("""<schema name="t" version="1.6"><types>
      <fieldType name="prefixes" class="solr.TextField"><analyzer type="index">
        <tokenizer class="solr.WhitespaceTokenizerFactory"/>
        <filter class="solr.EdgeNGramFilterFactory" minGramSize="3" maxGramSize="5"/>
      </analyzer><analyzer type="query"><tokenizer class="solr.WhitespaceTokenizerFactory"/>
      </analyzer></fieldType></types>
      <fields><field name="id" type="prefixes"/></fields></schema>""").field("id").ngram
    assert edge is not None and edge.edge and not edge.whole and not edge.lower
    assert [w for w, _ in ngram_windows(edge, "Gelsenkirchen Buer")] == ["Gelse", "Buer"]


def test_dates_before_year_1000_keep_four_digits() -> None:
    """The stored form sorts lexically only with a four-digit year
    (strftime's %Y does not pad)."""
    from pgsolr.dates import sortable

    early = parse_date_math("0005-01-02T03:04:05Z")
    assert sortable(early) == "0005-01-02T03:04:05.000Z"
    assert solr_format(early) == "0005-01-02T03:04:05Z"
    assert sortable(early) < sortable(parse_date_math("2024-01-01T00:00:00Z"))


def test_page_by_score_orders_as_postgresql_or_leaves_it_to_sql() -> None:
    """ORDER BY score DESC, <keys>, seq: ties by their place in the cached
    order; a NULL or NaN score (ordered apart by PostgreSQL) answers None."""
    scored = [(10, 0.5), (11, 0.9), (12, 0.5), (13, 0.1), (14, 0.9)]
    place = {10: 3, 11: 1, 12: 0, 13: 2, 14: 4}.__getitem__
    assert page_by_score(scored, place, 0, 3, desc=True) == [(11, 0.9), (14, 0.9), (12, 0.5)]
    assert page_by_score(scored, place, 2, 2, desc=False) == [(10, 0.5), (11, 0.9)]
    assert page_by_score([*scored, (15, float("nan"))], place, 0, 3, desc=True) is None
    assert page_by_score([*scored, (15, None)], place, 0, 3, desc=True) is None
