"""The command line's spreadsheet outputs: deployment tables and validate's report, as an office opens them."""

from __future__ import annotations

import pandas as pd

from riskmap.cli import main
from riskmap.testing import grid_villages, village_center


def _inputs(tmp_path, district: str) -> list[str]:
    villages = grid_villages()
    villages["kecamatan"] = [f"{district} {k // 3}" for k in range(len(villages))]
    villages.to_file(tmp_path / "desa.geojson")
    rows = []
    for k in range(len(villages)):
        lat, lon = village_center(villages, k)
        code = villages["kode"].iloc[k].replace(".", "")
        rows.append({"kode_tps": f"{code}001", "kelurahan": villages["nama"].iloc[k], "no_tps": "1",
                     "alamat": "Jl. Uji", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "dpt": "400"})  # fmt: skip
    rows.append({**rows[0], "kode_tps": "5371011099001", "lat": "=1+1"})  # one rejected row
    pd.DataFrame(rows).to_csv(tmp_path / "tps.csv", index=False)
    return ["--villages", str(tmp_path / "desa.geojson"), "--tps", str(tmp_path / "tps.csv")]


def test_deploy_tables_have_a_bom_and_an_xlsx(tmp_path):
    """Excel reads the per-kecamatan/per-village CSVs as UTF-8 only with a byte-order mark; the XLSX beside them."""
    district = "Kecamatan Nunbaun Délha – Süd"
    out = tmp_path / "dep"
    assert main(["deploy", *_inputs(tmp_path, district), "--stage", "voting", "--out", str(out)]) == 0
    for name in ("per_village.csv", "per_kecamatan.csv"):
        raw = (out / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name
        assert district.encode("utf-8") in raw
    csv_table = pd.read_csv(out / "per_kecamatan.csv", encoding="utf-8-sig")
    xlsx = pd.read_excel(out / "per_kecamatan.xlsx", sheet_name=None, engine="calamine")
    assert list(xlsx) == ["per_kecamatan", "per_kabkota", "Keterangan"]  # kab/kota totals beside (issue 12)
    pd.testing.assert_frame_equal(xlsx["per_kecamatan"], csv_table, check_dtype=False)
    assert csv_table["district"].str.startswith(district).all() and csv_table["police"].dtype.kind in "if"
    readme = dict(xlsx["Keterangan"].iloc[:, :2].itertuples(index=False, name=None))
    assert readme["stage"] == "voting" and readme["method_version"] == "1.0"


def test_validate_report_as_xlsx(tmp_path):
    report = tmp_path / "ditolak.xlsx"
    assert main(["validate", *_inputs(tmp_path, "Kecamatan"), "--report", str(report), "--lang", "en"]) == 0
    import openpyxl

    book = openpyxl.load_workbook(report)
    assert book.sheetnames == ["rejected and warnings", "README"]
    rows = [[c for c in row] for row in book["rejected and warnings"].iter_rows()]
    header = [c.value for c in rows[0]]
    cell = rows[1][header.index("lat")]
    assert (cell.value, cell.data_type) == ("=1+1", "s")  # the user's text, never a formula
    assert {c.data_type for row in rows for c in row} <= {"s", "n"}
    assert (
        header[:5] == ["layer", "file", "kind", "row", "reason"] and rows[1][3].value == 11
    )  # the row as the user sees it in the file
    assert rows[1][2].value == "rejected"


def test_area_by_code_or_name_in_export_deploy_and_print(tmp_path, capsys):
    """Issue 12, defect 2: ``--area 5371``, ``--area 53.71`` and ``--area "Kota ..."`` were refused."""
    inputs = _inputs(tmp_path, "Kecamatan")
    out = tmp_path / "desa.csv"
    args = ["--area", "537102", "--layer", "villages", "--format", "csv", "--out", str(out)]
    assert main(["export", *inputs, *args]) == 0
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert len(table) == 3 and set(table["district"]) == {"Kecamatan 1"} and set(table["regency"]) == {"Kota Uji"}
    dep = tmp_path / "dep"
    assert main(["deploy", *inputs, "--stage", "voting", "--area", "kota  UJI", "--out", str(dep)]) == 0
    assert len(pd.read_csv(dep / "per_village.csv", encoding="utf-8-sig")) == 9
    dep1 = tmp_path / "dep1"
    assert main(["deploy", *inputs, "--stage", "voting", "--area", "53.71.03", "--out", str(dep1)]) == 0
    assert set(pd.read_csv(dep1 / "per_kecamatan.csv", encoding="utf-8-sig")["district"]) == {"Kecamatan 2"}
    capsys.readouterr()
    assert main(["deploy", *inputs, "--stage", "voting", "--area", "Kota Ujung", "--out", str(dep)]) == 2
    err = capsys.readouterr().err
    assert "Kota Ujung" in err and "Kota Uji (53.71)" in err and "Traceback" not in err
    pdf = tmp_path / "kota.pdf"
    assert main(["print", "--stage", "voting", "--no-accuracy", "--area", "5371", "--out", str(pdf)]) == 0  # the demo
    assert pdf.exists()
