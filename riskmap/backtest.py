r"""Rolling-origin backtest: whether the scores put the next window's incidents where they point.

For each cutoff :math:`c` the villages are scored with only the incidents
dated before :math:`c` (the layers are cut, so nothing later can reach the
model), then compared with the **precisely located** incidents (precision
``exact`` or ``near``, in a village polygon) of the test window
:math:`[c, c + w)`. Region-precision incidents may feed the scores but are
never test targets. Per stage the targets are the stage-relevant incidents
(taxonomy relevance > 0); stage ``all`` takes every incident.

Methods, all from the same past only:

``riskmap``
    The configured riskmap method (:func:`riskmap.pipeline.score`); for
    ``all`` the mean of the four stage scores.
``count``
    Precise incidents per village before :math:`c`.
``decay``
    The same, each weighted :math:`0.5^{a/h}` with age :math:`a` (days) and
    the configuration's half-life :math:`h`.
``kde``
    Gaussian kernel density of past precise incidents at village centroids,
    great-circle distances, bandwidth chosen among
    ``backtest.kde_bandwidths_km`` by how well it predicted the last window
    before :math:`c` (:math:`[c - w, c)`) from the data before :math:`c - w`.
``random``
    A constant score: its metrics are the exact expected values of a random
    ranking (hit rate at k % = k %, AUC = 0.5).

Metrics per cutoff, stage and method: hit rate (share of test incidents in
the top k) and PAI (hit rate / area share) at k = 1, 5, 10, 20 % of villages
and of area (villages taken in score order until they cover k % of the
study area, ``area_km2`` from the village layer); AUC (village with >= 1 test
incident against score; Mann-Whitney, ties 0.5); Brier score and a
calibration table of the predicted probability of at least one incident.
**Ties count fractionally**: in the tie group at the cut, incidents (and area)
count in proportion to the part of the group taken, which is the expectation
over random tie-breaks. Probabilities come from an isotonic map of the score's
percentile rank to P(>= 1), fitted at :math:`c - w` on the window
:math:`[c - w, c)` and applied at :math:`c`: no future data.

Examples
--------
>>> from riskmap import backtest, pipeline
>>> layers = pipeline.load()                      # the Kota Kupang demo
>>> bt = backtest.Backtest.from_layers(layers, cutoffs=["2019-01-01", "2024-01-01"]).fit()  # doctest: +SKIP
>>> print(bt.verdict("en"))                       # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from riskmap import i18n
from riskmap._errors import RiskmapInputError
from riskmap.config import Config, load_config
from riskmap.kernel import field

METHODS = ("riskmap", "count", "decay", "kde", "random")
"""Methods compared, riskmap first."""
BASELINES = METHODS[1:]
ALL = "all"
"""Stage id meaning "every incident"."""
VERDICT_METRICS = (("hit_rate_villages", 20.0), ("pai_area", 5.0), ("auc", None))
"""(metric, k %) pairs the verdict counts wins on."""
CURVE_POINTS = 101


# ----------------------------------------------------------------------------------- dates and windows
MAX_WINDOW_YEARS = 50
"""Longest window or cutoff spacing accepted."""
_PER_YEAR = {"D": 365.25, "W": 52.18, "M": 12.0, "Y": 1.0}
_WINDOW = re.compile(r"^\s*(\d{1,4})\s*([DWMY])\s*$", re.IGNORECASE)


def parse_window(text: str | pd.DateOffset) -> pd.DateOffset:
    """A window length like ``12M`` (months), ``6M``, ``90D`` (days), ``2W`` or ``1Y``.

    Raises
    ------
    RiskmapInputError
        ``bt_bad_window`` when it cannot be read, is zero or longer than
        :data:`MAX_WINDOW_YEARS`.
    """
    if isinstance(text, pd.DateOffset):
        return text
    m = _WINDOW.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise RiskmapInputError("bt_bad_window", value=text)
    n, unit = int(m.group(1)), m.group(2).upper()
    if n / _PER_YEAR[unit] > MAX_WINDOW_YEARS:
        raise RiskmapInputError("bt_bad_window", value=text)
    return {
        "D": pd.DateOffset(days=n),
        "W": pd.DateOffset(weeks=n),
        "M": pd.DateOffset(months=n),
        "Y": pd.DateOffset(years=n),
    }[unit]


def _shift(day: dt.date, offset: pd.DateOffset, sign: int = 1) -> dt.date:
    ts = pd.Timestamp(day)
    return (ts + offset if sign > 0 else ts - offset).date()


def parse_cutoffs(value: str | list[Any], config: Config | None = None) -> list[dt.date]:
    """Cutoff dates from ``D1,D2,...`` (ISO or Indonesian formats) or a list, sorted, unique."""
    from riskmap.pipeline import parse_as_of

    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    out: list[dt.date] = []
    for item in items:
        if item in ("", None):
            continue
        try:
            day = parse_as_of(item, config)
            if day is not None:  # always: only None gives None
                out.append(day)
        except RiskmapInputError:
            raise RiskmapInputError("bt_bad_cutoff", value=item) from None
    if not out:
        raise RiskmapInputError("bt_bad_cutoff", value=value)
    return sorted(set(out))


def cutoff_range(
    start: str | dt.date, end: str | dt.date, every: str | pd.DateOffset, config: Config | None = None
) -> list[dt.date]:
    """Cutoffs from ``start`` to ``end`` (inclusive) every ``every`` (``12M``, ``3M``, ``30D``).

    Raises ``bt_too_many_cutoffs`` beyond ``backtest.max_cutoffs``.
    """
    most = _max_cutoffs(config)
    first, last = parse_cutoffs([start], config)[0], parse_cutoffs([end], config)[0]
    if last < first:
        raise RiskmapInputError("bt_from_after_to", start=first.isoformat(), end=last.isoformat())
    step = parse_window(every)
    out: list[dt.date] = []
    k = 0
    while True:
        day = (pd.Timestamp(first) + step * k).date() if k else first
        if day > last:
            return out
        out.append(day)
        k += 1
        if k > most:
            raise RiskmapInputError("bt_too_many_cutoffs", n=f"> {most}", most=most)


def _max_cutoffs(config: Config | None) -> int:
    return int((config or load_config()).data["backtest"]["max_cutoffs"])


def window_text(offset: pd.DateOffset) -> str:
    """``12M``-style text of a window made by :func:`parse_window`."""
    for key, unit in (("years", "Y"), ("months", "M"), ("weeks", "W"), ("days", "D")):
        n = offset.kwds.get(key)
        if n:
            return f"{n}{unit}"
    return str(offset)


# ------------------------------------------------------------------------------------------- metrics
@dataclasses.dataclass(frozen=True)
class Ranking:
    """Villages in descending score order, grouped into tie groups.

    ``size`` and ``value`` are cumulative sums at the tie-group boundaries
    (starting at 0), in any units (villages, km², incidents); between two
    boundaries everything accrues linearly (ties count fractionally).
    """

    order: np.ndarray
    bounds: np.ndarray

    @classmethod
    def of(cls, score: np.ndarray) -> Ranking:
        """Rank ``score`` (higher first; NaN counts as the lowest score)."""
        s = np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf)
        order = np.argsort(-s, kind="stable")
        ss = s[order]
        starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]]) if len(ss) else np.array([], dtype=np.int64)
        return cls(order=order, bounds=np.r_[starts, len(ss)])

    def midrank(self) -> np.ndarray:
        """Ascending average rank (1 = lowest score) per village: ties share their mean rank."""
        n = len(self.order)
        a, b = self.bounds[:-1], self.bounds[1:]
        mid = n - (a + b - 1) / 2.0
        out = np.empty(n)
        out[self.order] = np.repeat(mid, b - a)
        return out

    def percentile(self) -> np.ndarray:
        """Mid-rank divided by n, in (0, 1): tied scores share one value."""
        return (self.midrank() - 0.5) / max(len(self.order), 1)

    def cumulative(self, values: np.ndarray) -> np.ndarray:
        """Cumulative sum of ``values`` (per village) at each tie-group boundary, from 0."""
        c = np.r_[0.0, np.cumsum(np.asarray(values, dtype=float)[self.order])]
        return c[self.bounds] if len(self.bounds) > 1 else np.array([0.0, c[-1]])

    def taken(self, size: np.ndarray, value: np.ndarray, at: np.ndarray) -> np.ndarray:
        """``value`` collected when villages are taken in score order until ``size`` reaches ``at``."""
        cs = self.cumulative(size)
        cv = self.cumulative(value)
        if len(cs) < 2 or cs[-1] <= 0:
            return np.zeros_like(np.asarray(at, dtype=float))
        cs, keep = np.unique(cs, return_index=True)  # zero-size groups add no size: keep the first boundary
        return np.interp(at, cs, cv[keep])


def auc(score: np.ndarray, positive: np.ndarray, ranking: Ranking | None = None) -> float:
    """Mann-Whitney AUC of ``score`` for ``positive`` villages (ties count 0.5); NaN without both classes."""
    pos = np.asarray(positive, dtype=bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = (ranking or Ranking.of(score)).midrank()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def ranking_metrics(
    score: np.ndarray,
    counts: np.ndarray,
    area_km2: np.ndarray,
    levels: tuple[float, ...] = (1, 5, 10, 20),
    ranking: Ranking | None = None,
) -> dict[tuple[str, float | None], float]:
    """Hit rates, PAI and AUC of one score against the test incidents per village.

    Parameters
    ----------
    score
        Per village; higher = more risk.
    counts
        Test incidents per village.
    area_km2
        Village areas (km²).
    levels
        k in percent.

    Returns
    -------
    dict
        ``(metric, k) -> value`` for ``hit_rate_villages``, ``area_share_villages``,
        ``pai_villages``, ``hit_rate_area``, ``pai_area`` (k in percent) and
        ``(auc, None)``. Hit rates and shares are fractions (0-1).
    """
    counts = np.asarray(counts, dtype=float)
    area = np.asarray(area_km2, dtype=float)
    n, total, total_area = len(counts), counts.sum(), area.sum()
    rk = ranking or Ranking.of(score)
    k = np.asarray(levels, dtype=float) / 100.0
    ones = np.ones(n)
    out: dict[tuple[str, float | None], float] = {}
    hit_v = rk.taken(ones, counts, k * n) / total if total > 0 else np.full(len(k), np.nan)
    area_v = rk.taken(ones, area, k * n) / total_area if total_area > 0 else np.full(len(k), np.nan)
    hit_a = rk.taken(area, counts, k * total_area) / total if total > 0 else np.full(len(k), np.nan)
    for j, lev in enumerate(levels):
        out[("hit_rate_villages", float(lev))] = float(hit_v[j])
        out[("area_share_villages", float(lev))] = float(area_v[j])
        out[("pai_villages", float(lev))] = float(hit_v[j] / area_v[j]) if area_v[j] > 0 else float("nan")
        out[("hit_rate_area", float(lev))] = float(hit_a[j])
        out[("pai_area", float(lev))] = float(hit_a[j] / k[j])
    out[("auc", None)] = auc(score, counts > 0, rk)
    return out


def capture_curves(
    score: np.ndarray,
    counts: np.ndarray,
    area_km2: np.ndarray,
    points: int = CURVE_POINTS,
    ranking: Ranking | None = None,
) -> dict[str, np.ndarray]:
    """Share of test incidents against share of villages and of area (``points`` from 0 to 1)."""
    counts = np.asarray(counts, dtype=float)
    area = np.asarray(area_km2, dtype=float)
    x = np.linspace(0.0, 1.0, points)
    total = counts.sum()
    if total <= 0:
        return {"villages": np.full(points, np.nan), "area": np.full(points, np.nan)}
    rk = ranking or Ranking.of(score)
    return {
        "villages": rk.taken(np.ones(len(counts)), counts, x * len(counts)) / total,
        "area": rk.taken(area, counts, x * area.sum()) / total,
    }


def percentile_rank(score: np.ndarray) -> np.ndarray:
    """Mid-rank of each score divided by n, in (0, 1): tied scores share one value."""
    return Ranking.of(score).percentile()


def isotonic(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Non-decreasing least-squares fit of ``y`` on already sorted ``x`` (pool adjacent violators).

    ``x`` only fixes the order; returns the fitted value per point.
    """
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    means: list[float] = []
    weights: list[float] = []
    lengths: list[int] = []
    for yi, wi in zip(y, w, strict=True):
        means.append(yi)
        weights.append(wi)
        lengths.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m2, w2, n2 = means.pop(), weights.pop(), lengths.pop()
            tw = weights[-1] + w2
            means[-1] = (means[-1] * weights[-1] + m2 * w2) / tw if tw > 0 else (means[-1] + m2) / 2
            weights[-1] = tw
            lengths[-1] += n2
    return np.repeat(means, lengths)


