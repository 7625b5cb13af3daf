"""The German relevance set (relevance_de.yaml): load it, index its corpus
through CKAN, send its queries as the portal's /dataset page does and
measure recall and precision at 10.

Used by tests/search/test_relevance.py (make relevance prints the table).

- recall@10 of a query: the share of its ``must`` datasets among the first
  10 results;
- precision@10: the share of the first 10 results (fewer when fewer came
  back) that are ``must`` or ``may`` datasets; 0 when nothing came back;
- a *miss*: a query with recall@10 below 1. The known misses of each
  backend are listed, with their reason, in the data file.

Overall figures are the means over the queries (macro averages).
"""
from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

DATA_FILE = pathlib.Path(__file__).with_name("relevance_de.yaml")
AT = 10
BACKENDS = ("pgsolr", "solr")


@dataclass(frozen=True)
class Query:
    id: str
    q: str
    kind: str
    must: tuple[str, ...]
    may: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelevanceSet:
    organizations: list[dict[str, str]]
    datasets: list[dict[str, Any]]
    queries: list[Query]
    known_misses: dict[str, dict[str, str]]


def load(path: pathlib.Path = DATA_FILE) -> RelevanceSet:
    """The data file, checked: unique ids, known datasets and organizations,
    at most ``AT`` must datasets per query, known misses of known queries."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    orgs = {o["name"] for o in data["organizations"]}
    names = [d["name"] for d in data["datasets"]]
    problems = [f"dataset names repeat: {names}"] if len(set(names)) != len(names) else []
    problems += [f"{d['name']}: unknown organization {d['org']}"
                 for d in data["datasets"] if d["org"] not in orgs]
    queries = [Query(q["id"], str(q["q"]), q["kind"], tuple(q["must"]), tuple(q.get("may", ())))
               for q in data["queries"]]
    ids = [q.id for q in queries]
    if len(set(ids)) != len(ids):
        problems.append(f"query ids repeat: {ids}")
    for query in queries:
        unknown = set(query.must + query.may) - set(names)
        if unknown:
            problems.append(f"query {query.id}: unknown datasets {sorted(unknown)}")
        if not query.must or len(query.must) > AT:
            problems.append(f"query {query.id}: 1 to {AT} must datasets, not {len(query.must)}")
    known = {backend: dict(data["known_misses"].get(backend) or {}) for backend in BACKENDS}
    for backend, misses in known.items():
        problems += [f"known_misses.{backend}: unknown query {q}" for q in misses if q not in ids]
        problems += [f"known_misses.{backend}.{q}: no reason" for q, why in misses.items()
                     if not str(why or "").strip()]
    if problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))
    return RelevanceSet(data["organizations"], data["datasets"], queries, known)


# -- indexing --------------------------------------------------------------------------------

def dataset_fields(dataset: dict[str, Any], org: dict[str, str]) -> dict[str, Any]:
    """package_create's data for one dataset of the corpus: the general
    type's required fields, the same contact on every dataset (so that no
    field but title, notes, tags, organization and areas tells them apart)."""
    return {
        "type": "dataset", "name": dataset["name"], "title": dataset["title"],
        "notes": dataset["notes"], "tag_string": ",".join(dataset.get("tags", [])),
        "owner_org": org["id"], "theme": [org["theme"]], "license_id": "dl-zero-de/2.0",
        "contact_name": "Open-Data-Team", "contact_email": "opendata@gelsenkirchen.example",
        "spatial_coverage": [f"stadtteil-{a}" for a in dataset.get("areas", [])],
    }


def index(relevance: RelevanceSet) -> None:
    """Create the organizations and datasets with CKAN's test factories
    (package_create as a sysadmin): CKAN indexes each into the search
    service at solr_url, with the gelsenkirchen plugin's index fields."""
    from ckan.tests import factories

    admin = factories.Sysadmin()
    orgs = {o["name"]: dict(o, id=factories.Organization(user=admin, name=o["name"],
                                                         title=o["title"])["id"])
            for o in relevance.organizations}
    for dataset in relevance.datasets:
        factories.Dataset(user=admin, **dataset_fields(dataset, orgs[dataset["org"]]))


