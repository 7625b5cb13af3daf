"""German is the portal's default language: the catalogue is complete and compiled."""
from __future__ import annotations

import gettext
import pathlib
import subprocess
import sys

from babel.messages.pofile import read_po

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ckanext/gelsenkirchen"
I18N = PACKAGE / "i18n"
PO = I18N / "de/LC_MESSAGES/ckanext-gelsenkirchen.po"
MO = PO.with_suffix(".mo")
FIX = ("extract with `.venv/bin/pybabel extract -F ckanext/gelsenkirchen/i18n/babel.cfg "
       "--no-location -o /tmp/gk.pot ckanext/gelsenkirchen`, then `pybabel update` and "
       "`pybabel compile` (docs/theme.md, Translations)")


def _extracted(tmp_path: pathlib.Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run([str(pathlib.Path(sys.executable).with_name("pybabel")), "-q", "extract",
                    "-F", str(I18N / "babel.cfg"), "--no-location", "-o", str(pot), str(PACKAGE)],
                   check=True, capture_output=True)
    with pot.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


def _catalogue() -> dict[str, str]:
    with PO.open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]):
                (m.string if isinstance(m.string, str) else m.string[0])
                for m in read_po(f) if m.id and not m.fuzzy}


def test_every_extracted_message_has_a_german_translation(tmp_path):
    catalogue = _catalogue()
    missing = sorted(m for m in _extracted(tmp_path) if not catalogue.get(m))
    assert not missing, f"untranslated messages ({FIX}): {missing}"


def test_compiled_catalogue_is_current():
    assert MO.exists(), f"{MO} is missing: {FIX}"
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for msgid, msgstr in _catalogue().items():
        assert compiled.gettext(msgid) == msgstr, f"{MO.name} is stale for {msgid!r}: {FIX}"


def test_german_is_the_default_and_english_is_offered():
    ini = (ROOT / "test.ini").read_text(encoding="utf-8")
    assert "ckan.locale_default = de" in ini
    assert "ckan.locales_offered = de en" in ini
