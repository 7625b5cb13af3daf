"""The per-job report of a harvest: counts, skipped rows and warnings.

Pure data; the base harvester stores it as a harvest object extra
(``report``, JSON) and writes the skipped rows and a summary as harvest
object errors, which the harvest job page lists.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any


@dataclasses.dataclass
class Skipped:
    reason: str
    row: int | None = None  # 1-based line/record number in the source
    feature_id: str | None = None

    def where(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.feature_id not in (None, ""):
            parts.append(f"id {self.feature_id!r}")
        return ", ".join(parts) or "record"

    def message(self) -> str:
        return f"Skipped {self.where()}: {self.reason}"


@dataclasses.dataclass
class Report:
    records_read: int = 0
    published: int = 0
    skipped: list[Skipped] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    #: the rules a source was read with and how they were chosen, e.g.
    #: {"decimal": "comma (detected from 40 values)"}
    rules: dict[str, str] = dataclasses.field(default_factory=dict)

    def skip(self, reason: str, row: int | None = None, feature_id: Any = None) -> None:
        self.skipped.append(Skipped(reason=reason, row=row,
                                    feature_id=None if feature_id is None else str(feature_id)))

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

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
            text += ". Warnings: " + " | ".join(self.warnings)
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
