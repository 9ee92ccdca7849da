"""The load report (riskmap.io.report): counts, summaries and the table of rejected rows and warnings."""

from __future__ import annotations

from riskmap.io.report import LayerReport, LoadReport


def _report() -> LayerReport:
    report = LayerReport("tps", source="tps.csv", read=4, used=3)
    report.reject(5, "missing_coordinates")
    report.warn(2, "unparseable_voters", value="x")
    report.warn(2, "village_mismatch", named="a", found="b")  # two notes on one row
    report.warn(3, "unparseable_voters", value="y")
    report.warn(None, "no_voter_column")
    return report


def test_summary_counts_rows_with_warnings_not_warnings():
    # red-team 15: "15 rows read, 10 used ... 18 rows used with a warning"
    text = _report().summary("en")
    assert "2 rows used with a warning" in text
    assert "3 rows" not in text


def test_summary_says_where_the_warnings_are_listed():
    text = _report().summary("en", where="riskmap validate --report report.json")
    assert "riskmap validate --report report.json" in text
    assert "see the warnings list" not in text
    assert "see the warnings list" in _report().summary("en")  # the app lists them under the summary


def test_notes_frame_has_rejected_rows_and_warnings_with_their_kind():
    load = LoadReport()
    load.add(_report())
    table = load.notes_frame("en")
    assert list(table.columns[:6]) == ["layer", "file", "kind", "row", "reason", "message"]
    kinds = list(zip(table["kind"], table["row"], table["reason"], strict=True))
    assert ("rejected", 5, "missing_coordinates") in kinds
    assert ("warning", 2, "village_mismatch") in kinds and ("warning", 3, "unparseable_voters") in kinds
    assert sum(k == "warning" for k, *_ in kinds) == 4
    assert LoadReport().notes_frame("en").empty


def test_tables_to_show_are_in_the_language():
    """Issue 12, defect 5: the report tables showed ``layer``, ``rejected`` and reason codes on the Indonesian
    page; the warnings list (defect 4) has its own table."""
    load = LoadReport()
    load.add(_report())
    counts = load.counts_table("id")
    assert list(counts.columns) == ["lapisan data", "berkas", "format", "dibaca", "dipakai", "ditolak", "catatan"]
    assert counts.iloc[0].tolist()[:2] == ["TPS", "tps.csv"] and counts.iloc[0, -1] == 4
    notes = load.notes_table("id")
    assert list(notes.columns) == ["lapisan data", "berkas", "jenis", "baris", "alasan", "keterangan"]
    assert set(notes["jenis"]) == {"ditolak", "dipakai dengan catatan"}
    assert "missing_coordinates" not in set(notes["alasan"]) and "Kelurahan tidak cocok" in set(notes["alasan"])
    warnings = load.notes_table("id", kind="warning")
    assert len(warnings) == 4 and set(warnings["jenis"]) == {"dipakai dengan catatan"}
    assert "" in set(warnings["baris"])  # the note about the whole layer has no row
    english = load.notes_table("en", kind="rejected")
    assert english.iloc[0].tolist()[:3] == ["Polling stations (TPS)", "tps.csv", "rejected"]
    assert list(LoadReport().notes_table("en").columns) == ["layer", "file", "kind", "row", "reason", "message"]
