"""The "Penempatan Personel" view: the stage's deployment plan (:func:`riskmap.deploy.plan`), formatted.

The page makes no number of its own: staffing, reserves, placed posts, patrol priorities and recap venues
all come from one :class:`riskmap.deploy.DeploymentPlan`, cached on its key (the data's content, stage,
filters, people available, posts asked and configuration), the same plan ``riskmap deploy`` writes and
the deployment PDF prints.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st
from streamlit_folium import st_folium

from riskmap import deploy, i18n
from riskmap._errors import RiskmapInputError
from riskmap.app import md_escape, tr
from riskmap.export import XLSX_MIME, geojson_bytes, plain_table, run_metadata, xlsx_bytes
from riskmap.mapping import deployment_map
from riskmap.pipeline import Result
from riskmap.view import View, ViewFilter, csv_bytes


@st.cache_resource(show_spinner=False, max_entries=16)
def _plan(
    key: str,
    _result: Result,
    stage: str,
    _filters: ViewFilter,
    police: int | None,
    linmas: int | None,
    _placement: deploy.PlacementRequest | None,
    time_limit_s: float,
    _venues: Any = None,
) -> deploy.DeploymentPlan:
    """The plan, cached on ``key`` (:func:`riskmap.deploy.plan_key` of the same arguments)."""
    return deploy.plan(
        _result,
        stage,
        filters=_filters,
        available_police=police,
        available_linmas=linmas,
        placement=_placement,
        venues=_venues,
        time_limit_s=time_limit_s,
    )


def page_plan(
    result: Result,
    stage: str,
    filters: ViewFilter,
    *,
    police: int | None = None,
    linmas: int | None = None,
    placement: deploy.PlacementRequest | None = None,
    venues: Any = None,
) -> deploy.DeploymentPlan:
    """The deployment plan the page shows, cached on the data's content, the arguments and the configuration."""
    limit = float(result.config.data["posts"]["time_limit_app_s"])
    key = deploy.plan_key(
        result,
        stage,
        filters=filters,
        available_police=police,
        available_linmas=linmas,
        placement=placement,
        venues=venues,
        time_limit_s=limit,
    )
    return _plan(key, result, stage, filters, police, linmas, placement, limit, venues)


