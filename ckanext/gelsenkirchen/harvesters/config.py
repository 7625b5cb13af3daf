"""The rules of a harvest source's JSON configuration.

Each harvester declares its keys as :class:`ConfigKey` (types, help, a
check); :func:`load` parses the configuration text, refuses unknown keys
and checks every value, once, when the source is saved and again when a
job starts. The keys every harvester has are :data:`BASE_CONFIG_KEYS`;
the keys of the source toolkit (CRS, CSV delimiter and encoding, decimal
rule, paging) are defined here once and picked by the harvesters that read
such sources. A :class:`ConfigError` names the key.
"""
from __future__ import annotations

import codecs
import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ckanext.gelsenkirchen import dataset_types, geography
from ckanext.gelsenkirchen.harvesters import http
from ckanext.gelsenkirchen.harvesters.source import crs as source_crs
from ckanext.gelsenkirchen.harvesters.source.numbers import DECIMAL_RULES
from ckanext.gelsenkirchen.harvesters.source.text import DELIMITERS

DATASET_NAME = re.compile(r"^[a-z0-9_-]{2,100}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")  # no backtracking between the parts
MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit
MAX_EMAILS = 20


class ConfigError(ValueError):
    """An invalid source configuration; the message names the key."""


Check = Callable[[str, Any], None]


def _type_name(types: tuple[type, ...]) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
             dict: "an object", list: "a list"}
    return " or ".join(names.get(t, t.__name__) for t in types)


@dataclasses.dataclass
class ConfigKey:
    types: tuple[type, ...]
    help: str = ""
    check: Check | None = None

    def validate(self, key: str, value: Any) -> None:
        ok = isinstance(value, self.types) and not (
            isinstance(value, bool) and bool not in self.types)
        if not ok:
            raise ConfigError(f'"{key}" must be {_type_name(self.types)}, '
                              f"not {json.dumps(value, ensure_ascii=False)}")
        if self.check:
            self.check(key, value)


def validate(cfg: Mapping[str, Any], keys: Mapping[str, ConfigKey]) -> None:
    """Refuse unknown keys and check every value of ``cfg``."""
    for key, value in cfg.items():
        if key not in keys:
            raise ConfigError(f'unknown key "{key}" (known keys: {", ".join(sorted(keys))})')
        keys[key].validate(key, value)


def load(text: str | None, keys: Mapping[str, ConfigKey]) -> dict[str, Any]:
    """The configuration text of a harvest source as a checked dict."""
    if not text or not text.strip():
        cfg: Any = {}
    else:
        try:
            cfg = json.loads(text)
        except ValueError as error:
            raise ConfigError(f"the configuration is not valid JSON ({error})") from None
    if not isinstance(cfg, dict):
        raise ConfigError("the configuration must be a JSON object, e.g. {\"crs\": \"EPSG:25832\"}")
    validate(cfg, keys)
    return cfg


# ---------------------------------------------------------------- checks

def check_choice(choices: Iterable[str]) -> Check:
    """A check that the value is one of ``choices``."""
    allowed = tuple(choices)

    def check(key: str, value: Any) -> None:
        if value not in allowed:
            raise ConfigError(f'"{key}" must be one of {", ".join(allowed)}, not "{value}"')
    return check


def check_share(key: str, value: Any) -> None:
    if not 0 <= value <= 1:
        raise ConfigError(f'"{key}" must be a share between 0 and 1, e.g. 0.3')


def check_positive(key: str, value: Any) -> None:
    if value <= 0:
        raise ConfigError(f'"{key}" must be greater than 0')


def check_page(key: str, value: Any) -> None:
    check_positive(key, value)
    if value > 10000:
        raise ConfigError(f'"{key}" must be at most 10000')


def check_text(key: str, value: Any) -> None:
    if not value.strip():
        raise ConfigError(f'"{key}" must not be empty')


def check_dataset_name(key: str, value: Any) -> None:
    if not DATASET_NAME.match(value):
        raise ConfigError(f'"{key}" must be 2-100 lowercase letters, digits, "-" or "_"')


def check_emails(key: str, value: Any) -> None:
    """One address or a list of addresses (harvesters/alerts.py)."""
    addresses = [value] if isinstance(value, str) else value
    if not addresses or len(addresses) > MAX_EMAILS or not all(
            isinstance(a, str) and len(a) <= MAX_EMAIL_LENGTH and EMAIL.match(a)
            for a in addresses):
        raise ConfigError(f'"{key}" must be an e-mail address or a list of at most '
                          f'{MAX_EMAILS}, e.g. "opendata@gelsenkirchen.de"')


def check_webhook(key: str, value: Any) -> None:
    """An http(s) URL with a host and without credentials; its addresses are
    checked when an alert is posted (http.post_json), as a source URL's are."""
    try:
        http.check_url(value, http.Limits(allow_private_addresses=True))
    except http.FetchError as error:
        raise ConfigError(f'"{key}": {error}') from None


#: Dataset fields a source sets with keys of its own, not with dataset_defaults.
OWN_KEY_FIELDS = {"title": "dataset_title", "notes": "dataset_notes"}


