"""The planner's page: choose data and stage, read the map, the reasons and the rankings.

Only layout and widgets live here; loading, scoring, filtering, map building
and exports are the core's (:mod:`riskmap.pipeline`, :mod:`riskmap.view`,
:mod:`riskmap.mapping`).
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from riskmap import i18n
from riskmap._errors import RiskmapInputError
from riskmap.app import auth, data, md_escape, tr
from riskmap.app.accuracy_page import accuracy_panel
from riskmap.app.auth import Access
from riskmap.config import CATEGORIES, Config, load_config
from riskmap.export import XLSX_MAX_ROWS, XLSX_MIME, geojson_bytes, plain_table, run_metadata, xlsx_bytes
from riskmap.mapping import alert_markers, build_map, check_tiles_url, overview_map, stage_setter
from riskmap.pipeline import Result
from riskmap.view import (
    ViewFilter,
    csv_bytes,
    escalation,
    make_view,
    natural_key,
    ranked_tps,
    ranked_villages,
    shows_overview,
    stage_matrix,
)

MAP_HEIGHT = 620

_log = logging.getLogger(__name__)

_WARM_UP = ("scipy.optimize", "scipy.stats", "libpysal.graph", "esda", "riskmap.glm", "riskmap.printing")
"""Modules the first scoring (1.3 s on this machine) and the first print (matplotlib, 1 s) import: imported
while the user still chooses files, not while the first map is sent."""


def _warm_up() -> None:
    for name in _WARM_UP:
        try:
            importlib.import_module(name)
        except Exception:  # the scoring imports it again and reports what is wrong
            _log.exception("warm-up import of %s failed", name)
    # the modules, classes and functions imported so far live as long as the server: the garbage collector
    # no longer walks them at each full collection (0.12 s each, twice during a province's first map)
    gc.collect()
    gc.freeze()


threading.Thread(target=_warm_up, name="riskmap-warm-up", daemon=True).start()

_T = TypeVar("_T")


_TABLES_PER_RESULT = 64
"""Tables kept per scoring result (stages x filters x languages)."""


def _memo(result: Result, key: tuple[Any, ...], make: Callable[[], _T]) -> _T:
    """A table of ``result`` made once per ``key`` (:func:`riskmap.app.data.per_result`).

    A stage switch reruns the whole page: the tables of a result and stage it has shown before are not made
    again (0.2-0.3 s of the page's 0.3-0.5 s at 3,400 villages and 10,000 TPS).
    """
    return data.per_result(result, "tables", key, make, _TABLES_PER_RESULT)


def _sidebar_data(lang: str, access: Access, store: Any) -> data.Source | None:
    """The data to show: the demo, or (planners only: no upload widget is sent to the others) uploaded files."""
    if not access.may("upload"):
        return data.demo_source()
    choice = st.sidebar.radio(tr("data", lang), ["demo", "upload"], format_func=lambda c: tr(c, lang), key="source")
    if choice == "demo":
        return data.demo_source()
    files = {
        layer: st.sidebar.file_uploader(tr(f"up_{layer}", lang), type=data.ACCEPT[layer], key=f"up_{layer}")
        for layer in data.LAYERS
    }
    source = data.upload_source(files)
    if source is not None and store is not None and st.session_state.get("_audited_upload") != source.key:
        st.session_state["_audited_upload"] = source.key
        _audit(store, access, "upload", {"files": [p.rsplit("/", 1)[-1] for _, p in source.paths if p]})
    return source


def _audit(store: Any, access: Access, action: str, detail: dict[str, Any]) -> None:
    """Record ``action`` in the audit log (a failure goes to the server log; the action stands)."""
    if store is None:
        return
    try:
        store.audit(access.author, action, detail)
    except Exception:
        _log.exception("audit of %s failed", action)


def _default_whatif(config: Config, stage: str) -> dict[str, Any]:
    sc = config.data["scoring"]
    return {
        "village": dict(sc["village_weights"][stage]),
        "tps": dict(sc["tps_weights"][stage]),
        "rawan": float(sc["thresholds"]["rawan"]),
        "sangat_rawan": float(sc["thresholds"]["sangat_rawan"]),
        "half_life": int(config.data["incidents"]["half_life_days"]),
    }


def _sidebar_whatif(lang: str, stage: str, defaults: Config) -> dict[str, Any]:
    """What-if controls for the current stage; returns configuration overrides."""
    base = _default_whatif(defaults, stage)
    with st.sidebar.expander(tr("whatif", lang)):
        if st.button(tr("reset", lang), key="reset_whatif"):
            for key in [k for k in st.session_state if str(k).startswith("wi_")]:
                del st.session_state[key]
        st.caption(tr("village_weights", lang))
        village = {
            f: st.slider(i18n.t("factor_" + f, lang), 0.0, 1.0, float(w), 0.05, key=f"wi_v_{stage}_{f}")
            for f, w in base["village"].items()
        }
        st.caption(tr("tps_weights", lang))
        tps = {
            f: st.slider(i18n.t("factor_" + f, lang), 0.0, 1.0, float(w), 0.05, key=f"wi_t_{stage}_{f}")
            for f, w in base["tps"].items()
        }
        rawan = st.slider(tr("th_rawan", lang), 0.0, 100.0, base["rawan"], 1.0, key="wi_rawan")
        sangat = st.slider(tr("th_sangat", lang), rawan, 100.0, max(base["sangat_rawan"], rawan), 1.0, key="wi_sangat")
        half_life = st.number_input(tr("half_life", lang), 30, 3650, base["half_life"], 30, key="wi_half")
    overrides: dict[str, Any] = {}
    if village != base["village"]:
        overrides.setdefault("scoring", {}).setdefault("village_weights", {})[stage] = village
    if tps != base["tps"]:
        overrides.setdefault("scoring", {}).setdefault("tps_weights", {})[stage] = tps
    if (rawan, sangat) != (base["rawan"], base["sangat_rawan"]):
        overrides.setdefault("scoring", {})["thresholds"] = {"rawan": rawan, "sangat_rawan": sangat}
    if int(half_life) != base["half_life"]:
        overrides["incidents"] = {"half_life_days": int(half_life)}
    return overrides


def _sidebar_as_of(lang: str, defaults: Config) -> dt.date | None:
    """The as-of day the planner picked (only incidents up to it count); None = every incident."""
    from riskmap.io._dates import config_window

    first, last = config_window(defaults.data)
    picked = st.sidebar.date_input(
        tr("as_of_pick", lang),
        value=None,
        min_value=first,
        max_value=last,
        format="YYYY-MM-DD",
        help=tr("as_of_help", lang),
        key="as_of",
    )
    return picked if isinstance(picked, dt.date) else None


def _whatif_banner(lang: str, result: Result) -> None:
    """Say plainly, above every page, that the scores are a simulation (:attr:`Result.whatif`)."""
    if not result.simulated:
        return
    config, changes = result.config, []
    scoring = result.whatif.get("scoring", {})
    for kind in ("village_weights", "tps_weights"):
        for stage in scoring.get(kind, {}):
            changes.append(f"{tr(kind, lang)} ({config.stage_label(stage, lang)})")
    if "thresholds" in scoring:
        changes.append(tr("whatif_thresholds", lang))
    if "half_life_days" in result.whatif.get("incidents", {}):
        changes.append(tr("half_life", lang))
    st.warning(tr("whatif_banner", lang).format(changes=", ".join(changes)))


def _sidebar_area(lang: str, result: Result) -> tuple[str, ...]:
    """For data shown aggregated (``[display] aggregate_above_villages``), the kab/kota opened; () = the overview.

    A click on a kab/kota of the overview map arrives as ``_drill_regency``
    (set before this widget exists, so it may set the widget's value).
    """
    if not shows_overview(result.villages, result.config):
        return ()
    regencies = sorted(set(result.villages["regency"].astype(str)), key=natural_key)
    drill = st.session_state.pop("_drill_regency", None)
    if drill in regencies:
        st.session_state["f_regency"] = drill
    picked = st.sidebar.selectbox(
        tr("regency", lang), ["", *regencies], format_func=lambda r: r or tr("overview_all", lang), key="f_regency"
    )
    if not picked:
        st.sidebar.info(tr("overview_note", lang).format(n=len(result.villages)))
        return ()
    st.sidebar.button(tr("overview_back", lang), on_click=_back_to_overview, key="overview_back")
    return (picked,)


def _back_to_overview() -> None:
    st.session_state["f_regency"] = ""


def _sidebar_filters(lang: str, result: Result) -> ViewFilter:
    config = result.config
    regencies = _sidebar_area(lang, result)
    in_area = result.villages if not regencies else result.villages[result.villages["regency"].isin(regencies)]
    with st.sidebar.expander(tr("filters", lang), expanded=False):
        districts = st.multiselect(tr("districts", lang), sorted(set(in_area["district"])), key="f_dist")
        levels = st.multiselect(
            tr("levels", lang), list(CATEGORIES), format_func=lambda c: i18n.t(c, lang), key="f_levels"
        )
        types = st.multiselect(
            tr("types", lang), list(config.taxonomy), format_func=lambda k: config.type_label(k, lang), key="f_types"
        )
        inc = result.layers.incidents
        date_from = date_to = None
        if inc is not None and len(inc):
            lo, hi = inc["date"].min().date(), inc["date"].max().date()
            picked = st.date_input(tr("dates", lang), (lo, hi), min_value=lo, max_value=hi, key="f_dates")
            if isinstance(picked, tuple) and len(picked) == 2:
                date_from, date_to = picked
        st.caption(tr("filter_note", lang))
    return ViewFilter(
        districts=tuple(districts),
        levels=tuple(levels),
        types=tuple(types),
        date_from=date_from,
        date_to=date_to,
        regencies=regencies,
    )


_NOTE_LISTS: dict[str, tuple[str, str, str]] = {
    "rejected": ("rejected", "ditolak", "baris_ditolak"),
    "warning": ("warnings", "catatan", "baris_dengan_catatan"),
}
"""The load report's two lists, rows rejected and rows used with a warning (the warnings list): note kind ->
(name in the i18n keys ``app.report_<name>_title``, ``app.download_<name>[_xlsx]`` and the widget keys,
Excel sheet, file name)."""


def _report(lang: str, result: Result, access: Access) -> None:
    """The load report: counts per layer, the summary, the rejected rows and the warnings list, with downloads.

    Every table is the core's (:meth:`riskmap.io.report.LoadReport.counts_table` and ``notes_table``):
    headers, layers and reasons in ``lang``.
    """
    report = result.report
    lists = _memo(
        result,
        ("notes", lang),
        lambda: {
            kind: report.notes_table(lang, kind=kind).drop(columns=i18n.t("col.kind", lang)) for kind in _NOTE_LISTS
        },
    )
    # incidents after the as-of date are left out on purpose: counted apart, not as a problem with the files
    n_later = sum(1 for r in report.layers.values() for note in r.rejected if note.reason == "after_as_of")
    n_rejected = sum(len(r.rejected) for r in report.layers.values()) - n_later
    n_warned = sum(len({w.row for w in r.warnings if w.row is not None}) for r in report.layers.values())
    if n_rejected:
        st.warning(f"{n_rejected} {tr('rejected_rows', lang)}")
    if n_later:
        st.info(f"{n_later} {tr('later_rows', lang)}")
    if n_warned:
        st.info(f"{n_warned} {tr('warned_rows', lang)}")
    with st.expander(tr("report", lang), expanded=False):
        st.dataframe(
            _memo(result, ("counts", lang), lambda: report.counts_table(lang)), hide_index=True, width="stretch"
        )
        st.text(_memo(result, ("summary", lang), lambda: report.summary(lang)))
        for kind, (what, sheet, name) in _NOTE_LISTS.items():
            table = lists[kind]
            if not len(table):
                continue
            st.markdown(f"**{tr(f'report_{what}_title', lang)}**")
            st.dataframe(table, hide_index=True, width="stretch")
            if access.may("export"):
                label = tr(f"download_{what}", lang)
                st.download_button(label, csv_bytes(table), f"{name}.csv", "text/csv", key=f"dl_{what}")
                _xlsx_button(st, lang, result, f"download_{what}_xlsx", sheet, table, name, f"dl_{what}_x")


def _explanation(lang: str, result: Result, stage: str) -> None:
    """Why a village or TPS has its score: picked on the map or in two boxes (village, then one of its TPS).

    The boxes list the villages, then the chosen village's TPS, riskiest first: a province's 3,400
    villages and 10,000 TPS in one box were 0.4 MB for the browser to lay out before the map.
    """
    st.subheader(tr("explain", lang))
    villages, tps = result.villages, result.tps
    selected = st.session_state.get("selected", "")
    kind, _, ident = selected.partition(":")
    tps_village = _memo(
        result,
        ("tps_village",),
        lambda: {} if tps is None else dict(zip(tps["tps_id"].astype(str), tps["village_code"], strict=True)),
    )
    options = _memo(
        result,
        ("pick_villages", stage),
        lambda: ["", *villages.sort_values(f"risk_{stage}", ascending=False)["village_code"]],
    )
    names = _memo(
        result, ("names",), lambda: dict(zip(villages["village_code"], villages["village_name"], strict=True))
    )
    if kind == "tps" and ident in tps_village:  # a TPS: its village in the first box (none if outside every one)
        village = tps_village[ident] if tps_village[ident] in options else ""
    elif kind == "village" and ident in options:
        village = ident
    else:
        selected = village = ""
    picked = st.selectbox(
        tr("pick", lang),
        options,
        index=options.index(village),
        format_func=lambda c: f"{names.get(c, c)} ({c})" if c else tr("none", lang),
        key=f"pick_{village}",
    )
    if picked != village:  # another village chosen in the box
        selected, village = (f"village:{picked}" if picked else ""), picked
        st.session_state["selected"] = selected
    if tps is not None and village:
        in_village = _memo(
            result,
            ("pick_tps", stage, village),
            lambda: [
                "",
                *tps[tps["village_code"] == village]
                .sort_values(f"risk_{stage}", ascending=False)["tps_id"]
                .astype(str),
            ],
        )
        if len(in_village) > 1:
            current = ident if selected.startswith("tps:") and ident in in_village else ""
            chosen = st.selectbox(
                tr("pick_tps", lang),
                in_village,
                index=in_village.index(current),
                format_func=lambda t: f"TPS {t}" if t else tr("pick_tps_none", lang),
                key=f"pick_tps_{selected}",
            )
            if chosen != current:
                selected = f"tps:{chosen}" if chosen else f"village:{village}"
                st.session_state["selected"] = selected
    if not selected:
        return
    kind, ident = selected.split(":", 1)
    ex = result.model.explain(ident, stage, unit=kind, lang=lang)
    color = dict(zip(CATEGORIES, ("green", "orange", "red"), strict=True))[ex.level]
    st.markdown(f"**{md_escape(ex.name)}** — :{color}[**{ex.score:.0f}** · {i18n.t(ex.level, lang)}]")
    fac = ex.factors[["label", "points", "share"]].rename(
        columns={"label": tr("factor", lang), "points": tr("points", lang), "share": tr("share", lang)}
    )
    st.dataframe(
        fac,
        hide_index=True,
        width="stretch",
        column_config={tr("share", lang): st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
    )
    st.caption(tr("behind", lang))
    if len(ex.incidents):
        inc = ex.incidents.copy()
        inc["type"] = inc["type"].map(lambda k: result.config.type_label(k, lang))
        if "precision" in inc:
            inc["precision"] = inc["precision"].map(lambda p: i18n.t(f"precision_{p}", lang))
        inc["date"] = inc["date"].dt.date
        inc = inc.drop(columns=["incident_id"]).rename(
            columns={c: tr("col_" + c, lang) for c in inc.columns if "app.col_" + c in i18n.MESSAGES}
        )
        st.dataframe(inc, hide_index=True, width="stretch")
    else:
        st.caption(tr("no_incidents", lang))


def _select_from_click(clicked: Any) -> None:
    """Remember the village or TPS the user clicked on the map."""
    if isinstance(clicked, dict):
        props = clicked.get("properties") or {}
        kind, ident = props.get("kind"), props.get("id")
        if kind == "regency" and ident:  # a kab/kota of the overview: open its villages
            st.session_state["_drill_regency"] = ident
        elif kind in ("village", "tps") and ident:
            st.session_state["selected"] = f"{kind}:{ident}"


def _tables(lang: str, result: Result, view: Any, stage: str, accuracy: Any = None, exports: Any = None) -> None:
    """Rankings, escalation; the downloads tab (exports and print) only when ``exports`` (a planner's audit hook)."""
    names = [tr("rank_villages", lang), tr("rank_tps", lang), tr("between", lang)]
    tabs = st.tabs(names + ([tr("downloads", lang)] if exports is not None else []))
    shown = (stage, repr(view.filters), lang)
    with tabs[0]:
        _long_table(result, _memo(result, ("rank_v", *shown), lambda: ranked_villages(view, lang=lang)))
    with tabs[1]:
        _long_table(result, _memo(result, ("rank_t", *shown), lambda: ranked_tps(view, lang=lang)))
    with tabs[2]:
        _escalation_tab(lang, result)
    if exports is None:
        return
    meta = run_metadata(result.config, result.as_of, stage, method=result.method, whatif=result.whatif)
    with tabs[3]:
        c1, c2 = st.columns(2)
        c1.download_button(
            tr("dl_villages_geojson", lang),
            lambda: geojson_bytes(view.villages, meta),  # made when clicked: not at every stage switch
            f"kelurahan_{stage}.geojson",
            "application/geo+json",
            key="dl_v_geojson",
            on_click=exports,
            args=(f"kelurahan_{stage}.geojson",),
        )
        c1.download_button(
            tr("dl_villages_csv", lang),
            lambda: csv_bytes(view.villages),
            f"kelurahan_{stage}.csv",
            "text/csv",
            key="dl_v_csv",
            on_click=exports,
            args=(f"kelurahan_{stage}.csv",),
        )
        _xlsx_button(
            c1,
            lang,
            result,
            "dl_villages_xlsx",
            "kelurahan",
            view.villages,
            f"kelurahan_{stage}",
            "dl_v_x",
            stage,
            exports,
        )
        if view.tps is not None:
            c2.download_button(
                tr("dl_tps_geojson", lang),
                lambda: geojson_bytes(view.tps, meta),
                f"tps_{stage}.geojson",
                "application/geo+json",
                key="dl_t_geojson",
                on_click=exports,
                args=(f"tps_{stage}.geojson",),
            )
            c2.download_button(
                tr("dl_tps_csv", lang),
                lambda: csv_bytes(view.tps),
                f"tps_{stage}.csv",
                "text/csv",
                key="dl_t_csv",
                on_click=exports,
                args=(f"tps_{stage}.csv",),
            )
            _xlsx_button(c2, lang, result, "dl_tps_xlsx", "tps", view.tps, f"tps_{stage}", "dl_t_x", stage, exports)
        _print_button(lang, result, view, stage, accuracy, exports)


def _escalation_tab(lang: str, result: Result) -> None:
    """Villages whose category rises between two stages, and the villages per category and stage."""
    config = result.config
    c1, c2 = st.columns(2)
    first = c1.selectbox(
        tr("from", lang), config.stages, index=0, format_func=lambda s: config.stage_label(s, lang), key="esc_from"
    )
    last = c2.selectbox(
        tr("to", lang),
        config.stages,
        index=len(config.stages) - 1,
        format_func=lambda s: config.stage_label(s, lang),
        key="esc_to",
    )
    table = _memo(result, ("escalation", first, last, lang), lambda: escalation(result, first, last, lang=lang))
    n_up = int(table.iloc[:, -1].sum())
    st.write(f"**{n_up}** {tr('escalating', lang)}")
    _long_table(result, table)
    st.caption(tr("matrix", lang))
    st.dataframe(_memo(result, ("matrix", lang), lambda: _stage_matrix(result, lang)), width="stretch")


def _stage_matrix(result: Result, lang: str) -> pd.DataFrame:
    """Villages per category and stage, with stage and category names in ``lang``."""
    matrix = stage_matrix(result)
    matrix.index = [result.config.stage_label(s, lang) for s in matrix.index]
    matrix.columns = [i18n.t(c, lang) for c in matrix.columns]
    return matrix


def _long_table(result: Result, table: pd.DataFrame) -> None:
    """A table that may run to thousands of rows (rankings, escalation).

    Above ``[display] lazy_table_above_rows`` rows it is sent a page at a time (Streamlit's ``lazy``: rows
    are fetched as the user scrolls or sorts), so it does not hold up the map.
    """
    st.dataframe(table, hide_index=True, width="stretch", lazy=sent_in_pages(result.config, len(table)))


def sent_in_pages(config: Config, rows: int) -> bool:
    """Whether a table of ``rows`` rows goes to the browser a page at a time (``[display] lazy_table_above_rows``)."""
    return rows > int(config.data["display"]["lazy_table_above_rows"])


def _xlsx_button(
    where: Any,
    lang: str,
    result: Result,
    label: str,
    sheet: str,
    frame: pd.DataFrame,
    name: str,
    key: str,
    stage: str | None = None,
    audit: Any = None,
) -> None:
    """An Excel download of one table, made when clicked; disabled (with the reason) when it cannot fit.

    ``audit(file_name)`` is called when it is clicked (the export is recorded).
    """
    if len(frame) >= XLSX_MAX_ROWS:
        why = RiskmapInputError("xlsx_too_many_rows", sheet=sheet, rows=len(frame), limit=XLSX_MAX_ROWS - 1)
        where.download_button(tr(label, lang), b"", f"{name}.xlsx", disabled=True, help=why.message(lang), key=key)
        return
    meta = run_metadata(result.config, result.as_of, stage, method=result.method, whatif=result.whatif)
    where.download_button(
        tr(label, lang),
        lambda: xlsx_bytes({sheet: plain_table(frame)}, meta=meta, lang=lang),
        f"{name}.xlsx",
        XLSX_MIME,
        key=key,
        on_click=audit or "rerun",
        args=(f"{name}.xlsx",) if audit else None,
    )


def _print_button(lang: str, result: Result, view: Any, stage: str, accuracy: Any = None, audit: Any = None) -> None:
    """Print the current stage and filter to PDF (the same file as ``riskmap print``).

    ``accuracy()`` gives the backtest for the page's accuracy line: the one the
    "Seberapa akurat?" panel computed (cached), else it is computed here.
    """
    if st.button(tr("print", lang), key="print_pdf"):
        from riskmap.backtest import accuracy as summary
        from riskmap.printing import PrintOptions, pdf_bytes  # matplotlib: 1 s to import, only when printing

        if audit is not None:
            audit(f"peta_kerawanan_{stage}.pdf", "print")
        with st.spinner(tr("printing", lang)):
            measured = {stage: summary(accuracy(), stage)} if accuracy is not None else None
            opts = PrintOptions(stages=[stage], lang=lang, tables=True, filters=view.filters, accuracy=measured)
            st.session_state["print_pdf_bytes"] = (stage, pdf_bytes(result, opts))
    printed = st.session_state.get("print_pdf_bytes")
    if printed and printed[0] == stage:
        st.download_button(
            tr("dl_pdf", lang), printed[1], f"peta_kerawanan_{stage}.pdf", "application/pdf", key="dl_pdf"
        )


def _tiles(lang: str) -> str | None:
    """The tile URL typed in the sidebar, if it is one (otherwise a warning and no tiles)."""
    typed = st.sidebar.text_input(
        tr("tiles", lang), os.environ.get("RISKMAP_TILES", ""), help=tr("tiles_help", lang), key="tiles"
    )
    try:
        return check_tiles_url(typed)
    except RiskmapInputError as exc:
        st.sidebar.warning(md_escape(exc.message(lang)) + " " + tr("tiles_refused", lang))
        return None


def main() -> None:
    """Draw the page; an unexpected error shows a plain message (its details go to the server log only)."""
    st.set_page_config(page_title="riskmap", page_icon=None, layout="wide")
    lang = st.session_state.get("lang", "id")
    try:
        _page()
    except Exception:  # Streamlit's rerun/stop are BaseExceptions and pass through
        _log.exception("riskmap page failed")
        st.error(tr("unexpected_error", lang if lang in ("id", "en") else "id"))


_CHOICE_KEYS = (
    "source",
    "stage",
    "page",
    "f_levels",
    "f_types",
    "esc_from",
    "esc_to",
    "acc_which",
    "dep_mode",
    "log_where",
    "log_type",
    "log_sev",
    "verify_pick",
    "ua_role",
    "f_regency",
)
"""Keys of the choice widgets (radio, selectbox, multiselect) whose option labels are in the page's language."""

_CHOICE_PREFIXES = ("pick_",)
"""Prefixes of such keys that carry a suffix (the explanation's picker is keyed by the current selection)."""


def _keep_choices(lang: str) -> None:
    """Keep every choice the user made when the language changes.

    The browser holds a choice widget's value as the label of the chosen option; after a language switch
    that label is no longer among the options, and the widget showed nothing chosen (or the old label).
    Each choice is set again by its option id (what the page's widgets return), so the widgets are sent
    the chosen option under its label in the new language.
    """
    drawn = st.session_state.get("_drawn_lang")
    st.session_state["_drawn_lang"] = lang
    if drawn is None or drawn == lang:
        return
    for key in [k for k in st.session_state if k in _CHOICE_KEYS or str(k).startswith(_CHOICE_PREFIXES)]:
        st.session_state[key] = st.session_state[key]


def _page() -> None:
    lang = st.sidebar.radio(
        "Bahasa / Language",
        ["id", "en"],
        format_func={"id": "Indonesia", "en": "English"}.get,
        horizontal=True,
        key="lang",
    )
    _keep_choices(lang)
    defaults = load_config()
    store, store_error = data.open_store(lang)
    access = auth.gate(store, store_error, defaults, lang)
    if access is None:  # the login page: nothing of the data is read or sent
        return
    auth.sidebar(access, lang)
    if store is None:
        st.sidebar.warning(md_escape(tr("no_store_local", lang).format(detail=store_error or "")))
    source = _sidebar_data(lang, access, store)
    _stage_from_map(defaults.stages)
    stage = st.sidebar.selectbox(
        tr("stage", lang), defaults.stages, format_func=lambda s: defaults.stage_label(s, lang), key="stage"
    )
    as_of = _sidebar_as_of(lang, defaults)
    overrides = _sidebar_whatif(lang, stage, defaults)
    tiles = _tiles(lang)
    unverified = bool(
        store is not None
        and access.may("unverified")
        and st.sidebar.toggle(
            tr("with_unverified", lang), False, help=tr("with_unverified_help", lang), key="unverified"
        )
    )

    result: Result | None = None
    if source is None:
        st.info(tr("need_villages", lang))
        good = st.session_state.get("last_good")
        if good is None:
            return
        source = good
    try:
        result = data.score_layers(source, overrides, as_of=as_of, store=store, include_unverified=unverified)
        st.session_state["last_good"] = source
    except RiskmapInputError as exc:
        st.error(md_escape(exc.message(lang)))
        good = st.session_state.get("last_good")
        if good is None or good == source:
            return
        st.info(tr("kept_previous", lang))
        source = good
        result = data.score_layers(source, overrides, as_of=as_of, store=store, include_unverified=unverified)

    pages = ["risk", "alerts"] + [p for p, need in _PAGES if access.may(need) and (store is not None or p == "deploy")]
    page = st.sidebar.radio(tr("page", lang), pages, format_func=lambda k: tr("page_" + k, lang), key="page")
    filters = _sidebar_filters(lang, result)
    _whatif_banner(lang, result)
    view = make_view(result, stage, filters)
    if page in ("log", "verify", "users"):
        from riskmap.app import office_page

        if page == "log":
            office_page.log_page(lang, result, view, data.display_geometry(source, view.villages), store, access)
        elif page == "verify":
            office_page.verify_page(lang, result.config, store, access)
        else:
            office_page.users_page(lang, store, access)
        return
    if page == "deploy":  # planners only: the plan is never computed for another role
        from riskmap.app.deploy_page import deployment_page

        geoms = data.display_geometry(source, view.villages)
        deployment_page(lang, result, view, geoms, exports=_export_hook(store, access, stage))
        return

    st.title(tr("title", lang))
    if source.demo:
        st.caption(tr("demo_note", lang))
    st.caption(f"{tr('as_of', lang)}: {_as_of_text(lang, result, as_of)} · {defaults.stage_label(stage, lang)}")
    logged = result.report.layers.get("logged_incidents")
    if logged is not None and logged.read:
        matched = sum(1 for note in logged.rejected if note.reason == "logged_matches_file")
        st.caption(tr("logged_in_scores", lang).format(n=logged.used, matched=matched))
    _report(lang, result, access)
    alerts, alert_error = data.alerts_of(source, overrides, store, unverified, result, lang)
    if page == "alerts":
        from riskmap.app.office_page import alerts_panel

        alerts_panel(lang, result, alerts, alert_error)
        return
    # the page in its order (map | explanation, then the accuracy panel and the tables), filled in another:
    # the browser lays out the tables while the server builds the map, so the map arrives last, to a page
    # with nothing else left to draw (0.5 s sooner at 3,400 villages and 10,000 TPS)
    left, right = st.columns([3, 2])
    below = st.container()
    with right:
        _explanation(lang, result, stage)
    with below:
        exports = _export_hook(store, access, stage) if access.may("export") else None
        accuracy_panel(lang, source, overrides, stage, downloads=exports is not None)
        _tables(lang, result, view, stage, lambda: data.backtest_layers(source, overrides, stage), exports)
    with left:
        _map(lang, result, view, source, alerts, tiles)


def _map(lang: str, result: Result, view: Any, source: data.Source, alerts: Any, tiles: str | None) -> None:
    """The stage map, one for every stage and selection (its payload cached).

    A stage switch sends only the stage setter. A click on a village or TPS selects it; a click on a
    kab/kota of the overview opens it.
    """
    selected = st.session_state.get("selected", "")
    geoms = data.display_geometry(source, view.villages)  # (made meanwhile, in a worker thread)
    if shows_overview(view.villages, result.config):  # too many villages: kab/kota shares, a click opens one
        regions = data.regency_geometry(source)
        payload = data.map_payload(result, view, geoms, lang, regions)
        fmap = overview_map(
            view,
            result.config,
            regions,
            lang=lang,
            tiles_url=tiles,
            live_stage=True,
            payload=payload,
            stage_buttons=True,
        )
    else:
        fmap = build_map(
            view,
            result.config,
            lang=lang,
            tiles_url=tiles,
            alerts=alert_markers(alerts, result.as_of, lang=lang) if alerts is not None and result.as_of else None,
            live_stage=True,
            payload=data.map_payload(result, view, geoms, lang),
            stage_buttons=True,
        )
    setter = stage_setter(fmap, view, result.config, selected.split(":", 1)[-1] if selected else None)
    out = st_folium(
        fmap,
        key="map",
        height=MAP_HEIGHT,
        use_container_width=True,
        returned_objects=["last_active_drawing"],
        feature_group_to_add=setter,
    )
    clicked = (out or {}).get("last_active_drawing")
    if clicked and clicked != st.session_state.get("last_click"):
        st.session_state["last_click"] = clicked
        _select_from_click(clicked)
        st.rerun()


def _stage_from_map(stages: list[str]) -> None:
    """Make a stage picked with the map's own stage buttons the page's stage (before the stage box is drawn).

    The map recoloured itself at once (:func:`riskmap.mapping.build_map`, ``stage_buttons``); its component
    value then carries ``riskmap_stage`` and a fresh ``riskmap_token``, and this rerun brings the rest of the
    page (stage box, tables, explanation) to that stage. A value from the browser is trusted only as one of
    ``stages``; a token seen before (the same value again) changes nothing.
    """
    value = st.session_state.get("map")
    if not isinstance(value, dict):
        return
    token, picked = value.get("riskmap_token"), value.get("riskmap_stage")
    if not isinstance(token, str) or token == st.session_state.get("_map_stage_token"):
        return
    st.session_state["_map_stage_token"] = token
    if isinstance(picked, str) and picked in stages:
        st.session_state["stage"] = picked


def _as_of_text(lang: str, result: Result, picked: dt.date | None) -> str:
    """The scores' as-of day in words: the day picked, or the latest incident's, or that there is no incident."""
    if not isinstance(result.as_of, dt.date):
        return tr("as_of_none", lang)
    return tr("as_of_chosen" if picked else "as_of_latest", lang).format(date=result.as_of.isoformat())


_PAGES: tuple[tuple[str, str], ...] = (("log", "log"), ("verify", "verify"), ("deploy", "plan"), ("users", "users"))
"""Pages beyond the risk map and the alerts, with the permission each needs."""


def _export_hook(store: Any, access: Access, stage: str) -> Any:
    """A download button's callback that records the export (or print) in the audit log."""

    def hook(file_name: str, action: str = "export") -> None:
        _audit(store, access, action, {"file": file_name, "stage": stage})

    return hook
