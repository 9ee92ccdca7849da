"""riskmap Streamlit app: ``streamlit run app.py``.

A thin face over the core: it loads the embedded demo (or the user's files),
scores it with :mod:`riskmap.pipeline` and shows the results. It computes
nothing of its own.
"""

from __future__ import annotations

import streamlit as st

from riskmap import i18n, pipeline
from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES, load_config

st.set_page_config(page_title="riskmap", layout="wide")


@st.cache_resource(show_spinner=False)
def _demo_result() -> pipeline.Result:
    return pipeline.run()


def main() -> None:
    """Draw the page."""
    lang = st.sidebar.radio("Bahasa / Language", ["id", "en"], format_func={"id": "Indonesia", "en": "English"}.get)
    config = load_config()
    try:
        result = _demo_result()
    except RiskmapInputError as exc:
        st.error(exc.message(lang))
        return
    st.title("riskmap - Kota Kupang (data demo sintetis)" if lang == "id" else "riskmap - Kota Kupang (synthetic demo)")
    stage = st.sidebar.selectbox(
        "Tahap" if lang == "id" else "Stage", config.stages, format_func=lambda s: config.stage_label(s, lang)
    )
    villages = result.villages
    counts = villages[f"level_{stage}"].value_counts()
    cols = st.columns(3)
    for col, cat in zip(cols, CATEGORIES, strict=True):
        col.metric(i18n.t(cat, lang), int(counts.get(cat, 0)))
    table = villages[["village_code", "village_name", "district", f"risk_{stage}", f"level_{stage}"]]
    st.dataframe(table.sort_values(f"risk_{stage}", ascending=False), hide_index=True, width="stretch")
    with st.expander("Laporan pemuatan data" if lang == "id" else "Load report"):
        st.text(result.report.summary(lang))


main()