def check_dataset_defaults(dataset_type: str) -> Check:
    """The check of ``dataset_defaults`` for a harvester of ``dataset_type``:
    only the fields an editor maintains in that type's form
    (:func:`ckanext.gelsenkirchen.dataset_types.editable_fields`), each a
    text, a number or a list of texts. Identity, ownership, visibility,
    state and structure (``id``, ``name``, ``type``, ``owner_org``,
    ``private``, ``state``, ``groups``, ``resources``, ...) are refused, since
    the harvester writes the dataset as the site user (harvesters/authority.py)."""
    def check(key: str, value: Any) -> None:
        allowed = dataset_types.editable_fields(dataset_type)
        for field, default in value.items():
            if field in OWN_KEY_FIELDS:
                raise ConfigError(f'"{key}.{field}": set it with "{OWN_KEY_FIELDS[field]}"')
            if field not in allowed:
                raise ConfigError(
                    f'"{key}.{field}" cannot be set by a harvest source; identity, '
                    "organization, visibility, state and resources belong to the harvester. "
                    f'Allowed: {", ".join(f for f in allowed if f not in OWN_KEY_FIELDS)}')
            if not _plain_value(default):
                raise ConfigError(f'"{key}.{field}" must be a text, a number or a list of texts')
    return check


def _plain_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def dataset_defaults(cfg: Mapping[str, Any], dataset_type: str) -> dict[str, Any]:
    """The checked ``dataset_defaults`` of a configuration (ConfigError
    naming the key otherwise): checked once more where they are merged into
    the dataset, whatever was checked before."""
    value = cfg.get("dataset_defaults") or {}
    dataset_defaults_key(dataset_type).validate("dataset_defaults", value)
    return dict(value)


def dataset_defaults_key(dataset_type: str) -> ConfigKey:
    """The key ``dataset_defaults`` of a harvester of ``dataset_type``."""
    return ConfigKey((dict,), "further dataset fields set on every run, only fields editors "
                              "maintain (e.g. license_id, contact_email)",
                     check_dataset_defaults(dataset_type))


def check_crs(key: str, value: Any) -> None:
    try:
        source_crs.normalize_crs(value)
    except ValueError as error:
        raise ConfigError(f'"{key}": {error}') from None


def check_bbox(key: str, value: Any) -> None:
    try:
        geography.parse_bbox(value)
    except ValueError as error:
        raise ConfigError(f'"{key}": {error}') from None


def check_delimiter(key: str, value: Any) -> None:
    if value not in DELIMITERS:
        raise ConfigError(f'"{key}" must be one of ";", ",", "\\t", "|"')


def check_encoding(key: str, value: Any) -> None:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ConfigError(f'"{key}": unknown encoding "{value}"') from None


# ---------------------------------------------------------------- keys

BASE_CONFIG_KEYS: dict[str, ConfigKey] = {
    "accept_drop": ConfigKey((bool,), "publish the next snapshot even if the deletion guard "
                                      "would stop it; removed again after that run"),
    "max_drop_share": ConfigKey((int, float), "share of published rows a run may drop "
                                              "(default: site setting, 0.3)", check_share),
    "dataset_name": ConfigKey((str,), "URL name of the published dataset", check_dataset_name),
    "dataset_title": ConfigKey((str,), "title of the published dataset (default: source title)"),
    "dataset_notes": ConfigKey((str,), "description of the published dataset"),
    "dataset_defaults": dataset_defaults_key(dataset_types.DATASET),
    "bbox": ConfigKey((list, str), "accepted area minlon,minlat,maxlon,maxlat "
                                   "(default: the city's)", check_bbox),
    "alert_email": ConfigKey((str, list), "who gets this source's alerts by e-mail (default: "
                                          "the admins of its organization)", check_emails),
    "alert_webhook": ConfigKey((str,), "URL that receives this source's alerts as JSON "
                                       "(default: the site's alerts.webhook_url)", check_webhook),
}

#: The keys of the source toolkit (harvesters/source/), the same in every
#: harvester: CRS, CSV delimiter and encoding, decimal rule, paging.
SOURCE_CONFIG_KEYS: dict[str, ConfigKey] = {
    "crs": ConfigKey((str,), "CRS of the coordinates, e.g. EPSG:25832 (default: what the "
                             "source names, else the harvester's default)", check_crs),
    "delimiter": ConfigKey((str,), "CSV delimiter ;  ,  tab or | (default: detected)",
                           check_delimiter),
    "encoding": ConfigKey((str,), "CSV encoding (default: UTF-8, else detected)",
                          check_encoding),
    "decimal": ConfigKey((str,), "numbers in text: comma (1.234,5) or point (1,234.5) "
                                 "(default: detected from the data)",
                         check_choice(DECIMAL_RULES)),
    "page_limit": ConfigKey((int,), "maximum pages of a paged source (default 100)",
                            check_page),
    "page_size": ConfigKey((int,), "features per page of a paged source (default 1000)",
                           check_page),
}
