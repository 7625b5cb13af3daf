"""DCAT-AP.de 2.0 "Spezifikation + Konventionen": zero SHACL Violations for a
dataset of every type and for the catalogue, as served by the dcat endpoints.

The shapes and offline vocabularies are read from ``DCATAPDE_SHACL_DIR``,
default ``../shared/dcat-ap-de-2.0-shacl`` next to the repository (they are
CC BY 4.0 reference data and not part of the repository).

Offline data used, as README/SOURCES of the shape set describe:
* ``vocab/foaf_0_1.rdf``, ``vocab/vcard.ttl``, ``vocab/org.ttl`` as the
  ontology graph (``ont_graph``, ``inference="rdfs"``);
* ``vocab/dcat-ap-de-licenses.rdf`` and ``vocab/dcat-ap-de-contributors.rdf``
  added to the data graph: pyshacl copies only class/property axioms from an
  ``ont_graph``, not SKOS concepts, and the licence/contributor checks
  (Konvention 12/13, 31) need their ``skos:inScheme``;
* the EU authority tables (data-theme, frequency, language, file-type,
  planned-availability) and the dcat-ap.de hash-algorithm list are not
  available offline: for exactly the concepts of the portal's controlled lists
  (``logic/vocabularies.py``) the test states their ``skos:inScheme``.  Any
  IRI outside those lists still fails (see the negative test).
"""
from __future__ import annotations

import functools
import os
import pathlib

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, SKOS

from ckanext.gelsenkirchen.logic import vocabularies as v
from tests.logic.data import (  # noqa: F401 (fixtures)
    DATASET_TYPES,
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)

pyshacl = pytest.importorskip("pyshacl")

REPO = pathlib.Path(__file__).resolve().parents[2]
SH = Namespace("http://www.w3.org/ns/shacl#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
#: the profile "DCAT-AP.de 2.0 - Spezifikation + Konventionen" (README.md of the shapes)
SHAPE_FILES = ["dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap-spec-german-additions.ttl",
               "dcat-ap-spec-german-messages.ttl", "dcat-ap-de-deprecated.ttl",
               "dcat-ap-konventionen.ttl"]
ONTOLOGIES = ["foaf_0_1.rdf", "vcard.ttl", "org.ttl"]
VOCABULARIES = ["dcat-ap-de-licenses.rdf", "dcat-ap-de-contributors.rdf"]


def shacl_dir() -> pathlib.Path | None:
    configured = os.environ.get("DCATAPDE_SHACL_DIR")
    path = pathlib.Path(configured) if configured else (
        REPO.parent / "shared" / "dcat-ap-de-2.0-shacl")
    return path if (path / SHAPE_FILES[0]).is_file() else None


pytestmark = pytest.mark.skipif(
    shacl_dir() is None,
    reason="DCAT-AP.de 2.0 SHACL shapes not found: set DCATAPDE_SHACL_DIR to the folder "
           "with dcat-ap_2.1.1_shacl_shapes.ttl etc. (default ../shared/dcat-ap-de-2.0-shacl)")


@functools.lru_cache(maxsize=1)
def _graphs() -> tuple[Graph, Graph, Graph]:
    base = shacl_dir()
    shapes, ontology, vocabularies = Graph(), Graph(), Graph()
    for name in SHAPE_FILES:
        shapes.parse(base / name)
    for name in ONTOLOGIES:
        ontology.parse(base / "vocab" / name)
    for name in VOCABULARIES:
        vocabularies.parse(base / "vocab" / name)
    for concept, scheme in v.skos_membership():
        vocabularies.add((URIRef(concept), SKOS.inScheme, URIRef(scheme)))
    return shapes, ontology, vocabularies


def validate(data: Graph) -> tuple[list[str], list[str]]:
    """(violations, warnings) as readable lines."""
    shapes, ontology, vocabularies = _graphs()
    conforms, results, _text = pyshacl.validate(
        data + vocabularies, shacl_graph=shapes, ont_graph=ontology, inference="rdfs",
        allow_warnings=True)
    found: dict[URIRef, list[str]] = {SH.Violation: [], SH.Warning: [], SH.Info: []}
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity = results.value(result, SH.resultSeverity)
        found.setdefault(severity, []).append(
            f"{results.value(result, SH.focusNode)} {results.value(result, SH.resultPath)}: "
            f"{results.value(result, SH.resultMessage)}")
    return found[SH.Violation], found[SH.Warning]


@pytest.mark.usefixtures("with_plugins")
def test_zero_violations_for_every_type_and_the_catalog(app, organization, sysadmin):
    names = {t: call_as(sysadmin, "package_create",
                        **dataset_dict(t, owner_org=organization["id"]))["name"]
             for t in DATASET_TYPES}
    # a minimal dataset of the form: only the required fields
    minimal = dataset_dict(owner_org=organization["id"], license_id="dl-zero-de/2.0")
    for key in ("license_attribution_by_text", "contact_email", "maintainer",
                "maintainer_email", "spatial_coverage", "temporal_start", "temporal_end",
                "frequency", "issued", "modified", "language", "url", "documentation",
                "legal_basis", "hvd_category", "tag_string"):
        minimal.pop(key)
    minimal["resources"] = [{"name": "Daten", "url": "https://opendata.example.org/x.csv"}]
    names["minimal"] = call_as(sysadmin, "package_create", **minimal)["name"]

    for label, name in names.items():
        body = app.get(f"/dataset/{name}.ttl").body
        violations, warnings = validate(Graph().parse(data=body, format="turtle"))
        assert violations == [], (label, violations)
        print(label, "warnings:", warnings)

    catalog = Graph().parse(data=app.get("/catalog.ttl").body, format="turtle")
    assert len(list(catalog.subjects(RDF.type, DCAT.Dataset))) == 4
    violations, _warnings = validate(catalog)
    assert violations == []


@pytest.mark.usefixtures("with_plugins")
def test_the_check_is_live(app, organization, sysadmin):
    """Removing a licence or using a theme outside the vocabulary is caught."""
    name = call_as(sysadmin, "package_create",
                   **dataset_dict(owner_org=organization["id"]))["name"]
    g = Graph().parse(data=app.get(f"/dataset/{name}.ttl").body, format="turtle")
    dataset = next(g.subjects(RDF.type, DCAT.Dataset))
    distribution = next(g.objects(dataset, DCAT.distribution))
    g.remove((distribution, DCT.license, None))
    g.add((dataset, DCAT.theme, URIRef(v.THEME_SCHEME + "/PARKING")))
    g.remove((dataset, Namespace("http://dcat-ap.de/def/dcatde/").contributorID, None))
    g.add((dataset, DCT.issued, Literal("gestern")))
    violations, _ = validate(g)
    text = "\n".join(violations)
    assert "K31" in text and "K12&13" in text and "data-theme/PARKING" in text
    assert "issued" in text
