"""Benchmark: index CKAN-like datasets through pysolr, time CKAN's queries.

    python -m bench.search --dsn postgresql://postgres@127.0.0.1/db
        [--docs 10000] [--runs 200] [--scale]
        [--backend pgsolr|solr|both --solr http://127.0.0.1:8983/solr] [--url URL]

pgsolr: an in-process server is started on a free port against a fresh core
(removed afterwards unless --keep). solr: a fresh core of the running Apache
Solr (``scripts/solr-ctl.sh``'s configset ``ckan``) is created through Solr's
CoreAdmin API and unloaded afterwards. both: the same documents and queries
on each, then one table with the ratio pgsolr/Solr (``make bench-search
SEARCH=both``). --url benchmarks an already running core as it is.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import Any

import psycopg2
import pysolr

QUERY_FIELDS = "name^4 title^4 tags^2 groups^2 text"
FACETS = ["organization", "groups", "tags", "res_format", "license_id"]
SITE_ID = "gelsenkirchen"

_SUBJECTS_DE = [
    "Glasfaseranschlüsse", "Hotspots", "Parkplätze", "Spielplätze", "Bäume", "Radwege",
    "Haltestellen", "Schulen", "Kindertagesstätten", "Wahlergebnisse", "Bevölkerung",
    "Luftqualität", "Lärmkarten", "Bebauungspläne", "Stadtteile", "Müllabfuhr",
    "Straßenbeleuchtung", "Friedhöfe", "Sportstätten", "Ladesäulen"]
_SUBJECTS_EN = [
    "parks", "bike lanes", "bus stops", "schools", "trees", "election results",
    "population", "air quality", "noise maps", "charging stations", "hotspots"]
_WORDS = (
    "die der das und mit für von im Stadt Gelsenkirchen Daten Informationen jährlich "
    "aktualisiert Verwaltung Übersicht über alle Standorte Angaben zur Lage Nutzung "
    "the city data annual updated overview locations information open dataset of "
    "Buer Horst Schalke Ückendorf Erle Resse Hassel Rotthausen Bismarck").split()
_TAGS = ["umwelt", "verkehr", "bildung", "wirtschaft", "soziales", "geodaten", "internet",
         "gesundheit", "freizeit", "energie", "wahlen", "bevoelkerung", "infrastruktur",
         "kultur", "sport", "open-data", "wlan", "mobilitaet", "klima", "bauen"]
_ORGS = ["stadt-gelsenkirchen", "referat-umwelt", "referat-verkehr", "gelsendienste",
         "stadtwerke", "statistikstelle", "vermessung-kataster", "kulturamt"]
_GROUPS = ["umwelt-klima", "verkehr-mobilitaet", "bildung", "politik-wahlen",
           "bevoelkerung", "wirtschaft", "infrastruktur"]
_FORMATS = ["CSV", "JSON", "GeoJSON", "PDF", "XLSX", "WMS", "WFS", "XML", "SHP"]
_LICENSES = ["dl-de-by-2.0", "dl-de-zero-2.0", "cc-by-4.0", "cc-zero"]


def make_doc(i: int, rnd: random.Random) -> dict[str, Any]:
    """A dataset document shaped like ckan.lib.search.index produces."""
    subject = rnd.choice(_SUBJECTS_DE + _SUBJECTS_EN)
    year = rnd.randint(2010, 2025)
    title = f"{subject} in Gelsenkirchen {year}"
    notes = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(20, 80)))
    notes = f"{subject}: {notes}. {rnd.choice(_SUBJECTS_DE)} und {rnd.choice(_SUBJECTS_EN)}."
    pkg_id = str(uuid.UUID(int=rnd.getrandbits(128)))
    name = f"{subject.lower().replace(' ', '-')}-{year}-{i}"
    org = rnd.choice(_ORGS)
    tags = rnd.sample(_TAGS, rnd.randint(1, 5))
    groups = rnd.sample(_GROUPS, rnd.randint(0, 2))
    n_res = rnd.randint(1, 4)
    formats = [rnd.choice(_FORMATS) for _ in range(n_res)]
    modified = datetime(2015, 1, 1) + timedelta(seconds=rnd.randint(0, 10 * 365 * 86400))
    created = modified - timedelta(days=rnd.randint(0, 900))
    private = rnd.random() < 0.1
    # spatial extents around Gelsenkirchen (51.47N 7.05E)
    cx, cy = 7.05 + rnd.uniform(-0.15, 0.15), 51.52 + rnd.uniform(-0.1, 0.1)
    w, h = rnd.uniform(0.001, 0.08), rnd.uniform(0.001, 0.05)
    resources = [{"id": str(uuid.UUID(int=rnd.getrandbits(128))), "name": f"{subject} {fmt}",
                  "description": f"{subject} als {fmt}", "format": fmt,
                  "url": f"https://opendata.gelsenkirchen.de/{name}/{k}.{fmt.lower()}"}
                 for k, fmt in enumerate(formats)]
    data_dict = {"id": pkg_id, "name": name, "title": title, "notes": notes, "type": "dataset",
                 "private": private, "state": "active", "owner_org": org,
                 "license_id": rnd.choice(_LICENSES), "tags": [{"name": t} for t in tags],
                 "groups": [{"name": g} for g in groups], "resources": resources,
                 "extras": [{"key": "spatial", "value": "..."}],
                 "metadata_modified": modified.isoformat(),
                 "metadata_created": created.isoformat()}
    doc = {
        "id": pkg_id, "index_id": uuid.uuid5(uuid.NAMESPACE_URL, pkg_id + SITE_ID).hex,
        "site_id": SITE_ID, "entity_type": "package", "dataset_type": "dataset",
        "state": "active", "name": name, "title": title, "title_string": title,
        "notes": notes, "tags": tags, "groups": groups, "organization": org,
        "owner_org": org, "license_id": data_dict["license_id"],
        "capacity": "private" if private else "public", "private": private,
        "num_resources": n_res, "num_tags": len(tags),
        "res_name": [r["name"] for r in resources],
        "res_description": [r["description"] for r in resources],
        "res_format": formats, "res_url": [r["url"] for r in resources],
        "res_type": [None or "" for _ in resources],
        "extras_spatial_text": f"Stadtteil {rnd.choice(_WORDS)}",
        "extras_update_frequency": rnd.choice(["jährlich", "monatlich", "täglich"]),
        "metadata_modified": modified.isoformat() + "Z",
        "metadata_created": created.isoformat() + "Z",
        "permission_labels": ["member-" + org] if private else ["public"],
        "minx": cx - w, "maxx": cx + w, "miny": cy - h, "maxy": cy + h,
        "bbox_area": (2 * w) * (2 * h),
        "data_dict": json.dumps(data_dict),
        "validated_data_dict": json.dumps(dict(data_dict, num_resources=n_res,
                                               organization={"name": org, "title": org})),
    }
    return doc


def _base(q: str, **extra: Any) -> dict[str, Any]:
    """Parameters as CKAN's PackageSearchQuery.run sends them."""
    params: dict[str, Any] = {
        "q": q, "fl": "id validated_data_dict", "rows": 21, "start": 0,
        "sort": "score desc, metadata_modified desc", "wt": "json",
        "fq": ["+dataset_type:dataset", f'+site_id:"{SITE_ID}"', "+state:active",
               '+permission_labels:("public" OR "member-stadt-gelsenkirchen")'],
        "facet": "true", "facet.field": FACETS, "facet.limit": 50, "facet.mincount": 1,
        "df": "text", "q.op": "AND",
    }
    if ":" not in q or extra.get("defType") == "edismax":
        params.update({"defType": extra.get("defType", "dismax"), "tie": "0.1",
                       "mm": "2<-1 5<80%", "qf": QUERY_FIELDS})
    params.update(extra)
    return params