def percentile_bins(percentile: np.ndarray, bins: int) -> np.ndarray:
    """Bin 0 .. bins - 1 of each percentile rank (equal-width bins of (0, 1))."""
    return np.minimum((np.asarray(percentile) * bins).astype(np.int64), bins - 1)


@dataclasses.dataclass(frozen=True)
class Calibrator:
    """Monotone map from a score's percentile rank to P(at least one incident).

    Fitted on one period (score at its start, outcome over its window) and
    applied to a later score by its own percentile rank, so a score whose
    scale drifts over time is still mapped sensibly.
    """

    probabilities: np.ndarray

    @classmethod
    def fit(cls, score: np.ndarray, hit: np.ndarray, bins: int = 50) -> Calibrator:
        """Isotonic fit over ``bins`` percentile bins of ``score`` against ``hit`` (0/1)."""
        return cls.fit_bins(percentile_bins(Ranking.of(score).percentile(), bins), hit, bins)

    @classmethod
    def fit_bins(cls, b: np.ndarray, hit: np.ndarray, bins: int = 50) -> Calibrator:
        """:meth:`fit` from the percentile bins of the score (:func:`percentile_bins`)."""
        hit = np.asarray(hit, dtype=float)
        if len(hit) == 0:
            return cls(np.zeros(bins))
        n = np.bincount(b, minlength=bins).astype(float)
        s = np.bincount(b, weights=hit, minlength=bins)
        has = n > 0
        fitted = isotonic(np.flatnonzero(has), s[has] / n[has], n[has])
        p = np.full(bins, np.nan)
        p[has] = fitted
        idx = np.flatnonzero(has)  # empty bins: the value of the nearest filled bin below (above at the start)
        pos = np.clip(np.searchsorted(idx, np.arange(bins), side="right") - 1, 0, len(idx) - 1)
        return cls(p[idx][pos])

    def predict(self, score: np.ndarray, ranking: Ranking | None = None) -> np.ndarray:
        """P(>= 1 incident) per village."""
        bins = len(self.probabilities)
        pct = (ranking or Ranking.of(score)).percentile()
        return self.probabilities[np.minimum((pct * bins).astype(int), bins - 1)]


