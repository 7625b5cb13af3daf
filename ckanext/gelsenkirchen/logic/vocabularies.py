"""Controlled vocabularies of the Gelsenkirchen dataset schemas.

This module is the single source of truth for every code list the schemas
use: the form choices (via the ``gelsenkirchen_*_choices`` helpers), the
validators, the search-facet labels and the RDF profile all read from here.

Every entry carries a German and an English label; German is the default
language of the portal.  The IRIs are those of the vocabularies DCAT-AP.de 2.0
prescribes (EU Publications Office authority tables, dcat-ap.de
vocabularies).
"""
from __future__ import annotations

from typing import NamedTuple

from ckanext.gelsenkirchen.geography import CITY_AGS

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
THEME_SCHEME = EU_AUTHORITY + "data-theme"
FREQUENCY_SCHEME = EU_AUTHORITY + "frequency"
LANGUAGE_SCHEME = EU_AUTHORITY + "language"
FILE_TYPE_SCHEME = EU_AUTHORITY + "file-type"
AVAILABILITY_SCHEME = EU_AUTHORITY + "planned-availability"
LICENSE_SCHEME = "http://dcat-ap.de/def/licenses"
CONTRIBUTOR_SCHEME = "http://dcat-ap.de/def/contributors"
HASH_ALGORITHM_SCHEME = "http://dcat-ap.de/def/hashAlgorithms"
POLITICAL_GEOCODING = "http://dcat-ap.de/def/politicalGeocoding/"
POLITICAL_GEOCODING_LEVEL_SCHEME = "http://dcat-ap.de/def/politicalGeocoding/Level"
HVD_CATEGORY_SCHEME = "http://data.europa.eu/bna/asd487ae75"
HVD_LEGISLATION = "http://data.europa.eu/eli/reg_impl/2023/138/oj"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"

CITY_POLITICAL_GEOCODING_URI = POLITICAL_GEOCODING + "municipalityKey/" + CITY_AGS
#: The dcat-ap.de vocabulary of geocoding levels
#: (https://www.dcat-ap.de/def/politicalGeocoding/Level/).
CITY_POLITICAL_GEOCODING_LEVEL_URI = POLITICAL_GEOCODING_LEVEL_SCHEME + "/municipality"
DEFAULT_CONTRIBUTOR_ID = CONTRIBUTOR_SCHEME + "/openNRW"


class Term(NamedTuple):
    code: str
    iri: str
    de: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


def _terms(scheme: str, rows: list[tuple[str, str, str]]) -> dict[str, Term]:
    return {code: Term(code, f"{scheme}/{code}", de, en) for code, de, en in rows}


THEMES = _terms(THEME_SCHEME, [
    ("AGRI", "Landwirtschaft, Fischerei, Forstwirtschaft und Nahrungsmittel",
     "Agriculture, fisheries, forestry and food"),
    ("ECON", "Wirtschaft und Finanzen", "Economy and finance"),
    ("EDUC", "Bildung, Kultur und Sport", "Education, culture and sport"),
    ("ENER", "Energie", "Energy"),
    ("ENVI", "Umwelt", "Environment"),
    ("GOVE", "Regierung und öffentlicher Sektor", "Government and public sector"),
    ("HEAL", "Gesundheit", "Health"),
    ("INTR", "Internationale Themen", "International issues"),
    ("JUST", "Justiz, Rechtssystem und öffentliche Sicherheit",
     "Justice, legal system and public safety"),
    ("REGI", "Regionen und Städte", "Regions and cities"),
    ("SOCI", "Bevölkerung und Gesellschaft", "Population and society"),
    ("TECH", "Wissenschaft und Technologie", "Science and technology"),
    ("TRAN", "Verkehr", "Transport"),
])

FREQUENCIES = _terms(FREQUENCY_SCHEME, [
    ("CONT", "kontinuierlich", "continuous"),
    ("UPDATE_CONT", "ständig aktualisiert", "continuously updated"),
    ("HOURLY", "stündlich", "hourly"),
    ("DAILY", "täglich", "daily"),
    ("WEEKLY", "wöchentlich", "weekly"),
    ("MONTHLY", "monatlich", "monthly"),
    ("QUARTERLY", "vierteljährlich", "quarterly"),
    ("ANNUAL_2", "halbjährlich", "semiannual"),
    ("ANNUAL", "jährlich", "annual"),
    ("BIENNIAL", "zweijährlich", "biennial"),
    ("IRREG", "unregelmäßig", "irregular"),
    ("NEVER", "nie", "never"),
    ("UNKNOWN", "unbekannt", "unknown"),
])

LANGUAGES = _terms(LANGUAGE_SCHEME, [
    ("DEU", "Deutsch", "German"),
    ("ENG", "Englisch", "English"),
    ("FRA", "Französisch", "French"),
    ("NLD", "Niederländisch", "Dutch"),
    ("TUR", "Türkisch", "Turkish"),
    ("POL", "Polnisch", "Polish"),
    ("ITA", "Italienisch", "Italian"),
    ("SPA", "Spanisch", "Spanish"),
])

