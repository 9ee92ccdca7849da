"""The Streamlit page's wiring, run by AppTest (the real script, no browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parents[1] / "app.py")


def _shown(markdown: str) -> str:
    """The text a reader sees of Markdown whose punctuation is backslash-escaped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def _map_args(at: AppTest) -> dict:
    nodes = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            walk(child)
        nodes.append(node)

    walk(at._tree)
    comps = [n for n in nodes if type(n).__name__ == "UnknownElement" and n.type == "component_instance"]
    assert len(comps) == 1, "exactly one map component"
    return json.loads(comps[0].proto.json_args)


@pytest.fixture(scope="module")
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


def test_opens_on_demo_with_synthetic_note(app):
    assert app.title[0].value == "Peta Kerawanan Pilkada"
    assert any("sintetis" in c.value for c in app.caption)


def test_every_asset_link_stays_on_this_machine(app):
    args = _map_args(app)
    links = args["js_links"] + args["css_links"]
    assert links and all(link.startswith("/app/static/vendor/") for link in links), links
    for link in links:  # and the files exist where Streamlit serves them
        assert (Path(APP).parent / link.removeprefix("/app/")).exists(), link
    # nothing in the map's own script or HTML points off the machine either
    text = args["script"] + args["html"] + args["header"]
    loaders = r"(?:src|href)\s*=\s*[\"']?https?:|url\(\s*[\"']?https?:|tileLayer\(\s*[\"']https?:|@import[^;]*https?:"
    assert not re.findall(loaders, text)


def test_stage_switch_sends_only_the_stage_not_a_new_map(app):
    """Issue 12: the map (every stage in it) stays; the switch sends the small stage setter."""
    import re

    before = _map_args(app)
    app.sidebar.selectbox(key="stage").set_value("recap").run()
    assert not app.exception
    after = _map_args(app)
    same = [re.sub(r"_[a-z0-9]+", "", a["script"]) for a in (before, after)]  # ids as streamlit-folium's hash
    assert same[0] == same[1] and "Rekapitulasi Suara" in after["script"]  # every stage's legend is in it
    assert "riskmap.show(0, " in before["feature_group"] and "riskmap.show(3, " in after["feature_group"]
    app.sidebar.selectbox(key="stage").set_value("campaign").run()


def test_a_stage_picked_on_the_maps_buttons_becomes_the_pages_stage(app):
    """Issue 12: the map reports its stage button in its component value; the page's stage follows it once."""
    assert "rm-stage-button" in _map_args(app)["script"]
    app.session_state["map"] = {"last_active_drawing": None, "riskmap_stage": "voting", "riskmap_token": "t1"}
    app.run()
    assert not app.exception
    assert app.sidebar.selectbox(key="stage").value == "voting"
    assert "riskmap.show(1, " in _map_args(app)["feature_group"]
    # the same value again (any later rerun) does not undo a stage chosen in the sidebar afterwards
    app.sidebar.selectbox(key="stage").set_value("recap").run()
    assert app.sidebar.selectbox(key="stage").value == "recap"
    # what the browser sends is trusted only as one of the configured stages
    app.session_state["map"] = {"riskmap_stage": "<script>", "riskmap_token": "t2"}
    app.run()
    assert not app.exception and app.sidebar.selectbox(key="stage").value == "recap"
    app.sidebar.selectbox(key="stage").set_value("campaign").run()


def test_english_switch(app):
    app.sidebar.radio(key="lang").set_value("en").run()
    assert app.title[0].value == "Pilkada Security Risk Map"
    assert "Campaign" in _map_args(app)["script"]
    app.sidebar.radio(key="lang").set_value("id").run()


def test_explanation_for_a_picked_village(app):
    code = "53.71.01.1001"
    app.session_state["selected"] = f"village:{code}"
    app.run()
    assert not app.exception
    tables = [df.value for df in app.dataframe]
    factors = next(t for t in tables if "Faktor" in t.columns)
    assert set(factors["Faktor"]) >= {"Insiden di kelurahan", "Insiden di kelurahan sekitar"}
    assert factors["Porsi"].sum() == pytest.approx(1.0, abs=0.02)
    assert any("Namosain" in m.value for m in app.markdown)


