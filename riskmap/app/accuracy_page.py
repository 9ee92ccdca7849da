"""The "Seberapa akurat?" panel: the backtest of the loaded data, asked for by a button.

The backtest itself is the core's (:mod:`riskmap.backtest`), cached per data
and settings in :func:`riskmap.app.data.backtest_layers`; this module only lays
out its capture curves, the table of medians, the verdict and the downloads.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from riskmap import backtest, i18n
from riskmap._errors import RiskmapInputError
from riskmap.app import data, md_escape, tr
from riskmap.export import run_metadata
from riskmap.view import accuracy_line, backtest_meta, csv_bytes

COLOURS = {"riskmap": "#c0392b", "count": "#2471a3", "decay": "#17a589", "kde": "#7d3c98", "random": "#7f8c8d"}
"""Line colour per method (as in the backtest's own chart)."""

TABLE_METRICS = (("hit_rate_villages", 20.0, "acc_hit"), ("pai_area", 5.0, "acc_pai"), ("auc", None, "acc_auc"))


def asked(source: data.Source) -> bool:
    """True once the user asked for the backtest of this data (the panel then stays filled)."""
    return st.session_state.get("acc_asked") == source.key


def accuracy_panel(
    lang: str, source: data.Source, overrides: dict[str, Any], stage: str, *, downloads: bool = True
) -> None:
    """Draw the panel; the backtest runs only after its button is pressed.

    ``downloads`` False (a role without exports) leaves out the backtest files.
    """
    with st.expander(tr("acc_title", lang), expanded=asked(source)):
        st.caption(tr("acc_intro", lang))
        if not asked(source):
            slot = st.empty()
            if not slot.button(tr("acc_run", lang), key="acc_run"):
                return
            slot.empty()  # asked once: the panel stays filled for this data
            st.session_state["acc_asked"] = source.key
        with st.spinner(tr("acc_running", lang)):
            bt = data.backtest_layers(source, overrides, stage)
        if isinstance(bt, RiskmapInputError):
            text = md_escape(accuracy_line(backtest.accuracy(bt, stage), lang))
            if bt.code in backtest.NOT_MEASURABLE:  # the whole message adds the dates and what to do
                text += "\n\n" + md_escape(bt.message(lang))
            st.info(text)
            return
        _results(lang, bt, source, stage, downloads)


def _results(lang: str, bt: backtest.Backtest, source: data.Source, stage: str, downloads: bool = True) -> None:
    config = bt.config
    which = st.radio(
        tr("acc_which", lang),
        list(data.backtest_stages(stage))[::-1],
        format_func=lambda s: backtest.stage_label(config, s, lang),
        horizontal=True,
        key="acc_which",
    )
    st.markdown("**" + md_escape(accuracy_line(backtest.accuracy(bt, which), lang)) + "**")
    st.caption(tr("acc_curves", lang))
    left, right = st.columns(2)
    for where, axis in ((left, "villages"), (right, "area")):
        with where:
            st.vega_lite_chart(_curves(bt, which, axis, lang), _spec(axis, lang), width="stretch")
    st.caption(tr("acc_table", lang))
    st.dataframe(_medians(bt, which, lang), hide_index=True, width="stretch")
    st.caption(tr("acc_verdict", lang))
    st.text(bt.verdict(lang))
    if not downloads:
        return
    payload = bt.to_dict()
    payload["_meta"] = {**run_metadata(config, None), **backtest_meta(bt, data.layers_of(source))}
    c1, c2 = st.columns(2)
    c1.download_button(
        tr("acc_dl_json", lang),
        json.dumps(payload, indent=2, ensure_ascii=False, default=str).encode("utf-8"),
        "backtest.json",
        "application/json",
        key="acc_dl_json",
    )
    c2.download_button(tr("acc_dl_csv", lang), csv_bytes(bt.metrics_), "backtest.csv", "text/csv", key="acc_dl_csv")


def _curves(bt: backtest.Backtest, stage: str, axis: str, lang: str) -> pd.DataFrame:
    """Median capture curve per method (long: x, y, method label) of one stage and axis."""
    cv = bt.results()[1]
    part = cv[(cv["stage"] == stage) & (cv["axis"] == axis)]
    med = part.groupby(["method", "x"], sort=False)["y"].median().reset_index()
    med["method"] = med["method"].map(lambda m: i18n.t("bt_method_" + m, lang))
    return med.dropna(subset=["y"])


def _spec(axis: str, lang: str) -> dict[str, Any]:
    labels = [i18n.t("bt_method_" + m, lang) for m in backtest.METHODS]
    return {
        "height": 340,
        "mark": {"type": "line", "strokeWidth": 2},
        "encoding": {
            "x": {
                "field": "x",
                "type": "quantitative",
                "title": i18n.t("bt_axis_" + axis, lang),
                "axis": {"format": "%"},
                "scale": {"domain": [0, 1]},
            },
            "y": {
                "field": "y",
                "type": "quantitative",
                "title": i18n.t("bt_axis_incidents", lang),
                "axis": {"format": "%"},
                "scale": {"domain": [0, 1]},
            },
            "color": {
                "field": "method",
                "type": "nominal",
                "title": tr("acc_method", lang),
                "scale": {"domain": labels, "range": [COLOURS[m] for m in backtest.METHODS]},
                "legend": {"orient": "bottom", "direction": "horizontal", "columns": 3, "titleOrient": "left"},
            },
            "strokeDash": {
                "field": "method",
                "type": "nominal",
                "scale": {"domain": labels, "range": [[1, 0]] * (len(labels) - 1) + [[5, 4]]},
                "legend": None,
            },
        },
    }


def _medians(bt: backtest.Backtest, stage: str, lang: str) -> pd.DataFrame:
    """Methods x (hit rate 20 % villages, PAI 5 % area, AUC, Brier), medians over the windows, as text."""
    med = bt.summary()
    med = med[med["stage"] == stage]

    def value(method: str, metric: str, k: float | None) -> float:
        sel = (med["method"] == method) & (med["metric"] == metric)
        sel &= med["k"].isna() if k is None else (med["k"] == k)
        v = med.loc[sel, "value"]
        return float(v.iloc[0]) if len(v) else float("nan")

    rows = []
    for method in backtest.METHODS:
        row = {tr("acc_method", lang): i18n.t("bt_method_" + method, lang)}
        for metric, k, label in TABLE_METRICS:
            row[tr(label, lang)] = _fmt(value(method, metric, k), metric)
        row[tr("acc_brier", lang)] = _fmt(value(method, "brier", None), "brier")
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(value: float, metric: str) -> str:
    if not np.isfinite(value):
        return "-"
    if metric.startswith("hit_rate"):
        return f"{value * 100:.0f} %"
    return f"{value:.3f}" if metric == "brier" else f"{value:.2f}"