AVAILABILITIES = _terms(AVAILABILITY_SCHEME, [
    ("STABLE", "stabil (langfristig verfügbar)", "stable (long-term)"),
    ("AVAILABLE", "verfügbar (mittelfristig)", "available (medium-term)"),
    ("TEMPORARY", "vorübergehend", "temporary"),
    ("EXPERIMENTAL", "experimentell", "experimental"),
])

#: High-value dataset categories (Implementing Regulation (EU) 2023/138).
HVD_CATEGORIES = {
    t.code: t for t in (
        Term("c_ac64a52d", "http://data.europa.eu/bna/c_ac64a52d", "Georaum", "Geospatial"),
        Term("c_dd313021", "http://data.europa.eu/bna/c_dd313021",
             "Erdbeobachtung und Umwelt", "Earth observation and environment"),
        Term("c_164e0bf5", "http://data.europa.eu/bna/c_164e0bf5", "Meteorologie",
             "Meteorological"),
        Term("c_e1da4e07", "http://data.europa.eu/bna/c_e1da4e07", "Statistik", "Statistics"),
        Term("c_a9135398", "http://data.europa.eu/bna/c_a9135398",
             "Unternehmen und Eigentümerschaft von Unternehmen",
             "Companies and company ownership"),
        Term("c_b79e35eb", "http://data.europa.eu/bna/c_b79e35eb", "Mobilität", "Mobility"),
    )
}

#: dcat-ap.de hash algorithms (http://dcat-ap.de/def/hashAlgorithms/).
HASH_ALGORITHMS = {
    t.code: t for t in (
        Term("md5", HASH_ALGORITHM_SCHEME + "/md/5", "MD5", "MD5"),
        Term("sha1", HASH_ALGORITHM_SCHEME + "/sha/1", "SHA-1", "SHA-1"),
        Term("sha256", HASH_ALGORITHM_SCHEME + "/sha/256", "SHA-256", "SHA-256"),
        Term("sha512", HASH_ALGORITHM_SCHEME + "/sha/512", "SHA-512", "SHA-512"),
    )
}


class License(NamedTuple):
    code: str          # the dcat-ap.de identifier, stored as CKAN license_id
    iri: str
    de: str
    en: str
    attribution: bool  # the licence asks for an attribution text (Namensnennung)
    open: bool

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


def _licenses(rows: list[tuple[str, str, str, bool, bool]]) -> dict[str, License]:
    return {code: License(code, f"{LICENSE_SCHEME}/{code}", de, en, attr, is_open)
            for code, de, en, attr, is_open in rows}


LICENSES = _licenses([
    ("dl-by-de/2.0", "Datenlizenz Deutschland Namensnennung 2.0",
     "Data licence Germany – attribution – version 2.0", True, True),
    ("dl-zero-de/2.0", "Datenlizenz Deutschland – Zero – Version 2.0",
     "Data licence Germany – Zero – version 2.0", False, True),
    ("cc-by/4.0", "Creative Commons Namensnennung – 4.0 International (CC BY 4.0)",
     "Creative Commons Attribution 4.0 International (CC BY 4.0)", True, True),
    ("cc-by-sa/4.0",
     "Creative Commons Namensnennung – Weitergabe unter gleichen Bedingungen 4.0 International (CC BY-SA 4.0)",
     "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0)", True, True),
    ("cc-zero", "Creative Commons CC Zero (CC0 1.0)",
     "Creative Commons CC Zero (CC0 1.0)", False, True),
    ("odbl", "Open Data Commons Open Database License (ODbL)",
     "Open Data Commons Open Database License (ODbL)", True, True),
    ("officialWork", "Amtliches Werk, lizenzfrei nach § 5 Abs. 1 UrhG",
     "Official work, licence-free under § 5 (1) UrhG", False, True),
])


def license_from_value(value: str | None) -> License | None:
    """The licence for a stored id (``dl-by-de/2.0``) or its full IRI."""
    if not value:
        return None
    value = str(value).strip()
    if value.startswith(LICENSE_SCHEME + "/"):
        value = value[len(LICENSE_SCHEME) + 1:]
    return LICENSES.get(value)


class FileType(NamedTuple):
    code: str
    iri: str
    label: str
    media_type: str | None


def _file_types(rows: list[tuple[str, str, str | None]]) -> dict[str, FileType]:
    return {code: FileType(code, f"{FILE_TYPE_SCHEME}/{code}", label, mt)
            for code, label, mt in rows}


