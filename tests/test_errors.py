"""Errors a user can act on (riskmap._errors) and the text they put on a terminal (riskmap._terminal)."""

from __future__ import annotations

from riskmap import i18n
from riskmap._errors import RiskmapInputError
from riskmap._terminal import one_line, visible
from riskmap.io.report import LayerReport


def test_message_is_one_line_whatever_the_names():
    exc = RiskmapInputError("no_coordinate_columns", file="/srv/up/new\nline\r.csv", columns="a\nb, c\td")
    for lang in i18n.LANGS:
        text = exc.message(lang)
        assert "\n" not in text and "\r" not in text and "\t" not in text
        assert text.startswith("new\\nline\\r.csv:")
        assert "a\\nb, c\\td" in text
        assert "/srv/up" not in text


def test_report_summary_keeps_its_own_line_breaks_only():
    report = LayerReport("tps", source="x\ny.csv", read=2, used=1)
    report.reject(2, "missing_coordinates")
    report.warn(None, "coordinates_utm_guessed", crs="EPSG:32751\nFAKE", n=1)
    lines = report.summary("en").splitlines()
    assert len(lines) == 3
    assert "x\\ny.csv" in lines[0] and "EPSG:32751\\nFAKE" in lines[2]


def test_one_line_escapes_newline_and_tab_visible_keeps_them():
    assert one_line("a\nb\tc\x1b") == "a\\nb\\tc\\x1b"
    assert visible("a\nb\tc\x1b") == "a\nb\tc\\x1b"


def test_no_columns_at_all_is_said_in_words():
    # red-team 15: "Columns found: ." with nothing listed (a GeoJSON of bare geometries)
    exc = RiskmapInputError("villages_unrecognised", file="d.geojson", columns="")
    assert "Columns found: ." not in exc.message("en") and "Kolom yang ada: ." not in exc.message("id")
    assert "no attribute columns" in exc.message("en") and "tidak ada kolom atribut" in exc.message("id")