def test_the_picker_lists_villages_then_the_chosen_villages_tps_riskiest_first(app):
    """Issue 12: one box of every village and TPS was 0.4 MB at province size; now a village, then its TPS."""
    from riskmap import pipeline

    result = pipeline.run()
    app.session_state["selected"] = ""
    app.run()
    boxes = [b for b in app.selectbox if str(b.key).startswith("pick_")]
    assert [b.label for b in boxes] == ["Klik kelurahan atau TPS di peta, atau pilih:"]  # no TPS box yet
    riskiest = result.villages.sort_values("risk_campaign", ascending=False)["village_code"].tolist()
    assert boxes[0].options[1:] == [
        f"{n} ({c})"
        for c, n in zip(riskiest, result.villages.set_index("village_code").loc[riskiest, "village_name"], strict=True)
    ]
    village = next(c for c in riskiest if (result.tps["village_code"] == c).sum() >= 2)
    boxes[0].set_value(village).run()
    assert not app.exception and app.session_state["selected"] == f"village:{village}"
    tps_box = next(b for b in app.selectbox if str(b.key).startswith("pick_tps_"))
    assert tps_box.label == "TPS di kelurahan/desa ini:" and tps_box.value == ""
    mine = result.tps[result.tps["village_code"] == village].sort_values("risk_campaign", ascending=False)
    assert tps_box.options == ["(seluruh kelurahan/desa)", *[f"TPS {t}" for t in mine["tps_id"]]]
    tps_box.set_value(str(mine["tps_id"].iloc[0])).run()
    assert not app.exception and app.session_state["selected"] == f"tps:{mine['tps_id'].iloc[0]}"
    assert any(
        f"TPS {mine['tps_number'].iloc[0]}" in m.value or str(mine["tps_id"].iloc[0]) in m.value for m in app.markdown
    )
    # a TPS clicked on the map shows its village in the first box and itself in the second
    other = result.tps[result.tps["village_code"] != village].iloc[0]
    app.session_state["selected"] = f"tps:{other['tps_id']}"
    app.run()
    assert not app.exception
    assert (
        next(b for b in app.selectbox if str(b.key).startswith("pick_") and "tps" not in str(b.key)).value
        == (other["village_code"])
    )
    assert next(b for b in app.selectbox if str(b.key).startswith("pick_tps_")).value == str(other["tps_id"])
    app.session_state["selected"] = ""
    app.run()


def _bad_upload_script() -> None:
    from pathlib import Path
    from tempfile import mkdtemp

    from riskmap.app import data, main

    folder = Path(mkdtemp())
    bad = folder / "desa_rusak.geojson"
    bad.write_text("{ ini bukan geojson")

    def fake_upload(files):  # the file a user would have uploaded
        return data.Source(
            paths=(("villages", str(bad)), ("tps", None), ("incidents", None), ("posts", None)), key="bad", demo=False
        )

    real, data.upload_source = data.upload_source, fake_upload
    try:
        main.main()
    finally:  # AppTest shares this process's modules with the other tests
        data.upload_source = real


def test_bad_upload_shows_message_and_keeps_previous_data():
    at = AppTest.from_function(_bad_upload_script, default_timeout=120).run()
    assert not at.exception
    at.sidebar.radio(key="source").set_value("upload").run()
    assert not at.exception
    assert at.error, "an error message is shown"
    msg = _shown(at.error[0].value)  # the Markdown source has its punctuation escaped
    assert "desa_rusak.geojson" in msg and "QGIS" in msg
    assert "Traceback" not in msg
    assert any("sebelumnya" in i.value for i in at.info)  # previous (demo) data stays
    assert _map_args(at)["script"]


def test_print_button_makes_the_pdf_of_the_current_view(app):
    app.sidebar.selectbox(key="stage").set_value("voting").run()
    app.button(key="print_pdf").click().run()
    assert not app.exception
    stage, pdf = app.session_state["print_pdf_bytes"]
    assert stage == "voting" and pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000


def test_deployment_view(app):
    from riskmap import deploy, pipeline

    app.sidebar.selectbox(key="stage").set_value("voting").run()
    app.sidebar.radio(key="page").set_value("deploy").run()
    assert not app.exception
    assert "Penempatan Personel" in [t.value for t in app.title]
    app.radio(key="dep_mode").set_value("max").run()
    assert not app.exception
    assert any("terbukti optimal" in c.value for c in app.caption)
    assert any("Lokasi calon pos: 68 (pos polisi dan titik tengah kelurahan/desa)" in c.value for c in app.caption)
    app.number_input(key="dep_police").set_value(100).run()
    assert not app.exception
    assert any("100 / 326" in m.value for m in app.markdown)  # 100 police of the 326 the guard groups need
    app.number_input(key="dep_police").set_value(400).run()
    assert not app.exception
    # the page's numbers are the plan's: the same plan the CLI writes and the printer prints (tests/test_deploy.py)
    plan = deploy.plan(
        pipeline.run(),
        "voting",
        available_police=400,
        placement=deploy.PlacementRequest(10, 2000.0),
        time_limit_s=20.0,
    )
    assert any(f"{plan.summary['police']['assigned']} / 326" in m.value for m in app.markdown)
    tables = [df.value for df in app.dataframe]
    summary = next(t for t in tables if "Polisi dibutuhkan kelompok jaga" in t.index)
    assert summary.equals(deploy.summary_table(plan.summary, "id").astype(str))
    assert not [r for r in summary.index if "_" in r]  # no snake_case row such as police_required_by_groups
    reserves = next(t for t in tables if "jumlah skor TPS dalam jangkauan" in t.columns)
    assert len(reserves) == len(plan.reserves) > 0  # police beyond the patterns become reserve teams
    placed = next(t for t in tables if "TPS terjangkau" in t.columns)
    assert sorted(placed["lokasi"]) == sorted(plan.placed_posts["name"])
    per_kec = next(t for t in tables if "polisi ditugaskan" in t.columns)
    assert per_kec["polisi ditugaskan"].tolist() == plan.per_district["police"].tolist()
    app.button(key="dep_print").click().run()
    assert not app.exception
    key, lang, pdf = app.session_state["dep_pdf"]
    assert pdf.startswith(b"%PDF") and (key, lang) == (plan.key, "id")
    assert any(b.label == "Unduh PDF" for b in app.get("download_button"))
    # issue 12, defect 11: the PDF of the voting plan is not offered for the counting stage
    app.sidebar.selectbox(key="stage").set_value("counting").run()
    assert not app.exception
    assert not any(b.label == "Unduh PDF" for b in app.get("download_button"))
    app.radio(key="dep_mode").set_value("none").run()
    app.number_input(key="dep_police").set_value(0).run()
    app.sidebar.radio(key="page").set_value("risk").run()


