"""The "Penempatan Personel" view: staffing plan, posts and their coverage, per stage."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st
from streamlit_folium import st_folium

from riskmap import i18n
from riskmap.app import tr
from riskmap.deploy import area_totals, patrol_priorities, recap_venues, staffing_plan
from riskmap.export import XLSX_MIME, geojson_bytes, plain_table, run_metadata, xlsx_bytes
from riskmap.mapping import deployment_map
from riskmap.pipeline import Result
from riskmap.posts import candidate_sites, place_posts
from riskmap.view import View, csv_bytes


@st.cache_data(show_spinner=False, max_entries=16)
def _posts(_result: Result, key: str, stage: str, mode: str, p: int, radius_m: float) -> Any:
    sites = candidate_sites(_result.villages, _result.layers.posts)
    return place_posts(_result.tps, sites, stage, radius_m=radius_m, p=p if mode == "max" else None, time_limit=20)


def deployment_page(lang: str, result: Result, view: View, geoms: Any, exports: Any = None) -> None:
    """Draw the deployment view for the stage of ``view`` (only ever called for a planner's session).

    ``exports(file_name, action="export")`` records each download and print in the audit log.
    """

    def audited(name: str) -> dict[str, Any]:
        return {"on_click": exports, "args": (name,)} if exports is not None else {}

    st.title(tr("dep_title", lang))
    stage = view.stage
    if stage == "campaign":
        priorities, hotspots = patrol_priorities(result)
        st.subheader(tr("dep_campaign", lang))
        st.dataframe(priorities.head(30), hide_index=True, width="stretch")
        st.download_button(
            "GeoJSON",
            geojson_bytes(hotspots),
            "hotspots_kampanye.geojson",
            key="dl_hot",
            **audited("hotspots_kampanye.geojson"),
        )
        return
    if stage == "recap":
        table = recap_venues(result, None, result.config)
        st.subheader(tr("dep_recap", lang))
        st.dataframe(table.drop(columns="geometry"), hide_index=True, width="stretch")
        return
    if result.tps is None:
        st.info(i18n.t("deploy_needs_tps", lang))
        return
    c1, c2, c3 = st.columns(3)
    police = c1.number_input(tr("dep_police", lang), 0, 1_000_000, 0, 10, key="dep_police")
    linmas = c1.number_input(tr("dep_linmas", lang), 0, 10_000_000, 0, 10, key="dep_linmas")
    mode = c2.radio(
        tr("dep_mode", lang), ["none", "max", "set"], format_func=lambda k: tr(f"dep_mode_{k}", lang), key="dep_mode"
    )
    p = int(c3.number_input(tr("dep_p", lang), 1, 500, 10, 1, key="dep_p"))
    radius_km = c3.slider(tr("dep_radius", lang), 0.5, 10.0, 2.0, 0.5, key="dep_radius")
    plan, summary = staffing_plan(
        result.tps.loc[view.tps.index] if view.tps is not None else result.tps,
        stage,
        result.config,
        police=police or None,
        linmas=linmas or None,
    )
    posts = None
    if mode != "none":
        key = f"{result.config.digest()}:{len(result.tps)}"
        placed = _posts(result, key, stage, mode, p, radius_km * 1000)
        posts = placed.sites[placed.sites["chosen"]]
        s = placed.summary
        status = tr("dep_optimal", lang) if s["all_proven_optimal"] else tr("dep_not_optimal", lang)
        st.caption(
            f"{tr('dep_posts', lang)}: {s['posts_chosen']} · TPS {s['tps_covered']}/{s['tps_total']} · "
            f"{s['risk_covered_share']:.0%} · {status}"
        )
        summary["posts"] = s
    fmap = deployment_map(view, plan, posts, radius_km * 1000, result.config, lang=lang, geoms=geoms)
    st_folium(fmap, key="deploy_map", height=560, use_container_width=True, returned_objects=[])
    st.subheader(tr("dep_summary", lang))
    st.dataframe(summary["categories"], width="stretch")
    pol, lin = summary["police"], summary["linmas"]
    st.write(
        f"**Polisi / police**: {pol['assigned']:.0f} / {pol['required']:.0f} · **Linmas**: "
        f"{lin['assigned']:.0f} / {lin['required']:.0f} · {tr('dep_below', lang)}: {summary['tps_below_pattern']}"
    )
    if st.button(tr("print", lang), key="dep_print"):
        if exports is not None:
            exports(f"penempatan_{stage}.pdf", "print")
        from riskmap.printing import PrintOptions, pdf_bytes

        opts = PrintOptions(
            stages=[stage],
            lang=lang,
            tables=True,
            filters=view.filters,
            chosen_posts=posts,
            post_radius_m=radius_km * 1000,
        )
        st.session_state["dep_pdf"] = pdf_bytes(result, opts)
    if st.session_state.get("dep_pdf"):
        st.download_button(
            tr("dl_pdf", lang),
            st.session_state["dep_pdf"],
            f"penempatan_{stage}.pdf",
            "application/pdf",
            key="dl_dep_pdf",
            **audited(f"penempatan_{stage}.pdf"),
        )
    kec, meta = area_totals(plan, "district"), run_metadata(result.config, result.as_of, stage)
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button(
        tr("dep_download_plan", lang),
        geojson_bytes(plan),
        f"rencana_{stage}.geojson",
        key="dl_plan",
        **audited(f"rencana_{stage}.geojson"),
    )
    d2.download_button(
        tr("dep_download_kec", lang),
        csv_bytes(kec),
        f"personel_kecamatan_{stage}.csv",
        key="dl_kec",
        **audited(f"personel_kecamatan_{stage}.csv"),
    )
    d3.download_button(
        tr("dep_download_kec_xlsx", lang),
        lambda: xlsx_bytes({"per_kecamatan": plain_table(kec)}, meta=meta, lang=lang),
        f"personel_kecamatan_{stage}.xlsx",
        XLSX_MIME,
        key="dl_kec_x",
        **audited(f"personel_kecamatan_{stage}.xlsx"),
    )
    d4.download_button(
        tr("dep_download_summary", lang),
        json.dumps(summary, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
        f"ringkasan_{stage}.json",
        key="dl_sum",
        **audited(f"ringkasan_{stage}.json"),
    )
