"""The shared base: the deletion guard (base.py) and the files every harvester publishes
(exports.py)."""
from __future__ import annotations

import json

from ckanext.gelsenkirchen.harvesters.base import drop_check
from ckanext.gelsenkirchen.harvesters.exports import rows_to_csv, rows_to_geojson
from ckanext.gelsenkirchen.logic.messages import render


def test_deletion_guard():
    published = {str(i) for i in range(10)}
    assert drop_check(published, published - {"0", "1", "2"}, 0.3) == (False, "")
    blocked, stopped = drop_check(published, {"0", "1", "x"}, 0.3)
    message = render(stopped, "en")
    assert blocked and "drop 8 of 10 published rows (80%" in message and "1 of them new" in message
    assert drop_check(None, set(), 0.3)[0] is True
    assert drop_check(None, {"a"}, 0.3) == (False, "")
    assert render(stopped, "de") == ("der Stand würde 8 von 10 veröffentlichten Zeilen entfernen "
                                      "(80 %, mehr als die erlaubten 30 %); er hat 3 Zeilen, "
                                      "1 davon neu")


def test_csv_download_neutralises_formulas():
    """Harvested text must not run as a formula in the spreadsheet of
    someone who opens the published CSV; numbers and phone numbers stay."""
    rows = [{"id": "1", "name": '=HYPERLINK("http://evil.example","Klick")', "phone": "+49 209 169-0"},
            {"id": "2", "name": "@SUM(A1:A9)", "phone": "-12.5"},
            {"id": "3", "name": "+cmd|' /C calc'!A0", "phone": "\t=1+1"}]
    lines = rows_to_csv(rows, ["id", "name", "phone"]).decode().splitlines()
    assert lines[1] == '1,"\'=HYPERLINK(""http://evil.example"",""Klick"")",+49 209 169-0'
    assert lines[2] == "2,'@SUM(A1:A9),-12.5"
    assert lines[3] == "3,'+cmd|' /C calc'!A0,'\t=1+1"


def test_exports_keep_text_verbatim():
    rows = [{"id": "1", "name": "<script>alert(1)</script>", "latitude": 51.5, "longitude": 7.1}]
    assert b"<script>alert(1)</script>" in rows_to_csv(rows, ["id", "name"])
    feature = json.loads(rows_to_geojson(rows, ["id", "name"]))["features"][0]
    assert feature["properties"]["name"] == "<script>alert(1)</script>"
    assert feature["geometry"]["coordinates"] == [7.1, 51.5]