def test_deployment_tables_for_campaign_and_recap_are_indonesian(app):
    """Issue 12, defect 5: the recap venue table showed ``name``, ``kind`` and "kecamatan interior point"."""
    app.sidebar.radio(key="page").set_value("deploy").run()
    app.sidebar.selectbox(key="stage").set_value("recap").run()
    assert not app.exception
    venues = app.dataframe[0].value
    assert {"tempat rekapitulasi", "jenis", "kecamatan", "letak", "polisi disarankan"} <= set(venues.columns)
    assert not {"name", "kind", "placed", "geometry"} & set(venues.columns)
    assert set(venues["jenis"]) == {"KPU kabupaten/kota", "PPK (kecamatan)"}  # the demo's election offices
    app.sidebar.selectbox(key="stage").set_value("campaign").run()
    assert not app.exception
    priorities = app.dataframe[0].value
    assert list(priorities.columns)[:2] == ["peringkat", "kode"] and "sel padat insiden (500 m)" in priorities
    app.sidebar.selectbox(key="stage").set_value("voting").run()
    app.sidebar.radio(key="page").set_value("risk").run()


# --- hostile input (issue 9): Markdown, tracebacks, uploads, tiles, filters ----------------------------------------

HOSTILE_MD = [
    "![i](http://127.0.0.2/x.png)",
    "[l](javascript:alert(1))",
    ":red[x]",
    "$x$",
    ":smile:",
    "**b** _i_ `c` <b>h</b> # h",
    "a\nb\n\n# heading",
]


@pytest.mark.parametrize("text", HOSTILE_MD)
def test_md_escape_leaves_no_markdown(text):
    from riskmap.app import md_escape

    out = md_escape(text)
    assert _shown(out) == text.replace("\n\n", " ").replace("\n", " ")
    # every punctuation character is escaped: no unescaped Markdown syntax character is left
    assert not re.search(r"(?<!\\)[\[\]()!*_`<>#:$]", out.replace("\\\\", ""))
    assert "\n" not in out
    # autolinks and emoji shortcodes act on the text itself: an invisible word joiner follows every ':' and '@'
    assert not re.search(r":(?!\u2060)|@(?!\u2060)|(?i:www)\\\.", out)


def test_md_escape_stops_autolinks_and_shortcodes():
    from riskmap.app import md_escape

    out = md_escape("http://127.0.0.2/x www.evil.org a@evil.org :smile:")
    assert "://" not in out.replace("\\", "") and "www." not in out.replace("\\", "").lower()
    assert _shown(out) == "http://127.0.0.2/x www.evil.org a@evil.org :smile:"


HOSTILE_NAME = "![i](http://127.0.0.2/x.png) [l](javascript:alert(1)) :red[x] $x$ :smile: **b**"


def _hostile_upload_script() -> None:
    import os

    from riskmap.app import data, main

    path = os.environ["RISKMAP_TEST_VILLAGES"]

    def upload(files):  # the file a hostile visitor would have uploaded
        return data.Source(
            paths=(("villages", path), ("tps", None), ("incidents", None), ("posts", None)), key=path, demo=False
        )

    real, data.upload_source = data.upload_source, upload
    try:
        main.main()
    finally:  # AppTest shares this process's modules with the other tests
        data.upload_source = real


def test_explanation_header_shows_a_hostile_name_as_text(tmp_path, monkeypatch):
    from riskmap.app import md_escape
    from riskmap.testing import grid_villages

    villages = grid_villages()
    villages["nama"] = HOSTILE_NAME
    path = tmp_path / "desa.geojson"
    villages.to_file(path)
    monkeypatch.setenv("RISKMAP_TEST_VILLAGES", str(path))
    at = AppTest.from_function(_hostile_upload_script, default_timeout=120)
    at.session_state["source"] = "upload"
    at.session_state["selected"] = f"village:{villages['kode'].iloc[0]}"
    at.run()
    assert not at.exception
    headers = [m.value for m in at.markdown if "·" in m.value]
    assert headers and headers[0].startswith(f"**{md_escape(HOSTILE_NAME)}** — ")
    assert _shown(headers[0]).startswith(f"**{HOSTILE_NAME}** — ")
    for m in at.markdown:
        assert "![i](" not in m.value and "](javascript:" not in m.value


