"""The download links of a harvested dataset's page, as a visitor follows them."""
from __future__ import annotations

import csv
import io
import re

import pytest
from bs4 import BeautifulSoup

from . import support as ws

pytestmark = pytest.mark.usefixtures("with_plugins", "plugin_db")


def test_csv_download_link_serves_the_file_with_formulas_neutralised(rsps, app):
    url = f"{ws.FEEDS}/wlan.csv"
    rows = ws.hotspots(2)
    rows.append(ws.city_row("GE-666", '=HYPERLINK("http://evil.example","Klick")'))
    ws.mock(rsps, url, ws.city_csv(rows))
    source = ws.create_source(url)
    assert ws.run(source)["statuses"] == ["added"]
    dataset = ws.dataset_of(source)

    page = BeautifulSoup(app.get(f"/dataset/{dataset['name']}").get_data(as_text=True),
                         "html.parser")
    link = page.find("a", string=re.compile("CSV herunterladen"))
    assert link is not None
    assert "/datastore/dump/" not in link["href"]
    body = app.get(re.sub(r"^https?://[^/]+", "", link["href"])).get_data(as_text=True)
    names = {r["id"]: r["name"] for r in csv.DictReader(io.StringIO(body))}
    assert names["GE-666"] == '\'=HYPERLINK("http://evil.example","Klick")'
