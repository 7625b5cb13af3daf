"""What every check of ``ckan gelsenkirchen doctor`` shares: its result, the
configuration it reads and how it words a failure."""
from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

TIMEOUT_SECONDS = 5


@dataclasses.dataclass
class CheckResult:
    """Outcome of one check as the operator sees it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIP"
        return " OK " if self.ok else "FAIL"

    def line(self) -> str:
        text = f"[{self.status}] {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f" \u2014 {self.fix}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "skipped": self.skipped,
                "status": self.status.strip(), "detail": self.detail, "fix": self.fix}


# --------------------------------------------------------------------------- helpers


def _ini() -> str:
    return tk.config.get("__file__") or "/etc/ckan/default/ckan.ini"


def _plugins(plugins: Iterable[str] | str | None = None) -> list[str]:
    if plugins is None:
        plugins = tk.config.get("ckan.plugins") or []
    if isinstance(plugins, str):
        plugins = plugins.split()
    return list(plugins)


def _safe_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _short(exc: BaseException) -> str:
    """One line that says why a connection failed, without a stack of wrappers."""
    text = str(exc) or type(exc).__name__
    for needle, say in (("Connection refused", "connection refused"),
                        ("timed out", "timed out"),
                        ("Name or service not known", "unknown host"),
                        ("nodename nor servname", "unknown host"),
                        ("password authentication failed", "password authentication failed"),
                        ("does not exist", None)):
        if needle in text:
            if say is None:  # keep PostgreSQL's own "database ... does not exist"
                match = re.search(r'(?:database|role|relation) "[^"]*" does not exist', text)
                return match.group(0).strip() if match else text.splitlines()[0]
            return say
    first = text.strip().splitlines()[0] if text.strip() else text
    return first if len(first) <= 200 else first[:197] + "..."


def _engine(url: str) -> sa.engine.Engine:
    return sa.create_engine(url, poolclass=NullPool,
                            connect_args={"connect_timeout": TIMEOUT_SECONDS})


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _minutes(delta: datetime.timedelta) -> int:
    return int(delta.total_seconds() // 60)