def _crash_script() -> None:
    from riskmap.app import data, main

    def broken(source, overrides):
        raise ValueError("secret detail /srv/riskmap/private/path.py")

    real, data.score_layers = data.score_layers, broken
    try:
        main.main()
    finally:  # AppTest shares this process's modules with the other tests
        data.score_layers = real


def test_unexpected_error_shows_a_plain_message_not_a_traceback():
    at = AppTest.from_function(_crash_script, default_timeout=120).run()
    assert not at.exception, "the error reached Streamlit (it would show a traceback)"
    assert at.error, "a message is shown"
    msg = at.error[0].value
    assert "Terjadi kesalahan tak terduga" in msg
    assert "/srv/riskmap" not in msg and "ValueError" not in msg and "Traceback" not in msg


def test_streamlit_config_hides_error_details_and_developer_menu():
    import tomllib

    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "minimal"


def test_hostile_tile_url_is_refused_and_the_map_still_draws(app):
    app.sidebar.text_input(key="tiles").set_value("javascript:alert(1)//{z}/{x}/{y}").run()
    assert not app.exception
    assert any("tidak dipakai" in w.value for w in app.sidebar.warning)
    script = _map_args(app)["script"]
    assert "tileLayer" not in script and "javascript:" not in script and "rm-village" in script
    app.sidebar.text_input(key="tiles").set_value("https://tile.example.org/{z}/{x}/{y}.png").run()
    assert "tileLayer" in _map_args(app)["script"] and not app.sidebar.warning
    app.sidebar.text_input(key="tiles").set_value("").run()


def test_category_filter_with_tps_does_not_crash(app):
    """pandas 3: ``output array is read-only`` in make_view with a Kategori filter and TPS loaded."""
    from riskmap.config import CATEGORIES

    app.multiselect(key="f_levels").set_value([CATEGORIES[-1]]).run()
    assert not app.exception
    assert not app.error
    assert _map_args(app)["script"]
    app.multiselect(key="f_levels").set_value([]).run()


