"""What a planner looks at: filtered layers, ranked tables, stage changes, downloads.

Pure functions over a :class:`riskmap.pipeline.Result`; the app and the
printer call these and add nothing of their own.
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap import i18n
from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES
from riskmap.export import plain_table, table_csv_bytes

if TYPE_CHECKING:
    from riskmap.backtest import Backtest
    from riskmap.config import Config
    from riskmap.pipeline import Layers, Result

VILLAGE_FACTOR_ORDER = ("incidents", "spillover", "near_repeat", "indicators", "exposure", "background")
TPS_FACTOR_ORDER = ("nearby_incidents", "village", "indicators", "exposure")


@dataclass(frozen=True)
class ViewFilter:
    """Display filters (they change what is shown, never the scores).

    Attributes
    ----------
    regencies
        Kab/kota names to show; empty = all.
    districts
        Kecamatan names to show; empty = all.
    levels
        Categories to show; empty = all.
    types
        Incident type ids to show; empty = all.
    date_from, date_to
        Incident dates to show (inclusive); None = open.
    """

    districts: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    regencies: tuple[str, ...] = ()


@dataclass
class View:
    """The layers of one stage after filtering."""

    stage: str
    villages: gpd.GeoDataFrame
    tps: gpd.GeoDataFrame | None
    incidents: gpd.GeoDataFrame | None
    posts: gpd.GeoDataFrame | None
    filters: ViewFilter = field(default_factory=ViewFilter)
    method: str | None = None
    """Scoring method that produced the scores (``RiskModel.method_``: ``index`` or ``fitted``)."""
    simulated: bool = False
    """True when the scores come from what-if changes (:attr:`riskmap.pipeline.Result.whatif`): faces say so."""


def make_view(result: Result, stage: str, filters: ViewFilter | None = None) -> View:
    """Filter a result's layers for one stage.

    Villages and TPS are filtered by kecamatan and by their category for
    ``stage``; incidents by kecamatan (of the village they lie in), type and date.
    """
    f = filters or ViewFilter()
    # masks are combined with ``a & b``, never ``&=``: pandas 3's ``to_numpy()`` may return a read-only view
    villages = result.villages
    keep = np.ones(len(villages), dtype=bool)
    if f.regencies:
        keep = keep & villages["regency"].isin(f.regencies).to_numpy()
    if f.districts:
        keep = keep & villages["district"].isin(f.districts).to_numpy()
    in_area = set(villages.loc[keep, "village_code"])
    area_districts = set(villages.loc[keep, "district_code"])
    if f.levels:
        keep = keep & villages[f"level_{stage}"].isin(f.levels).to_numpy()
    v = villages.loc[keep]

    t = result.tps
    if t is not None:
        tk = t["village_code"].isin(in_area).to_numpy()
        if f.levels:
            tk = tk & t[f"level_{stage}"].isin(f.levels).to_numpy()
        t = t.loc[tk]

    inc = result.layers.incidents
    if inc is not None:
        ik = np.ones(len(inc), dtype=bool)
        if (f.districts or f.regencies) and "district_code" in inc:  # (an empty layer may have no columns)
            ik = ik & inc["district_code"].isin(area_districts).to_numpy()
        if f.types:
            ik = ik & inc["type"].isin(f.types).to_numpy()
        if f.date_from:
            ik = ik & (inc["date"] >= pd.Timestamp(f.date_from)).to_numpy()
        if f.date_to:
            ik = ik & (inc["date"] <= pd.Timestamp(f.date_to)).to_numpy()
        if result.as_of is not None:
            ik = ik & (inc["date"] <= pd.Timestamp(result.as_of)).to_numpy()
        inc = inc.loc[ik]
    return View(
        stage=stage,
        villages=v,
        tps=t,
        incidents=inc,
        posts=result.layers.posts,
        filters=f,
        method=result.method,
        simulated=result.simulated,
    )


_REGENCY_PREFIXES = {"kab": "kabupaten", "kabupaten": "kabupaten", "kota": "kota", "kotamadya": "kota"}
_DISTRICT_PREFIXES = ("kecamatan", "kec")


def _name_key(text: object) -> str:
    """A name for matching: lower case, punctuation to spaces, one space between words, "Kab." = "Kabupaten"."""
    words = re.sub(r"[^0-9a-z]+", " ", str(text).lower()).split()
    if words and words[0] in _REGENCY_PREFIXES:
        words[0] = _REGENCY_PREFIXES[words[0]]
    return " ".join(words)


def _bare(key: str) -> str:
    """A regency name key without its "kabupaten"/"kota" word ("kota kupang" -> "kupang")."""
    first, _, rest = key.partition(" ")
    return rest if first in ("kabupaten", "kota") and rest else key


def _no_kec(key: str) -> str:
    """A kecamatan name key without a leading "kecamatan"/"kec" word."""
    first, _, rest = key.partition(" ")
    return rest if first in _DISTRICT_PREFIXES and rest else key


def _code_key(text: str) -> str | None:
    """A Kemendagri kab/kota or kecamatan code as ``PP.KK`` or ``PP.KK.CC``, with or without dots; else None.

    ``5371``, ``53.71`` and ``53 71`` give ``53.71``; ``537101``, ``53.71.01`` and ``53.71.1`` give ``53.71.01``.
    """
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        parts = [text[i : i + 2] for i in range(0, len(text), 2)] if len(text) in (4, 6) else []
    elif re.fullmatch(r"\d{1,2}([. ]\d{1,2}){1,2}", text):
        parts = [f"{int(p):02d}" for p in re.split(r"[. ]", text)]
    else:
        parts = []
    return ".".join(parts) if len(parts) in (2, 3) else None


def area_filter(villages: gpd.GeoDataFrame, area: str | None, *, region: str = "") -> tuple[ViewFilter, str]:
    """The display filter and the name for a kecamatan or kab/kota chosen by name or Kemendagri code.

    Names match whatever their case, spacing and punctuation ("kota  kupang", "KOTA KUPANG"; "Kab." =
    "Kabupaten"; a leading "Kec." is ignored); a kab/kota also matches without its "Kabupaten"/"Kota" word
    when only one kab/kota has that name. Codes are Kemendagri's with or without dots: ``53.71`` / ``5371``
    (kab/kota), ``53.71.01`` / ``537101`` (kecamatan). A kecamatan name wins over a kab/kota name.

    Parameters
    ----------
    villages
        Scored villages (``district``, ``district_code``, ``regency``).
    area
        What the user typed; None or "" = everything.
    region
        Name of the whole data's region, added to a kecamatan's display name.

    Returns
    -------
    ViewFilter, str
        The filter (kecamatan or kab/kota names) and the display name ("Kec. Alak, Kota Kupang", "Kota Kupang").

    Raises
    ------
    RiskmapInputError
        ``unknown_area`` (with the closest names) when nothing matches, ``ambiguous_area`` when a bare name
        fits several kab/kota.
    """
    if not area or not str(area).strip():
        return ViewFilter(), region
    districts = villages["district"].astype(str)
    regencies = villages["regency"].astype(str)
    dcodes = villages["district_code"].astype(str)
    code = _code_key(str(area))
    hit = np.zeros(len(villages), dtype=bool)
    unit = ""
    if code is not None and len(code) == 8:
        hit, unit = (dcodes == code).to_numpy(), "district"
    elif code is not None:
        official = dcodes.str.fullmatch(r"\d{2}\.\d{2}\.\d{2}").to_numpy(dtype=bool)
        hit, unit = (dcodes.str[:5] == code).to_numpy() & official, "regency"
    if not hit.any():
        key = _name_key(area)
        d_keys = districts.map(_name_key)
        hit = (d_keys == key).to_numpy()
        first, _, rest = key.partition(" ")
        if first in _DISTRICT_PREFIXES and rest:  # "Kec. Alak": a kecamatan, named with or without "Kec."
            unit = "district_only"
            if not hit.any():
                hit = ((d_keys == rest) | (d_keys.map(_no_kec) == _no_kec(rest))).to_numpy()
        if hit.any():
            unit = "district"
        elif unit != "district_only":
            r_keys = regencies.map(_name_key)
            hit = (r_keys == key).to_numpy()
            if not hit.any():
                hit = (r_keys.map(_bare) == _bare(key)).to_numpy() & (regencies != "").to_numpy()
                several = sorted(set(regencies[hit]))
                if len(several) > 1:
                    raise RiskmapInputError("ambiguous_area", area=area, choices=", ".join(several))
            unit = "regency"
    if not hit.any():
        raise RiskmapInputError("unknown_area", area=area, choices=_close_names(villages, str(area)))
    if unit == "regency":
        picked = tuple(sorted(set(regencies[hit])))
        return ViewFilter(regencies=picked), ", ".join(picked)
    picked = tuple(sorted(set(districts[hit])))
    in_regencies = tuple(sorted(set(regencies[hit]) - {""}))
    only = ViewFilter(districts=picked, regencies=in_regencies if code is not None else ())
    where = in_regencies[0] if len(in_regencies) == 1 else region
    return only, f"Kec. {', '.join(picked)}" + (f", {where}" if where else "")


def _close_names(villages: gpd.GeoDataFrame, area: str, n: int = 6) -> str:
    """The kecamatan and kab/kota names closest to ``area`` (with their codes), else the first ones."""
    names: dict[str, str] = {}
    for name, code in zip(villages["district"].astype(str), villages["district_code"].astype(str), strict=True):
        if name:
            names.setdefault(name, f"{name} ({code})" if re.fullmatch(r"\d{2}\.\d{2}\.\d{2}", code) else name)
    for name, code in zip(villages["regency"].astype(str), villages["district_code"].astype(str), strict=True):
        if name:
            names.setdefault(name, f"{name} ({code[:5]})" if re.fullmatch(r"\d{2}\.\d{2}\.\d{2}", code) else name)
    by_key = {_name_key(k): v for k, v in names.items()}
    close = difflib.get_close_matches(_name_key(area), list(by_key), n=n, cutoff=0.5)
    shown = [by_key[k] for k in close] or sorted(names.values())[:20]
    return ", ".join(shown)


def shows_overview(villages: pd.DataFrame, config: Config) -> bool:
    """True when more villages than ``[display] aggregate_above_villages`` are to be shown: aggregate them."""
    return len(villages) > int(config.data["display"]["aggregate_above_villages"])


def area_shares(villages: pd.DataFrame, tps: pd.DataFrame | None, stages: list[str]) -> pd.DataFrame:
    """Per kab/kota, how much of it is rawan or sangat rawan (the two upper categories), per stage.

    Parameters
    ----------
    villages
        Scored villages (``regency``, ``village_code``, ``level_<stage>``).
    tps
        Scored TPS (``village_code``, ``level_<stage>``), or None.
    stages
        Stage ids.

    Returns
    -------
    pandas.DataFrame
        Indexed by kab/kota name (sorted): ``n_villages``, ``n_tps`` and, per
        stage, ``share_villages_<stage>`` and ``share_tps_<stage>`` (0-1; NaN
        for a kab/kota without TPS).
    """
    high = list(CATEGORIES[1:])
    regency = villages["regency"].astype(str)
    out = pd.DataFrame({"n_villages": regency.value_counts()}).sort_index()
    of_village = dict(zip(villages["village_code"], regency, strict=True))
    t_regency = tps["village_code"].map(of_village) if tps is not None else pd.Series(dtype=object)
    out["n_tps"] = t_regency.value_counts().reindex(out.index).fillna(0).astype(int)
    for s in stages:
        out[f"share_villages_{s}"] = villages[f"level_{s}"].isin(high).groupby(regency.to_numpy()).mean()
        if tps is not None and len(tps):
            out[f"share_tps_{s}"] = tps[f"level_{s}"].isin(high).groupby(t_regency.to_numpy()).mean()
        else:
            out[f"share_tps_{s}"] = np.nan
    return out


def natural_key(name: object) -> tuple[str | int, ...]:
    """Sort key of a name with numbers in it as people read them: "Kab 2" before "Kab 10"; case ignored."""
    parts = re.split(r"(\d+)", str(name).casefold())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def share_breaks(config: Config) -> list[float]:
    """The class bounds of the share of rawan + sangat rawan villages, percent (``[display] overview_breaks_pct``).

    One set for the screen's overview and the printed overviews, so a commander reads the same classes on both.
    """
    return [float(b) for b in config.data["display"]["overview_breaks_pct"]]


def share_class(share: np.ndarray, breaks_pct: list[float]) -> np.ndarray:
    """The class of each share (0-1): 0 below the first bound, ... ``len(breaks_pct)`` from the last one up.

    A share equal to a bound starts the class above it (5 % with bounds 5, 10 is in "5-10 %"). A missing
    share (NaN) gets ``len(breaks_pct) + 1``: no data.
    """
    share = np.asarray(share, dtype=float)
    cls = np.searchsorted(np.asarray(breaks_pct, dtype=float), share * 100.0, side="right")
    return np.where(np.isfinite(share), cls, len(breaks_pct) + 1).astype(int)


def share_class_labels(breaks_pct: list[float]) -> list[str]:
    """``"0-5 %"``, ``"5-10 %"``, ... ``"50-100 %"``: one label per class of :func:`share_class`."""
    bounds = [0.0, *breaks_pct, 100.0]
    return [f"{bounds[i]:g}-{bounds[i + 1]:g} %" for i in range(len(bounds) - 1)]


def factor_parts(frame: pd.DataFrame, stage: str, *, unit: str = "village", top: int = 2) -> list[list[int]]:
    """Top contributing factors per row as ``[factor, percent, factor, percent, ...]``, largest first.

    ``factor`` indexes :data:`VILLAGE_FACTOR_ORDER` (or :data:`TPS_FACTOR_ORDER`
    for ``unit="tps"``); ``percent`` is the factor's share of the row's score,
    rounded to whole percent. Factors that add nothing are left out.
    """
    order = VILLAGE_FACTOR_ORDER if unit == "village" else TPS_FACTOR_ORDER
    names = [i for i, f in enumerate(order) if f"contrib_{stage}_{f}" in frame]
    if not names or frame.empty:
        return [[] for _ in range(len(frame))]
    points = frame[[f"contrib_{stage}_{order[i]}" for i in names]].to_numpy(dtype=float)
    score = frame[f"risk_{stage}"].to_numpy(dtype=float)
    ranks = np.argsort(-points, axis=1, kind="stable")[:, :top]
    taken = np.take_along_axis(points, ranks, axis=1)
    shown = (taken > 0) & (score[:, None] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(shown, np.rint(taken / score[:, None] * 100), 0).astype(int)  # half to even, as "%.0f"
    ids = np.asarray(names)[ranks]
    return [
        [x for f, p, ok in zip(row_f, row_p, row_ok, strict=True) if ok for x in (f, p)]
        for row_f, row_p, row_ok in zip(ids.tolist(), percent.tolist(), shown.tolist(), strict=True)
    ]


def factor_text(frame: pd.DataFrame, stage: str, *, unit: str = "village", lang: str = "id", top: int = 2) -> pd.Series:
    """Top contributing factors per row as text, e.g. "Insiden di sekitar TPS 62%; ..." (:func:`factor_parts`)."""
    order = VILLAGE_FACTOR_ORDER if unit == "village" else TPS_FACTOR_ORDER
    labels = [i18n.t("factor_" + f, lang) for f in order]
    out = [
        "; ".join(f"{labels[p[k]]} {p[k + 1]}%" for k in range(0, len(p), 2))
        for p in factor_parts(frame, stage, unit=unit, top=top)
    ]
    return pd.Series(out, index=frame.index, dtype=object)


def _col(key: str, lang: str, **params: object) -> str:
    """A display table's column name (i18n key ``col.<key>``)."""
    return i18n.t("col." + key, lang, **params)


