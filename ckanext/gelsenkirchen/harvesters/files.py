"""The uploaded files of a harvested dataset in CKAN's storage.

CKAN's uploader writes a resource's file (the same path on every run, since
the resource ids are stable) *before* the dataset update is committed. When that update fails afterwards (search service down, database
connection lost, storage full), the new file would sit beside the old
dataset. :func:`keep` reads the files before the update and
:func:`put_back` writes them back after a failure; :func:`read` serves
``ckan gelsenkirchen verify``. Both of CKAN's resource uploaders are
read: the file-system ``ResourceUpload`` (the default) and the file-keeper
``FKResourceUpload``; a custom IUploader without either is left alone.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

#: the checksum algorithm of the resources' ``hash`` (dcat-ap.de hashAlgorithms)
HASH_ALGORITHM = "sha256"


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class _Stored:
    """One resource's file, in a file-keeper storage (CKAN's FKResourceUpload)
    or on the file system (CKAN's ResourceUpload, the default)."""

    def __init__(self, resource_id: str) -> None:
        from ckan.lib import uploader

        upload = uploader.get_resource_uploader({"id": resource_id, "url_type": "upload"})
        self.storage: Any = getattr(upload, "storage", None)
        self.path: str | None = None
        self.location: Any = None
        if not hasattr(upload, "get_path"):
            return
        if self.storage is not None:
            self.location = upload.get_path(resource_id)
        elif getattr(upload, "storage_path", None):
            self.path = str(upload.get_path(resource_id))

    @property
    def usable(self) -> bool:
        return self.path is not None or self.location is not None

    def _data(self) -> Any:
        from ckan.lib import files as ckan_files
        return ckan_files.FileData(self.location)

    def read(self) -> bytes | None:
        if self.path is not None:
            try:
                with open(self.path, "rb") as handle:
                    return handle.read()
            except FileNotFoundError:
                return None
        if self.location is None or not self.storage.exists(self._data()):
            return None
        return bytes(self.storage.content(self._data()))

    def write(self, content: bytes) -> None:
        if self.path is not None:
            # as CKAN's ResourceUpload does: a temporary file renamed over it
            temporary = self.path + "~"
            with open(temporary, "wb") as handle:
                handle.write(content)
            os.replace(temporary, self.path)
            return
        from ckan.lib import files as ckan_files
        self.storage.upload(self.location, ckan_files.make_upload(content))

    def remove(self) -> None:
        if self.path is not None:
            for path in (self.path, self.path + "~"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
        elif self.location is not None and self.storage.exists(self._data()):
            self.storage.remove(self._data())

    def remove_leftover(self) -> None:
        """The temporary file an upload that failed midway leaves behind."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.remove(self.path + "~")


def read(resource_id: str) -> bytes | None:
    """The stored file of ``resource_id``; None when there is none (or the
    uploader is one this module cannot read)."""
    stored = _Stored(resource_id)
    return stored.read() if stored.usable else None


def keep(resource_ids: Iterable[str]) -> dict[str, bytes | None]:
    """The current files of ``resource_ids`` (None: no file)."""
    return {rid: read(rid) for rid in resource_ids}


def put_back(kept: dict[str, bytes | None]) -> None:
    """Write the kept files back (remove files that were not there before).
    Best effort: a failure is logged, not raised."""
    for resource_id, content in kept.items():
        try:
            stored = _Stored(resource_id)
            if not stored.usable:
                continue
            stored.remove_leftover()
            if content is None:
                stored.remove()
            elif stored.read() != content:
                stored.write(content)
        except Exception:  # noqa: BLE001 - logged; the caller raises the original error
            log.exception("Could not put back the previous file of resource %s", resource_id)