# -- searching as the /dataset page ----------------------------------------------------------

def page_search_params(q: str) -> dict[str, Any]:
    """package_search's data dict as ckan/views/dataset.py:search builds it
    for ``/dataset/?q=…`` (first page, no sort chosen, no facet selected):
    the facets of h.facets() and the gelsenkirchen plugin's IFacets,
    ckan.datasets_per_page rows, and no dataset type filter (with
    ``ckan.search.show_all_types``' default, ``dataset``, the page lists
    every type)."""
    import ckan.plugins as plugins
    import ckan.plugins.toolkit as tk

    facets: dict[str, str] = {f: f for f in tk.h.facets()}
    for plugin in plugins.PluginImplementations(plugins.IFacets):
        facets = plugin.dataset_facets(facets, "dataset")
    return {"q": q, "fq": "", "facet.field": list(facets),
            "rows": tk.config.get("ckan.datasets_per_page"), "start": 0, "sort": None,
            "extras": {}, "include_private": tk.config.get("ckan.search.default_include_private")}


def portal_search(q: str) -> list[str]:
    """The dataset names of the first result page, in order, for an
    anonymous visitor."""
    from ckan.tests import helpers

    result = helpers.call_action("package_search",
                                 context={"user": "", "ignore_auth": False, "for_view": True},
                                 **page_search_params(q))
    return [d["name"] for d in result["results"]]


# -- measuring -------------------------------------------------------------------------------

@dataclass
class Outcome:
    query: Query
    results: list[str]
    top: list[str] = field(init=False)
    recall: float = field(init=False)
    precision: float = field(init=False)

    def __post_init__(self) -> None:
        self.top = self.results[:AT]
        wanted = set(self.query.must)
        accepted = wanted | set(self.query.may)
        self.recall = len(wanted & set(self.top)) / len(wanted)
        self.precision = (sum(1 for n in self.top if n in accepted) / len(self.top)
                          if self.top else 0.0)

    @property
    def missing(self) -> list[str]:
        return [n for n in self.query.must if n not in self.top]

    @property
    def unwanted(self) -> list[str]:
        accepted = set(self.query.must) | set(self.query.may)
        return [n for n in self.top if n not in accepted]

    @property
    def miss(self) -> bool:
        return self.recall < 1


def evaluate(queries: Iterable[Query], search: Callable[[str], list[str]]) -> list[Outcome]:
    return [Outcome(query, search(query.q)) for query in queries]


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def table(backend: str, outcomes: list[Outcome]) -> str:
    """One line per query, one per kind of query and the overall figures."""
    lines = [f"German relevance set on {backend}: {len(outcomes)} queries, "
             f"recall@{AT} and precision@{AT}",
             f"{'query':<22} {'kind':<11} {'R@10':>5} {'P@10':>5}  not found / not wanted"]
    for o in outcomes:
        notes = (" ".join(f"-{n}" for n in o.missing) + " "
                 + " ".join(f"+{n}" for n in o.unwanted)).strip()
        lines.append(f"{o.query.q[:22]:<22} {o.query.kind:<11} {o.recall:5.2f} "
                     f"{o.precision:5.2f}  {notes}")
    lines.append("")
    kinds = sorted({o.query.kind for o in outcomes}, key=[o.query.kind for o in outcomes].index)
    for kind in kinds + ["all"]:
        part = [o for o in outcomes if kind in ("all", o.query.kind)]
        lines.append(f"{backend} {kind:<11} {len(part):>3} queries  "
                     f"recall@{AT} {mean(o.recall for o in part):.3f}  "
                     f"precision@{AT} {mean(o.precision for o in part):.3f}  "
                     f"misses {sum(o.miss for o in part)}")
    return "\n".join(lines)