def _levels(values: pd.Series, lang: str) -> pd.Series:
    """Category ids as their names in ``lang`` ("sangat_rawan" -> "Sangat rawan" / "Highly vulnerable")."""
    return values.astype(str).map(lambda c: i18n.t(c, lang))


def ranked_villages(view: View, *, lang: str = "id") -> pd.DataFrame:
    """Villages of the view, riskiest first, with display column names and category names in ``lang``."""
    s = view.stage
    v = view.villages
    table = pd.DataFrame(
        {
            _col("code", lang): v["village_code"],
            _col("village", lang): v["village_name"],
            _col("district", lang): v["district"],
            _col("score", lang): v[f"risk_{s}"],
            _col("category", lang): _levels(v[f"level_{s}"], lang),
            _col("factors", lang): factor_text(v, s, lang=lang),
            _col("tps", lang): v["n_tps"],
            _col("voters", lang): v["voters"].round().astype(int),
            _col("incidents", lang): v["n_incidents"],
        }
    )
    return table.sort_values(table.columns[3], ascending=False, kind="stable").reset_index(drop=True)


def ranked_tps(view: View, *, lang: str = "id") -> pd.DataFrame:
    """TPS of the view, riskiest first, with display column names and category names in ``lang``."""
    s = view.stage
    t = view.tps
    if t is None:
        return pd.DataFrame()
    table = pd.DataFrame(
        {
            _col("tps", lang): t["tps_id"],
            _col("village", lang): t["village_name"],
            _col("district", lang): t["district"],
            _col("address", lang): t["address"],
            _col("score", lang): t[f"risk_{s}"],
            _col("category", lang): _levels(t[f"level_{s}"], lang),
            _col("factors", lang): factor_text(t, s, unit="tps", lang=lang),
            _col("voters", lang): t["voters"],
            _col("nearby", lang): t["n_nearby"],
        }
    )
    return table.sort_values(table.columns[4], ascending=False, kind="stable").reset_index(drop=True)


