"""Solr schema.xml parsing: field types, fields, dynamic fields, copyFields.

Field semantics in pgsolr come only from the schema in use; there is no
hand-kept list of CKAN field names.
"""
from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
import struct
from dataclasses import dataclass, replace
from xml.etree.ElementTree import Element, tostring

from defusedxml import ElementTree

from .errors import bad_request

# Field kinds pgsolr knows how to index.
STRING, TEXT, INT, FLOAT, DATE, BOOL = (
    "string", "text", "int", "float", "date", "bool")
NUMERIC = (INT, FLOAT)
# Fields of these Solr classes (geometries, points, vectors) are stored as
# sent but never indexed: pgsolr cannot answer their query syntax
# (Intersects(...), geofilt, knn), so every query, sort, facet or function
# on them is a 400 (require_supported) instead of a silently empty result.
UNSUPPORTED = "unsupported"
_UNSUPPORTED_CLASSES = (
    "SpatialRecursivePrefixTreeFieldType", "RptWithGeometrySpatialField",
    "LatLonPointSpatialField", "LatLonType", "PointType", "BBoxField",
    "GeoHashField", "DenseVectorField")

ADDITION_FILE = os.path.join(os.path.dirname(__file__), "schema-addition.xml")
# Field names that may reach SQL (always as bound parameters) or jsonpath.
FIELD_NAME_RE = re.compile(r"^[\w][\w\-.]{0,199}$")


def _kind_for_class(cls: str) -> str:
    name = cls.rsplit(".", 1)[-1]
    if name in _UNSUPPORTED_CLASSES:
        return UNSUPPORTED
    if name in ("TextField", "SortableTextField", "ICUCollationField"):
        return TEXT
    if "Date" in name:
        return DATE
    if name.startswith(("Int", "Long", "TrieInt", "TrieLong")):
        return INT
    if name.startswith(("Float", "Double", "TrieFloat", "TrieDouble")):
        return FLOAT
    if name == "BoolField":
        return BOOL
    return STRING


def _bool_attr(el: Element, name: str, default: bool) -> bool:
    value = el.get(name)
    return default if value is None else value.strip().lower() == "true"


@dataclass(frozen=True)
class NGram:
    """N-gram analysis of a TextField type, read from its analyzer chains.

    ``edge``: only leading grams (EdgeNGram*); ``whole``: grams of the whole
    value (an n-gram *tokenizer*) rather than of each token (an n-gram
    *filter* after another tokenizer); ``split``: how the tokenizer before an
    n-gram filter splits ("whitespace", "keyword" or "word").
    """
    min: int
    max: int
    edge: bool
    whole: bool
    split: str
    lower: bool
    query_split: str
    query_lower: bool


def _tokenizer_split(cls: str) -> str:
    name = cls.rsplit(".", 1)[-1]
    if name.startswith("Whitespace"):
        return "whitespace"
    if name.startswith("Keyword"):
        return "keyword"
    return "word"


def _ngram_of(type_el: Element) -> NGram | None:
    """The n-gram behaviour of a fieldType, or None when it has no n-gram
    tokenizer/filter in its index analyzer."""
    analyzers = [a for a in type_el if isinstance(a.tag, str) and a.tag == "analyzer"]
    index = next((a for a in analyzers if a.get("type") in (None, "index")), None)
    query = next((a for a in analyzers if a.get("type") == "query"), index)
    if index is None:
        return None
    tokenizer = next((c for c in index if c.tag == "tokenizer"), None)
    filters = [c for c in index if c.tag == "filter"]
    gram_el, whole = None, False
    if tokenizer is not None and "NGram" in tokenizer.get("class", ""):
        gram_el, whole = tokenizer, True
    else:
        gram_el = next((f for f in filters if "NGram" in f.get("class", "")), None)
    if gram_el is None:
        return None
    cls = gram_el.get("class", "")
    edge = "EdgeNGram" in cls
    try:
        lo = int(gram_el.get("minGramSize", "1"))
        hi = int(gram_el.get("maxGramSize", "1" if edge else "2"))
    except ValueError:
        return None

    def lowers(analyzer: Element | None) -> bool:
        return analyzer is not None and any(
            c.tag == "filter" and "LowerCase" in c.get("class", "") for c in analyzer)

    q_tok = next((c for c in query if c.tag == "tokenizer"), None) if query is not None else None
    if q_tok is not None and "NGram" in q_tok.get("class", ""):
        q_split = "keyword"   # n-grams at query time too: match the whole text as one gram
    else:
        q_split = _tokenizer_split(q_tok.get("class", "")) if q_tok is not None else "whitespace"
    split = "keyword" if whole else _tokenizer_split(
        tokenizer.get("class", "") if tokenizer is not None else "")
    return NGram(min=max(lo, 1), max=max(hi, lo, 1), edge=edge, whole=whole, split=split,
                 lower=lowers(index), query_split=q_split, query_lower=lowers(query))