class _Upload:
    """What Streamlit's file uploader hands over: a name and bytes."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self._data = data

    def getvalue(self) -> bytes:
        return self._data


def test_uploads_go_to_a_private_session_folder_that_is_removed():
    import gc
    import stat

    from riskmap.app.data import UploadFolder, upload_source

    folder = UploadFolder()
    path = folder.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    source = upload_source({"villages": _Upload("desa.geojson", b"{}")}, path.resolve())
    saved = Path(dict(source.paths)["villages"])
    assert saved.parent.parent == path.resolve() and saved.name == "desa.geojson"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    del folder
    gc.collect()
    assert not path.exists(), "the session's folder is deleted with the session"


def test_candidate_sites_can_be_uploaded_and_reach_the_plan(tmp_path):
    """The deployment plan uses a candidate-site file; the app had no upload box for one."""
    from riskmap import demo, pipeline
    from riskmap.app.data import upload_source
    from riskmap.deploy import plan

    sites = "nama,lat,lon\nLapangan A,-10.17,123.60\nAula B,-10.16,123.58\n"
    files = {
        "villages": _Upload("desa.geojson", demo.VILLAGES.read_bytes()),
        "tps": _Upload("tps.csv", demo.TPS.read_bytes()),
        "candidate_sites": _Upload("calon.csv", sites.encode()),
    }
    source = upload_source(files, tmp_path)
    kwargs = {k: v for k, v in source.as_kwargs().items() if v}
    assert Path(kwargs["candidate_sites"]).name == "calon.csv"
    result = pipeline.run(**kwargs)
    assert result.layers.candidate_sites is not None and len(result.layers.candidate_sites) == 2
    assert len(plan(result, "voting").candidate_sites) == 2


def test_upload_never_follows_a_planted_link(tmp_path):
    import hashlib

    from riskmap.app.data import upload_source

    data = b'{"type": "FeatureCollection", "features": []}'
    target = tmp_path / "elsewhere" / "planted.txt"
    sub = tmp_path / "uploads" / hashlib.sha256(data).hexdigest()[:16]
    sub.mkdir(parents=True)
    (sub / "desa.geojson").symlink_to(target)  # dangling: the old code wrote through it
    source = upload_source({"villages": _Upload("desa.geojson", data)}, tmp_path / "uploads")
    saved = Path(dict(source.paths)["villages"])
    assert not target.exists()
    assert not saved.is_symlink() and saved.read_bytes() == data


@pytest.mark.parametrize(
    "name, expected",
    [
        ("x" * 300 + ".geojson", "x" * 92 + ".geojson"),
        ("de\x00sa.geojson", "de_sa.geojson"),
        ("../../etc/desa.geojson", "desa.geojson"),
        ("C:\\Users\\a\\desa.geojson", "desa.geojson"),
        ("..", "upload"),
        ("é" * 150 + ".csv", "é" * 96 + ".csv"),
    ],
)
def test_upload_names_are_made_safe(tmp_path, name, expected):
    from riskmap.app.data import upload_source

    source = upload_source({"villages": _Upload(name, b"{}")}, tmp_path)
    saved = Path(dict(source.paths)["villages"])
    assert saved.name == expected and saved.parent.parent == tmp_path and saved.read_bytes() == b"{}"


def _all_nodes(at: AppTest) -> list:
    nodes = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            walk(child)
        nodes.append(node)

    walk(at._tree)
    return nodes


def test_accuracy_panel_runs_the_backtest_only_when_asked(app):
    app.sidebar.selectbox(key="stage").set_value("voting").run()
    assert "Seberapa akurat?" in [e.label for e in app.expander]
    assert not [t for t in app.text if "Uji mundur" in t.value]  # nothing computed before the button
    app.button(key="acc_run").click().run()
    assert not app.exception
    verdict = next(t.value for t in app.text if t.value.startswith("Uji mundur:"))
    assert "Semua insiden:" in verdict and "Pemungutan Suara:" in verdict and "mengalahkan baseline" in verdict
    assert any(_shown(m.value).startswith("**Teruji pada data ini: 45 % insiden") for m in app.markdown)
    charts = [n for n in _all_nodes(app) if getattr(n, "type", "") == "vega_lite_chart"]
    assert len(charts) == 2  # villages and area axes
    table = next(df.value for df in app.dataframe if "Metode" in df.value.columns)
    assert list(table["Metode"]) == ["riskmap", "hitungan", "hitungan meluruh", "kepadatan kernel", "acak"]
    assert table.loc[table["Metode"] == "acak", "Bagian insiden di 20 % desa teratas"].iloc[0] == "20 %"
    # "all" instead of the stage; then English
    app.radio(key="acc_which").set_value("all").run()
    assert any(_shown(m.value).startswith("**Teruji pada data ini: 46 % insiden") for m in app.markdown)
    app.sidebar.radio(key="lang").set_value("en").run()
    assert any(t.value.startswith("Backtest:") for t in app.text)
    assert "How accurate?" in [e.label for e in app.expander]
    app.sidebar.radio(key="lang").set_value("id").run()


def test_print_button_carries_the_panels_accuracy_line(app):
    import subprocess
    import tempfile

    app.sidebar.selectbox(key="stage").set_value("voting").run()
    app.button(key="print_pdf").click().run()
    assert not app.exception
    _, pdf = app.session_state["print_pdf_bytes"]
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        text = subprocess.run(["pdftotext", fh.name, "-"], capture_output=True, text=True, check=True).stdout
    assert "Teruji pada data ini: 45 % insiden" in " ".join(text.split())


def _no_incidents_script() -> None:
    from riskmap import demo
    from riskmap.app import data, main

    def villages_only():  # the demo's villages and TPS, no incident file
        paths = (("villages", str(demo.VILLAGES)), ("tps", str(demo.TPS)), ("incidents", None), ("posts", None))
        return data.Source(paths=paths, key="no-incidents", demo=False)

    real, data.demo_source = data.demo_source, villages_only
    try:
        main.main()
    finally:
        data.demo_source = real


def test_accuracy_panel_says_plainly_when_there_are_too_few_incidents():
    at = AppTest.from_function(_no_incidents_script, default_timeout=120).run()
    assert not at.exception
    at.button(key="acc_run").click().run()
    assert not at.exception
    shown = [_shown(i.value) for i in at.info]
    assert any("Akurasi tidak dapat diukur pada data ini: tidak ada data insiden" in s for s in shown), shown
    assert not at.error


# --- issue 12: the warnings list, the as-of date, the what-if mark, every text in the page's language ---------------


def _upload_script() -> None:
    import json
    import os

    from riskmap.app import data, main

    paths = json.loads(os.environ["RISKMAP_TEST_UPLOAD"])

    def upload(files):  # the files a planner would have uploaded
        layers = tuple((layer, paths.get(layer)) for layer in data.LAYERS)
        return data.Source(paths=layers, key=json.dumps(paths, sort_keys=True), demo=False)

    real, data.upload_source = data.upload_source, upload
    try:
        main.main()
    finally:  # AppTest shares this process's modules with the other tests
        data.upload_source = real


LATE = "2024-11-20"
"""The date of the incident that lies after the as-of date of the tests below."""


@pytest.fixture(scope="module")
def planner_files(tmp_path_factory) -> dict[str, str]:
    """Nine villages; TPS with two unreadable voter counts (used with a warning) and one without coordinates
    (rejected); incidents of which one is dated after 2024-11-01."""
    from riskmap.testing import grid_villages, incident_rows, tps_rows

    folder = tmp_path_factory.mktemp("planner")
    villages = grid_villages()
    villages.to_file(folder / "desa.geojson")
    tps = tps_rows(villages)
    tps.loc[[1, 4], "dpt"] = "banyak"
    tps.loc[7, "lat"] = ""
    tps.to_csv(folder / "tps.csv", index=False)
    early = [(4, "intimidation", "2024-10-01"), (1, "supporter_clash", "2024-09-15")]
    incident_rows(villages, early).to_csv(folder / "insiden_awal.csv", index=False)
    incident_rows(villages, [*early, (4, "supporter_clash", LATE)]).to_csv(folder / "insiden.csv", index=False)
    return {
        "villages": str(folder / "desa.geojson"),
        "tps": str(folder / "tps.csv"),
        "incidents": str(folder / "insiden.csv"),
        "early": str(folder / "insiden_awal.csv"),
    }


@pytest.fixture()
def planner(planner_files, monkeypatch) -> AppTest:
    monkeypatch.setenv("RISKMAP_TEST_UPLOAD", json.dumps({k: v for k, v in planner_files.items() if k != "early"}))
    at = AppTest.from_function(_upload_script, default_timeout=120)
    at.session_state["source"] = "upload"
    at.run()
    assert not at.exception
    return at


def _table(at: AppTest, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_warnings_list_shows_the_rows_used_with_a_warning(planner):
    """Defect 4: the report said "2 baris dipakai dengan catatan (lihat daftar peringatan)" and showed no list."""
    assert any("2 baris dipakai dengan catatan" in t.value for t in planner.text)
    assert any(i.value.startswith("2 baris dipakai dengan catatan") for i in planner.info)
    assert "**Daftar peringatan: baris yang dipakai dengan catatan**" in [m.value for m in planner.markdown]
    warned = next(
        df.value for df in planner.dataframe if "Jumlah pemilih tidak terbaca" in set(df.value.get("alasan", []))
    )
    assert list(warned.columns) == ["lapisan data", "berkas", "baris", "alasan", "keterangan"]
    tps = warned[warned["lapisan data"] == "TPS"]  # the others are notes about the incident log's layer
    assert list(tps["baris"]) == ["3", "6"] and set(tps["berkas"]) == {"tps.csv"}
    assert set(tps["alasan"]) == {"Jumlah pemilih tidak terbaca"} and all("'banyak'" in m for m in tps["keterangan"])
    assert [b.label for b in planner.get("download_button") if b.key == "dl_warnings"] == [
        "Unduh daftar peringatan (CSV)"
    ]
    rejected = next(df.value for df in planner.dataframe if "Koordinat kosong" in set(df.value.get("alasan", [])))
    assert list(rejected["baris"]) == ["9"]


def test_report_tables_are_the_cores_in_the_pages_language(planner):
    """Defect 5: the counts table had English headers ("layer", "rejected"); reasons showed as codes."""
    counts = _table(planner, "dipakai")
    assert list(counts.columns) == ["lapisan data", "berkas", "format", "dibaca", "dipakai", "ditolak", "catatan"]
    english = {"layer", "file", "schema", "read", "used", "rejected", "warnings", "row", "reason", "message", "kind"}
    code = re.compile(r"^[a-z]+(_[a-z]+)+$")
    for df in planner.dataframe:
        assert not english & set(map(str, df.value.columns)), df.value.columns
        if "alasan" in df.value.columns:
            assert not [r for r in df.value["alasan"] if code.match(str(r))]
    planner.sidebar.radio(key="lang").set_value("en").run()
    assert not planner.exception
    assert list(_table(planner, "used").columns) == ["layer", "file", "format", "read", "used", "rejected", "warnings"]
    assert "**Warnings list: rows used with a warning**" in [m.value for m in planner.markdown]
    reasons = {r for df in planner.dataframe if "reason" in df.value.columns for r in df.value["reason"]}
    assert {"Unreadable voter count", "Missing coordinates"} <= reasons


def _voting_scores(at: AppTest) -> dict[str, float]:
    at.sidebar.selectbox(key="stage").set_value("voting").run()
    assert not at.exception
    table = _table(at, "skor")
    return dict(zip(table["kode"], table["skor"], strict=True))


def test_an_incident_after_the_as_of_date_does_not_change_the_voting_score(planner, planner_files):
    """Defect 6: the app had no as-of date, so incidents after voting day fed the voting score."""
    import datetime as dt

    from riskmap import pipeline

    every = _voting_scores(planner)
    warnings_before = [w.value for w in planner.warning]
    assert any(c.value.startswith("Data per: 2024-11-20 (insiden terakhir)") for c in planner.caption)
    planner.sidebar.date_input(key="as_of").set_value(dt.date(2024, 11, 1)).run()
    assert not planner.exception
    as_of = _voting_scores(planner)
    assert any(c.value.startswith("Data per: 2024-11-01 (tanggal acuan dipilih)") for c in planner.caption)
    without = pipeline.run(
        planner_files["villages"], planner_files["tps"], planner_files["early"], as_of=dt.date(2024, 11, 1)
    )
    expected = dict(zip(without.villages["village_code"], without.villages["risk_voting"], strict=True))
    assert as_of == pytest.approx(expected)
    assert every != pytest.approx(expected)  # the late incident counts when no as-of date is chosen
    late = next(df.value for df in planner.dataframe if "Setelah tanggal acuan" in set(df.value.get("alasan", [])))
    late = late[late["alasan"] == "Setelah tanggal acuan"]
    assert list(late["berkas"]) == ["insiden.csv"] and list(late["baris"]) == ["4"]
    assert f"tanggal {LATE} setelah tanggal acuan 2024-11-01" in late["keterangan"].iloc[0]
    # left out on purpose: told apart from rows rejected for a problem in the file
    assert any(i.value.startswith("1 insiden sesudah tanggal acuan tidak dipakai") for i in planner.info)
    assert [w.value for w in planner.warning] == warnings_before


def _pdf_text(pdf: bytes) -> str:
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        text = subprocess.run(["pdftotext", fh.name, "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def test_a_whatif_change_is_marked_on_the_page_the_legend_and_the_print(app):
    """Defect 9: a what-if change gave no sign that the scores were a simulation."""
    app.sidebar.selectbox(key="stage").set_value("voting").run()
    assert not [w for w in app.warning if w.value.startswith("Simulasi")]
    assert "SIMULASI" not in _map_args(app)["script"]
    app.slider(key="wi_rawan").set_value(30.0).run()
    assert not app.exception
    banner = [w.value for w in app.warning if w.value.startswith("Simulasi: skor dihitung")]
    assert banner and "ambang kategori" in banner[0]
    assert "SIMULASI: bobot/ambang diubah" in _map_args(app)["script"]
    app.button(key="print_pdf").click().run()
    assert not app.exception
    text = _pdf_text(app.session_state["print_pdf_bytes"][1])
    assert "SIMULASI · Peta Kerawanan Tahap Pemungutan Suara" in text
    assert "SIMULASI - skor dihitung dengan bobot/ambang yang diubah" in text
    app.sidebar.radio(key="lang").set_value("en").run()
    assert [w for w in app.warning if w.value.startswith("Simulation: scores computed")]
    assert "SIMULATION: weights/thresholds changed" in _map_args(app)["script"]
    app.sidebar.radio(key="lang").set_value("id").run()
    app.button(key="reset_whatif").click().run()
    assert not [w for w in app.warning if w.value.startswith("Simulasi")]
    assert "SIMULASI" not in _map_args(app)["script"]


def test_whatif_changes_are_in_the_result_and_the_export_metadata():
    """Defect 9: one fact for every face: ``Result.whatif``, and ``simulation`` in the files' metadata."""
    from riskmap import pipeline
    from riskmap.config import load_config
    from riskmap.export import run_metadata

    layers = pipeline.load()
    change = {"scoring": {"thresholds": {"rawan": 30.0, "sangat_rawan": 60.0}}}
    simulated = pipeline.score(layers, load_config(overrides=change), whatif=change)
    plain = pipeline.score(layers, load_config())
    assert simulated.simulated and simulated.whatif == change and not plain.simulated
    meta = run_metadata(simulated.config, simulated.as_of, "voting", whatif=simulated.whatif)
    assert meta["simulation"] is True and json.loads(meta["whatif"]) == change
    assert "simulation" not in run_metadata(plain.config, plain.as_of, "voting", whatif=plain.whatif)


