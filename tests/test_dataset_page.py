"""The dataset page's table of additional information shows filled fields only."""
from __future__ import annotations

import pytest

from tests.logic.data import (  # noqa: F401 (fixtures)
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)


@pytest.mark.usefixtures("with_plugins")
def test_empty_optional_fields_have_no_row(app, organization, sysadmin):
    pkg = call_as(sysadmin, "package_create", **dataset_dict(
        owner_org=organization["id"], legal_basis=None, documentation=None))
    page = app.get(f"/dataset/{pkg['name']}").body
    assert "Rechtsgrundlage" not in page
    assert "Dokumentation (URL)" not in page
    # filled fields keep their rows
    assert "Aktualisierungsfrequenz" in page
    assert "Verantwortlich (Datenpflege)" in page and "Open-Data-Team" in page
