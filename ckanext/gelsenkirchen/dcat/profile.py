"""The ckanext-dcat profile ``gelsenkirchen_dcat_ap_de``: DCAT-AP.de 2.0.

It runs after ckanext-dcat's ``euro_dcat_ap_2`` profile (configure
``ckanext.dcat.rdf.profiles = euro_dcat_ap_2 gelsenkirchen_dcat_ap_de``).
The schemas store themes, frequency, languages, HVD categories, availability
and checksum algorithms as the vocabulary IRIs, so ``euro_dcat_ap_2`` writes
those itself; this profile adds and corrects what DCAT-AP.de 2.0
("Spezifikation + Konventionen") asks for:

* ``dcatde:contributorID`` (Konvention 12/13), ``dcatde:politicalGeocodingURI``,
  ``dcatde:politicalGeocodingLevelURI``, ``dcatde:geocodingDescription``,
  ``dcatde:legalBasis``, ``dcatde:maintainer`` (a ``foaf:Agent``);
* the contact point as ``vcard:Kind`` with ``vcard:hasEmail <mailto:...>`` and
  ``vcard:hasURL`` (Konvention 1);
* the publisher as ``foaf:Agent`` with name and homepage (Konvention 36),
  falling back to the configured default publisher for datasets without an
  organization;
* on every distribution ``dct:license`` with the dcat-ap.de licence IRI (the
  resource's own licence or the dataset's, Konvention 31),
  ``dcatde:licenseAttributionByText``, ``dct:format`` as an EU file-type IRI
  (Konvention 32) and ``dcat:mediaType`` as an IANA IRI;
* ``dcatap:applicableLegislation`` for high-value datasets;
* the catalogue's language as an EU language IRI and its publisher.

The type-specific figures of ``wifi-hotspots`` and ``broadband-coverage`` and
the harvest provenance have no DCAT-AP.de property: they are published in the
portal's own namespace ``<ckan.site_url>/ns#`` (``gk:``) and the provenance
also as a human-readable ``dct:provenance`` statement.

Parsing goes the other way: the dict produced by ``euro_dcat_ap_2`` is turned
into a dict of the Gelsenkirchen schemas.
"""
from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk
from ckanext.dcat.profiles import DCAT, DCATAP, DCT, FOAF, VCARD, CleanedURIRef, RDFProfile
from ckanext.dcat.utils import resource_uri
from rdflib import BNode, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD

from ckanext.gelsenkirchen import dataset_types, geography
from ckanext.gelsenkirchen.logic import vocabularies as v

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")

DEFAULT_PUBLISHER_NAME_OPTION = "ckanext.gelsenkirchen.default_publisher_name"
DEFAULT_PUBLISHER_URL_OPTION = "ckanext.gelsenkirchen.default_publisher_url"
CONTRIBUTOR_ID_OPTION = "ckanext.gelsenkirchen.contributor_id"

def extension_fields(dataset_type: str) -> list[tuple[str, str]]:
    """(field, kind) of the figures ``dataset_type`` adds to the general
    dataset, published as gk:<camelCase>; read from its scheming YAML."""
    return [(f["field_name"], dataset_types.field_kind(f))
            for f in dataset_types.type_fields(dataset_type)]


def provenance_fields() -> list[tuple[str, str]]:
    """(field, kind) of the harvest provenance fields."""
    return [(f["field_name"], dataset_types.field_kind(f))
            for f in dataset_types.provenance_fields()]


def portal_namespace() -> Namespace:
    site = (tk.config.get("ckan.site_url") or "http://localhost").rstrip("/")
    return Namespace(site + "/ns#")


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)


def _list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return value
    try:
        loaded = json.loads(value)
    except (TypeError, ValueError):
        return [value]
    return loaded if isinstance(loaded, list) else [loaded]


