"""Validators of the Gelsenkirchen dataset schemas.

Collected by ``toolkit.blanket.validators`` (only the names in ``__all__``)
and referenced by name from ``schemas/*.yaml``.  Every error is a field-level
message in the current language (see ``messages.py``).  The same validators
run for the web form, the API and the harvesters.

Cross-field checks are attached to one field and read the other field's raw
input: navl validates top-level fields in alphabetical order, so a validator
must not rely on another field having been converted already.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from urllib.parse import urlparse

import ckan.plugins.toolkit as tk
from ckan import authz
from ckan.lib.navl.dictization_functions import Missing, StopOnError
from ckan.types import Context

from ckanext.gelsenkirchen import geography

from . import vocabularies as v
from .messages import _

__all__ = [
    "gelsenkirchen_dataset_spatial",
    "gelsenkirchen_email",
    "gelsenkirchen_url",
    "gelsenkirchen_license",
    "gelsenkirchen_resource_license",
    "gelsenkirchen_license_attribution",
    "gelsenkirchen_themes",
    "gelsenkirchen_spatial_coverage",
    "gelsenkirchen_spatial_geojson",
    "gelsenkirchen_political_geocoding",
    "gelsenkirchen_date",
    "gelsenkirchen_datetime",
    "gelsenkirchen_temporal_end",
    "gelsenkirchen_contact_point",
    "gelsenkirchen_frequency",
    "gelsenkirchen_languages",
    "gelsenkirchen_hvd_categories",
    "gelsenkirchen_availability",
    "gelsenkirchen_resource_format",
    "gelsenkirchen_media_type",
    "gelsenkirchen_hash",
    "gelsenkirchen_hash_algorithm",
    "gelsenkirchen_harvester_field",
    "gelsenkirchen_contributor_id",
    "gelsenkirchen_count",
    "gelsenkirchen_percentage",
    "gelsenkirchen_connected_count",
    "gelsenkirchen_text_list",
    "gelsenkirchen_stadtteile",
    "gelsenkirchen_speed_classes",
    "gelsenkirchen_status_counts",
    "gelsenkirchen_json_output",
]

CONTRIBUTOR_ID_OPTION = "ckanext.gelsenkirchen.contributor_id"

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
# Characters an IRI must not contain (RFC 3987): addresses end up as IRIs in
# the RDF catalogue (mailto:, dcat:landingPage, vcard:hasURL).
_NOT_IN_IRI = re.compile(r'[\s<>"{}|\\^`\x00-\x1f\x7f]')
_MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9.+\-]*$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


# -- helpers -----------------------------------------------------------------

def _empty(value: Any) -> bool:
    return value is None or isinstance(value, Missing) or value == "" or value == []


def _fail(key: Any, errors: dict[Any, list[str]], message: str) -> None:
    errors.setdefault(key, []).append(message)
    raise StopOnError


def _as_list(value: Any) -> list[str]:
    """A list from a list, a JSON list or a comma/newline separated string."""
    if _empty(value):
        return []
    items: Any
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        text = str(value).strip()
        items = None
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                items = None
        if not isinstance(items, list):
            items = re.split(r"[\n,]", text)
    return [str(i).strip() for i in items if str(i).strip()]


def _as_text_list(value: Any) -> list[str] | None:
    """Like _as_list, but strings are only split on newlines (names may
    contain commas)."""
    if _empty(value):
        return []
    if isinstance(value, (list, tuple)):
        return [str(i).strip() for i in value if str(i).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            return None
        if not isinstance(items, list):
            return None
        return [str(i).strip() for i in items if str(i).strip()]
    return [line.strip() for line in text.splitlines() if line.strip()]


def _canonical(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value.strip()
    return json.dumps(value, sort_keys=True)


def _parse_date(value: Any) -> dt.date | dt.datetime | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _is_url(value: str) -> bool:
    try:
        parts = urlparse(value)
    except ValueError:
        return False
    host = parts.hostname or ""
    return (parts.scheme in ("http", "https") and not _NOT_IN_IRI.search(value)
            and ("." in host or host == "localhost"))


def _may_write_harvester_fields(context: Context) -> bool:
    return bool(context.get("ignore_auth")) or authz.is_sysadmin(context.get("user"))


def _stored_value(context: Context, field: str) -> Any:
    """The stored value of a (non-core) field of the dataset being updated."""
    pkg = context.get("package")
    if pkg is None:
        return None
    try:
        return pkg.extras.get(field)
    except AttributeError:
        return None


# -- dataset-level derivation ------------------------------------------------

def gelsenkirchen_dataset_spatial(key: Any, data: dict[Any, Any],
                                  errors: dict[Any, list[str]], context: Context) -> None:
    """Schema ``before_validators``: derive the political geocoding and the
    GeoJSON ``spatial`` value from ``spatial_coverage``.

    * Stadtbezirke/Stadtteile/whole city selected: political geocoding of the
      city (AGS 05513000, level municipality) and the union of the selected
      areas' geometries as ``spatial``.
    * Nothing selected and neither ``spatial`` nor a political geocoding given
      (e.g. a minimal API call): the whole city.
    * Nothing selected but ``spatial`` or a geocoding given (harvested data):
      kept as given (and validated by their fields); a missing geocoding
      defaults to the city.
    A malformed ``spatial`` is never overwritten, so its field reports it.
    """
    cov_key, sp_key = ("spatial_coverage",), ("spatial",)
    pg_key, lvl_key = ("political_geocoding_uri",), ("political_geocoding_level_uri",)
    codes = _as_list(data.get(cov_key))
    if any(code not in geography.AREAS for code in codes):
        return  # gelsenkirchen_spatial_coverage reports the unknown value
    given_spatial = data.get(sp_key)
    if not codes:
        if not _empty(given_spatial) or not _empty(data.get(pg_key)):
            if _empty(data.get(pg_key)):
                data[pg_key] = v.CITY_POLITICAL_GEOCODING_URI
                data[lvl_key] = v.CITY_POLITICAL_GEOCODING_LEVEL_URI
            return
        codes = [geography.CITY]
    codes = geography.normalize_codes(codes)
    data[cov_key] = codes
    data[pg_key] = v.CITY_POLITICAL_GEOCODING_URI
    data[lvl_key] = v.CITY_POLITICAL_GEOCODING_LEVEL_URI
    if not _empty(given_spatial) and _geometry_or_none(given_spatial) is None:
        return  # keep the malformed value: gelsenkirchen_spatial_geojson reports it
    data[sp_key] = json.dumps(geography.geometry_for(codes))


# -- simple values -------------------------------------------------------------

def gelsenkirchen_email(value: Any, context: Context) -> Any:
    if _empty(value):
        return value
    text = str(value).strip().removeprefix("mailto:")
    if not _EMAIL.match(text) or _NOT_IN_IRI.search(text):
        raise tk.Invalid(_("Please enter a valid e-mail address, e.g. name@gelsenkirchen.de."))
    return text


def gelsenkirchen_url(value: Any, context: Context) -> Any:
    if _empty(value):
        return value
    text = str(value).strip()
    if not _is_url(text):
        raise tk.Invalid(_("Please enter a valid web address starting with http:// or https://."))
    return text


def gelsenkirchen_date(value: Any, context: Context) -> Any:
    """An ISO date (stored as YYYY-MM-DD) or date-time (stored in ISO form)."""
    if _empty(value):
        return value
    parsed = _parse_date(value)
    if parsed is None:
        raise tk.Invalid(_("Please enter a date as YYYY-MM-DD."))
    return parsed.isoformat()


def gelsenkirchen_datetime(value: Any, context: Context) -> Any:
    if _empty(value):
        return value
    parsed = _parse_date(value)
    if parsed is None:
        raise tk.Invalid(_("Please enter a date and time as YYYY-MM-DDThh:mm:ss."))
    if not isinstance(parsed, dt.datetime):
        parsed = dt.datetime.combine(parsed, dt.time())
    return parsed.isoformat()


def gelsenkirchen_temporal_end(key: Any, data: dict[Any, Any],
                               errors: dict[Any, list[str]], context: Context) -> None:
    """On ``temporal_end`` (after gelsenkirchen_date): not before the start."""
    end, start = data.get(key), data.get(("temporal_start",))
    if _empty(end) or _empty(start):
        return
    end_d, start_d = _parse_date(end), _parse_date(start)
    if end_d is None or start_d is None:
        return
    if _as_date(end_d) < _as_date(start_d):
        _fail(key, errors, _("The end date must not be before the start date."))


def gelsenkirchen_contact_point(key: Any, data: dict[Any, Any],
                                errors: dict[Any, list[str]], context: Context) -> None:
    """On ``contact_email``: DCAT-AP.de Konvention 1, an e-mail or a URL."""
    if _empty(data.get(key)) and _empty(data.get(("contact_url",))):
        _fail(key, errors, _("The contact point needs an e-mail address or a contact URL."))


# -- licences ------------------------------------------------------------------

def gelsenkirchen_license(value: Any, context: Context) -> Any:
    """A licence of the dcat-ap.de list; stored as its id (``dl-by-de/2.0``)."""
    if _empty(value):
        return value
    lic = v.license_from_value(value)
    if lic is None:
        raise tk.Invalid(_("Unknown licence: {value}. Choose a licence from the list.",
                             value=str(value)))
    return lic.code


def gelsenkirchen_resource_license(value: Any, context: Context) -> Any:
    """A resource licence; empty means "the dataset's licence"."""
    return gelsenkirchen_license(value, context)


def gelsenkirchen_license_attribution(key: Any, data: dict[Any, Any],
                                      errors: dict[Any, list[str]],
                                      context: Context) -> None:
    """On ``license_attribution_by_text``: required for licences that ask for
    attribution (dl-by-de, cc-by, ...)."""
    lic = v.license_from_value(data.get(("license_id",)))
    value = data.get(key)
    if lic is not None and lic.attribution and (_empty(value) or not str(value).strip()):
        _fail(key, errors, _("The licence {value} requires an attribution text (Namensnennung).",
                               value=lic.label("de")))


# -- controlled lists ------------------------------------------------------------

def _terms_validator(terms: dict[str, v.Term], message: str, multiple: bool):
    def validator(value: Any, context: Context) -> Any:
        if _empty(value):
            return value
        items = _as_list(value) if multiple else [str(value).strip()]
        out: list[str] = []
        for item in items:
            term = v.term_from_value(terms, item)
            if term is None:
                raise tk.Invalid(_(message, value=item))
            if term.iri not in out:
                out.append(term.iri)
        if not multiple:
            return out[0]
        return json.dumps(out) if out else tk.missing
    return validator


def gelsenkirchen_themes(key: Any, data: dict[Any, Any],
                         errors: dict[Any, list[str]], context: Context) -> None:
    """One or more EU data themes (code or IRI), stored as a JSON list of IRIs."""
    items = _as_list(data.get(key))
    if not items:
        _fail(key, errors, _("Please choose at least one theme."))
    try:
        data[key] = _terms_validator(
            v.THEMES, "Unknown theme: {value}. Choose themes from the EU data-theme vocabulary.",
            True)(items, context)
    except tk.Invalid as e:
        _fail(key, errors, str(e.error))


gelsenkirchen_frequency = _terms_validator(v.FREQUENCIES, "Unknown update frequency: {value}.",
                                           False)
gelsenkirchen_languages = _terms_validator(v.LANGUAGES, "Unknown language: {value}.", True)
gelsenkirchen_hvd_categories = _terms_validator(
    v.HVD_CATEGORIES, "Unknown high-value dataset category: {value}.", True)
gelsenkirchen_availability = _terms_validator(v.AVAILABILITIES, "Unknown availability: {value}.",
                                              False)
gelsenkirchen_hash_algorithm = _terms_validator(v.HASH_ALGORITHMS,
                                                "Unknown checksum algorithm: {value}.", False)


def gelsenkirchen_resource_format(value: Any, context: Context) -> Any:
    """A format of the EU file-type vocabulary, stored as its code (``CSV``)."""
    if _empty(value):
        return value
    ft = v.file_type_from_value(value)
    if ft is None:
        raise tk.Invalid(_("Unknown format: {value}. Use a format of the EU file-type "
                             "vocabulary, e.g. CSV, JSON, GeoJSON.", value=str(value)))
    return ft.code


def gelsenkirchen_media_type(key: Any, data: dict[Any, Any],
                             errors: dict[Any, list[str]], context: Context) -> None:
    """An IANA media type (``text/csv``); filled in from the format if empty."""
    value = data.get(key)
    if _empty(value):
        fmt_key = key[:-1] + ("format",)
        ft = v.file_type_from_value(data.get(fmt_key) if not _empty(data.get(fmt_key)) else None)
        if ft is not None and ft.media_type:
            data[key] = ft.media_type
        return
    text = str(value).strip().lower()
    if text.startswith(("http://", "https://")) and "/media-types/" in text:
        text = text.split("/media-types/", 1)[1]
    if not _MEDIA_TYPE.match(text):
        _fail(key, errors, _("Please enter a media type such as text/csv."))
    data[key] = text


def gelsenkirchen_hash(value: Any, context: Context) -> Any:
    if _empty(value):
        return value
    text = str(value).strip()
    if not _HEX.match(text):
        raise tk.Invalid(_("Please enter a checksum in hexadecimal digits."))
    return text.lower()


# -- spatial -------------------------------------------------------------------

def gelsenkirchen_spatial_coverage(value: Any, context: Context) -> Any:
    """Area codes (whole city, Stadtbezirke, Stadtteile), stored as JSON."""
    if _empty(value):
        return value
    codes = _as_list(value)
    for code in codes:
        if code not in geography.AREAS:
            raise tk.Invalid(_("Unknown Stadtbezirk or Stadtteil: {value}.", value=code))
    return json.dumps(geography.normalize_codes(codes))


def _geometry_or_none(value: Any) -> dict[str, Any] | None:
    from shapely.geometry import shape

    try:
        geom = value if isinstance(value, dict) else json.loads(str(value))
        if not isinstance(geom, dict) or geom.get("type") not in (
                "Polygon", "MultiPolygon", "Point"):
            return None
        shp = shape(geom)
    except Exception:  # json errors, shapely errors of all kinds
        return None
    if shp.is_empty or not shp.is_valid:
        return None
    w, s, e, n = geography.CITY_BBOX
    minx, miny, maxx, maxy = shp.bounds
    margin = 0.05
    if minx < w - margin or maxx > e + margin or miny < s - margin or maxy > n + margin:
        return None
    return geom


def gelsenkirchen_spatial_geojson(value: Any, context: Context) -> Any:
    """A GeoJSON geometry inside (a margin around) the city, stored as JSON."""
    if _empty(value):
        return value
    geom = _geometry_or_none(value)
    if geom is None:
        raise tk.Invalid(_("The spatial value must be a GeoJSON geometry (Polygon, "
                             "MultiPolygon or Point) inside Gelsenkirchen."))
    return json.dumps(geom)


def gelsenkirchen_political_geocoding(value: Any, context: Context) -> Any:
    if _empty(value):
        return value
    text = str(value).strip()
    if not text.startswith(v.POLITICAL_GEOCODING) or not _is_url(text):
        raise tk.Invalid(_("The political geocoding must be an IRI from "
                             "http://dcat-ap.de/def/politicalGeocoding/."))
    return text


# -- harvester-maintained fields -------------------------------------------------

def gelsenkirchen_harvester_field(key: Any, data: dict[Any, Any],
                                  errors: dict[Any, list[str]], context: Context) -> None:
    """Read-only in the web form, writable through the API by sysadmins.

    * not sent (the web form never sends it): the stored value is kept;
    * sent by a sysadmin or with ``ignore_auth`` (harvesters run as the site
      user): accepted (and validated by the next validators);
    * sent by anybody else: accepted only if unchanged (so package_show ->
      package_update round trips work), else a field error.
    """
    field = key[-1]
    value = data.get(key)
    stored = _stored_value(context, field)
    if _empty(value):
        if stored is not None:
            data[key] = stored
        return
    if _may_write_harvester_fields(context):
        return
    if stored is not None and _canonical(stored) == _canonical(value):
        return
    _fail(key, errors, _("This field is read-only: it is filled by the harvester and can "
                           "only be set through the API by a sysadmin."))


def gelsenkirchen_contributor_id(value: Any, context: Context) -> Any:
    """dcatde:contributorID; defaults to ckanext.gelsenkirchen.contributor_id."""
    if _empty(value):
        return tk.config.get(CONTRIBUTOR_ID_OPTION) or v.DEFAULT_CONTRIBUTOR_ID
    text = str(value).strip()
    if not text.startswith(v.CONTRIBUTOR_SCHEME + "/") or not _is_url(text):
        raise tk.Invalid(_("The contributor ID must be an IRI from "
                             "http://dcat-ap.de/def/contributors/."))
    return text


def gelsenkirchen_count(value: Any, context: Context) -> Any:
    if _empty(value):
        return value
    try:
        number = int(str(value).strip())
    except ValueError:
        raise tk.Invalid(_("Please enter a whole number of 0 or more.")) from None
    if number < 0:
        raise tk.Invalid(_("Please enter a whole number of 0 or more."))
    return str(number)


def gelsenkirchen_percentage(value: Any, context: Context) -> Any:
    if _empty(value):
        return value
    try:
        number = float(str(value).strip().rstrip("%").replace(",", "."))
    except ValueError:
        raise tk.Invalid(_("Please enter a percentage between 0 and 100.")) from None
    if not 0 <= number <= 100:
        raise tk.Invalid(_("Please enter a percentage between 0 and 100."))
    return str(round(number, 2))


def gelsenkirchen_connected_count(key: Any, data: dict[Any, Any],
                                  errors: dict[Any, list[str]], context: Context) -> None:
    """On ``<x>_connected`` (after gelsenkirchen_count): not more than ``<x>_total``."""
    connected = data.get(key)
    total = data.get(key[:-1] + (key[-1].replace("_connected", "_total"),))
    if _empty(connected) or _empty(total):
        return
    try:
        if int(str(connected)) > int(str(total)):
            _fail(key, errors, _("The number connected must not exceed the total."))
    except ValueError:
        return  # the total's own validator reports it


def gelsenkirchen_text_list(value: Any, context: Context) -> Any:
    """A list of texts (list, JSON list or one per line), stored as JSON."""
    if _empty(value):
        return value
    items = _as_text_list(value)
    if items is None:
        raise tk.Invalid(_("Please enter a list of texts."))
    return json.dumps(list(dict.fromkeys(items)), ensure_ascii=False)


def gelsenkirchen_stadtteile(value: Any, context: Context) -> Any:
    """Stadtteile (codes like ``stadtteil-buer`` or names like ``Buer``)."""
    if _empty(value):
        return value
    out: list[str] = []
    for item in _as_list(value):
        code = item if item in geography.AREAS else f"stadtteil-{geography.slug(item)}"
        if code not in geography.AREAS or geography.AREAS[code].level != "stadtteil":
            raise tk.Invalid(_("Unknown Stadtteil: {value}.", value=item))
        if code not in out:
            out.append(code)
    return json.dumps(out)


def gelsenkirchen_speed_classes(value: Any, context: Context) -> Any:
    if _empty(value):
        return value
    out: list[str] = []
    for item in _as_list(value):
        if item not in v.SPEED_CLASSES:
            raise tk.Invalid(_("Unknown speed class: {value}.", value=item))
        if item not in out:
            out.append(item)
    return json.dumps([c for c in v.SPEED_CLASSES if c in out])


def gelsenkirchen_status_counts(value: Any, context: Context) -> Any:
    """A JSON object of status -> count, e.g. {"online": 40, "planned": 3}."""
    if _empty(value):
        return value
    error = _("Please enter a JSON object of status names and counts, e.g. {\"online\": 3}.")
    try:
        obj = value if isinstance(value, dict) else json.loads(str(value))
    except ValueError:
        raise tk.Invalid(error) from None
    if not isinstance(obj, dict) or not all(
            isinstance(k, str) and isinstance(n, int) and not isinstance(n, bool) and n >= 0
            for k, n in obj.items()):
        raise tk.Invalid(error)
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def gelsenkirchen_json_output(value: Any) -> Any:
    """Output validator: stored JSON (lists, objects) back to Python values."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
