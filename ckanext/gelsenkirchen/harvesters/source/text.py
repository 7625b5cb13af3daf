"""Text in source data: decoding, CSV tables, column names.

* :func:`decode_text`: a configured encoding (strict), else a UTF-8 byte
  order mark, else strict UTF-8, else the best guess of charset-normalizer
  among Windows-1252 and ISO-8859-15 (German exports).
* :func:`read_csv`: a CSV table with its header, rows and line numbers;
  the delimiter configured or detected from the header (``;`` ``,`` tab
  ``|``); a row with another number of fields than the header is
  reported, not read; a CSV that ends inside a row is an error.
* :func:`fold`: how column and attribute names are compared: lower case,
  umlauts spelled out, any other character as ``_``.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata

from . import ParseError

DELIMITERS: tuple[str, ...] = (";", ",", "\t", "|")


def shown(value: object, limit: int = 80) -> str:
    """A value from a source for a message (job report, error): its repr,
    cut to ``limit`` characters, because a source may send megabytes."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def fold(name: str) -> str:
    """A column or attribute name as names are compared: ``"Länge (WGS84)"``
    -> ``"laenge_wgs84"``."""
    text = name.strip().lstrip("\ufeff").lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of ``data`` and the encoding it was read with."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            raise ParseError(f"the source is not valid {encoding} ({error.reason} at byte "
                             f"{error.start})") from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000], cp_isolation=["cp1252", "iso8859_15", "utf_8"]).best()
    name = best.encoding if best is not None else "cp1252"
    try:
        return data.decode(name), name
    except (UnicodeDecodeError, LookupError):
        return data.decode("cp1252", errors="replace"), "cp1252"


def detect_delimiter(header_line: str) -> str:
    """The delimiter of :data:`DELIMITERS` the header line has most of."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclasses.dataclass
class CsvTable:
    header: list[str]
    #: (line number, values) of each non-empty row with as many values as the header
    rows: list[tuple[int, list[str]]]
    #: (line number, number of values) of the rows with another number of values
    misfits: list[tuple[int, int]]
    encoding: str
    delimiter: str


def read_csv(data: bytes, delimiter: str | None = None, encoding: str | None = None) -> CsvTable:
    """A CSV file as a table; ParseError when it cannot be read at all."""
    text, used_encoding = decode_text(data, encoding)
    if "\x00" in text:
        raise ParseError("the CSV contains NUL bytes (a binary file?)")
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    if not header_line:
        raise ParseError("the CSV is empty")
    delimiter = delimiter or detect_delimiter(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next((row for row in reader if any(h.strip() for h in row)), None)
        body = list(reader)
    except csv.Error as error:
        raise ParseError(f"invalid CSV at line {reader.line_num}: {error} (truncated?)") from None
    if header is None:  # lines of delimiters only
        raise ParseError("the CSV has no header row (no line with a column name)")
    header = [h.strip().lstrip("\ufeff") for h in header]
    if len(header) < 2:
        raise ParseError(f"the CSV header has only one column ({header[0][:60]!r}); "
                         "wrong delimiter? set \"delimiter\"")
    ends_with_newline = text.endswith(("\n", "\r"))
    rows: list[tuple[int, list[str]]] = []
    misfits: list[tuple[int, int]] = []
    for index, values in enumerate(body):
        line = index + 2  # 1-based, the header is line 1 (approximate for multi-line fields)
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            if index == len(body) - 1 and not ends_with_newline and len(values) < len(header):
                raise ParseError(f"the CSV ends in the middle of row {line} (truncated?)")
            misfits.append((line, len(values)))
            continue
        rows.append((line, values))
    return CsvTable(header=header, rows=rows, misfits=misfits, encoding=used_encoding,
                    delimiter=delimiter)