def spatial_params(minx: float, miny: float, maxx: float, maxy: float) -> dict[str, Any]:
    """ckanext-spatial's solr-bbox search for one box."""
    area = abs(maxx - minx) * abs(maxy - miny)
    bf = (f"div(mul(mul(max(0,sub(min({maxx},maxx),max({minx},minx))),"
          f"max(0,sub(min({maxy},maxy),max({miny},miny)))),2),"
          f"add({area},mul(sub(maxy,miny),sub(maxx,minx))))")
    spatial = _base("*:*", defType="edismax", bf=bf)
    spatial["fq"] = spatial["fq"] + ["{!frange incl=false l=0 u=1}" + bf]
    return spatial


# Two words of the generated titles and notes: the rare pair matches well
# under 1 % of the documents, the common pair most of them (every title
# names Gelsenkirchen, most notes say "Daten"), the broad path of pgsolr.
RARE = "Friedhöfe Ladesäulen"
COMMON = "Gelsenkirchen Daten"


def query_shapes() -> dict[str, dict[str, Any]]:
    field_filter = _base("*:*")
    field_filter["fq"] = field_filter["fq"] + ['tags:"umwelt"', 'organization:"stadt-gelsenkirchen"']
    return {
        "free text + 5 facets": _base("Glasfaseranschluss parks"),
        "rare words, dismax": _base(RARE),
        "rare words, edismax": _base(RARE, defType="edismax"),
        "common words, dismax": _base(COMMON),
        "common words, edismax": _base(COMMON, defType="edismax"),
        "field filter": field_filter,
        "spatial bbox frange": spatial_params(7.0, 51.45, 7.1, 51.55),
        "sort metadata_modified": _base("*:*", sort="metadata_modified desc"),
        "deep page (start 5000)": _base("*:*", sort="metadata_modified desc", start=5000),
    }


