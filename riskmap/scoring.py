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

import datetime as dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap import i18n
from riskmap.config import CATEGORIES, Config, load_config
from riskmap.joins import points_within, village_neighbours

VILLAGE_FACTORS = ("incidents", "spillover", "indicators", "exposure")
TPS_FACTORS = ("nearby_incidents", "village", "indicators", "exposure")


def _saturate(x: np.ndarray, half: float) -> np.ndarray:
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    return x / (x + half) if half > 0 else (x > 0).astype(float)


def categorise(scores: np.ndarray | pd.Series, thresholds: dict[str, float]) -> np.ndarray:
    """Category per score: ``kurang rawan`` / ``rawan`` / ``sangat rawan``."""
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
    """

    def __init__(
        self,
        villages: gpd.GeoDataFrame,
        tps: gpd.GeoDataFrame | None = None,
        incidents: gpd.GeoDataFrame | None = None,
        config: Config | None = None,
        as_of: dt.date | None = None,
    ) -> None:
        self.villages = villages.reset_index(drop=True)
        self.tps = tps.reset_index(drop=True) if tps is not None else None
        self.incidents = incidents.reset_index(drop=True) if incidents is not None else None
        self.config = config or load_config()
        self.as_of = as_of
        self.villages_: gpd.GeoDataFrame | None = None
        self.tps_: gpd.GeoDataFrame | None = None
        self.incident_weights_: pd.DataFrame | None = None
        self.near_pairs_: pd.DataFrame | None = None

    @classmethod
    def from_geodataframes(
        cls,
        villages: gpd.GeoDataFrame,
        tps: gpd.GeoDataFrame | None = None,
        incidents: gpd.GeoDataFrame | None = None,
        *,
        config: Config | None = None,
        as_of: dt.date | None = None,
    ) -> RiskModel:
        """Alternative constructor mirroring PySAL's ``from_geodataframe``."""
        return cls(villages, tps, incidents, config=config, as_of=as_of)

    # ------------------------------------------------------------------ fit
    def fit(self) -> RiskModel:
        """Compute all stages; returns self."""
        cfg = self.config.data
        stages = self.config.stages
        n_v = len(self.villages)
        inc = self._incidents_in_scope()
        self.incident_weights_ = self._incident_weights(inc, stages)

        has_tps = self.tps is not None and len(self.tps) > 0
        tps = self.tps if has_tps else None
        default_voters = float(cfg["scoring"]["default_voters_per_tps"])
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
        flags = tps[ind_cols].to_numpy(dtype=float) if has_indicators else np.zeros((0, 0))

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
        neighbours = village_neighbours(
            self.villages, int(cfg["joins"]["neighbours_k"]), float(cfg["joins"]["neighbours_max_km"])
        )
        # positional int arrays: a lone village (or one beyond neighbours_max_km) has none at all
        nb_village = neighbours["village"].to_numpy(dtype=np.int64)
        nb_neighbour = neighbours["neighbour"].to_numpy(dtype=np.int64)
        nb_w = 1.0 / np.maximum(neighbours["distance_km"].to_numpy(dtype=float), 0.5)
        nb_sum = np.bincount(nb_village, weights=nb_w, minlength=n_v)

        # TPS <- nearby incidents
        radius = float(cfg["joins"]["tps_radius_m"])
        if tps is not None and len(inc):
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
            v_score, v_contrib = _combine(v_factors, sc["village_weights"][stage])
            vout[f"incidents_{stage}"] = mass
            vout[f"rate_{stage}"] = rate
            vout[f"spillover_{stage}"] = spill
            if has_indicators:
                vout[f"indicators_{stage}"] = v_ind
            self._store(vout, stage, v_score, v_contrib)

            if tps is not None:
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
        if tps is not None:
            tout["n_nearby"] = (
                np.bincount(pairs["target"], minlength=len(tps)) if len(pairs) else np.zeros(len(tps), int)
            )
            tps_out = tps.copy(deep=False)  # copy-on-write: the input layer is left as it was
            for col in ("village_name", "district"):  # categorical: 820k repeated names cost nothing to write
                codes, uniques = pd.factorize(self.villages[col])
                tps_out[col] = pd.Categorical.from_codes(codes[t_village], categories=uniques)
            self.tps_ = self._frame(tps_out, tout)
        return self

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
        if self.villages_ is None:
            raise RuntimeError("call fit() first")
        sc = self.config.data["scoring"]
        inc = self._incidents_in_scope()
        w = self.incident_weights_[stage] if len(inc) else pd.Series(dtype=float)
        if unit == "village":
            frame, key, factors, weights = self.villages_, "village_code", VILLAGE_FACTORS, sc["village_weights"][stage]
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
        elif unit == "tps" and len(inc):
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