def test_explanation_shows_incident_precision_in_the_pages_language(app):
    """Defect 5: the incidents behind a score showed the precision ids ("region", "exact")."""
    app.sidebar.selectbox(key="stage").set_value("voting").run()
    app.session_state["selected"] = "village:53.71.01.1001"
    app.run()
    incidents = _table(app, "presisi lokasi")
    assert set(incidents["presisi lokasi"]) <= {"tepat", "perkiraan (dekat)", "wilayah"}
    app.session_state["selected"] = ""
    app.run()


# --- one deployment plan for every face (issue 12, build 4 and defect 11) ------------------------------------------


def _deploy_script() -> None:
    import os

    from riskmap import demo
    from riskmap.app import data, main

    def source():  # the demo's layers with the TPS (and candidate sites) of this test
        tps, sites = os.environ["RISKMAP_TEST_TPS"], os.environ.get("RISKMAP_TEST_SITES") or None
        paths = (
            ("villages", str(demo.VILLAGES)),
            ("tps", tps),
            ("incidents", str(demo.INCIDENTS)),
            ("posts", str(demo.POSTS)),
            ("candidate_sites", sites),
        )
        return data.Source(paths=paths, key=f"{tps}:{sites}", demo=False)

    real, data.demo_source = data.demo_source, source
    try:
        main.main()
    finally:  # AppTest shares this process's modules with the other tests
        data.demo_source = real