def _new_box(rnd: random.Random) -> dict[str, Any]:
    """A different map extent every time (what users of the map widget send)."""
    minx, miny = rnd.uniform(6.9, 7.1), rnd.uniform(51.4, 51.55)
    return spatial_params(round(minx, 4), round(miny, 4),
                          round(minx + rnd.uniform(0.05, 0.15), 4),
                          round(miny + rnd.uniform(0.03, 0.1), 4))


def _time(solr: pysolr.Solr, params: dict[str, Any]) -> tuple[float, int]:
    params = dict(params)
    q = params.pop("q")
    t = time.perf_counter()
    hits = solr.search(q, **params).hits
    return (time.perf_counter() - t) * 1000, hits


def _stats(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50": statistics.median(times), "p95": times[max(int(len(times) * 0.95) - 1, 0)]}


def run(url: str, n_docs: int, runs: int, batch: int = 500) -> dict[str, Any]:
    solr = pysolr.Solr(url, timeout=600)
    solr.delete(q="*:*", commit=True)
    rnd = random.Random(42)
    docs = [make_doc(i, rnd) for i in range(n_docs)]
    t0 = time.perf_counter()
    for i in range(0, n_docs, batch):
        solr.add(docs[i:i + batch], commit=False)
    solr.commit()
    index_s = time.perf_counter() - t0
    results: dict[str, Any] = {"docs": n_docs, "docs_per_s": n_docs / index_s, "shapes": {},
                               "after_write": {}}
    shapes = query_shapes()
    for name, params in shapes.items():
        _time(solr, params)  # warm-up
        times, hits = zip(*(_time(solr, params) for _ in range(runs)), strict=True)
        results["shapes"][name] = {"hits": hits[0], **_stats(list(times))}
    boxes = random.Random(7)
    timed = [_time(solr, _new_box(boxes)) for _ in range(runs)]
    results["shapes"]["spatial, a new bbox each query"] = {
        "hits": round(statistics.median(h for _, h in timed)), **_stats([t for t, _ in timed])}
    # the first queries after a write: every write starts a new generation,
    # whose cached sets (pgsolr/docsets.py) are built on demand
    writes = max(runs // 10, 5)
    for name, params in shapes.items():
        first, second = [], []
        for k in range(writes):
            solr.add([docs[k]], commit=True)   # re-index one dataset
            first.append(_time(solr, params)[0])
            second.append(_time(solr, params)[0])
        results["after_write"][name] = {"first": statistics.median(first),
                                        "second": statistics.median(second)}
    return results


def _print(res: dict[str, Any]) -> None:
    print(f"\n{res['docs']} documents: indexing {res['docs_per_s']:.0f} docs/s")
    for name, s in res["shapes"].items():
        print(f"  {name:<32} hits={s['hits']:<6} p50={s['p50']:6.1f} ms  p95={s['p95']:6.1f} ms")
    print("  right after a write (p50 of the 1st and the 2nd query of the new generation):")
    for name, s in res["after_write"].items():
        print(f"  {name:<32} 1st={s['first']:6.1f} ms  2nd={s['second']:6.1f} ms")


def _vacuum(dsn: str) -> None:
    """Earlier runs delete their core at the end; without autovacuum (off on
    the development machines) the dead rows would slow every shape."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE pgsolr_doc")
    conn.close()
    print("vacuumed pgsolr_doc (dead rows of earlier runs)")


def _core_admin(solr: str, **params: str) -> None:
    query = urllib.parse.urlencode(dict(params, wt="json"))
    with urllib.request.urlopen(f"{solr}/admin/cores?{query}", timeout=300) as response:
        response.read()


def _bench(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every size of this run on one backend, in a core made for it."""
    server, core = None, f"bench_{uuid.uuid4().hex[:8]}"
    if backend == "pgsolr":
        from pgsolr.server import create_server
        server = create_server(args.dsn, "127.0.0.1", 0).start()
        url = f"{server.url}/{core}"
        _vacuum(args.dsn)
    else:
        _core_admin(args.solr, action="CREATE", name=core, configSet="ckan")
        url = f"{args.solr}/{core}"
    print(f"{backend} benchmark against {url}")
    try:
        results = []
        for n in ([1000, 10000, 50000] if args.scale else [args.docs]):
            results.append(run(url, n, args.runs))
            _print(results[-1])
        return results
    finally:
        if server is not None:
            if not args.keep:
                pysolr.Solr(url).delete(q="*:*", commit=True)
            server.stop()
        elif not args.keep:
            _core_admin(args.solr, action="UNLOAD", core=core, deleteInstanceDir="true")


def _print_growth(results: list[dict[str, Any]]) -> None:
    print("\ncost growth (p50 ms by size):")
    for name in results[0]["shapes"]:
        row = "  ".join(f"{r['docs']}: {r['shapes'][name]['p50']:.1f}" for r in results)
        print(f"  {name:<32} {row}")


def _print_side_by_side(pg: dict[str, Any], solr: dict[str, Any]) -> None:
    print(f"\n{pg['docs']} documents, pgsolr against Apache Solr (ratio: pgsolr time / Solr time, p50)")
    print(f"  {'shape':<32} {'hits pg/solr':>13} {'pgsolr p50/p95 ms':>18} "
          f"{'Solr p50/p95 ms':>16} {'ratio':>6}")
    print(f"  {'indexing, docs/s':<32} {'':>13} {pg['docs_per_s']:>18.0f} "
          f"{solr['docs_per_s']:>16.0f} {solr['docs_per_s'] / pg['docs_per_s']:>5.2f}x")
    for name, p in pg["shapes"].items():
        q = solr["shapes"][name]
        print(f"  {name:<32} {p['hits']:>6}/{q['hits']:<6} {p['p50']:>8.1f}/{p['p95']:<9.1f}"
              f" {q['p50']:>7.1f}/{q['p95']:<8.1f} {p['p50'] / q['p50']:>5.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1/pgsolr_dev")
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--backend", choices=["pgsolr", "solr", "both"], default="pgsolr")
    parser.add_argument("--solr", default="http://127.0.0.1:8983/solr",
                        help="the running Apache Solr (standalone) of --backend solr|both")
    parser.add_argument("--url", default=None, help="benchmark an already running server/core")
    parser.add_argument("--scale", action="store_true", help="run with 1000, 10000, 50000 docs")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark core")
    args = parser.parse_args(argv)

    if args.url is not None:
        _print(run(args.url, args.docs, args.runs))
        return 0
    backends = ["pgsolr", "solr"] if args.backend == "both" else [args.backend]
    results = {backend: _bench(backend, args) for backend in backends}
    for backend_results in results.values():
        if len(backend_results) > 1:
            _print_growth(backend_results)
    if len(results) == 2:
        for pg, solr in zip(results["pgsolr"], results["solr"], strict=True):
            _print_side_by_side(pg, solr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