def ngram_split(text: str, how: str) -> list[str]:
    if how == "whitespace":
        return text.split()
    if how == "keyword":
        return [text] if text else []
    return re.findall(r"\w+", text)


@dataclass(frozen=True)
class FieldType:
    name: str
    kind: str
    multi: bool
    indexed: bool
    stored: bool
    missing: str | None   # "last" / "first" / None (Lucene default)
    ngram: NGram | None = None
    cls: str = ""          # the Solr class, named in the 400 for UNSUPPORTED


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    multi: bool
    indexed: bool
    stored: bool
    missing: str | None
    default: str | None = None
    ngram: NGram | None = None
    cls: str = ""

    @property
    def is_text(self) -> bool:
        return self.kind == TEXT


def indexed_number(fld: Field, num: float) -> float:
    """``num`` as Solr indexes it in ``fld``: FloatPointField (CKAN's
    ``float``, the bbox fields) holds 32-bit floats, so 0.05 * 0.2 is
    indexed as 0.01 and a range ``[* TO 0.01]`` finds it; doubles stay.
    Beyond float32's range: OverflowError."""
    if fld.kind == FLOAT and fld.cls.rsplit(".", 1)[-1].startswith(("Float", "TrieFloat")):
        return float(struct.unpack("f", struct.pack("f", num))[0])
    return num


def require_supported(fld: Field) -> Field:
    """``fld``, or a 400 naming it when pgsolr cannot search it (UNSUPPORTED)."""
    if fld.kind == UNSUPPORTED:
        raise bad_request(
            f"pgsolr does not support searching field {fld.name} ({fld.cls}): "
            "spatial and vector queries need Apache Solr (for ckanext-spatial use "
            "ckanext.spatial.search_backend = solr-bbox on pgsolr)")
    return fld


def default_schema_path() -> str:
    """CKAN's schema.xml, found without importing ckan."""
    spec = importlib.util.find_spec("ckan")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("CKAN is not installed; pass --schema FILE")
    for base in spec.submodule_search_locations:
        path = os.path.join(base, "config", "solr", "schema.xml")
        if os.path.exists(path):
            return path
    raise RuntimeError("CKAN's config/solr/schema.xml was not found")


