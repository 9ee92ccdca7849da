r"""Risk scores per election stage, per village and per TPS.

For stage :math:`s`, each incident :math:`i` weighs

.. math:: w_{is} = \sigma(\text{sev}_i)\,\pi(\text{prec}_i)\,0.5^{a_i/h}\,\tau(\text{type}_i, s)

(severity, location precision, age :math:`a_i` in days before the as-of date
with half-life :math:`h`, and the type's relevance to the stage; all from the
configuration). Village :math:`v` collects :math:`E_{vs} = \sum_{i \in v}
w_{is}`, plus an even share of region-precision incidents of its kecamatan.

Rates are smoothed toward the study-area mean :math:`m_s = \sum E / \sum n`
(Gamma-Poisson posterior mean, prior worth :math:`k` voters):

.. math:: \theta_{vs} = 1000\,\frac{E_{vs} + k\,m_s}{n_v + k}

per 1,000 voters, where :math:`n_v` is the village's voters. Spillover is the
inverse-distance-weighted mean of :math:`\theta` over the nearest villages.
Bawaslu TPS-rawan flags combine per TPS as :math:`p_{ts} = 1 - \prod_j (1 -
\omega_{js} f_{tj})`. Each raw value :math:`x` becomes a factor
:math:`x / (x + x_{1/2})` in [0, 1]; a score is

.. math:: R = 100 \sum_c W_{cs}\,F_c \Big/ \sum_{c\ \text{available}} W_{cs}

and each factor's contribution :math:`100\,W_{cs} F_c / \sum W` is kept, so
the contributions add up to the score. With the default fixed prior, adding an
incident never lowers any score of a stage it is relevant to, and an incident
irrelevant to a stage (:math:`\tau = 0`) does not move it. docs/METHOD.md has
the full method and the reasons for each default.

Examples
--------
>>> from riskmap import pipeline
>>> result = pipeline.run()          # the embedded Kota Kupang demo
>>> result.villages[["village_name", "risk_voting", "level_voting"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap import i18n
from riskmap._threads import thread_map
from riskmap.config import CATEGORIES, Config, load_config
from riskmap.joins import points_within, village_neighbours

VILLAGE_FACTORS = ("incidents", "spillover", "indicators", "exposure")
FITTED_FACTORS = ("incidents", "spillover", "near_repeat", "indicators", "exposure", "background")
"""Village factors of ``method = "fitted"``: feature groups whose fitted terms add up to the score."""
METHODS = ("auto", "index", "fitted")
_FEATURE_CACHE: dict[str, dict[str, dict[str, np.ndarray]]] = {}
_FEATURE_CACHE_SIZE = 16
"""Dates whose fitted-method features are kept (least recently used dropped first); see :func:`feature_cache`."""


@contextlib.contextmanager
def feature_cache(dates: int) -> Iterator[None]:
    """Keep the fitted-method features of up to ``dates`` dates while the block runs.

    A backtest asks for the features at each date several times (a cutoff's
    fit is the next cutoffs' history): 20 quarterly cutoffs with 3 fitting
    windows need 36 dates, 58 MB each at 83,000 villages. Afterwards the cache
    is trimmed back to its usual size.
    """
    global _FEATURE_CACHE_SIZE
    usual = _FEATURE_CACHE_SIZE
    _FEATURE_CACHE_SIZE = max(usual, int(dates))
    try:
        yield
    finally:
        _FEATURE_CACHE_SIZE = usual
        while len(_FEATURE_CACHE) > usual:
            _FEATURE_CACHE.pop(next(iter(_FEATURE_CACHE)))


TPS_FACTORS = ("nearby_incidents", "village", "indicators", "exposure")


def _saturate(x: np.ndarray, half: float) -> np.ndarray:
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    return x / (x + half) if half > 0 else (x > 0).astype(float)


def categorise(scores: np.ndarray | pd.Series, thresholds: dict[str, float]) -> np.ndarray:
    """Category per score: ``kurang_rawan`` / ``rawan`` / ``sangat_rawan``."""
    s = np.asarray(scores, dtype=float)
    codes = (s >= thresholds["rawan"]).astype(np.int8) + (s >= thresholds["sangat_rawan"]).astype(np.int8)
    return pd.Categorical.from_codes(codes, categories=list(CATEGORIES))


@dataclass
class Explanation:
    """Why a village or TPS got its score for one stage.

    Attributes
    ----------
    unit
        ``village`` or ``tps``.
    unit_id
        Village code or TPS id.
    name
        Village name or TPS label.
    stage
        Stage id.
    score
        0-100.
    level
        Category.
    factors
        One row per factor: ``factor``, ``label``, ``raw`` (the measured value,
        units in ``unit_label``), ``value`` (0-1), ``weight``, ``points``
        (contribution to the score) and ``share`` (of the score, 0-1), largest
        first.
    incidents
        The incidents behind the score with their stage weight (and distance
        in metres for a TPS), heaviest first.
    by_type
        Stage weight per incident type, heaviest first.
    """

    unit: str
    unit_id: str
    name: str
    stage: str
    score: float
    level: str
    factors: pd.DataFrame
    incidents: pd.DataFrame
    by_type: pd.Series

    def text(self, lang: str = "id", top: int = 3) -> str:
        """Short plain-words explanation (top factors and their shares)."""
        parts = []
        for _, row in self.factors.head(top).iterrows():
            if row["points"] <= 0:
                continue
            parts.append(f"{row['label']} {row['share']:.0%}")
        head = f"{self.name}: {self.score:.0f} ({i18n.t(self.level, lang)})"
        return head + (" - " + "; ".join(parts) if parts else "")


class RiskModel:
    """Stage risk scores for villages and TPS.

    Build with :meth:`from_geodataframes`, then :meth:`fit`. Results are the
    attributes ``villages_`` and ``tps_`` (GeoDataFrames with ``risk_<stage>``
    0-100, ``level_<stage>``, ``top_factor_<stage>`` and
    ``contrib_<stage>_<factor>`` for every stage) and ``incident_weights_``
    (incident x stage weights).

    Parameters
    ----------
    villages
        Canonical villages (EPSG:4326, index 0..n-1), see
        :func:`riskmap.io.read_villages`.
    tps
        TPS joined to villages (``village_idx`` column), or None.
    incidents
        Incidents with ``village_idx`` (-1 for region precision outside any
        village) and ``district_code``, or None.
    config
        Configuration (defaults when None).
    as_of
        Scoring date; incidents after it are ignored, ages count back from
        it. Default: the latest incident date (so results never depend on
        the day they are computed).
    score_tps
        False: village scores only (the TPS still give voters and
        indicators; ``tps_`` is None). The backtest ranks villages only.
    """

    def __init__(
        self,
        villages: gpd.GeoDataFrame,
        tps: gpd.GeoDataFrame | None = None,
        incidents: gpd.GeoDataFrame | None = None,
        config: Config | None = None,
        as_of: dt.date | None = None,
        score_tps: bool = True,
    ) -> None:
        self.villages = villages.reset_index(drop=True)
        self.tps = tps.reset_index(drop=True) if tps is not None else None
        self.incidents = incidents.reset_index(drop=True) if incidents is not None else None
        self.config = config or load_config()
        self.as_of = as_of
        self.score_tps = score_tps
        self.villages_: gpd.GeoDataFrame | None = None
        self.tps_: gpd.GeoDataFrame | None = None
        self.incident_weights_: pd.DataFrame | None = None
        self.near_pairs_: pd.DataFrame | None = None
        self.coefficients_: pd.DataFrame | None = None
        self.method_: str | None = None

    @classmethod
    def from_geodataframes(
        cls,
        villages: gpd.GeoDataFrame,
        tps: gpd.GeoDataFrame | None = None,
        incidents: gpd.GeoDataFrame | None = None,
        *,
        config: Config | None = None,
        as_of: dt.date | None = None,
        score_tps: bool = True,
    ) -> RiskModel:
        """Alternative constructor mirroring PySAL's ``from_geodataframe``."""
        return cls(villages, tps, incidents, config=config, as_of=as_of, score_tps=score_tps)

    # ------------------------------------------------------------------ fit
    def fit(self) -> RiskModel:
        """Compute all stages; returns self."""
        self.coefficients_ = None
        cfg = self.config.data
        stages = self.config.stages
        n_v = len(self.villages)
        inc = self._incidents_in_scope()
        self.incident_weights_ = self._incident_weights(inc, stages)

        has_tps = self.tps is not None and len(self.tps) > 0
        tps = self.tps if has_tps else None
        default_voters = float(cfg["scoring"]["default_voters_per_tps"])
        voters: np.ndarray
        if tps is not None:
            t_village = tps["village_idx"].to_numpy()
            t_voters = tps["voters"].fillna(default_voters).to_numpy(dtype=float)
            voters = np.bincount(t_village, weights=t_voters, minlength=n_v)
            n_tps = np.bincount(t_village, minlength=n_v)
            ind_cols = [c for c in tps.columns if c.startswith("ind_")]
        else:
            t_village = np.array([], dtype=np.int64)
            t_voters = np.array([], dtype=float)
            voters = np.zeros(n_v)
            n_tps = np.zeros(n_v, dtype=np.int64)
            ind_cols = []
        has_indicators = bool(ind_cols)
        flags = tps[ind_cols].to_numpy(dtype=float) if tps is not None and has_indicators else np.zeros((0, 0))

        # village <- incidents (exact/near by polygon, region spread over its kecamatan)
        district = self.villages["district_code"].to_numpy()
        district_ids, district_of_village = np.unique(district, return_inverse=True)
        villages_per_district = np.bincount(district_of_village, minlength=len(district_ids))
        weights = self.incident_weights_
        if len(inc):
            region = (inc["precision"] == "region").to_numpy()
            v_idx = inc["village_idx"].to_numpy()
            inc_district = np.searchsorted(district_ids, inc["district_code"].to_numpy())
            inc_district = np.clip(inc_district, 0, len(district_ids) - 1)
            known = district_ids[inc_district] == inc["district_code"].to_numpy()
        method = str(cfg["scoring"].get("method", "index"))
        if method not in METHODS:
            raise ValueError(f"scoring.method must be one of {METHODS}, not {method!r}")
        fitted = self._fitted_features(inc, stages, voters, has_tps) if method != "index" else None
        if method == "auto":
            enough = fitted is not None and self._enough_to_fit(fitted, stages, has_tps, ind_cols)
            method = "fitted" if enough else "index"
            fitted = fitted if method == "fitted" else None
        self.method_ = method
        neighbours = (
            village_neighbours(
                self.villages, int(cfg["joins"]["neighbours_k"]), float(cfg["joins"]["neighbours_max_km"])
            )
            if method == "index"
            else pd.DataFrame({"village": [], "neighbour": [], "distance_km": []})
        )
        # positional int arrays: a lone village (or one beyond neighbours_max_km) has none at all
        nb_village = neighbours["village"].to_numpy(dtype=np.int64)
        nb_neighbour = neighbours["neighbour"].to_numpy(dtype=np.int64)
        nb_w = 1.0 / np.maximum(
            neighbours["distance_km"].to_numpy(dtype=float), float(cfg["joins"]["neighbours_min_km"])
        )
        nb_sum = np.bincount(nb_village, weights=nb_w, minlength=n_v)

        # TPS <- nearby incidents
        radius = float(cfg["joins"]["tps_radius_m"])
        if tps is not None and len(inc) and self.score_tps:
            near_ok = inc["precision"].isin(["exact", "near"] if cfg["incidents"]["near_counts_at_tps"] else ["exact"])
            eligible = np.flatnonzero(near_ok.to_numpy())
            pairs = points_within(tps, inc.iloc[eligible].reset_index(drop=True), radius)
            pairs["incident"] = eligible[pairs["incident"].to_numpy()]
        else:
            pairs = pd.DataFrame(
                {
                    "target": np.array([], dtype=np.int64),
                    "incident": np.array([], dtype=np.int64),
                    "distance_m": np.array([], dtype=float),
                }
            )
        self.near_pairs_ = pairs

        sc = cfg["scoring"]
        half = sc["half"]
        prior = sc["prior_voters"]
        vout: dict[str, Any] = {"voters": voters, "n_tps": n_tps}
        tout: dict[str, Any] = {}
        for stage in stages:
            w = weights[stage].to_numpy() if len(inc) else np.array([])
            mass = np.zeros(n_v)
            if len(inc):
                exact = ~region & (v_idx >= 0)
                mass += np.bincount(v_idx[exact], weights=w[exact], minlength=n_v)
                reg_known = region & known
                per_district = np.bincount(inc_district[reg_known], weights=w[reg_known], minlength=len(district_ids))
                mass += per_district[district_of_village] / villages_per_district[district_of_village]
                reg_unknown = region & ~known
                mass += w[reg_unknown].sum() / n_v
            rate = _smoothed_rate(mass, voters, prior)
            spill = np.bincount(nb_village, weights=nb_w * rate[nb_neighbour], minlength=n_v)
            spill = np.divide(spill, nb_sum, out=np.zeros(n_v), where=nb_sum > 0)

            if has_indicators:
                ind_w = np.array([self.config.indicators[c[4:]]["stages"].get(stage, 0.0) for c in ind_cols])
                t_ind = 1.0 - np.prod(1.0 - flags * ind_w, axis=1)
                v_ind = np.divide(
                    np.bincount(t_village, weights=t_ind, minlength=n_v),
                    n_tps,
                    out=np.zeros(n_v),
                    where=n_tps > 0,
                )
            v_factors = {
                "incidents": _saturate(rate, half["incidents"]),
                "spillover": _saturate(spill, half["spillover"]),
                "indicators": v_ind if has_indicators else None,
                "exposure": _saturate(voters, half["exposure"]) if has_tps else None,
            }
            if fitted is None:
                v_score, v_contrib = _combine(v_factors, sc["village_weights"][stage])
            else:
                v_score, v_contrib, p_inc, expected = self._fit_stage(fitted, stage, v_ind if has_indicators else None)
                vout[f"p_incident_{stage}"] = p_inc
                vout[f"expected_{stage}"] = expected
            vout[f"incidents_{stage}"] = mass
            vout[f"rate_{stage}"] = rate
            vout[f"spillover_{stage}"] = spill
            if has_indicators:
                vout[f"indicators_{stage}"] = v_ind
            self._store(vout, stage, v_score, v_contrib)

            if tps is not None and self.score_tps:
                near = (
                    np.bincount(
                        pairs["target"], weights=w[pairs["incident"].to_numpy()] if len(w) else None, minlength=len(tps)
                    )
                    if len(pairs)
                    else np.zeros(len(tps))
                )
                vw = sc["village_weights"][stage]
                ctx_w = vw["incidents"] + vw["spillover"]
                village_ctx = (
                    (vw["incidents"] * v_factors["incidents"] + vw["spillover"] * v_factors["spillover"]) / ctx_w
                    if ctx_w > 0
                    else np.zeros(n_v)
                )
                if fitted is not None:
                    village_ctx = vout[f"p_incident_{stage}"]
                t_factors = {
                    "nearby_incidents": _saturate(near, half["nearby_incidents"]),
                    "village": village_ctx[t_village],
                    "indicators": t_ind if has_indicators else None,
                    "exposure": _saturate(t_voters, half["tps_exposure"]),
                }
                t_score, t_contrib = _combine(t_factors, sc["tps_weights"][stage])
                tout[f"nearby_{stage}"] = near
                if has_indicators:
                    tout[f"indicators_{stage}"] = t_ind
                self._store(tout, stage, t_score, t_contrib)

        counts = np.zeros(n_v, dtype=np.int64)
        if len(inc):
            counts = np.bincount(v_idx[v_idx >= 0], minlength=n_v)
        vout["n_incidents"] = counts
        self.villages_ = self._frame(self.villages, vout)
        if tps is not None and self.score_tps:
            tout["n_nearby"] = (
                np.bincount(pairs["target"], minlength=len(tps)) if len(pairs) else np.zeros(len(tps), int)
            )
            tps_out = tps.copy(deep=False)  # copy-on-write: the input layer is left as it was
            for col in ("village_name", "district"):  # categorical: 820k repeated names cost nothing to write
                codes, uniques = pd.factorize(self.villages[col])
                tps_out[col] = pd.Categorical.from_codes(codes[t_village], categories=uniques)
            self.tps_ = self._frame(tps_out, tout)
        return self

    # ------------------------------------------------------------- fitted method
    def _fitted_features(
        self,
        inc: gpd.GeoDataFrame,
        stages: list[str],
        voters: np.ndarray,
        has_tps: bool,
        windows: int | None = None,
    ) -> dict[str, Any]:
        r"""Features per stage now and at earlier dates, and the counts that followed (``method = "fitted"``).

        Dates :math:`D_k = D_0 - k\,W` (``D_0`` the as-of date, ``W`` = ``fit_window``,
        k = 0 .. ``fit_windows``). Features at :math:`D_k` use only incidents dated on or
        before it, ages counted from it; the target of :math:`D_k` (k >= 1) is the number
        of precisely located, stage-relevant incidents per village in :math:`(D_k, D_{k-1}]`.
        """
        from riskmap.backtest import parse_window
        from riskmap.kernel import field

        cfg = self.config.data
        fc = cfg["scoring"]["fitted"]
        icfg = cfg["incidents"]
        n_v = len(self.villages)
        window = parse_window(str(fc["fit_window"]))
        k_max = int(windows or fc["fit_windows"])
        as_of = pd.Timestamp(self.as_of_) if self.as_of_ is not None else pd.Timestamp("2000-01-01")
        dates = [as_of - window * k if k else as_of for k in range(k_max + 1)]
        half_lives = [float(h) for h in fc["half_lives_days"]]
        bands = [float(b) for b in fc["bandwidths_km"]]
        nr_half, nr_km = float(fc["near_repeat_half_life_days"]), float(fc["near_repeat_km"])

        n_i = len(inc)
        day = inc["date"].to_numpy().astype("datetime64[D]") if n_i else np.array([], dtype="datetime64[D]")
        sev = {int(k): float(v) for k, v in icfg["severity"].items()}
        base = inc["severity"].map(sev).fillna(1.0).to_numpy(dtype=float) if n_i else np.zeros(0)
        if not fc.get("severity_weighted", True):
            base = np.ones(n_i)
        if n_i:
            base = base * inc["precision"].map(icfg["precision"]).fillna(1.0).to_numpy(dtype=float)
        rel = {
            s: inc["type"].map(self.config.stage_weights(s)).fillna(0.0).to_numpy(dtype=float) if n_i else np.zeros(0)
            for s in stages
        }
        v_idx = inc["village_idx"].to_numpy(dtype=np.int64) if n_i else np.zeros(0, dtype=np.int64)
        region = (inc["precision"] == "region").to_numpy() if n_i else np.zeros(0, dtype=bool)
        point = ~region
        if n_i:
            point &= ~(inc.geometry.is_empty | inc.geometry.isna()).to_numpy()
        geoms = inc.geometry.to_numpy() if n_i else np.zeros(0, dtype=object)
        all_lon = np.where(point, shapely.get_x(geoms), 0.0) if n_i else np.zeros(0)
        all_lat = np.where(point, shapely.get_y(geoms), 0.0) if n_i else np.zeros(0)
        lon, lat = all_lon[point], all_lat[point]
        if not hasattr(self, "_centroids"):
            centre = shapely.centroid(self.villages.geometry.to_numpy())
            self._centroids = (shapely.get_x(centre), shapely.get_y(centre))
        c_lon, c_lat = self._centroids
        grid, cut = float(fc["grid_fraction"]), float(fc["cut_sigmas"])

        # decay per (date, time scale); mask of incidents known at each date
        known = [day <= np.datetime64(d.date()) for d in dates]
        decay: dict[tuple[int, str], np.ndarray] = {}
        for k, d in enumerate(dates):
            age = np.maximum(-(day - np.datetime64(d.date())).astype(float), 0.0)
            for h in half_lives:
                decay[(k, f"{h:g}d")] = np.where(known[k], 0.5 ** (age / h), 0.0)
            decay[(k, "nr")] = np.where(known[k], 0.5 ** (age / nr_half), 0.0)

        feats: dict[tuple[int, str], dict[str, np.ndarray]] = {(k, s): {} for k in range(len(dates)) for s in stages}
        # features at a date depend only on the incidents known then: cached by their digest (a backtest
        # or a re-run asks for the same dates again)
        digests = [
            self._feature_digest(k, dates, known, day, base, rel, v_idx, point, all_lon, all_lat, stages, fc)
            for k in range(len(dates))
        ]
        todo = [k for k in range(len(dates)) if digests[k] not in _FEATURE_CACHE]
        own_mode = str(fc.get("own_village", "count"))
        per_area = self._density_factor()
        density = per_area if own_mode == "density" else None
        for k in todo:
            for s in stages:
                for h in half_lives:
                    if own_mode == "none":
                        continue
                    w = base * rel[s] * decay[(k, f"{h:g}d")]
                    own = self._village_mass(inc, w, v_idx, region, n_v)
                    feats[(k, s)][f"own_{h:g}d"] = own * density if density is not None else own
        per_band: list[tuple[float, list[np.ndarray], list[tuple[int, str, str]]]] = []
        for b in bands + ([nr_km] if nr_km not in bands else []):
            cols, keys = [], []
            for k in todo:
                for s in stages:
                    scales = [f"{h:g}d" for h in half_lives] if b in bands else []
                    if b == nr_km:
                        scales.append("nr")
                    for tsc in scales:
                        cols.append((base * rel[s] * decay[(k, tsc)])[point])
                        keys.append((k, s, tsc))
            per_band.append((b, cols, keys))

        def kernel_sums(band: tuple[float, list[np.ndarray], list[tuple[int, str, str]]]) -> np.ndarray | None:
            b, cols, _ = band
            return field(c_lon, c_lat, b, grid, cut)(lon, lat, np.column_stack(cols)) if cols else None

        # one bandwidth per thread: the k-d tree and sparse products let go of the GIL (0.6 -> 0.3 s at
        # 3,400 villages and 5,000 incidents on 2 cores)
        for (b, _, keys), dens in zip(per_band, thread_map(kernel_sums, per_band), strict=True):
            for j, (k, s, tsc) in enumerate(keys):
                name = "near_repeat" if tsc == "nr" else f"kernel_{b:g}km_{tsc}"
                feats[(k, s)][name] = dens[:, j] if dens is not None else np.zeros(n_v)
        for k in range(len(dates)):  # read every cached date before storing (storing may evict)
            if k not in todo:
                cached = _FEATURE_CACHE.pop(digests[k])  # re-inserted last: the cache drops the least recently used
                _FEATURE_CACHE[digests[k]] = cached
                for s in stages:
                    feats[(k, s)] = cached[s]
        for k in todo:
            if len(_FEATURE_CACHE) >= _FEATURE_CACHE_SIZE:
                _FEATURE_CACHE.pop(next(iter(_FEATURE_CACHE)))
            _FEATURE_CACHE[digests[k]] = {s: feats[(k, s)] for s in stages}
        targets: dict[tuple[int, str], np.ndarray] = {}
        precise = point & (v_idx >= 0)
        for k in range(1, len(dates)):
            in_window = known[k - 1] & ~known[k] & precise
            for s in stages:
                m = in_window & (rel[s] > 0)
                targets[(k, s)] = np.bincount(v_idx[m], minlength=n_v).astype(float)
        usable = [k for k in range(1, len(dates)) if known[k].any()]
        exposure = voters / 1000.0 if has_tps else None
        if exposure is not None and str(fc.get("exposure", "count")) == "density":
            exposure = exposure * per_area
        most = int(fc["fit_windows_max"])
        empty = not any(targets[(k, s)].any() for k in usable for s in stages)
        if empty and k_max < most and len(known) and known[-1].any():  # no incident to fit on yet: look further back
            return self._fitted_features(inc, stages, voters, has_tps, min(most, k_max + int(fc["fit_windows"])))
        return {"features": feats, "targets": targets, "usable": usable, "exposure": exposure, "n": n_v}

    def _enough_to_fit(self, fitted: dict[str, Any], stages: list[str], has_tps: bool, ind_cols: list[str]) -> bool:
        r"""Whether the past holds enough incidents to fit the weights (``method = "auto"``).

        True when the fitting windows hold, for the median stage, at least
        ``scoring.auto_events_per_weight`` villages-with-an-incident per fitted
        weight (the events-per-variable rule of thumb for likelihood fits,
        Peduzzi et al. 1996); else the hand-set index is used.
        """
        if not fitted["usable"]:
            return False
        weights = len(fitted["features"][(0, stages[0])]) + 1 + int(has_tps) + int(bool(ind_cols))
        positives = [sum(int((fitted["targets"][(j, s)] > 0).sum()) for j in fitted["usable"]) for s in stages]
        need = float(self.config.data["scoring"].get("auto_events_per_weight", 10)) * weights
        return float(np.median(positives)) >= need

    def _feature_digest(
        self,
        k: int,
        dates: list[pd.Timestamp],
        known: list[np.ndarray],
        day: np.ndarray,
        base: np.ndarray,
        rel: dict[str, np.ndarray],
        v_idx: np.ndarray,
        point: np.ndarray,
        all_lon: np.ndarray,
        all_lat: np.ndarray,
        stages: list[str],
        fc: dict[str, Any],
    ) -> str:
        """Digest of everything the features at ``dates[k]`` depend on (villages, incidents known then, settings)."""
        m = known[k]
        h = hashlib.blake2b(digest_size=20)
        c_lon, c_lat = self._centroids
        h.update(np.ascontiguousarray(c_lon).tobytes() + np.ascontiguousarray(c_lat).tobytes())
        h.update(np.ascontiguousarray(self.villages["area_km2"].to_numpy(dtype=float)).tobytes())
        h.update(repr((str(dates[k].date()), sorted(fc.items()), stages)).encode())
        for arr in (day[m].astype(np.int64), base[m], v_idx[m], point[m], *(rel[s][m] for s in stages)):
            h.update(np.ascontiguousarray(arr).tobytes())
        if len(all_lon):
            pm = m & point
            h.update(np.ascontiguousarray(all_lon[pm]).tobytes())
            h.update(np.ascontiguousarray(all_lat[pm]).tobytes())
        return h.hexdigest()

    def _density_factor(self) -> np.ndarray:
        """Median village area / village area: turns a per-village quantity into a density (per median village)."""
        area = self.villages["area_km2"].to_numpy(dtype=float)
        ok = np.isfinite(area) & (area > 0)
        med = float(np.median(area[ok])) if ok.any() else 1.0
        return np.where(ok, med / np.where(ok, area, 1.0), 1.0)

    @staticmethod
    def _village_mass(
        inc: gpd.GeoDataFrame, w: np.ndarray, v_idx: np.ndarray, region: np.ndarray, n_v: int
    ) -> np.ndarray:
        """Weights summed per village (region-precision incidents: see :meth:`fit`; here own village only)."""
        if not len(w):
            return np.zeros(n_v)
        own = ~region & (v_idx >= 0)
        return np.bincount(v_idx[own], weights=w[own], minlength=n_v)

    def _fit_stage(
        self, fitted: dict[str, Any], stage: str, v_ind: np.ndarray | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """Fit the stage's weights on the past windows, apply them now: score, contributions, P(>= 1), E[count]."""
        from riskmap.glm import case_control, fit_additive

        n_v = fitted["n"]
        extra: dict[str, np.ndarray] = {}
        if v_ind is not None:
            extra["indicators"] = v_ind
        if fitted["exposure"] is not None:
            extra["exposure"] = fitted["exposure"]
        extra["background"] = np.ones(n_v)

        def matrix(k: int, rows: np.ndarray | None = None) -> tuple[list[str], np.ndarray]:
            f = {**fitted["features"][(k, stage)], **extra}
            return list(f), np.column_stack([v if rows is None else v[rows] for v in f.values()])

        names, now = matrix(0)
        usable = fitted["usable"]
        ys = [fitted["targets"][(k, stage)] for k in usable]
        y = np.concatenate(ys) if ys else np.zeros(0)
        # the rows of the fit are sampled first (case-control), so that only their features are stacked
        idx, w = case_control(y > 0)
        window, village = np.divmod(idx, n_v)
        parts = [matrix(k, village[window == j])[1] for j, k in enumerate(usable)]
        x = np.vstack(parts) if parts else np.zeros((0, len(names)))
        gamma = fit_additive(x, y[idx], binary=True, row_weights=w)
        # expected count: the hazard times the incidents per unit of hazard in the fitting windows (>= 1 where
        # incidents come in clusters; the hazard summed over the weighted sample); one fit per stage
        hazard = float(w @ (x @ gamma)) if len(idx) else 0.0
        beta = gamma * (float(y.sum()) / hazard if hazard > 0 else 1.0)
        terms = now * gamma
        eta = terms.sum(axis=1)
        p_inc = -np.expm1(-eta)
        expected = now @ beta
        score = 100.0 * p_inc
        share = np.divide(terms, eta[:, None], out=np.zeros_like(terms), where=eta[:, None] > 0)
        contrib: dict[str, np.ndarray] = {}
        for j, name in enumerate(names):
            group = _feature_group(name)
            contrib[group] = contrib.get(group, np.zeros(n_v)) + score * share[:, j]
        contrib = {g: contrib[g] for g in FITTED_FACTORS if g in contrib}
        if self.coefficients_ is None:
            self.coefficients_ = pd.DataFrame(columns=["stage", "feature", "factor", "weight_p", "weight_expected"])
        rows_c = pd.DataFrame(
            {
                "stage": stage,
                "feature": names,
                "factor": [_feature_group(n) for n in names],
                "weight_p": gamma,
                "weight_expected": beta,
            }
        )
        self.coefficients_ = (
            pd.concat([self.coefficients_, rows_c], ignore_index=True) if len(self.coefficients_) else rows_c
        )
        return score, contrib, p_inc, expected

    def _incidents_in_scope(self) -> gpd.GeoDataFrame:
        inc = self.incidents
        if inc is None or len(inc) == 0:
            self.as_of_ = self.as_of
            return gpd.GeoDataFrame(
                {
                    "date": pd.Series([], dtype="datetime64[ns]"),
                    "type": [],
                    "severity": [],
                    "precision": [],
                    "village_idx": [],
                    "district_code": [],
                },
                geometry=gpd.GeoSeries([], crs=4326),
            )
        as_of = self.as_of or inc["date"].max().date()
        self.as_of_ = as_of
        return inc.loc[inc["date"] <= pd.Timestamp(as_of)]  # keep the index: weights align with the layer

    def _incident_weights(self, inc: pd.DataFrame, stages: list[str]) -> pd.DataFrame:
        """Incident x stage weights (see the module formula)."""
        cfg = self.config.data["incidents"]
        if len(inc) == 0:
            return pd.DataFrame({s: np.array([], dtype=float) for s in stages})
        sev = {int(k): float(v) for k, v in cfg["severity"].items()}
        base = inc["severity"].map(sev).fillna(1.0).to_numpy(dtype=float, copy=True)
        base *= inc["precision"].map(cfg["precision"]).fillna(1.0).to_numpy(dtype=float)
        age = (pd.Timestamp(self.as_of_) - inc["date"]).dt.days.to_numpy(dtype=float)
        base *= 0.5 ** (np.maximum(age, 0.0) / float(cfg["half_life_days"]))
        out = {}
        for stage in stages:
            rel = inc["type"].map(self.config.stage_weights(stage)).fillna(0.0).to_numpy(dtype=float)
            out[stage] = base * rel
        return pd.DataFrame(out, index=inc.index)

    def _store(self, out: dict[str, Any], stage: str, score: np.ndarray, contrib: dict[str, np.ndarray]) -> None:
        out[f"risk_{stage}"] = np.round(score, 2)
        out[f"level_{stage}"] = categorise(out[f"risk_{stage}"], self.config.thresholds)
        names = list(contrib)
        matrix = np.column_stack([contrib[n] for n in names])
        codes = np.where(matrix.max(axis=1) > 0, np.argmax(matrix, axis=1), -1)
        out[f"top_factor_{stage}"] = pd.Categorical.from_codes(codes, categories=names)
        for name in names:
            out[f"contrib_{stage}_{name}"] = np.round(contrib[name], 2)

    @staticmethod
    def _frame(base: gpd.GeoDataFrame, values: dict[str, Any]) -> gpd.GeoDataFrame:
        extra = pd.DataFrame(values, index=base.index, copy=False)  # no block consolidation: 0.6 s at 820k rows
        out = pd.concat([base.drop(columns=[c for c in extra.columns if c in base.columns]), extra], axis=1)
        return gpd.GeoDataFrame(out, geometry=base.geometry.name, crs=base.crs)

    # -------------------------------------------------------------- explain
    def explain(self, unit_id: str, stage: str, *, unit: str = "village", lang: str = "id") -> Explanation:
        """Explain one village (by code) or TPS (by id) for one stage."""
        if self.villages_ is None or self.incident_weights_ is None:
            raise RuntimeError("call fit() first")
        sc = self.config.data["scoring"]
        inc = self._incidents_in_scope()
        w = self.incident_weights_[stage] if len(inc) else pd.Series(dtype=float)
        factors: tuple[str, ...]
        if unit == "village":
            frame, key, factors, weights = self.villages_, "village_code", VILLAGE_FACTORS, sc["village_weights"][stage]
            if self.coefficients_ is not None:  # method = "fitted": the fitted weights per factor (sum of its terms)
                coef = self.coefficients_[self.coefficients_["stage"] == stage]
                factors, weights = FITTED_FACTORS, coef.groupby("factor")["weight_p"].sum().to_dict()
        else:
            frame, key, factors, weights = self.tps_, "tps_id", TPS_FACTORS, sc["tps_weights"][stage]
        hit = np.flatnonzero(frame[key].to_numpy() == unit_id)
        if not len(hit):
            raise KeyError(unit_id)
        pos = int(hit[0])
        row = frame.iloc[pos]
        raw_cols = {
            "incidents": f"rate_{stage}",
            "spillover": f"spillover_{stage}",
            "indicators": f"indicators_{stage}",
            "exposure": "voters",
            "nearby_incidents": f"nearby_{stage}",
            "village": None,
            "near_repeat": None,
            "background": None,
        }
        recs = []
        for f in factors:
            col = f"contrib_{stage}_{f}"
            if col not in frame:
                continue
            raw_col = raw_cols[f]
            recs.append(
                {
                    "factor": f,
                    "label": i18n.t("factor_" + f, lang),
                    "raw": float(row[raw_col]) if raw_col and raw_col in frame else np.nan,
                    "weight": float(weights.get(f, 0.0)),
                    "points": float(row[col]),
                }
            )
        fac = pd.DataFrame(recs)
        score = float(row[f"risk_{stage}"])
        fac["share"] = fac["points"] / score if score > 0 else 0.0
        fac = fac.sort_values("points", ascending=False, kind="stable").reset_index(drop=True)

        if unit == "village" and len(inc):
            dist = self.villages_.loc[pos, "district_code"]
            mask = (inc["village_idx"].to_numpy() == pos) | (
                (inc["precision"] == "region").to_numpy() & (inc["district_code"].to_numpy() == dist)
            )
            behind = inc.loc[mask].assign(weight=w[mask].to_numpy())
        elif unit == "tps" and len(inc) and self.near_pairs_ is not None:
            pairs = self.near_pairs_[self.near_pairs_["target"] == pos].sort_values("distance_m")
            behind = inc.iloc[pairs["incident"].to_numpy()].assign(
                weight=w.to_numpy()[pairs["incident"].to_numpy()], distance_m=pairs["distance_m"].to_numpy()
            )
        else:
            behind = inc.iloc[0:0].assign(weight=[])
        behind = behind[behind["weight"] > 0].sort_values("weight", ascending=False, kind="stable")
        cols = [
            c
            for c in ("incident_id", "date", "type", "severity", "precision", "description", "distance_m", "weight")
            if c in behind
        ]
        by_type = (
            behind.groupby("type")["weight"].sum().sort_values(ascending=False)
            if len(behind)
            else pd.Series(dtype=float)
        )
        name = (
            str(row.get("village_name", unit_id))
            if unit == "village"
            else f"TPS {row.get('tps_number') or unit_id} {row.get('village_name', '')}".strip()
        )
        return Explanation(
            unit=unit,
            unit_id=unit_id,
            name=name,
            stage=stage,
            score=score,
            level=str(row[f"level_{stage}"]),
            factors=fac,
            incidents=pd.DataFrame(behind[cols]).reset_index(drop=True),
            by_type=by_type,
        )


def _feature_group(name: str) -> str:
    """Factor a fitted feature belongs to (``own_*`` -> incidents, ``kernel_*`` -> spillover)."""
    if name.startswith("own_"):
        return "incidents"
    if name.startswith("kernel_"):
        return "spillover"
    return name


def _smoothed_rate(mass: np.ndarray, voters: np.ndarray, prior: float | str) -> np.ndarray:
    """Incidents per 1,000 voters, shrunk toward the study-area mean.

    ``prior`` is the prior's weight in voters (Gamma-Poisson posterior mean),
    or ``"auto"`` for Marshall's (1991) global empirical Bayes estimate.
    """
    total_n = voters.sum()
    m = mass.sum() / total_n if total_n > 0 else 0.0
    if prior == "auto":
        has = voters > 0
        if has.sum() < 2 or m == 0:
            k = 1e12
        else:
            r = mass[has] / voters[has]
            s2 = np.sum(voters[has] * (r - m) ** 2) / voters[has].sum()
            a = s2 - m / voters[has].mean()
            k = m / a if a > 0 else 1e12
    else:
        k = float(prior)
    return 1000.0 * (mass + k * m) / (voters + k)


def _combine(
    factors: dict[str, np.ndarray | None], weights: dict[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Weighted mean of the available factors, as a score and per-factor points."""
    available = {k: v for k, v in factors.items() if v is not None}
    total = sum(float(weights.get(k, 0.0)) for k in available)
    contrib = {}
    for k, v in available.items():
        contrib[k] = 100.0 * float(weights.get(k, 0.0)) * v / total if total > 0 else np.zeros_like(v)
    score = np.sum(list(contrib.values()), axis=0) if contrib else np.zeros(0)
    return score, contrib