#: EU file types accepted as resource format, with the IANA media type that
#: is filled in when a resource gives none.
FILE_TYPES = _file_types([
    ("CSV", "CSV", "text/csv"),
    ("JSON", "JSON", "application/json"),
    ("GEOJSON", "GeoJSON", "application/geo+json"),
    ("XML", "XML", "application/xml"),
    ("XLSX", "XLSX (Excel)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("XLS", "XLS (Excel 97–2003)", "application/vnd.ms-excel"),
    ("ODS", "ODS (OpenDocument-Tabelle)", "application/vnd.oasis.opendocument.spreadsheet"),
    ("PDF", "PDF", "application/pdf"),
    ("HTML", "HTML", "text/html"),
    ("TXT", "Text", "text/plain"),
    ("ZIP", "ZIP", "application/zip"),
    ("SHP", "Shapefile", None),
    ("KML", "KML", "application/vnd.google-earth.kml+xml"),
    ("GML", "GML", "application/gml+xml"),
    ("GPKG", "GeoPackage", "application/geopackage+sqlite3"),
    ("WMS_SRVC", "WMS", None),
    ("WFS_SRVC", "WFS", None),
    ("RDF_TURTLE", "RDF Turtle", "text/turtle"),
    ("RDF_XML", "RDF/XML", "application/rdf+xml"),
    ("JSON_LD", "JSON-LD", "application/ld+json"),
    ("PNG", "PNG", "image/png"),
    ("JPEG", "JPEG", "image/jpeg"),
])

FILE_TYPE_ALIASES = {
    "GEO+JSON": "GEOJSON", "GEO JSON": "GEOJSON",
    "EXCEL": "XLSX", "SHAPE": "SHP", "SHAPEFILE": "SHP", "ESRI SHAPEFILE": "SHP",
    "WMS": "WMS_SRVC", "WFS": "WFS_SRVC", "TTL": "RDF_TURTLE", "TURTLE": "RDF_TURTLE",
    "RDF": "RDF_XML", "RDF/XML": "RDF_XML", "JSONLD": "JSON_LD", "JSON-LD": "JSON_LD",
    "JPG": "JPEG", "TEXT": "TXT", "PLAIN": "TXT",
}


def file_type_from_value(value: str | None) -> FileType | None:
    """The EU file type for a CKAN format (``csv``, ``GeoJSON``) or EU IRI."""
    if not value:
        return None
    value = str(value).strip()
    if value.startswith(FILE_TYPE_SCHEME + "/"):
        value = value[len(FILE_TYPE_SCHEME) + 1:]
    key = value.upper()
    key = FILE_TYPE_ALIASES.get(key, key)
    if key not in FILE_TYPES and "/" in value:  # a media type, e.g. guessed from the URL
        return next((ft for ft in FILE_TYPES.values() if ft.media_type == value.lower()), None)
    return FILE_TYPES.get(key)


def term_from_value(terms: dict[str, Term], value: str | None) -> Term | None:
    """The term for a code (``TRAN``) or its full IRI, case-insensitive."""
    if not value:
        return None
    value = str(value).strip()
    for term in terms.values():
        if value == term.iri or value.upper() == term.code.upper():
            return term
    return None


def skos_membership() -> list[tuple[str, str]]:
    """(concept IRI, scheme IRI) for every concept of every list above.

    Used by the SHACL test: the EU authority tables and the dcat-ap.de
    hash-algorithm list are not part of the offline shape set, so the test
    declares membership for exactly the concepts this portal can emit.
    """
    pairs: list[tuple[str, str]] = []
    for scheme, terms in (
        (THEME_SCHEME, THEMES), (FREQUENCY_SCHEME, FREQUENCIES),
        (LANGUAGE_SCHEME, LANGUAGES), (AVAILABILITY_SCHEME, AVAILABILITIES),
        (HASH_ALGORITHM_SCHEME, HASH_ALGORITHMS), (HVD_CATEGORY_SCHEME, HVD_CATEGORIES),
    ):
        pairs.extend((t.iri, scheme) for t in terms.values())
    pairs.extend((ft.iri, FILE_TYPE_SCHEME) for ft in FILE_TYPES.values())
    pairs.append((CITY_POLITICAL_GEOCODING_URI, POLITICAL_GEOCODING + "municipalityKey"))
    pairs.append((CITY_POLITICAL_GEOCODING_LEVEL_URI, POLITICAL_GEOCODING_LEVEL_SCHEME))
    return pairs

#: Bandwidth classes of the broadband-coverage type (Breitbandatlas classes).
SPEED_CLASSES = {
    t.code: t for t in (
        Term("lt16", "", "unter 16 Mbit/s", "below 16 Mbit/s"),
        Term("ge16", "", "ab 16 Mbit/s", "16 Mbit/s or more"),
        Term("ge30", "", "ab 30 Mbit/s", "30 Mbit/s or more"),
        Term("ge50", "", "ab 50 Mbit/s", "50 Mbit/s or more"),
        Term("ge100", "", "ab 100 Mbit/s", "100 Mbit/s or more"),
        Term("ge200", "", "ab 200 Mbit/s", "200 Mbit/s or more"),
        Term("ge400", "", "ab 400 Mbit/s", "400 Mbit/s or more"),
        Term("ge1000", "", "ab 1 Gbit/s", "1 Gbit/s or more"),
    )
}
