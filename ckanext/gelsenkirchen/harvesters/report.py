"""The per-job report of a harvest: counts, skipped rows and warnings.

Pure data; the base harvester stores it as a harvest object extra
(``report``, JSON) and writes the skipped rows and a summary as harvest
object errors, which the harvest job page lists.

Reasons and warnings are kept untranslated (logic/messages.py): a msgid
marked with ``N_`` plus its parameters, so the operator's page shows them
in the reader's language while the log and ckanext-harvest's error table
get the English text (:meth:`Skipped.message`, :meth:`Report.summary`).
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ckanext.gelsenkirchen.logic.messages import Message, message, render


@dataclasses.dataclass
class Skipped:
    reason: str  # an N_() msgid with {placeholders} filled from params, or English text
    row: int | None = None  # 1-based line/record number in the source
    feature_id: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        """The reason in ``lang`` (default: the user's language)."""
        return render(message(self.reason, **self.params), lang)

    def where(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.feature_id not in (None, ""):
            parts.append(f"id {self.feature_id!r}")
        return ", ".join(parts) or "record"

    def message(self) -> str:
        return f"Skipped {self.where()}: {self.text('en')}"


@dataclasses.dataclass
class Report:
    records_read: int = 0
    published: int = 0
    skipped: list[Skipped] = dataclasses.field(default_factory=list)
    warnings: list[Message] = dataclasses.field(default_factory=list)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    #: the rules a source was read with and how they were chosen, e.g.
    #: {"decimal": "comma (detected from 40 values)"}
    rules: dict[str, str] = dataclasses.field(default_factory=dict)

    def skip(self, reason: str, row: int | None = None, feature_id: Any = None,
             **params: Any) -> None:
        """Skip a row; ``reason`` is an ``N_()`` msgid, ``params`` fill it in."""
        self.skipped.append(Skipped(reason=reason, row=row, params=params,
                                    feature_id=None if feature_id is None else str(feature_id)))

    def warn(self, msgid: str, **params: Any) -> None:
        """Add a warning; ``msgid`` is an ``N_()`` msgid, ``params`` fill it in."""
        stored = message(msgid, **params)
        if stored not in self.warnings:
            self.warnings.append(stored)

    def skipped_rows(self, lang: str | None = None) -> list[dict[str, Any]]:
        """The skipped rows as {row, id, reason} (the operator page's table
        and CSV, the preview, the API), the reason in ``lang``."""
        return [{"row": s.row, "id": s.feature_id, "reason": s.text(lang)} for s in self.skipped]

    def warning_texts(self, lang: str | None = None) -> list[str]:
        return [render(w, lang) for w in self.warnings]

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def skip_reasons(self) -> dict[str, int]:
        return dict(Counter(s.reason.split(":")[0] for s in self.skipped))

    def summary(self) -> str:
        text = (f"Harvest report: {self.records_read} records read, {self.published} valid, "
                f"{len(self.skipped)} skipped")
        if self.skipped:
            reasons = "; ".join(f"{reason} ({n})" for reason, n in self.skip_reasons().items())
            text += f" ({reasons})"
        if self.counts:
            text += ". " + ", ".join(f"{key}: {value}" for key, value in sorted(self.counts.items()))
        if self.rules:
            text += ". Read with " + ", ".join(f"{key} {value}"
                                               for key, value in sorted(self.rules.items()))
        if self.warnings:
            text += ". Warnings: " + " | ".join(self.warning_texts("en"))
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "records_read": self.records_read,
            "published": self.published,
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
            "warnings": list(self.warnings),
            "counts": dict(self.counts),
            "rules": dict(self.rules),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(records_read=data.get("records_read", 0), published=data.get("published", 0),
                   skipped=[Skipped(**s) for s in data.get("skipped", [])],
                   warnings=list(data.get("warnings", [])), counts=dict(data.get("counts", {})),
                   rules=dict(data.get("rules", {})))


def row_changes(previous: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]],
                keys: Callable[[Sequence[dict[str, Any]]], set[str]]) -> dict[str, int]:
    """New, changed and gone rows between two snapshots, compared by the
    harvester's guard keys (a row is changed when its key stays and its
    values differ)."""
    before = {key: row for row in previous for key in keys([row])}
    after = {key: row for row in rows for key in keys([row])}
    return {"new": len(after.keys() - before.keys()), "gone": len(before.keys() - after.keys()),
            "changed": sum(1 for key in after.keys() & before.keys() if after[key] != before[key])}