class Schema:
    def __init__(self, xml_text: str):
        self.xml = xml_text
        root = ElementTree.fromstring(xml_text.encode("utf-8"))
        self.name = root.get("name", "")
        self.types: dict[str, FieldType] = {}
        self.fields: dict[str, Field] = {}
        self.dynamic: list[tuple[str, Field]] = []
        self.copy_rules: list[tuple[str, str]] = []
        self.unique_key = "id"
        self._load(root)
        # Solr matches longer dynamic patterns first.
        self.dynamic.sort(key=lambda item: -len(item[0]))
        self._cache: dict[str, Field | None] = {}
        self._copy_cache: dict[str, list[str]] = {}

    def _load(self, root: Element) -> None:
        for el in root.iter():
            tag = el.tag.lower() if isinstance(el.tag, str) else ""
            if tag == "fieldtype":
                self._add_type(el)
        for el in root.iter():
            tag = el.tag if isinstance(el.tag, str) else ""
            if tag == "field":
                f = self._make_field(el)
                self.fields[f.name] = f
            elif tag == "dynamicField":
                f = self._make_field(el)
                self.dynamic.append((f.name, f))
            elif tag == "copyField":
                self.copy_rules.append((el.get("source", ""), el.get("dest", "")))
            elif tag == "uniqueKey" and el.text:
                self.unique_key = el.text.strip()

    def _add_type(self, el: Element) -> None:
        missing = None
        if _bool_attr(el, "sortMissingLast", False):
            missing = "last"
        elif _bool_attr(el, "sortMissingFirst", False):
            missing = "first"
        ft = FieldType(
            name=el.get("name", ""), kind=_kind_for_class(el.get("class", "")),
            multi=_bool_attr(el, "multiValued", False),
            indexed=_bool_attr(el, "indexed", True),
            stored=_bool_attr(el, "stored", True), missing=missing,
            cls=el.get("class", ""))
        if ft.kind == TEXT:
            ft = replace(ft, ngram=_ngram_of(el))
        self.types[ft.name] = ft

    def _make_field(self, el: Element) -> Field:
        type_name = el.get("type", "")
        ft = self.types.get(type_name) or FieldType(
            type_name, STRING, False, True, True, None)
        return Field(
            name=el.get("name", ""), kind=ft.kind,
            multi=_bool_attr(el, "multiValued", ft.multi),
            indexed=_bool_attr(el, "indexed", ft.indexed),
            stored=_bool_attr(el, "stored", ft.stored), missing=ft.missing,
            default=el.get("default"), ngram=ft.ngram, cls=ft.cls)

    def field(self, name: str) -> Field | None:
        """The field definition for ``name`` (explicit or dynamic), or None."""
        if name in self._cache:
            return self._cache[name]
        found = self.fields.get(name)
        if found is None and FIELD_NAME_RE.match(name):
            for pattern, template in self.dynamic:
                if fnmatch.fnmatchcase(name, pattern):
                    found = replace(template, name=name)
                    break
        if found is not None and not FIELD_NAME_RE.match(name):
            found = None
        if len(self._cache) < 10000:
            self._cache[name] = found
        return found

    def copy_dests(self, source: str) -> list[str]:
        """Destinations of copyField rules matching ``source``."""
        dests = self._copy_cache.get(source)
        if dests is None:
            dests = []
            for src, dest in self.copy_rules:
                if src == source or ("*" in src and fnmatch.fnmatchcase(source, src)):
                    if "*" in dest:  # e.g. source="*_s" dest="*_t"
                        stem = source[len(src.split("*")[0]):]
                        stem = stem[:len(stem) - len(src.split("*")[1])] if src.split("*")[1] else stem
                        dest = dest.replace("*", stem)
                    if dest != source and dest not in dests:
                        dests.append(dest)
            if len(self._copy_cache) < 10000:
                self._copy_cache[source] = dests
        return dests

    def field_names_matching(self, pattern: str) -> list[str]:
        return [n for n in self.fields if fnmatch.fnmatchcase(n, pattern)]


def addition_field_names(type_name: str | None = None) -> list[str]:
    """The fields schema-addition.xml adds (ckanext-spatial's bbox floats and
    its geometry field), only those of type ``type_name`` when given."""
    with open(ADDITION_FILE, encoding="utf-8") as fh:
        root = ElementTree.fromstring(fh.read().encode("utf-8"))
    return [el.get("name", "") for el in root
            if el.tag == "field" and type_name in (None, el.get("type"))]


def merge_addition(base_xml: str, addition_xml: str) -> str:
    """Insert the addition's elements into a schema.xml text.

    Text insertion (rather than re-serialising the tree) keeps CKAN's file,
    comments included, byte-identical apart from the added block.
    """
    addition = ElementTree.fromstring(addition_xml.encode("utf-8"))
    base = ElementTree.fromstring(base_xml.encode("utf-8"))
    existing = {el.get("name") for el in base.iter()
                if isinstance(el.tag, str) and el.tag in ("field", "fieldType", "fieldtype")}
    types: list[str] = []
    fields: list[str] = []
    for el in addition:
        if not isinstance(el.tag, str) or el.get("name") in existing:
            continue
        el.tail = None
        text = "    " + tostring(el, encoding="unicode").strip() + "\n"
        (types if el.tag.lower() == "fieldtype" else fields).append(text)
    note = "    <!-- added by pgsolr: schema-addition.xml (ckanext-spatial) -->\n"
    if types:
        base_xml = _insert_before(base_xml, "</types>", note + "".join(types))
    if fields:
        base_xml = _insert_before(base_xml, "</fields>", note + "".join(fields))
    return base_xml


def _insert_before(text: str, marker: str, block: str) -> str:
    idx = text.rfind(marker)
    if idx == -1:
        idx = text.rfind("</schema>")
    line_start = text.rfind("\n", 0, idx) + 1
    return text[:line_start] + block + text[line_start:]


def merged_schema_xml() -> str:
    """CKAN's schema.xml (from the installed ckan package) merged with our addition."""
    with open(default_schema_path(), encoding="utf-8") as fh:
        base = fh.read()
    with open(ADDITION_FILE, encoding="utf-8") as fh:
        addition = fh.read()
    return merge_addition(base, addition)


def load_schema(path: str | None = None) -> Schema:
    """Load ``path``; by default CKAN's schema.xml merged with our addition."""
    if path:
        with open(path, encoding="utf-8") as fh:
            return Schema(fh.read())
    return Schema(merged_schema_xml())