def deployment_page(lang: str, result: Result, view: View, geoms: Any, exports: Any = None) -> None:
    """Draw the deployment view for the stage of ``view`` (only ever called for a planner's session).

    ``exports(file_name, action="export")`` records each download and print in the audit log.
    """

    def audited(name: str) -> dict[str, Any]:
        return {"on_click": exports, "args": (name,)} if exports is not None else {}

    st.title(tr("dep_title", lang))
    stage = view.stage
    if stage == "campaign":
        plan = page_plan(result, stage, view.filters)
        assert plan.priorities is not None  # a campaign plan has them
        st.subheader(tr("dep_campaign", lang))
        cell = float(result.config.data["deploy"]["patrol_cell_m"])
        shown = deploy.priority_table(plan.priorities.head(30), lang, cell_m=cell)
        st.dataframe(shown, hide_index=True, width="stretch")
        st.download_button(
            "GeoJSON",
            geojson_bytes(plan.hotspots),
            "hotspots_kampanye.geojson",
            key="dl_hot",
            **audited("hotspots_kampanye.geojson"),
        )
        return
    if stage == "recap":  # the demo's election offices when the demo data are chosen (as `riskmap deploy` does)
        demo = st.session_state.get("source", "demo") == "demo"
        plan = page_plan(result, stage, view.filters, venues=deploy.default_venues(result, demo=demo))
        st.subheader(tr("dep_recap", lang))
        st.dataframe(deploy.venue_table(plan.venues, lang), hide_index=True, width="stretch")
        return
    if result.tps is None:
        st.info(md_escape(i18n.t("deploy_needs_tps", lang)))
        return
    cfg = result.config.data["posts"]
    c1, c2, c3 = st.columns(3)
    police = c1.number_input(tr("dep_police", lang), 0, 1_000_000, 0, 10, key="dep_police")
    linmas = c1.number_input(tr("dep_linmas", lang), 0, 10_000_000, 0, 10, key="dep_linmas")
    mode = c2.radio(
        tr("dep_mode", lang), ["none", "max", "set"], format_func=lambda k: tr(f"dep_mode_{k}", lang), key="dep_mode"
    )
    p = int(c3.number_input(tr("dep_p", lang), 1, int(cfg["count_max"]), int(cfg["count"]), 1, key="dep_p"))
    radius_km = c3.slider(
        tr("dep_radius", lang),
        float(cfg["radius_km_min"]),
        float(cfg["radius_km_max"]),
        float(cfg["radius_km"]),
        float(cfg["radius_km_step"]),
        key="dep_radius",
    )
    placement = None
    if mode != "none":
        placement = deploy.PlacementRequest(p if mode == "max" else None, float(radius_km) * 1000)
    try:
        plan = page_plan(result, stage, view.filters, police=police or None, linmas=linmas or None, placement=placement)
    except RiskmapInputError as exc:
        st.info(md_escape(exc.message(lang)))
        return
    staff, reserves, per_district, per_regency = plan.staffing, plan.reserves, plan.per_district, plan.per_regency
    assert staff is not None and reserves is not None and per_district is not None and per_regency is not None
    if len(staff) < len(result.tps):
        st.caption(tr("dep_filtered", lang).format(n=len(staff)))
    if plan.placement is not None:
        s = plan.placement.summary
        sites = "dep_sites_file" if result.layers.candidate_sites is not None else "dep_sites_default"
        st.caption(tr(sites, lang).format(n=len(plan.candidate_sites) if plan.candidate_sites is not None else 0))
        line = tr("dep_posts_line", lang).format(
            placed=s["posts_chosen"],
            covered=s["tps_covered"],
            total=s["tps_total"],
            share=f"{s['risk_covered_share']:.0%}",
            uncovered=len(s["high_risk_uncovered"]),
            status=deploy.solver_status(s, lang),
        )
        (st.warning if s["time_limit_reached"] else st.caption)(line)
    fmap = deployment_map(view, staff, plan.placed_posts, plan.radius_m, result.config, lang=lang, geoms=geoms)
    st_folium(fmap, key="deploy_map", height=560, use_container_width=True, returned_objects=[])
    st.subheader(tr("dep_summary", lang))
    st.dataframe(deploy.summary_table(plan.summary, lang).astype(str), width="stretch")  # one type per column
    pol, lin = plan.summary["police"], plan.summary["linmas"]
    st.markdown(
        tr("dep_totals", lang).format(
            p_asg=pol["assigned"],
            p_req=pol["required"],
            l_asg=lin["assigned"],
            l_req=lin["required"],
            below=plan.summary["tps_below_pattern"],
        )
    )
    if len(reserves):
        st.subheader(tr("dep_reserves", lang).format(n=len(reserves)))
        st.dataframe(deploy.reserve_table(reserves, lang), hide_index=True, width="stretch")
    if plan.placed_posts is not None and len(plan.placed_posts):
        st.subheader(tr("dep_placed", lang))
        st.dataframe(deploy.placed_post_table(plan.placed_posts, lang), hide_index=True, width="stretch")
    if len(per_regency) > 1:
        st.subheader(tr("dep_per_regency", lang))
        st.dataframe(deploy.area_table(per_regency, lang), hide_index=True, width="stretch")
    st.subheader(tr("dep_per_district", lang))
    st.dataframe(deploy.area_table(per_district, lang), hide_index=True, width="stretch")
    _print_button(lang, result, view, plan, exports)
    kec, meta = per_district, run_metadata(result.config, result.as_of, stage)
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button(
        tr("dep_download_plan", lang),
        geojson_bytes(staff),
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
        json.dumps({**plan.summary, "_meta": meta}, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
        f"ringkasan_{stage}.json",
        key="dl_sum",
        **audited(f"ringkasan_{stage}.json"),
    )


def _print_button(lang: str, result: Result, view: View, plan: deploy.DeploymentPlan, exports: Any) -> None:
    """Print the plan shown (PDF), kept with the plan's key and language: another plan never offers it."""
    stage = plan.stage
    if st.button(tr("print", lang), key="dep_print"):
        if exports is not None:
            exports(f"penempatan_{stage}.pdf", "print")
        from riskmap.printing import PrintOptions, pdf_bytes

        opts = PrintOptions(stages=[stage], lang=lang, tables=True, filters=view.filters, deployment=plan)
        st.session_state["dep_pdf"] = (plan.key, lang, pdf_bytes(result, opts))
    kept = st.session_state.get("dep_pdf")
    if kept and kept[:2] == (plan.key, lang):
        st.download_button(
            tr("dl_pdf", lang),
            kept[2],
            f"penempatan_{stage}.pdf",
            "application/pdf",
            key="dl_dep_pdf",
            **({"on_click": exports, "args": (f"penempatan_{stage}.pdf",)} if exports is not None else {}),
        )
