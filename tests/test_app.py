"""The Streamlit page's wiring, run by AppTest (the real script, no browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parents[1] / "app.py")


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


def test_stage_switch_changes_what_the_map_receives(app):
    before = _map_args(app)["script"]
    app.sidebar.selectbox(key="stage").set_value("recap").run()
    assert not app.exception
    after = _map_args(app)["script"]
    assert before != after
    assert "Rekapitulasi Suara" in after and "Rekapitulasi Suara" not in before
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

    data.upload_source = fake_upload
    main.main()


def test_bad_upload_shows_message_and_keeps_previous_data():
    at = AppTest.from_function(_bad_upload_script, default_timeout=120).run()
    assert not at.exception
    at.sidebar.radio(key="source").set_value("upload").run()
    assert not at.exception
    assert at.error, "an error message is shown"
    msg = at.error[0].value
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
    app.sidebar.selectbox(key="stage").set_value("voting").run()
    app.sidebar.radio(key="page").set_value("deploy").run()
    assert not app.exception
    assert "Penempatan Personel" in [t.value for t in app.title]
    app.radio(key="dep_mode").set_value("max").run()
    assert not app.exception
    assert any("terbukti optimal" in c.value or "batas waktu" in c.value for c in app.caption)
    app.number_input(key="dep_police").set_value(100).run()
    assert not app.exception
    assert any("100 / " in m.value for m in app.markdown)
    app.button(key="dep_print").click().run()
    assert not app.exception
    assert app.session_state["dep_pdf"].startswith(b"%PDF")
    app.sidebar.radio(key="page").set_value("risk").run()