def _deploy_app(monkeypatch, tps, sites=None, *, stage: str = "voting", mode: str = "max") -> AppTest:
    monkeypatch.setenv("RISKMAP_TEST_TPS", str(tps))
    monkeypatch.setenv("RISKMAP_TEST_SITES", str(sites or ""))
    at = AppTest.from_function(_deploy_script, default_timeout=120)
    at.session_state["page"] = "deploy"
    at.session_state["stage"] = stage
    at.session_state["dep_mode"] = mode
    at.run()
    assert not at.exception
    return at


def _placed(at: AppTest) -> list[str]:
    return sorted(next(df.value for df in at.dataframe if "TPS terjangkau" in df.value.columns)["lokasi"])


def _map_posts(at: AppTest) -> list[str]:
    """The placed posts the deployment map draws: their tooltips, "name (n TPS)"."""
    return sorted(re.findall(r"[^>\"`]{0,60}\(\d+ TPS\)", _map_args(at)["script"]))


def test_a_corrected_upload_with_as_many_tps_gets_a_new_plan(tmp_path, monkeypatch):
    """Issue 12, defect 11: the posts were cached on the configuration digest plus the TPS count."""
    import numpy as np
    import pandas as pd

    from riskmap import demo

    frame = pd.read_csv(demo.TPS, dtype=str)
    first = _map_posts(_deploy_app(monkeypatch, demo.TPS))
    south = np.argsort(frame["lat"].astype(float).to_numpy())[np.arange(len(frame)) % 100]
    frame["lat"], frame["lon"] = frame["lat"].to_numpy()[south], frame["lon"].to_numpy()[south]
    moved = tmp_path / "tps_diperbaiki.csv"  # the same TPS, as many, at other places
    frame.to_csv(moved, index=False)
    second = _map_posts(_deploy_app(monkeypatch, moved))
    assert first and second and second != first


