"""Fuzz: the stage map renders any name from any file as text, never as template, script or markup.

Invariants (issue 9): ``build_map(...).get_root().render()`` does not crash on
hostile names (``{# x`` must not break Jinja), a template ``Tpl{{ 6*7 }}x``
never renders as ``Tpl42x``, and markup from the input
(``<script>alert(1)``, ``<img src=x onerror=...>``) never appears raw.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import hostile
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskmap import pipeline
from riskmap._errors import RiskmapInputError
from riskmap.mapping import build_map
from riskmap.testing import grid_villages, markup_violations, template_violations
from riskmap.view import make_view

pytestmark = pytest.mark.fuzz

VILLAGES = grid_villages()
_names = st.one_of(
    st.sampled_from(hostile.TEMPLATE_PAYLOADS + hostile.JS_PAYLOADS + hostile.HTML_PAYLOADS), hostile.cells
)


@hostile.scaled(0.3)
@given(
    village_names=st.lists(_names, min_size=1, max_size=9),
    tps_texts=st.lists(_names, max_size=9),
    incident_texts=st.lists(_names, max_size=5),
    stage=st.sampled_from(["campaign", "voting", "counting", "recap"]),
    lang=st.sampled_from(["id", "en"]),
)
def test_map_renders_names_as_text(village_names, tps_texts, incident_texts, stage, lang):
    villages = VILLAGES.copy()
    for k in range(len(villages)):
        name = village_names[k % len(village_names)]
        villages.iloc[k, villages.columns.get_loc("nama")] = f"{name} {k}"
        villages.iloc[k, villages.columns.get_loc("kecamatan")] = name
    tps = hostile.tps_frame(VILLAGES).astype(object)
    for k, text in enumerate(tps_texts):
        tps.iat[k % len(tps), tps.columns.get_loc("alamat")] = text
    incidents = hostile.incidents_frame(VILLAGES).astype(object)
    for k, text in enumerate(incident_texts):
        incidents.iat[k % len(incidents), incidents.columns.get_loc("description")] = text
        incidents.iat[k % len(incidents), incidents.columns.get_loc("source")] = text
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = [
            hostile.villages_file(folder, villages),
            hostile.write_csv(tps, folder / "tps.csv"),
            hostile.write_csv(incidents, folder / "insiden.csv"),
        ]
        inputs = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in paths)
        try:
            result = pipeline.run(*paths)
        except RiskmapInputError:
            return
        html = build_map(make_view(result, stage), result.config, lang=lang).get_root().render()
    assert template_violations(inputs, html) == []
    assert markup_violations(inputs, html) == []
