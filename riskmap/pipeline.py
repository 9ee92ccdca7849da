"""From files to scores in one call: read, validate, join, score.

:func:`load` reads and joins the layers and returns the complete load report;
:func:`run` also scores. Both use the embedded demo data for any layer not
given (villages and TPS), and no incidents unless given or using the demo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap import demo, i18n
from riskmap._errors import RiskmapInputError
from riskmap.config import Config, load_config
from riskmap.hotspots import HotSpots, add_hotspots
from riskmap.io import ColumnMap, LayerReport, LoadReport, StudyArea, load_column_map
from riskmap.io._read import ROW_COLUMN
from riskmap.io._safety import use_limits
from riskmap.io.incidents import read_incidents
from riskmap.io.points import read_points
from riskmap.io.tps import read_tps
from riskmap.io.villages import read_villages
from riskmap.joins import assign_villages, nearest_village, points_within
from riskmap.scoring import RiskModel

PathLike = str | Path


@dataclass
class Layers:
    """The validated, joined input layers and their load report."""

    villages: gpd.GeoDataFrame
    tps: gpd.GeoDataFrame | None
    incidents: gpd.GeoDataFrame | None
    posts: gpd.GeoDataFrame | None
    report: LoadReport
    area: StudyArea
    demo: bool = False
    candidate_sites: gpd.GeoDataFrame | None = None
    campaign_posts: gpd.GeoDataFrame | None = None


@dataclass
class Result:
    """Scores with everything needed to explain and export them."""

    layers: Layers
    model: RiskModel
    config: Config
    as_of: dt.date | None
    hotspots: HotSpots | None = None
    """Gi* hot spots of the villages per stage (:mod:`riskmap.hotspots`), also in ``villages``."""
    whatif: dict[str, Any] = field(default_factory=dict)
    """What-if changes to the configuration the scores were computed with (the app's sidebar), as nested
    configuration keys; empty when the scores use the configuration as given. Non-empty means the scores are a
    simulation: every face (map, legend, print, export metadata) says so."""

    @property
    def simulated(self) -> bool:
        """True when the scores come from what-if changes (:attr:`whatif`), not the configuration as given."""
        return bool(self.whatif)

    @property
    def villages(self) -> gpd.GeoDataFrame:
        """Scored villages (see :class:`riskmap.scoring.RiskModel`)."""
        return self.model.villages_

    @property
    def method(self) -> str | None:
        """Scoring method that produced the scores (``index`` or ``fitted``; ``scoring.method = "auto"`` picks one)."""
        return self.model.method_

    @property
    def tps(self) -> gpd.GeoDataFrame | None:
        """Scored TPS, or None without a TPS layer."""
        return self.model.tps_

    @property
    def report(self) -> LoadReport:
        """The load report of all layers."""
        return self.layers.report


def parse_as_of(value: str | dt.date | None, config: Config | None = None) -> dt.date | None:
    """Read an as-of date (ISO or Indonesian formats), within the configuration's years.

    Raises
    ------
    RiskmapInputError
        ``bad_as_of`` when it cannot be read, ``as_of_out_of_range`` when it
        falls outside ``incidents.earliest_year`` .. ``latest_year``.
    """
    if value is None:
        return None
    from riskmap.io._dates import config_window, parse_date

    parsed = value if isinstance(value, dt.date) else parse_date(value)
    if parsed is None:
        raise RiskmapInputError("bad_as_of", value=value)
    if isinstance(parsed, dt.datetime):
        parsed = parsed.date()
    first, last = config_window((config or load_config()).data)
    if not first <= parsed <= last:
        raise RiskmapInputError("as_of_out_of_range", value=value, first=first.isoformat(), last=last.isoformat())
    return parsed


def _area_name(villages: gpd.GeoDataFrame) -> str:
    regencies = villages["regency"][villages["regency"] != ""]
    if regencies.empty:
        return ""
    top = regencies.value_counts()
    return " / ".join(top.index[:3])


def load(
    villages: PathLike | None = None,
    tps: PathLike | None = None,
    incidents: PathLike | None = None,
    *,
    posts: PathLike | None = None,
    candidate_sites: PathLike | None = None,
    campaign_posts: PathLike | None = None,
    columns: ColumnMap | PathLike | None = None,
    config: Config | None = None,
    as_of: dt.date | None = None,
    demo_data: bool | None = None,
) -> Layers:
    """Read, validate and join the input layers.

    Parameters
    ----------
    villages, tps, incidents
        Paths; when all three are None (or ``demo_data`` is True) the
        embedded demo is used for each layer not given.
    posts, candidate_sites, campaign_posts
        Optional point layers. TPS within ``joins.campaign_post_radius_m`` of
        a campaign post get the Bawaslu flag ``dekat_posko``.
    columns
        Column map (``--columns``: a TOML file, ``layer.field=column`` pairs or a dict) for files whose
        columns no alias of ``[column_aliases]`` recognises.
    config
        Configuration (defaults when None).
    as_of
        Incidents after this date are reported and left out.
    """
    config = config or load_config()
    use_limits(config)  # the readers refuse files beyond config's [limits]
    as_of = parse_as_of(as_of, config)
    use_demo = demo_data if demo_data is not None else (villages is None and tps is None and incidents is None)
    if use_demo:
        villages = villages or demo.VILLAGES
        tps = tps or demo.TPS
        incidents = incidents or demo.INCIDENTS
        posts = posts or demo.POSTS
    if villages is None:
        villages = demo.VILLAGES
    column_map = load_column_map(columns)
    report = LoadReport()
    v, v_rep = read_villages(villages, columns=column_map, config=config)
    report.add(v_rep)
    if len(v) == 0:  # say why here too: score and print show no report before stopping
        reasons = "; ".join(f"{i18n.t('reason_' + r, 'id')} ({n})" for r, n in v_rep.reason_counts().items())
        reasons_en = "; ".join(f"{i18n.t('reason_' + r, 'en')} ({n})" for r, n in v_rep.reason_counts().items())
        raise RiskmapInputError("no_villages_left", file=villages, reasons=reasons or "-", reasons_en=reasons_en or "-")
    margin_km = float(config.data["joins"]["study_area_margin_km"])
    area = StudyArea.around(v.total_bounds, margin_km, name=_area_name(v))

    t = None
    if tps is not None:
        t, t_rep = read_tps(tps, area=area, columns=column_map, config=config)
        t = assign_villages(t, v, t_rep)
        report.add(t_rep)
    i = None
    if incidents is not None:
        i, i_rep = read_incidents(incidents, area=area, columns=column_map, config=config, as_of=as_of)
        i = join_incidents(i, v, i_rep)
        report.add(i_rep)
    points: dict[str, gpd.GeoDataFrame | None] = {}
    for kind, path in (("posts", posts), ("candidate_sites", candidate_sites), ("campaign_posts", campaign_posts)):
        points[kind] = None
        if path is not None:
            points[kind], p_rep = read_points(path, kind, area=area, columns=column_map, config=config)
            report.add(p_rep)
    if t is not None and points["campaign_posts"] is not None:
        _mark_near_campaign_posts(t, points["campaign_posts"], config, report["campaign_posts"])
    return Layers(
        villages=v,
        tps=t,
        incidents=i,
        posts=points["posts"],
        candidate_sites=points["candidate_sites"],
        campaign_posts=points["campaign_posts"],
        report=report,
        area=area,
        demo=bool(use_demo),
    )


def join_incidents(i: gpd.GeoDataFrame, v: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    """Give read incidents their village (``village_idx``, ``village_code``) and kecamatan (``district_code``).

    Region-precision incidents are never pinned to one village; off the polygons they take the
    nearest village's kecamatan. Rows outside every village are reported in ``report``.
    """
    region = (i["precision"] == "region").to_numpy()
    i = assign_villages(i, v, report, keep_unmatched=region)
    region = (i["precision"] == "region").to_numpy()
    idx = i["village_idx"].to_numpy().copy()
    lost = region & (idx < 0)
    if lost.any():  # a region centroid off the polygons: its nearest village's kecamatan
        idx[lost] = nearest_village(i.loc[lost], v)
    i["district_code"] = np.where(idx >= 0, v["district_code"].to_numpy()[np.maximum(idx, 0)], "")
    i.loc[region, "village_idx"] = -1  # never pinned to a single village
    i.loc[region, "village_code"] = ""
    return i


def _mark_near_campaign_posts(
    tps: gpd.GeoDataFrame, campaign_posts: gpd.GeoDataFrame, config: Config, report: LayerReport
) -> None:
    """Set the Bawaslu flag "near a candidate's campaign post" from a campaign-post layer."""
    radius = float(config.data["joins"]["campaign_post_radius_m"])
    pairs = points_within(tps, campaign_posts, radius)
    near = np.zeros(len(tps), dtype=bool)
    near[pairs["target"].to_numpy()] = True
    column = "ind_dekat_posko"
    tps[column] = near | (tps[column].to_numpy(dtype=bool) if column in tps else False)
    report.warn(None, "campaign_posts_marked", n=int(near.sum()), radius=int(radius))


def score(
    layers: Layers,
    config: Config | None = None,
    as_of: dt.date | None = None,
    *,
    hotspots: bool = True,
    tps_scores: bool = True,
    whatif: dict[str, Any] | None = None,
) -> Result:
    """Score already-loaded layers, with the villages' hot spots per stage (``hotspot_<stage>``).

    ``hotspots=False`` skips the hot spots (``Result.hotspots`` is None) and ``tps_scores=False`` the TPS
    scores (``Result.tps`` is None; voters and indicators still count): the backtest, which only ranks the
    village scores, does not pay for them at every cutoff. ``whatif``: the what-if changes already merged
    into ``config`` (``load_config(overrides=whatif)``), recorded as :attr:`Result.whatif` so that every face
    marks the scores as a simulation. Incidents after ``as_of`` are not scored; :func:`until` also reports
    them in the load report (``pipeline.load(as_of=...)`` does when reading).
    """
    config = config or load_config()
    as_of = parse_as_of(as_of, config)
    model = RiskModel.from_geodataframes(
        layers.villages, layers.tps, layers.incidents, config=config, as_of=as_of, score_tps=tps_scores
    ).fit()
    hot = None
    if hotspots:
        model.villages_, hot = add_hotspots(model.villages_, config)
    return Result(
        layers=layers, model=model, config=config, as_of=model.as_of_, hotspots=hot, whatif=dict(whatif or {})
    )


def until(layers: Layers, as_of: dt.date | None) -> Layers:
    """The layers as they stood on ``as_of``: incidents dated after it left out and reported.

    What :func:`load` does with ``as_of`` when reading, for layers already loaded (the app loads once and
    scores for any as-of date). Each later incident is rejected with ``after_as_of`` in the report of the
    layer it came from (``incidents``, or ``logged_incidents`` for the log's, ``origin == "logged"``).
    ``layers`` is not changed: the result shares the other layers and copies the reports it changes.

    Parameters
    ----------
    layers
        Loaded layers (incident ``date`` is datetime64, local calendar days).
    as_of
        The last day whose incidents count; None = every incident (``layers`` itself is returned).
    """
    inc = layers.incidents
    if as_of is None or inc is None or not len(inc):
        return layers
    late = (inc["date"] > pd.Timestamp(as_of)).to_numpy()
    if not late.any():
        return layers
    origin = inc["origin"].to_numpy(dtype=object) if "origin" in inc else np.full(len(inc), "file", dtype=object)
    report = LoadReport(dict(layers.report.layers))
    for kind, name in (("file", "incidents"), ("logged", "logged_incidents")):
        rows = late & (origin == kind)
        if not rows.any() or name not in report:
            continue
        old = report[name]
        rep = replace(old, rejected=list(old.rejected), warnings=list(old.warnings))
        dates = [d.date().isoformat() for d in inc.loc[rows, "date"]]
        rep.reject_frame(inc.loc[rows, ROW_COLUMN], "after_as_of", date=dates, as_of=as_of.isoformat())
        rep.used -= int(rows.sum())
        rep.check()
        report.add(rep)
    return replace(layers, incidents=inc.loc[~late], report=report)


def run(
    villages: PathLike | None = None,
    tps: PathLike | None = None,
    incidents: PathLike | None = None,
    *,
    posts: PathLike | None = None,
    candidate_sites: PathLike | None = None,
    campaign_posts: PathLike | None = None,
    columns: ColumnMap | PathLike | None = None,
    config: Config | None = None,
    as_of: dt.date | str | None = None,
    demo_data: bool | None = None,
) -> Result:
    """Load, validate, join and score (see :func:`load` for the parameters)."""
    config = config or load_config()
    as_of = parse_as_of(as_of, config)
    layers = load(
        villages,
        tps,
        incidents,
        posts=posts,
        candidate_sites=candidate_sites,
        campaign_posts=campaign_posts,
        columns=columns,
        config=config,
        as_of=as_of,
        demo_data=demo_data,
    )
    return score(layers, config, as_of)
