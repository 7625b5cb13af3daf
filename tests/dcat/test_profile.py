"""The ckanext-dcat profile ``gelsenkirchen_dcat_ap_de``: serialisation,
endpoints, content negotiation and parsing (incl. the DCAT-AP.de examples)."""
from __future__ import annotations

import json
import os
import pathlib

import ckan.plugins.toolkit as tk
import pytest
from ckanext.dcat.processors import RDFParser, RDFSerializer
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import FOAF, RDF

from ckanext.gelsenkirchen.logic import vocabularies as v
from tests.logic.data import (  # noqa: F401 (fixtures)
    DATASET_TYPES,
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
PROFILES = ["euro_dcat_ap_2", "gelsenkirchen_dcat_ap_de"]

REPO = pathlib.Path(__file__).resolve().parents[2]


def examples_dir() -> pathlib.Path | None:
    path = os.environ.get("DCATAPDE_EXAMPLES_DIR")
    candidate = pathlib.Path(path) if path else REPO.parent / "shared" / "dcat-ap-de-2.0-examples"
    return candidate if candidate.is_dir() else None


def _graph(dataset: dict) -> tuple[Graph, URIRef]:
    serializer = RDFSerializer(profiles=PROFILES)
    ref = serializer.graph_from_dataset(dataset)
    return serializer.g, ref


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("dataset_type", DATASET_TYPES)
def test_dataset_graph(dataset_type, organization, sysadmin):
    dataset = call_as(sysadmin, "package_create",
                      **dataset_dict(dataset_type, owner_org=organization["id"]))
    g, ref = _graph(dataset)

    assert (ref, DCATDE.contributorID, URIRef(v.DEFAULT_CONTRIBUTOR_ID)) in g
    assert (ref, DCATDE.politicalGeocodingURI, URIRef(
        "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05513000")) in g
    assert (ref, DCATDE.politicalGeocodingLevelURI, URIRef(
        "http://dcat-ap.de/def/politicalGeocoding/Level/municipality")) in g
    assert (ref, DCATDE.geocodingDescription,
            Literal("Gelsenkirchen: Stadtbezirk Nord, Stadtteil Horst", lang="de")) in g
    assert (ref, DCATDE.legalBasis, Literal("§ 16 IFG NRW")) in g
    themes = set(g.objects(ref, DCAT.theme))
    assert themes == {URIRef(v.THEMES[c].iri) for c in dataset_dict(dataset_type)["theme"]}
    assert (ref, DCT.accrualPeriodicity, URIRef(v.FREQUENCIES["ANNUAL"].iri)) in g
    assert (ref, DCT.language, URIRef(v.LANGUAGES["DEU"].iri)) in g
    assert (ref, DCAT.landingPage, URIRef("https://www.gelsenkirchen.de/parken")) in g

    contact = g.value(ref, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in g
    assert (contact, VCARD.hasEmail, URIRef("mailto:verkehr@gelsenkirchen.de")) in g
    assert (contact, VCARD.hasURL, URIRef("https://www.gelsenkirchen.de/kontakt")) in g

    publisher = g.value(ref, DCT.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in g
    assert g.value(publisher, FOAF.name) == Literal("Referat Verkehr und Mobilität")
    assert g.value(publisher, FOAF.homepage) is not None
    maintainer = g.value(ref, DCATDE.maintainer)
    assert g.value(maintainer, FOAF.name) == Literal("Open-Data-Team")

    distributions = list(g.objects(ref, DCAT.distribution))
    assert len(distributions) == 2
    licences = {}
    for dist in distributions:
        licences[str(g.value(dist, DCT.title))] = g.value(dist, DCT.license)
        assert g.value(dist, DCATDE.licenseAttributionByText) == Literal(
            "Stadt Gelsenkirchen, Referat Verkehr")
        assert str(g.value(dist, DCT["format"])).startswith(v.FILE_TYPE_SCHEME + "/")
        assert str(g.value(dist, DCAT.mediaType)).startswith(v.IANA_MEDIA_TYPES)
    assert licences == {  # the dataset's licence unless the resource has its own
        "Parkhäuser (CSV)": URIRef("http://dcat-ap.de/def/licenses/dl-by-de/2.0"),
        "Parkhäuser (GeoJSON)": URIRef("http://dcat-ap.de/def/licenses/dl-zero-de/2.0")}


@pytest.mark.usefixtures("with_plugins")
def test_dataset_without_organization_gets_the_default_publisher(organization, sysadmin):
    dataset = call_as(sysadmin, "package_create", **dataset_dict(owner_org=organization["id"]))
    g, ref = _graph(dict(dataset, organization=None, owner_org=None))
    publisher = g.value(ref, DCT.publisher)
    assert publisher == URIRef("https://www.gelsenkirchen.de/")
    assert g.value(publisher, FOAF.name) == Literal("Stadt Gelsenkirchen")


@pytest.mark.usefixtures("with_plugins")
def test_endpoints_and_content_negotiation(app, organization, sysadmin):
    names = [call_as(sysadmin, "package_create",
                     **dataset_dict(t, owner_org=organization["id"]))["name"]
             for t in DATASET_TYPES]
    for ext, mime, fmt in (("ttl", "text/turtle", "turtle"),
                           ("rdf", "application/rdf+xml", "xml"),
                           ("jsonld", "application/ld+json", "json-ld")):
        response = app.get(f"/dataset/{names[0]}.{ext}")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(mime)
        g = Graph().parse(data=response.body, format=fmt)
        assert (None, DCATDE.contributorID, None) in g
        response = app.get(f"/catalog.{ext}")
        assert response.status_code == 200
        g = Graph().parse(data=response.body, format=fmt)
        assert len(list(g.subjects(RDF.type, DCAT.Dataset))) == 3

    response = app.get(f"/dataset/{names[1]}", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(
        "text/turtle")
    assert (None, DCATDE.contributorID, None) in Graph().parse(data=response.body,
                                                               format="turtle")


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.ckan_config("ckanext.dcat.datasets_per_page", "2")
def test_catalog_paging(app, organization, sysadmin):
    for dataset_type in DATASET_TYPES:
        call_as(sysadmin, "package_create",
                **dataset_dict(dataset_type, owner_org=organization["id"]))
    hydra = Namespace("http://www.w3.org/ns/hydra/core#")
    first = Graph().parse(data=app.get("/catalog.ttl").body, format="turtle")
    second = Graph().parse(data=app.get("/catalog.ttl?page=2").body, format="turtle")
    assert len(list(first.subjects(RDF.type, DCAT.Dataset))) == 2
    assert len(list(second.subjects(RDF.type, DCAT.Dataset))) == 1
    assert [int(n) for n in first.objects(None, hydra.totalItems)] == [3]
    assert list(first.objects(None, hydra.next))


def _parse(data: str, fmt: str = "turtle") -> list[dict]:
    parser = RDFParser(profiles=PROFILES)
    parser.parse(data, _format=fmt)
    return list(parser.datasets())


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("dataset_type", DATASET_TYPES)
def test_round_trip(dataset_type, app, organization, sysadmin):
    original = call_as(sysadmin, "package_create",
                       **dataset_dict(dataset_type, owner_org=organization["id"]))
    (parsed,) = _parse(app.get(f"/dataset/{original['name']}.ttl").body)
    assert parsed.get("type", "dataset") == dataset_type
    parsed.update(name=original["name"] + "-kopie", owner_org=organization["id"])
    copy = call_as(sysadmin, "package_create", **parsed)
    for field in ("title", "notes", "theme", "license_id", "license_attribution_by_text",
                  "contact_name", "contact_email", "contact_url", "maintainer",
                  "maintainer_email", "spatial_coverage", "political_geocoding_uri",
                  "temporal_start", "temporal_end", "frequency", "issued", "modified",
                  "language", "url", "documentation", "legal_basis", "contributor_id",
                  "hvd_category", "hotspot_count", "operators", "status_counts",
                  "stadtteile_covered", "reference_date", "speed_classes",
                  "households_ftth_share", "schools_connected"):
        if isinstance(original.get(field), list):
            assert sorted(copy[field]) == sorted(original[field]), field
        else:
            assert copy.get(field) == original.get(field), field
    assert sorted(t["name"] for t in copy["tags"]) == ["Parken", "Verkehr"]
    by_name = {r["name"]: r for r in copy["resources"]}
    assert by_name["Parkhäuser (CSV)"]["format"] == "CSV"
    assert by_name["Parkhäuser (CSV)"]["hash_algorithm"] == v.HASH_ALGORITHMS["md5"].iri
    assert by_name["Parkhäuser (GeoJSON)"]["license_id"] == "dl-zero-de/2.0"
    assert "license_id" not in by_name["Parkhäuser (CSV)"]


@pytest.mark.usefixtures("with_plugins")
def test_reference_examples_parse_into_valid_datasets(organization, sysadmin):
    directory = examples_dir()
    if directory is None:
        pytest.skip("DCAT-AP.de 2.0 reference examples not found: set DCATAPDE_EXAMPLES_DIR "
                    "or provide ../shared/dcat-ap-de-2.0-examples next to the repository")
    advanced = _parse((directory / "dcat_ap_de-RefImp_TTL_ADVANCED.ttl").read_text())
    simple = _parse((directory / "dcat_ap_de-RefImp_TTL_SIMPLE.ttl").read_text())
    assert len(advanced) == 2 and len(simple) == 1

    by_title = {d["title"]: d for d in advanced}
    bathing = by_title["Badegewässer in Hamburg"]
    assert bathing["license_id"] == "dl-by-de/2.0"
    assert bathing["license_attribution_by_text"] == \
        "Freie und Hansestadt Hamburg, Behoerde für Umwelt und Energie"
    assert bathing["contact_email"] == "thomas.meister@example.com"
    assert bathing["contributor_id"] == \
        "http://dcat-ap.de/def/contributors/transparenzportalHamburg"
    assert bathing["political_geocoding_uri"] == \
        "http://dcat-ap.de/def/politicalGeocoding/stateKey/02"
    assert bathing["theme"] == [v.THEMES["ENVI"].iri]
    assert {r["format"] for r in bathing["resources"]} == {"CSV", "XML"}
    police = by_title["Gebietsgrenzen Polizeikommissariate"]
    # dl-by-de without licenseAttributionByText: the publisher is named
    assert police["license_attribution_by_text"] == \
        "Behörde für Inneres und Sport, Polizei Hamburg"
    assert police["frequency"] == v.FREQUENCIES["MONTHLY"].iri
    assert police["legal_basis"] == "Hamburgisches Transparenzgesetz (HmbTG)."

    for i, parsed in enumerate(advanced + simple):
        parsed.update(name=f"referenzbeispiel-{i}", owner_org=organization["id"])
        if "theme" not in parsed:
            # the SIMPLE example has no dcat:theme: DCAT-AP.de only recommends it
            # (K30), this portal requires one, so creating it fails on exactly
            # that field; everything the example carries is valid
            with pytest.raises(tk.ValidationError) as e:
                call_as(sysadmin, "package_create", **parsed)
            assert list(e.value.error_dict) == ["theme"], e.value.error_dict
            parsed["theme"] = ["GOVE"]
        created = call_as(sysadmin, "package_create", **parsed)
        assert created["license_id"] == "dl-by-de/2.0"
        assert created["contributor_id"].startswith("http://dcat-ap.de/def/contributors/")
        # Hamburg is not Gelsenkirchen: its geocoding is kept, no city geometry added
        if parsed.get("political_geocoding_uri"):
            assert created["political_geocoding_uri"] == parsed["political_geocoding_uri"]
            assert not created.get("spatial_coverage")
        assert json.dumps(created["resources"])  # resources were created


# Characters an IRI must not contain (RFC 3987); rdflib refuses to write them
# into Turtle and N-Triples.
UNSAFE_IRI_TEXT = ('{', '|', '^', '"', '<', '>', '`', '\\')


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("field,value", [
    ("contact_email", "a{b}@example.org"), ("contact_email", "x|y@example.org"),
    ("maintainer_email", "a^b@example.org"), ("contact_url", "https://example.org/a<b>"),
    ("url", 'https://example.org/"quoted"'), ("documentation", "https://example.org/{x}"),
])
def test_addresses_that_are_no_iri_are_refused(field, value, organization, sysadmin):
    data = dataset_dict(owner_org=organization["id"], **{field: value})
    with pytest.raises(tk.ValidationError) as e:
        call_as(sysadmin, "package_create", **data)
    assert field in e.value.error_dict


@pytest.mark.usefixtures("with_plugins")
def test_rdf_endpoints_answer_for_addresses_saved_before_the_check(app, organization, sysadmin):
    """Values saved before the IRI check (written here past validation) and
    resource URLs still serialise: unsafe characters are percent-encoded."""
    from ckan import model
    from ckan.lib import search

    data = dataset_dict(owner_org=organization["id"], maintainer="Amt 62")
    data["resources"][0]["url"] = "https://example.org/file{1}|x^y.csv?a=<b>"
    dataset = call_as(sysadmin, "package_create", **data)
    pkg = model.Package.get(dataset["id"])
    pkg.extras["contact_email"] = "a{b}|c@example.org"
    pkg.extras["contact_url"] = "https://example.org/kontakt<1>"
    pkg.maintainer_email = "x^y@example.org"
    model.Session.commit()
    search.rebuild(dataset["id"])  # package_show answers from the index

    for ext, fmt in (("ttl", "turtle"), ("n3", "n3"), ("rdf", "xml"), ("jsonld", "json-ld")):
        for path in (f"/dataset/{dataset['name']}.{ext}", f"/catalog.{ext}"):
            response = app.get(path)
            assert response.status_code == 200, (path, response.body[:500])
            g = Graph().parse(data=response.body, format=fmt)
            iris = {str(o) for o in g.objects() if isinstance(o, URIRef)}
            assert {"https://example.org/file%7B1%7D%7Cx%5Ey.csv?a=%3Cb%3E",
                    "mailto:a%7Bb%7D%7Cc@example.org", "https://example.org/kontakt%3C1%3E",
                    "mailto:x%5Ey@example.org"} <= iris, (path, iris)
    triples = call_as(sysadmin, "dcat_dataset_show", id=dataset["id"], format="nt")
    assert "<https://example.org/kontakt%3C1%3E>" in triples


@pytest.mark.usefixtures("with_plugins")
def test_rdf_endpoints_answer_404_for_formats_they_do_not_serve(app, organization, sysadmin):
    name = call_as(sysadmin, "package_create",
                   **dataset_dict(owner_org=organization["id"]))["name"]
    for path in (f"/dataset/{name}.nt", f"/dataset/{name}.exe", "/catalog.nt", "/catalog.exe"):
        assert app.get(path).status_code == 404, path