def escalation(result: Result, first: str = "campaign", last: str = "recap", *, lang: str = "id") -> pd.DataFrame:
    """Villages whose category rises from one stage to another, biggest rise first.

    Columns are named with the stages' names in ``lang`` ("skor Kampanye"), never their ids; the last column
    says whether the category rises.
    """
    v = result.villages
    one, two = result.config.stage_label(first, lang), result.config.stage_label(last, lang)

    def rank(col: str) -> np.ndarray:
        return pd.Categorical(v[col], categories=list(CATEGORIES)).codes.astype(int)

    change = pd.Series(rank(f"level_{last}") - rank(f"level_{first}"), index=v.index)
    table = pd.DataFrame(
        {
            _col("code", lang): v["village_code"],
            _col("village", lang): v["village_name"],
            _col("district", lang): v["district"],
            _col("score_stage", lang, stage=one): v[f"risk_{first}"],
            _col("score_stage", lang, stage=two): v[f"risk_{last}"],
            _col("change", lang): (v[f"risk_{last}"] - v[f"risk_{first}"]).round(2),
            _col("category_stage", lang, stage=one): _levels(v[f"level_{first}"], lang),
            _col("category_stage", lang, stage=two): _levels(v[f"level_{last}"], lang),
            _col("escalates", lang): change > 0,
        }
    )
    return table.sort_values(table.columns[5], ascending=False, kind="stable").reset_index(drop=True)