def test_the_app_uses_candidate_sites_and_filters_the_whole_plan(tmp_path, monkeypatch):
    """The app ignored the candidate-site file, and staffed the filtered TPS while it placed posts over all."""
    import pandas as pd

    from riskmap import demo, deploy, pipeline
    from riskmap.view import ViewFilter

    result = pipeline.run()
    district = sorted(set(result.villages["district"]))[1]
    top = result.tps[result.tps["district"] == district].nlargest(6, "risk_voting")
    names = [f"Calon {i}" for i in range(6)]
    pd.DataFrame(
        {"id": [f"C{i}" for i in range(6)], "nama": names, "lat": top.geometry.y, "lon": top.geometry.x}
    ).to_csv(tmp_path / "calon.csv", index=False)
    at = _deploy_app(monkeypatch, demo.TPS, tmp_path / "calon.csv")
    at.sidebar.multiselect(key="f_dist").set_value([district]).run()
    assert not at.exception
    n = int((result.tps["district"] == district).sum())
    assert any(f"Rencana untuk TPS pada tampilan tersaring: {n} TPS." in c.value for c in at.caption)
    assert any("Lokasi calon pos: 6 dari file lokasi calon." in c.value for c in at.caption)
    assert set(_placed(at)) <= set(names)
    covered = next(c.value for c in at.caption if c.value.startswith("Pos ditempatkan"))
    assert f"/{n} " in covered  # posts placed for the same filtered TPS the staffing is for
    per_kec = next(df.value for df in at.dataframe if "polisi ditugaskan" in df.value.columns)
    assert per_kec["kecamatan"].tolist() == [district]
    plan = deploy.plan(
        pipeline.run(demo.VILLAGES, demo.TPS, demo.INCIDENTS, posts=demo.POSTS, candidate_sites=tmp_path / "calon.csv"),
        "voting",
        filters=ViewFilter(districts=(district,)),
        placement=deploy.PlacementRequest(10, 2000.0),
        time_limit_s=20.0,
    )
    assert per_kec["polisi dibutuhkan"].tolist() == plan.per_district["police_required"].tolist()
    assert _placed(at) == sorted(plan.placed_posts["name"])


def test_a_stage_seen_before_does_not_make_its_tables_again(monkeypatch):
    """A stage switch reruns the whole page; a result's tables per stage are made once (they were every time)."""
    from riskmap.app import main
    from riskmap.view import ranked_tps

    made: list[str] = []

    def counted(view, **kwargs):
        made.append(view.stage)
        return ranked_tps(view, **kwargs)

    monkeypatch.setattr(main, "ranked_tps", counted)
    main.data._PER_RESULT.clear()  # the demo's result is cached across the tests of this process, and so are its tables
    at = AppTest.from_file(APP, default_timeout=120).run()
    for stage in ("voting", "campaign", "voting", "campaign", "voting"):
        at.sidebar.selectbox(key="stage").set_value(stage).run()
        assert not at.exception
    assert made == ["campaign", "voting"]


def test_the_page_imports_what_scoring_needs_before_the_first_upload():
    """1.3 s of the first map went to importing scipy.optimize, esda and libpysal once the files were there."""
    import subprocess
    import sys

    code = (
        "import sys, threading, riskmap.app.main as m\n"
        "[t.join() for t in threading.enumerate() if t.name == 'riskmap-warm-up']\n"
        "print(all(name in sys.modules for name in m._WARM_UP))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "True"


def test_the_summary_says_when_there_are_no_incidents(planner_files, monkeypatch):
    """Without an incident file the as-of line read "Data per: -"."""
    monkeypatch.setenv("RISKMAP_TEST_UPLOAD", json.dumps({"villages": planner_files["villages"]}))
    at = AppTest.from_function(_upload_script, default_timeout=120)
    at.session_state["source"] = "upload"
    at.run()
    assert not at.exception
    assert any(c.value.startswith("Data per: tidak ada insiden") for c in at.caption), [c.value for c in at.caption]
