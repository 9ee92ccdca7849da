"""The Streamlit app's wiring (AppTest runs the real script, no browser)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest


def test_app_opens_on_demo_and_switches_stage():
    at = AppTest.from_file(str(Path(__file__).parents[1] / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert "sintetis" in at.title[0].value
    before = [m.value for m in at.metric]
    assert sum(int(v) for v in before) == 51
    at.sidebar.selectbox[0].set_value("voting").run()
    assert not at.exception
    after = [m.value for m in at.metric]
    assert sum(int(v) for v in after) == 51 and after != before