def stage_matrix(result: Result, *, unit: str = "village") -> pd.DataFrame:
    """Count of units per category per stage (rows: stages, columns: categories)."""
    frame = result.villages if unit == "village" else result.tps
    if frame is None:
        raise ValueError("unit='tps' needs a TPS layer")
    stages = result.config.stages
    rows = {s: frame[f"level_{s}"].value_counts().reindex(CATEGORIES, fill_value=0) for s in stages}
    return pd.DataFrame(rows).T


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV for Excel (UTF-8 with BOM, text never a formula) with lon/lat columns instead of geometry.

    See :func:`riskmap.export.plain_table` and :func:`riskmap.export.table_csv_bytes`.
    """
    return table_csv_bytes(plain_table(frame))


_HTML_EXTRA = str.maketrans({"{": "&#123;", "}": "&#125;", "`": "&#96;", "\\": "&#92;"})
"""Characters HTML does not need escaped but templates and scripts would read: braces, backtick, backslash."""


def esc(value: object) -> str:
    """HTML-escape untrusted text (names, descriptions) for tooltips and popups.

    Besides ``& < > " '``, braces, backticks and backslashes become character
    references, so the escaped text can form no ``{{``/``{%``/``{#`` template
    syntax, no ``${`` or end of a JavaScript template literal and no string
    escape, wherever it lands. The browser shows the same characters.
    """
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return html.escape(text).translate(_HTML_EXTRA)


# -- faces of issue 10: the method's name, the measured accuracy, hot spots ---------------------
HOTSPOT_CLASSES = ("hot_99", "hot_95", "hot_90", "cold_90", "cold_95", "cold_99")
"""Hot-spot classes drawn on maps (``ns``, not significant, is not drawn), hottest first."""


def hotspot_column(villages: pd.DataFrame, stage: str) -> str | None:
    """Name of the stage's hot-spot column (``hotspot_<stage>``), or None when the result has none."""
    col = f"hotspot_{stage}"
    return col if col in villages else None


def hotspot_label(value: object, lang: str = "id") -> str:
    """Words for a hot-spot class (``hot_99`` ... ``ns``); an unknown value is shown as it is."""
    key = f"hotspot_{value}"
    return i18n.t(key, lang) if key in i18n.MESSAGES else str(value)


def method_label(config: Config, lang: str = "id", used: str | None = None) -> str:
    """The words naming the scoring method, "Metode: ..." (i18n ``method_<name>``).

    ``used`` is the method that produced the scores (``RiskModel.method_``); with ``scoring.method = "auto"``
    the label says it was chosen automatically.
    """
    configured = str(config.data["scoring"].get("method", "index"))
    name = used or configured
    key = f"method_{name}"
    words = i18n.t(key, lang) if key in i18n.MESSAGES else name
    if configured == "auto" and used:
        words = i18n.t("method_auto_chose", lang, name=words)
    return i18n.t("legend_method", lang, name=words)


def _window_words(window: str, lang: str) -> str:
    """``12M`` as "12 bulan" / "12 months" (``1M``: "1 month")."""
    n, unit = int(window[:-1]), window[-1].upper()
    return i18n.t(f"acc_unit_{unit}" + ("_one" if n == 1 else ""), lang, n=n)


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %" if np.isfinite(x) else "-"


def accuracy_line(acc: dict | None, lang: str = "id") -> str:
    """One line on the measured hit rate and the data it was measured on (or why it was not measured).

    ``acc`` is :func:`riskmap.backtest.accuracy` of one stage; None means no
    backtest was run.
    """
    if not acc or not acc.get("measured"):
        reason = (acc or {}).get("reason", "not_run")
        if reason == "not_run":
            return i18n.t("acc_not_run", lang)
        params = dict((acc or {}).get("params") or {})
        if f"acc_why_{reason}" not in i18n.MESSAGES:  # another error: its own message says what and how to fix
            why = str(((acc or {}).get("message") or {}).get(lang) or reason).rstrip(".")
            return i18n.t("acc_not_measured", lang, why=why)
        if "window" in params:
            params["window"] = _window_words(str(params["window"]), lang)
        return i18n.t("acc_not_measured", lang, why=i18n.t(f"acc_why_{reason}", lang, **params))
    hit = acc["hit_rate"]
    first = acc["first_cutoff"][:4]
    last = (dt.date.fromisoformat(acc["last_end"]) - dt.timedelta(days=1)).isoformat()[:4]
    best = acc["best_baseline"]
    return i18n.t(
        "acc_line",
        lang,
        hit=_pct(hit["riskmap"]),
        window=_window_words(acc["window"], lang),
        k=f"{acc['k']:g}",
        n=acc["windows"],
        years=first if first == last else f"{first}–{last}",
        incidents=acc["test_incidents"],
        baseline=i18n.t(f"bt_method_{best}", lang),
        theirs=_pct(hit[best]),
    )


def data_digest(layers: Layers) -> str:
    """SHA-256 (first 16 hex digits) of what a backtest measures on: village codes, areas, incidents.

    Village code and area (km²) in file order; incidents by date, type,
    precision, village and coordinates (EPSG:4326, rounded to 1e-6°). A saved
    ``backtest.json`` carries it, so a later print can tell whether it was
    measured on the same data.
    """
    import hashlib

    h = hashlib.sha256()
    v = layers.villages
    h.update("\x1f".join(v["village_code"].astype(str)).encode("utf-8"))
    h.update(np.round(v["area_km2"].to_numpy(dtype=float), 6).tobytes())
    inc = layers.incidents
    if inc is not None and len(inc):
        cols = ["date", "type", "precision", "village_idx"]
        frame = pd.DataFrame({c: inc[c].astype(str).to_numpy() for c in cols})
        frame["x"] = np.round(inc.geometry.x.to_numpy(), 6)
        frame["y"] = np.round(inc.geometry.y.to_numpy(), 6)
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


DIGEST_KEY = "data_sha256_16"
"""Key of :func:`data_digest` in a saved ``backtest.json``'s ``_meta``."""


def backtest_meta(bt: Backtest, layers: Layers) -> dict:
    """``_meta`` additions of a written backtest: its cutoffs, demo flag and :func:`data_digest`."""
    if bt.windows_ is None:
        raise RuntimeError("run the backtest first")
    return {
        "cutoffs": [c.isoformat() for c in bt.windows_["cutoff"]],
        "demo": bool(layers.demo),
        DIGEST_KEY: data_digest(layers),
    }


def saved_backtest(path: str, layers: Layers, config: Config) -> dict:
    """A ``backtest.json`` written by ``riskmap backtest``, checked to be of these layers and configuration.

    Raises
    ------
    RiskmapInputError
        ``bt_saved_unreadable`` (no such file, not JSON, not a backtest) or
        ``bt_saved_mismatch`` (other data: :func:`data_digest`; or another
        configuration: its digest).
    """
    import json
    from pathlib import Path

    from riskmap._errors import RiskmapInputError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not {"metrics", "window", "_meta"} <= set(data):
            raise ValueError("metrics, window, _meta")
    except (OSError, ValueError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc)[:120]
        raise RiskmapInputError("bt_saved_unreadable", path=Path(path).name, detail=detail) from None
    meta = data["_meta"] if isinstance(data["_meta"], dict) else {}
    if meta.get(DIGEST_KEY) != data_digest(layers):
        raise RiskmapInputError("bt_saved_mismatch", path=Path(path).name, what=i18n.Term("bt_saved_what_data"))
    if meta.get("config_sha256_12") != config.digest():
        raise RiskmapInputError("bt_saved_mismatch", path=Path(path).name, what=i18n.Term("bt_saved_what_config"))
    return data