class GelsenkirchenDCATAPDEProfile(RDFProfile):
    """DCAT-AP.de 2.0 on top of ``euro_dcat_ap_2``."""

    # -- CKAN -> RDF --------------------------------------------------------

    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        g = self.g
        g.bind("dcatde", DCATDE)
        g.bind("gk", portal_namespace())
        get = dataset_dict.get

        contributor = get("contributor_id") or tk.config.get(CONTRIBUTOR_ID_OPTION) \
            or v.DEFAULT_CONTRIBUTOR_ID
        self._replace(dataset_ref, DCATDE.contributorID, CleanedURIRef(contributor))

        codes = [c for c in _list(get("spatial_coverage")) if c in geography.AREAS]
        geocoding = get("political_geocoding_uri") or (
            v.CITY_POLITICAL_GEOCODING_URI if codes else None)
        if geocoding:
            self._replace(dataset_ref, DCATDE.politicalGeocodingURI, CleanedURIRef(geocoding))
        level = get("political_geocoding_level_uri") or (
            v.CITY_POLITICAL_GEOCODING_LEVEL_URI if codes else None)
        if level:
            self._replace(dataset_ref, DCATDE.politicalGeocodingLevelURI, CleanedURIRef(level))
        if codes:
            self._replace(dataset_ref, DCATDE.geocodingDescription,
                          Literal(geography.describe(codes, "de"), lang="de"))
            g.add((dataset_ref, DCATDE.geocodingDescription,
                   Literal(geography.describe(codes, "en"), lang="en")))
            for location in g.objects(dataset_ref, DCT.spatial):
                g.add((location, SKOS.prefLabel, Literal(geography.describe(codes, "de"), lang="de")))
                if geography.boundaries().approximate:
                    g.add((location, RDFS.comment, Literal(
                        "Angenäherte Geometrie (Demo-Daten), keine amtliche Grenze. "
                        "Approximate geometry (demo data), not an official boundary.")))

        if get("legal_basis"):
            self._replace(dataset_ref, DCATDE.legalBasis, Literal(get("legal_basis")))

        self._contact_point(dataset_dict, dataset_ref)
        self._publisher(dataset_dict, dataset_ref)
        self._maintainer(dataset_dict, dataset_ref)

        if _list(get("hvd_category")) and (
                dataset_ref, DCATAP.applicableLegislation, None) not in g:
            g.add((dataset_ref, DCATAP.applicableLegislation, URIRef(v.HVD_LEGISLATION)))

        self._provenance(dataset_dict, dataset_ref)
        self._extension_fields(dataset_dict, dataset_ref)

        dataset_license = v.license_from_value(get("license_id"))
        if dataset_license is not None:
            # DCAT-AP.de has licences on distributions only; this keeps the
            # dataset's default licence for round trips
            self.g.add((dataset_ref, portal_namespace().datasetLicense,
                        URIRef(dataset_license.iri)))
        for resource_dict in get("resources") or []:
            self._distribution(dataset_dict, resource_dict, dataset_license)

    def _replace(self, subject: Any, predicate: Any, obj: Any) -> None:
        self.g.remove((subject, predicate, None))
        self.g.add((subject, predicate, obj))

    def _contact_point(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        g = self.g
        url = dataset_dict.get("contact_url")
        contacts = list(g.objects(dataset_ref, DCAT.contactPoint))
        if not contacts and (url or dataset_dict.get("contact_email")):
            contact = BNode()
            g.add((dataset_ref, DCAT.contactPoint, contact))
            if dataset_dict.get("contact_name"):
                g.add((contact, VCARD.fn, Literal(dataset_dict["contact_name"])))
            if dataset_dict.get("contact_email"):
                g.add((contact, VCARD.hasEmail,
                       CleanedURIRef("mailto:" + dataset_dict["contact_email"])))
            contacts = [contact]
        for contact in contacts:
            g.add((contact, RDF.type, VCARD.Kind))
            if url:
                self._replace(contact, VCARD.hasURL, CleanedURIRef(url))

    def _publisher(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        g = self.g
        publishers = list(g.objects(dataset_ref, DCT.publisher))
        if not publishers:
            publisher = URIRef(self._default_publisher_url())
            g.add((dataset_ref, DCT.publisher, publisher))
            g.add((publisher, RDF.type, FOAF.Agent))
            g.add((publisher, RDF.type, FOAF.Organization))
            g.add((publisher, FOAF.name, Literal(self._default_publisher_name())))
            g.add((publisher, FOAF.homepage, URIRef(self._default_publisher_url())))
            return
        for publisher in publishers:
            g.add((publisher, RDF.type, FOAF.Organization))
            if (publisher, FOAF.homepage, None) not in g and isinstance(publisher, URIRef):
                g.add((publisher, FOAF.homepage, publisher))

    @staticmethod
    def _default_publisher_name() -> str:
        return tk.config.get(DEFAULT_PUBLISHER_NAME_OPTION) or "Stadt Gelsenkirchen"

    @staticmethod
    def _default_publisher_url() -> str:
        return tk.config.get(DEFAULT_PUBLISHER_URL_OPTION) or "https://www.gelsenkirchen.de/"

    def _maintainer(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        name = dataset_dict.get("maintainer")
        if not name:
            return
        agent = BNode()
        self.g.add((dataset_ref, DCATDE.maintainer, agent))
        self.g.add((agent, RDF.type, FOAF.Agent))
        self.g.add((agent, FOAF.name, Literal(name)))
        if dataset_dict.get("maintainer_email"):
            self.g.add((agent, FOAF.mbox,
                        CleanedURIRef("mailto:" + dataset_dict["maintainer_email"])))

    def _provenance(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        source = dataset_dict.get("provenance_source_url")
        if not source:
            return
        text = f"Automatisch geerntet aus {source}"
        if dataset_dict.get("provenance_harvest_source"):
            text += f" (Harvest-Quelle: {dataset_dict['provenance_harvest_source']})"
        if dataset_dict.get("provenance_harvested_at"):
            text += f", zuletzt am {dataset_dict['provenance_harvested_at']}"
        self.g.add((dataset_ref, DCT.provenance, Literal(text + ".", lang="de")))
        self._write_extension(dataset_ref, dataset_dict, provenance_fields())

    def _extension_fields(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        fields = extension_fields(dataset_dict.get("type") or dataset_types.DATASET)
        if not fields:
            return
        gk = portal_namespace()
        self.g.add((dataset_ref, gk.datasetType, Literal(dataset_dict["type"])))
        self._write_extension(dataset_ref, dataset_dict, fields)

    def _write_extension(self, subject: Any, data: dict[str, Any],
                         fields: list[tuple[str, str]]) -> None:
        gk = portal_namespace()
        for field, kind in fields:
            value = data.get(field)
            if value in (None, "", []):
                continue
            pred = gk[_camel(field)]
            if kind == "list":
                for item in _list(value):
                    self.g.add((subject, pred, Literal(str(item))))
            elif kind == "int":
                self.g.add((subject, pred, Literal(int(value), datatype=XSD.integer)))
            elif kind == "decimal":
                self.g.add((subject, pred, Literal(str(value), datatype=XSD.decimal)))
            elif kind == "date":
                self.g.add((subject, pred, Literal(str(value), datatype=XSD.date)))
            elif kind == "datetime":
                self.g.add((subject, pred, Literal(str(value), datatype=XSD.dateTime)))
            elif kind == "json":
                text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                self.g.add((subject, pred, Literal(text)))
            else:
                self.g.add((subject, pred, Literal(str(value))))

    def _distribution(self, dataset_dict: dict[str, Any], resource_dict: dict[str, Any],
                      dataset_license: v.License | None) -> None:
        g = self.g
        distribution = URIRef(resource_uri(resource_dict))
        lic = v.license_from_value(resource_dict.get("license_id")) or dataset_license
        if lic is not None:
            self._replace(distribution, DCT.license, URIRef(lic.iri))
        attribution = dataset_dict.get("license_attribution_by_text")
        if attribution and lic is not None:
            self._replace(distribution, DCATDE.licenseAttributionByText, Literal(attribution))

        for old in list(g.objects(distribution, DCT["format"])):
            g.remove((distribution, DCT["format"], old))
        ft = v.file_type_from_value(resource_dict.get("format"))
        if ft is not None:
            g.add((distribution, DCT["format"], URIRef(ft.iri)))
            g.add((URIRef(ft.iri), RDF.type, DCT.MediaTypeOrExtent))

        for old in list(g.objects(distribution, DCAT.mediaType)):
            g.remove((distribution, DCAT.mediaType, old))
        media_type = resource_dict.get("mimetype") or (ft.media_type if ft else None)
        if media_type and "/" in media_type and " " not in media_type:
            iri = URIRef(v.IANA_MEDIA_TYPES + media_type.split("/media-types/")[-1])
            g.add((distribution, DCAT.mediaType, iri))
            g.add((iri, RDF.type, DCT.MediaType))

    def graph_from_catalog(self, catalog_dict: dict[str, Any] | None, catalog_ref: Any) -> None:
        g = self.g
        g.bind("dcatde", DCATDE)
        languages = {"de": "DEU", "en": "ENG"}
        for lang in list(g.objects(catalog_ref, DCT.language)):
            if isinstance(lang, Literal):
                g.remove((catalog_ref, DCT.language, lang))
                code = languages.get(str(lang).lower()[:2])
                if code:
                    g.add((catalog_ref, DCT.language, URIRef(v.LANGUAGES[code].iri)))
        if (catalog_ref, DCT.publisher, None) not in g:
            publisher = URIRef(self._default_publisher_url())
            g.add((catalog_ref, DCT.publisher, publisher))
            g.add((publisher, RDF.type, FOAF.Agent))
            g.add((publisher, RDF.type, FOAF.Organization))
            g.add((publisher, FOAF.name, Literal(self._default_publisher_name())))
        if (catalog_ref, DCT.description, None) not in g:
            g.add((catalog_ref, DCT.description, Literal(
                "Offene Daten der Stadt Gelsenkirchen – Die Vernetzte Stadt", lang="de")))
        if (catalog_ref, DCT.title, None) not in g:
            g.add((catalog_ref, DCT.title, Literal(self._default_publisher_name())))
        if (catalog_ref, DCAT.themeTaxonomy, None) not in g:
            g.add((catalog_ref, DCAT.themeTaxonomy, URIRef(v.THEME_SCHEME)))

    # -- RDF -> CKAN --------------------------------------------------------

    def parse_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> dict[str, Any]:
        extras = {e["key"]: e["value"] for e in dataset_dict.get("extras", [])}
        out = dataset_dict
        self._parse_extras(extras, out)
        self._parse_contacts(dataset_ref, out)
        for key, pred in (("contributor_id", DCATDE.contributorID),
                          ("political_geocoding_uri", DCATDE.politicalGeocodingURI),
                          ("political_geocoding_level_uri", DCATDE.politicalGeocodingLevelURI),
                          ("legal_basis", DCATDE.legalBasis)):
            value = self._object_value(dataset_ref, pred)
            if value:
                out[key] = value

        codes = self._parse_coverage(dataset_ref, out.get("political_geocoding_uri"))
        if codes:
            out["spatial_coverage"] = codes
        elif extras.get("spatial"):
            out["spatial"] = extras["spatial"]

        dataset_license = self._parse_license(dataset_ref, out)

        gk = portal_namespace()
        dataset_type = self._object_value(dataset_ref, gk.datasetType)
        fields = extension_fields(dataset_type) if dataset_type else []
        if fields:
            out["type"] = dataset_type
            self._read_extension(dataset_ref, out, fields)
        self._read_extension(dataset_ref, out, provenance_fields())

        for resource_dict in out.get("resources", []):
            self._parse_distribution(resource_dict, dataset_license)

        # keep only the extras that are not schema fields
        out["extras"] = [e for e in out.get("extras", []) if e["key"] in ("uri", "identifier")]
        return out

    @staticmethod
    def _parse_extras(extras: dict[str, Any], out: dict[str, Any]) -> None:
        """The fields ckanext-dcat's base profile parses into extras."""
        for key in ("issued", "modified", "temporal_start", "temporal_end", "frequency"):
            if extras.get(key):
                out[key] = extras[key]
        for key in ("theme", "language", "hvd_category"):
            if extras.get(key):
                out[key] = _list(extras[key])
        if extras.get("documentation"):
            docs = _list(extras["documentation"])
            if docs:
                out["documentation"] = docs[0]

    def _parse_contacts(self, dataset_ref: Any, out: dict[str, Any]) -> None:
        """The first contact point and the first dcatde:maintainer."""
        for contact in self.g.objects(dataset_ref, DCAT.contactPoint):
            name = self._object_value(contact, VCARD.fn)
            email = self._object_value(contact, VCARD.hasEmail)
            url = self._object_value(contact, VCARD.hasURL)
            if name:
                out["contact_name"] = name
            if email:
                out["contact_email"] = email.removeprefix("mailto:")
            if url:
                out["contact_url"] = url
            break

        for agent in self.g.objects(dataset_ref, DCATDE.maintainer):
            name = self._object_value(agent, FOAF.name)
            if name:
                out["maintainer"] = name
                mbox = self._object_value(agent, FOAF.mbox)
                if mbox:
                    out["maintainer_email"] = mbox.removeprefix("mailto:")
            break

    def _parse_license(self, dataset_ref: Any, out: dict[str, Any]) -> Any:
        """Licence and attribution: DCAT-AP.de puts them on the distributions;
        the dataset's licence is the portal's own property or the most used one."""
        attribution = None
        counts: dict[str, int] = {}
        for distribution in sorted(self._distributions(dataset_ref), key=str):
            lic = v.license_from_value(self._object_value(distribution, DCT.license))
            if lic is not None:
                counts[lic.code] = counts.get(lic.code, 0) + 1
            text = self._object_value(distribution, DCATDE.licenseAttributionByText)
            if text and not attribution:
                attribution = text
        dataset_license = v.license_from_value(
            self._object_value(dataset_ref, portal_namespace().datasetLicense))
        if dataset_license is None and counts:
            dataset_license = v.LICENSES[max(counts, key=lambda c: counts[c])]
        if dataset_license is not None:
            out["license_id"] = dataset_license.code
            if dataset_license.attribution and not attribution:
                # a by-licence without dcatde:licenseAttributionByText: the
                # publisher is who has to be named (Bereitsteller)
                publisher = self.g.value(dataset_ref, DCT.publisher)
                if publisher is not None:
                    attribution = self._object_value(publisher, FOAF.name) or None
        if attribution:
            out["license_attribution_by_text"] = attribution
        return dataset_license

    def _parse_coverage(self, dataset_ref: Any, geocoding: str | None) -> list[str]:
        if geocoding != v.CITY_POLITICAL_GEOCODING_URI:
            return []
        labels = {a.de: code for code, a in geography.AREAS.items()}
        description = ""
        for literal in self.g.objects(dataset_ref, DCATDE.geocodingDescription):
            if getattr(literal, "language", None) in (None, "de"):
                description = str(literal)
                break
        names = description.removeprefix("Gelsenkirchen:").split(",")
        codes = [labels[n.strip()] for n in names if n.strip() in labels]
        return geography.normalize_codes(codes) or [geography.CITY]

    def _read_extension(self, subject: Any, out: dict[str, Any],
                        fields: list[tuple[str, str]]) -> None:
        gk = portal_namespace()
        for field, kind in fields:
            values = [str(o) for o in self.g.objects(subject, gk[_camel(field)])]
            if not values:
                continue
            if kind == "list":
                out[field] = values
            elif kind == "json":
                out[field] = json.loads(values[0])
            else:
                out[field] = values[0]

    def _parse_distribution(self, resource_dict: dict[str, Any],
                            dataset_license: v.License | None) -> None:
        ref = resource_dict.get("distribution_ref")
        node = next((d for d in self.g.objects(None, DCAT.distribution) if str(d) == ref), None)
        if node is None:
            return
        if not resource_dict.get("name"):
            # dct:title is only recommended for distributions; CKAN needs a name
            url = resource_dict.get("url") or ""
            resource_dict["name"] = url.rstrip("/").rsplit("/", 1)[-1] or str(node)
        fmt = self.g.value(node, DCT["format"])
        ft = v.file_type_from_value(str(fmt)) if fmt is not None else None
        if ft is not None:
            resource_dict["format"] = ft.code
        media_type = self.g.value(node, DCAT.mediaType)
        if media_type is not None:
            resource_dict["mimetype"] = str(media_type).split("/media-types/")[-1]
        elif ft is not None:
            resource_dict.pop("mimetype", None)
        lic = v.license_from_value(self._object_value(node, DCT.license))
        resource_dict.pop("license", None)
        if lic is not None and lic != dataset_license:
            resource_dict["license_id"] = lic.code
        for key in ("distribution_ref", "access_services"):
            resource_dict.pop(key, None)