def brier(p: np.ndarray, hit: np.ndarray) -> float:
    """Mean squared difference between probability and outcome (0/1)."""
    p, hit = np.asarray(p, dtype=float), np.asarray(hit, dtype=float)
    return float(np.mean((p - hit) ** 2)) if len(p) else float("nan")


def calibration_table(
    p: np.ndarray, hit: np.ndarray, bins: int = 10, percentile: np.ndarray | None = None
) -> pd.DataFrame:
    """Villages in ``bins`` groups of equal size by predicted probability (tied ones together).

    ``percentile`` (optional): the percentile rank to group by, e.g. that of
    the score ``p`` is a monotone map of. Columns ``bin`` (1 = lowest),
    ``villages``, ``predicted`` (mean P), ``observed`` (share with >= 1
    incident), ``p_low``, ``p_high``.
    """
    p, hit = np.asarray(p, dtype=float), np.asarray(hit, dtype=float)
    pct = percentile_rank(p) if percentile is None else percentile
    b = np.minimum((pct * bins).astype(int), bins - 1)
    n = np.bincount(b, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = pd.DataFrame(
            {
                "bin": np.arange(1, bins + 1),
                "villages": n,
                "predicted": np.bincount(b, weights=p, minlength=bins) / n,
                "observed": np.bincount(b, weights=hit, minlength=bins) / n,
            }
        )
    lo, hi = np.full(bins, np.inf), np.full(bins, -np.inf)
    np.minimum.at(lo, b, p)
    np.maximum.at(hi, b, p)
    frame["p_low"], frame["p_high"] = lo, hi
    return frame[frame["villages"] > 0].reset_index(drop=True)


# -------------------------------------------------------------------------------------- the model
@dataclasses.dataclass
class _Data:
    """What the backtest needs of the layers, computed once."""

    n: int
    area: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    day: np.ndarray  # incident dates, datetime64[D]
    precise: np.ndarray
    village: np.ndarray
    relevant: dict[str, np.ndarray]
    inc_lon: np.ndarray
    inc_lat: np.ndarray


class Backtest:
    """Rolling-origin evaluation of riskmap's scores against baselines.

    Build with :meth:`from_layers`, then :meth:`fit`. Results: ``metrics_``
    (long DataFrame: ``cutoff``, ``stage``, ``method``, ``metric``, ``k``,
    ``value``), ``curves_`` (``cutoff``, ``stage``, ``method``, ``axis``
    villages/area, ``x``, ``y``), ``calibration_`` (``cutoff``, ``stage``,
    ``method`` + :func:`calibration_table` columns), ``windows_`` (one row
    per cutoff: test incidents, chosen KDE bandwidth) and :meth:`verdict`.

    Parameters
    ----------
    layers
        Loaded layers (:func:`riskmap.pipeline.load`), with incidents.
    config
        Configuration (defaults when None); section ``[backtest]``.
    cutoffs
        Cutoff dates; each scores with incidents strictly before it.
    window
        Test window length (``12M``, ``6M``, ``90D``...); default
        ``backtest.window``.
    stages
        Stage ids and/or ``all``; default: ``all`` and every stage.
    keep_scores
        Keep every score and probability in ``scores_`` (memory: villages x
        cutoffs x stages x methods).
    """

    def __init__(
        self,
        layers: Any,
        config: Config | None = None,
        cutoffs: Sequence[dt.date | str] | None = None,
        window: str | pd.DateOffset | None = None,
        stages: list[str] | None = None,
        keep_scores: bool = False,
    ) -> None:
        self.layers = layers
        self.config = config or load_config()
        self.settings = self.config.data["backtest"]
        self.window = parse_window(window or self.settings["window"])
        self.stages = list(stages) if stages else [ALL, *self.config.stages]
        for s in self.stages:
            if s != ALL and s not in self.config.stages:
                raise RiskmapInputError("bt_bad_stage", value=s, known=", ".join([ALL, *self.config.stages]))
        self.cutoffs = parse_cutoffs(list(cutoffs), self.config) if cutoffs else None
        most = _max_cutoffs(self.config)
        if self.cutoffs and len(self.cutoffs) > most:
            raise RiskmapInputError("bt_too_many_cutoffs", n=len(self.cutoffs), most=most)
        self.keep_scores = keep_scores
        self.metrics_: pd.DataFrame | None = None
        self.curves_: pd.DataFrame | None = None
        self.calibration_: pd.DataFrame | None = None
        self.windows_: pd.DataFrame | None = None
        self.timings_: dict[str, float] = {}
        self.riskmap_fits_ = 0
        self.scores_: dict[tuple[str, str, str], np.ndarray] = {}
        self.probabilities_: dict[tuple[str, str, str], np.ndarray] = {}

    @classmethod
    def from_layers(
        cls,
        layers: Any,
        config: Config | None = None,
        *,
        cutoffs: Sequence[dt.date | str] | None = None,
        window: str | pd.DateOffset | None = None,
        stages: list[str] | None = None,
        keep_scores: bool = False,
    ) -> Backtest:
        """Constructor in the PySAL style (``from_dataframe``)."""
        return cls(layers, config, cutoffs=cutoffs, window=window, stages=stages, keep_scores=keep_scores)

    # ------------------------------------------------------------------ data
    def _prepare(self) -> _Data:
        v = self.layers.villages
        inc = self.layers.incidents
        if inc is None or len(inc) == 0:
            raise RiskmapInputError("bt_no_incidents")
        centre = shapely.centroid(v.geometry.to_numpy())
        precise = (inc["precision"] != "region").to_numpy() & (inc["village_idx"].to_numpy() >= 0)
        relevant = {ALL: np.ones(len(inc), dtype=bool)}
        for stage in self.config.stages:
            relevant[stage] = inc["type"].map(self.config.stage_weights(stage)).fillna(0.0).to_numpy(float) > 0
        return _Data(
            n=len(v),
            area=v["area_km2"].to_numpy(dtype=float),
            lon=shapely.get_x(centre),
            lat=shapely.get_y(centre),
            day=inc["date"].to_numpy().astype("datetime64[D]"),
            precise=precise,
            village=inc["village_idx"].to_numpy(dtype=np.int64),
            relevant=relevant,
            inc_lon=inc.geometry.x.to_numpy(),
            inc_lat=inc.geometry.y.to_numpy(),
        )

    def _default_cutoffs(self, d: _Data) -> list[dt.date]:
        """Every window from one window after the first precise incident to one window before the last."""
        days = d.day[d.precise]
        if not len(days):
            raise RiskmapInputError("bt_no_precise")
        first = pd.Timestamp(days.min()) + self.window
        first = pd.Timestamp(first.year, first.month, 1) + pd.DateOffset(months=1)
        last = pd.Timestamp(days.max()) - self.window + pd.DateOffset(days=1)
        out, k = [], 0
        while (c := first + self.window * k) <= last:
            out.append(c.date())
            k += 1
        return out or [first.date()]

    def _between(self, d: _Data, start: dt.date | None, end: dt.date, stage: str) -> np.ndarray:
        """Mask of precise, stage-relevant incidents dated in [start, end)."""
        m = d.precise & d.relevant[stage] & (d.day < np.datetime64(end))
        if start is not None:
            m &= d.day >= np.datetime64(start)
        return m

    def _counts(self, d: _Data, mask: np.ndarray) -> np.ndarray:
        return np.bincount(d.village[mask], minlength=d.n).astype(float)

    # --------------------------------------------------------------- scores
    def _riskmap(self, cache: dict[dt.date, dict[str, np.ndarray]], day: dt.date) -> dict[str, np.ndarray]:
        """Village scores of the riskmap method from the incidents dated before ``day`` (the layers are cut)."""
        if day not in cache:
            from riskmap import pipeline

            inc = self.layers.incidents
            past = inc.loc[(inc["date"] < pd.Timestamp(day)).to_numpy()]
            layers = dataclasses.replace(self.layers, incidents=past)
            as_of = day - dt.timedelta(days=1)
            result = pipeline.score(layers, self.config, as_of=as_of, hotspots=False, tps_scores=False)
            scores = {s: result.villages[f"risk_{s}"].to_numpy(dtype=float) for s in self.config.stages}
            scores[ALL] = np.mean([scores[s] for s in self.config.stages], axis=0)
            cache[day] = scores
        return cache[day]

    def _baselines(self, d: _Data, day: dt.date, stage: str) -> dict[str, np.ndarray]:
        mask = self._between(d, None, day, stage)
        half = float(self.config.data["incidents"]["half_life_days"])
        age = (np.datetime64(day - dt.timedelta(days=1)) - d.day[mask]).astype(float)
        decay = np.bincount(d.village[mask], weights=0.5 ** (np.maximum(age, 0) / half), minlength=d.n)
        return {"count": self._counts(d, mask), "decay": decay, "random": np.zeros(d.n)}

    def _kde_all(
        self, d: _Data, needs: dict[float, set[tuple[dt.date, str]]]
    ) -> dict[tuple[float, dt.date, str], np.ndarray]:
        """KDE per (bandwidth, day, stage) asked for, from precise incidents before the day."""
        out: dict[tuple[float, dt.date, str], np.ndarray] = {}
        src = np.flatnonzero(d.precise)
        grid, cut = float(self.settings["kde_grid_fraction"]), float(self.settings["kde_cut_sigmas"])
        for sigma, cols in needs.items():
            if not cols:
                continue
            keys = sorted(cols)
            masks = np.column_stack([self._between(d, None, day, stage)[src] for day, stage in keys])
            dens = field(d.lon, d.lat, sigma, grid, cut)(d.inc_lon[src], d.inc_lat[src], masks.astype(float))
            for j, key in enumerate(keys):
                out[(sigma, *key)] = np.asarray(dens[:, j]).ravel()
        return out

    # ------------------------------------------------------------------ fit
    def fit(self) -> Backtest:
        """Score at every cutoff, measure every method; returns self."""
        from riskmap.scoring import feature_cache

        # each cutoff and its calibration date are scored; their fits share most of their dates
        fit_windows = int(self.config.data["scoring"]["fitted"]["fit_windows"])
        with feature_cache(2 * max(len(self.cutoffs or ()), 20) * (fit_windows + 1)):
            return self._fit()

    def _fit(self) -> Backtest:
        clock = time.perf_counter()
        timings = {"prepare": 0.0, "kde": 0.0, "riskmap": 0.0, "metrics": 0.0}
        d = self._prepare()
        timings["prepare"] = time.perf_counter() - clock
        cutoffs = self.cutoffs or self._default_cutoffs(d)
        w = self.window
        levels = tuple(float(k) for k in self.settings["levels_percent"])
        sigmas = [float(s) for s in self.settings["kde_bandwidths_km"]]
        cal_bins = int(self.settings["calibration_bins"])
        table_bins = int(self.settings["calibration_table_bins"])

        windows: list[dict[str, Any]] = []
        for c in cutoffs:
            end = _shift(c, w)
            n_test = int(self._between(d, c, end, ALL).sum())
            windows.append({"cutoff": c, "end": end, "start_past": _shift(c, w, -1), "test_incidents": n_test})
        if not any(r["test_incidents"] for r in windows):
            days = d.day[d.precise]
            raise RiskmapInputError(
                "bt_no_test_incidents",
                cutoffs=", ".join(c.isoformat() for c in cutoffs),
                window=window_text(w),
                first=str(days.min()) if len(days) else "-",
                last=str(days.max()) if len(days) else "-",
                n=int(d.precise.sum()),
            )

        # kernel density: bandwidth candidates at c - w for the choice, then the chosen one at c and c - w
        clock = time.perf_counter()
        stages = self.stages
        choice_needs = {s: {(r["start_past"], ALL) for r in windows} for s in sigmas}
        dens = self._kde_all(d, choice_needs)
        default_sigma = float(self.settings["kde_default_km"])
        for r in windows:
            r["kde_bandwidth_km"] = self._choose_bandwidth(d, dens, sigmas, r, default_sigma)
        app_needs: dict[float, set[tuple[dt.date, str]]] = {}
        for r in windows:
            cols = app_needs.setdefault(r["kde_bandwidth_km"], set())
            cols.update((day, s) for day in (r["cutoff"], r["start_past"]) for s in stages)
        for sigma, cols in app_needs.items():
            app_needs[sigma] = {k for k in cols if (sigma, *k) not in dens}
        dens.update(self._kde_all(d, app_needs))
        timings["kde"] = time.perf_counter() - clock

        cache: dict[dt.date, dict[str, np.ndarray]] = {}
        # percentile bins of a score at a cutoff that is also a later cutoff's calibration date
        scored = [r for r in windows if r["test_incidents"]]
        reuse = {
            (r["start_past"], stage, method, r["kde_bandwidth_km"] if method == "kde" else None)
            for r in scored
            for stage in stages
            for method in METHODS
        }
        past_bins: dict[tuple[dt.date, str, str, float | None], np.ndarray] = {}
        rows: list[dict[str, Any]] = []
        curves: list[pd.DataFrame] = []
        tables: list[pd.DataFrame] = []
        for r in windows:
            c, past = r["cutoff"], r["start_past"]
            if r["test_incidents"] == 0:
                continue
            clock = time.perf_counter()
            now_rm, past_rm = self._riskmap(cache, c), self._riskmap(cache, past)
            timings["riskmap"] += time.perf_counter() - clock
            clock = time.perf_counter()
            for stage in stages:
                test = self._counts(d, self._between(d, c, r["end"], stage))
                outcome_past = self._counts(d, self._between(d, past, c, stage)) > 0
                now_base, past_base = self._baselines(d, c, stage), self._baselines(d, past, stage)
                sigma = r["kde_bandwidth_km"]
                now = {"riskmap": now_rm[stage], **now_base, "kde": dens[(sigma, c, stage)]}
                before = {"riskmap": past_rm[stage], **past_base, "kde": dens[(sigma, past, stage)]}
                key = c.isoformat()
                rows.append(self._row(key, stage, "-", "test_incidents", None, float(test.sum())))
                rows.append(self._row(key, stage, "-", "villages_hit", None, float((test > 0).sum())))
                for method in METHODS:
                    score = now[method]
                    rk = Ranking.of(score)
                    for (metric, k), value in ranking_metrics(score, test, d.area, levels, rk).items():
                        rows.append(self._row(key, stage, method, metric, k, value))
                    band = sigma if method == "kde" else None
                    if (c, stage, method, band) in reuse:  # a later cutoff calibrates on this very score
                        past_bins[(c, stage, method, band)] = percentile_bins(rk.percentile(), cal_bins)
                    b = past_bins.pop((past, stage, method, band), None)
                    if b is None:
                        b = percentile_bins(Ranking.of(before[method]).percentile(), cal_bins)
                    p = Calibrator.fit_bins(b, outcome_past, cal_bins).predict(score, rk)
                    rows.append(self._row(key, stage, method, "brier", None, brier(p, test > 0)))
                    table = calibration_table(p, test > 0, table_bins, rk.percentile())
                    tables.append(table.assign(cutoff=key, stage=stage, method=method))
                    for axis, y in capture_curves(score, test, d.area, ranking=rk).items():
                        curves.append(((key, stage, method, axis), y))
                    if self.keep_scores:
                        self.scores_[(key, stage, method)] = np.asarray(score, dtype=float).copy()
                        self.probabilities_[(key, stage, method)] = p
                rows.append(self._row(key, stage, "kde", "bandwidth_km", None, sigma))
            timings["metrics"] += time.perf_counter() - clock
        self.metrics_ = pd.DataFrame(rows, columns=["cutoff", "stage", "method", "metric", "k", "value"])
        self.curves_ = _curve_frame(curves)
        cal_cols = ["cutoff", "stage", "method", "bin", "villages", "predicted", "observed", "p_low", "p_high"]
        self.calibration_ = pd.concat(tables, ignore_index=True)[cal_cols] if tables else pd.DataFrame()
        self.windows_ = pd.DataFrame(windows)
        self.timings_ = {k: round(v, 3) for k, v in timings.items()}
        self.riskmap_fits_ = len(cache)
        return self

    @staticmethod
    def _row(cutoff: str, stage: str, method: str, metric: str, k: float | None, value: float) -> dict[str, Any]:
        return {"cutoff": cutoff, "stage": stage, "method": method, "metric": metric, "k": k, "value": value}

    def _choose_bandwidth(
        self,
        d: _Data,
        dens: dict[tuple[float, dt.date, str], np.ndarray],
        sigmas: list[float],
        window: dict[str, Any],
        default: float,
    ) -> float:
        """The bandwidth whose density at c - w best predicted [c - w, c): top-20 % hit rate, then AUC."""
        past, c = window["start_past"], window["cutoff"]
        outcome = self._counts(d, self._between(d, past, c, ALL))
        history = self._between(d, None, past, ALL).any()
        if outcome.sum() == 0 or not history:
            return default
        best, best_key = default, (-np.inf, -np.inf)
        for s in sigmas:
            m = ranking_metrics(dens[(s, past, ALL)], outcome, d.area, (20.0,))
            key = (m[("hit_rate_villages", 20.0)], np.nan_to_num(m[("auc", None)], nan=0.0))
            if key > best_key:
                best, best_key = s, key
        return best

    # --------------------------------------------------------------- summary
    def results(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``metrics_``, ``curves_``, ``calibration_`` and ``windows_`` of :meth:`fit` (RuntimeError before it)."""
        if self.metrics_ is None or self.curves_ is None or self.calibration_ is None or self.windows_ is None:
            raise RuntimeError("call fit() first")
        return self.metrics_, self.curves_, self.calibration_, self.windows_

    def table(self, metric: str, k: float | None = None, stage: str = ALL) -> pd.DataFrame:
        """Cutoffs x methods for one metric of one stage."""
        m = self.results()[0]
        sel = (m["metric"] == metric) & (m["stage"] == stage) & (m["method"].isin(METHODS))
        sel &= m["k"].isna() if k is None else (m["k"] == k)
        return m[sel].pivot(index="cutoff", columns="method", values="value").reindex(columns=list(METHODS))

    def summary(self) -> pd.DataFrame:
        """Median over cutoffs (``value``) per stage, method, metric and k."""
        metrics = self.results()[0]
        m = metrics[metrics["method"].isin(METHODS)]
        med = m.groupby(["stage", "method", "metric", "k"], dropna=False)["value"].median().reset_index()
        return med

    def wins(self) -> pd.DataFrame:
        """Per stage, baseline and verdict metric: windows riskmap beats it in, out of how many, and medians."""
        rows = []
        for stage in self.stages:
            for metric, k in VERDICT_METRICS:
                t = self.table(metric, k, stage)
                for base in BASELINES:
                    both = t[["riskmap", base]].dropna()
                    rows.append(
                        {
                            "stage": stage,
                            "metric": metric,
                            "k": k,
                            "baseline": base,
                            "wins": int((both["riskmap"] > both[base]).sum()),
                            "windows": len(both),
                            "median_riskmap": float(both["riskmap"].median()) if len(both) else float("nan"),
                            "median_baseline": float(both[base].median()) if len(both) else float("nan"),
                        }
                    )
        return pd.DataFrame(rows)

    def verdict(self, lang: str = "id") -> str:
        """Plain-words verdict: for each stage, metric and baseline, in how many windows riskmap wins."""
        lines = [
            i18n.t(
                "bt_verdict_head",
                lang,
                n=int(self.results()[3]["test_incidents"].gt(0).sum()),
                window=window_text(self.window),
            )
        ]
        wins = self.wins()
        for stage in self.stages:
            lines.append(stage_label(self.config, stage, lang) + ":")
            for metric, k in VERDICT_METRICS:
                part = wins[(wins["stage"] == stage) & (wins["metric"] == metric)]
                label = metric_label(metric, k, lang)
                ours = part["median_riskmap"].iloc[0] if len(part) else float("nan")
                lines.append(f"  {label}: " + i18n.t("bt_median_riskmap", lang, value=_fmt(metric, ours)))
                for r in part.itertuples():
                    lines.append(
                        "    "
                        + i18n.t(
                            "bt_verdict_line",
                            lang,
                            baseline=i18n.t("bt_method_" + r.baseline, lang),
                            wins=r.wins,
                            n=r.windows,
                            theirs=_fmt(metric, r.median_baseline),
                        )
                    )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (dates as ISO text, NaN as None)."""
        metrics, curves, calibration, fitted_windows = self.results()
        windows = fitted_windows.copy()
        for col in ("cutoff", "end", "start_past"):
            windows[col] = windows[col].map(lambda x: x.isoformat())
        med = (
            curves.groupby(["stage", "method", "axis", "x"])["y"].median().reset_index()
            if len(curves)
            else pd.DataFrame()
        )
        return {
            "window": window_text(self.window),
            "stages": self.stages,
            "methods": list(METHODS),
            "settings": self.settings,
            "windows": _records(windows),
            "metrics": _records(metrics),
            "medians": _records(self.summary()),
            "wins": _records(self.wins()),
            "calibration": _records(calibration),
            "curve_x": np.linspace(0.0, 1.0, CURVE_POINTS).round(4).tolist(),
            "curves_median": _compact_curves(med),
            "curves": _compact_curves(curves),
            "verdict": {lang: self.verdict(lang) for lang in i18n.LANGS},
        }

    # --------------------------------------------------------------- outputs
    def write(self, out_dir: str | Path, *, lang: str = "id", meta: dict[str, Any] | None = None) -> list[Path]:
        """Write ``backtest.json``, ``backtest.csv``, ``backtest.png``, ``backtest.pdf`` and the verdicts."""
        from riskmap.export import run_metadata, write_bytes, write_csv, write_json

        out = Path(out_dir)
        data = self.to_dict()
        data["_meta"] = {**run_metadata(self.config, None), **(meta or {})}
        written = [write_json(data, out / "backtest.json")]
        written.append(write_csv(self.metrics_, out / "backtest.csv"))
        for code in i18n.LANGS:
            written.append(write_bytes((self.verdict(code) + "\n").encode("utf-8"), out / f"verdict_{code}.txt"))
        written.extend(self.chart(out / "backtest.png", out / "backtest.pdf", lang=lang))
        return written

    def chart(self, png: str | Path, pdf: str | Path, *, lang: str = "id") -> list[Path]:
        """Capture curves (median over cutoffs), one panel per axis, one page (PDF) per stage; PNG: first stage."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_pdf import PdfPages

        png, pdf = Path(png), Path(pdf)
        png.parent.mkdir(parents=True, exist_ok=True)
        with matplotlib.rc_context({"text.parse_math": False}), PdfPages(pdf) as pages:
            for n, stage in enumerate(self.stages):
                fig = self._figure(plt, stage, lang)
                pages.savefig(fig)
                if n == 0:
                    fig.savefig(png, dpi=120)
                plt.close(fig)
        return [png, pdf]

    def _figure(self, plt: Any, stage: str, lang: str) -> Any:
        fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
        _, curves, _, windows = self.results()
        cv = curves[curves["stage"] == stage] if len(curves) else curves
        colours = {"riskmap": "#c0392b", "count": "#2471a3", "decay": "#17a589", "kde": "#7d3c98", "random": "#7f8c8d"}
        for ax, axis in zip(axes, ("villages", "area"), strict=True):
            for method in METHODS:
                part = cv[(cv["method"] == method) & (cv["axis"] == axis)] if len(cv) else cv
                if not len(part):
                    continue
                med = part.groupby("x")["y"].median()
                style = "--" if method == "random" else "-"
                ax.plot(
                    med.index, med.to_numpy(), style, color=colours[method], label=i18n.t("bt_method_" + method, lang)
                )
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xlabel(i18n.t("bt_axis_" + axis, lang))
            ax.set_ylabel(i18n.t("bt_axis_incidents", lang))
            ax.grid(alpha=0.3)
            ax.legend(loc="lower right", fontsize=9)
        n = int(windows["test_incidents"].gt(0).sum())
        fig.suptitle(
            i18n.t(
                "bt_chart_title",
                lang,
                stage=stage_label(self.config, stage, lang),
                n=n,
                window=window_text(self.window),
            )
        )
        fig.tight_layout()
        return fig


def _curve_frame(curves: list[tuple[tuple[str, str, str, str], np.ndarray]]) -> pd.DataFrame:
    """Long frame (cutoff, stage, method, axis, x, y) of the capture curves."""
    cols = ["cutoff", "stage", "method", "axis", "x", "y"]
    if not curves:
        return pd.DataFrame(columns=cols)
    keys = pd.DataFrame([k for k, _ in curves], columns=cols[:4])
    frame = keys.loc[keys.index.repeat(CURVE_POINTS)].reset_index(drop=True)
    frame["x"] = np.tile(np.linspace(0.0, 1.0, CURVE_POINTS), len(curves))
    frame["y"] = np.concatenate([y for _, y in curves])
    return frame


def _compact_curves(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Capture curves as one record per curve with its y values at ``curve_x`` (rounded to 1e-4)."""
    if frame is None or not len(frame):
        return []
    keys = [c for c in ("cutoff", "stage", "method", "axis") if c in frame]
    frame = frame.sort_values([*keys, "x"], kind="stable")
    y = frame["y"].to_numpy(dtype=float).reshape(-1, CURVE_POINTS)
    heads = frame[keys].iloc[::CURVE_POINTS].to_dict("records")
    return [
        {**h, "y": [None if not np.isfinite(v) else round(float(v), 4) for v in row]}
        for h, row in zip(heads, y, strict=True)
    ]


def stage_label(config: Config, stage: str, lang: str) -> str:
    """Human name of a stage, or of ``all``."""
    return i18n.t("bt_stage_all", lang) if stage == ALL else config.stage_label(stage, lang)


def metric_label(metric: str, k: float | None, lang: str) -> str:
    """Human name of a metric at k %."""
    return i18n.t("bt_metric_" + metric, lang, k=f"{k:g}" if k is not None else "")


def _fmt(metric: str, value: float) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.0%}" if metric.startswith("hit_rate") else f"{value:.2f}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame is None or not len(frame):
        return []
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")


def backtest(
    layers: Any,
    config: Config | None = None,
    *,
    cutoffs: list[dt.date | str] | None = None,
    window: str | None = None,
    stages: list[str] | None = None,
) -> Backtest:
    """Run a backtest on loaded layers (see :class:`Backtest`); returns the fitted model."""
    return Backtest.from_layers(layers, config, cutoffs=cutoffs, window=window, stages=stages).fit()


# ------------------------------------------------------------------------- summary for the faces
NOT_MEASURABLE = ("bt_no_incidents", "bt_no_precise", "bt_no_test_incidents")
"""Error codes meaning "too few incidents to measure": the faces say so instead of stopping."""


def accuracy(
    bt: Backtest | dict[str, Any] | RiskmapInputError | None, stage: str = ALL, *, k: float = 20.0
) -> dict[str, Any]:
    """What the faces print of a backtest: one stage's median hit rate in the top ``k`` % of villages.

    Parameters
    ----------
    bt
        A fitted :class:`Backtest`, its :meth:`Backtest.to_dict` (a saved
        ``backtest.json``), the :class:`RiskmapInputError` it raised (one of
        :data:`NOT_MEASURABLE`), or None when no backtest was run.
    stage
        Stage id or ``all``.
    k
        Share of villages, percent.

    Returns
    -------
    dict
        JSON-ready. ``measured`` (bool); when True: ``stage``, ``k``,
        ``hit_rate`` (method -> median over the windows, fraction 0-1; riskmap
        and every baseline), ``windows`` (windows with test incidents of the
        stage), ``first_cutoff``, ``last_cutoff``, ``last_end`` (ISO dates;
        the last window ends the day before ``last_end``), ``window``
        (``12M``), ``test_incidents`` (precise, stage-relevant, all windows),
        ``wins`` (baseline -> windows riskmap's hit rate is higher), ``best_baseline``
        (the baseline with the highest median). When False: ``reason`` (an
        i18n code: ``not_run``, ``bt_stage_no_test_incidents``, one of
        :data:`NOT_MEASURABLE` or another error's code), ``params`` (for its
        message) and, for an error, ``message`` (language -> its whole message).
    """
    if bt is None:
        return {"measured": False, "stage": stage, "reason": "not_run", "params": {}}
    if isinstance(bt, RiskmapInputError):  # NOT_MEASURABLE have words of their own; any other: its message
        message = {lang: bt.message(lang) for lang in i18n.LANGS}
        return {"measured": False, "stage": stage, "reason": bt.code, "params": dict(bt.params), "message": message}
    if isinstance(bt, Backtest):
        metrics, window = bt.metrics_, window_text(bt.window)
    else:
        metrics, window = pd.DataFrame(bt["metrics"]), str(bt["window"])
    if metrics is None or not len(metrics) or stage not in set(metrics["stage"]):
        raise RiskmapInputError("bt_stage_not_run", stage=stage)
    m = metrics[metrics["stage"] == stage]
    hits = m[(m["metric"] == "hit_rate_villages") & (m["k"].astype(float) == float(k))]
    t = hits.pivot(index="cutoff", columns="method", values="value").astype(float)
    t = t.reindex(columns=list(METHODS)).dropna(subset=["riskmap"]).sort_index()
    tests = m[m["metric"] == "test_incidents"].set_index("cutoff")["value"].astype(float)
    if not len(t):
        return {"measured": False, "stage": stage, "reason": "bt_stage_no_test_incidents", "params": {}}
    medians = {method: float(t[method].median()) for method in METHODS}
    best = max(BASELINES[:-1], key=lambda b: medians[b] if np.isfinite(medians[b]) else -1.0)
    last = dt.date.fromisoformat(str(t.index[-1]))
    return {
        "measured": True,
        "stage": stage,
        "k": float(k),
        "hit_rate": medians,
        "windows": len(t),
        "first_cutoff": str(t.index[0]),
        "last_cutoff": str(t.index[-1]),
        "last_end": _shift(last, parse_window(window)).isoformat(),
        "window": window,
        "test_incidents": int(tests.reindex(t.index).sum()),
        "wins": {b: int((t["riskmap"] > t[b]).sum()) for b in BASELINES},
        "best_baseline": best,
    }
