r"""Hot spots per election stage: local Getis-Ord Gi* with a false-discovery-rate correction.

For villages :math:`i = 1..n` with values :math:`x_i` (the transformed
variable below, by default :math:`x_i = \ln(1 + v_i / \bar v)` of the
village's incident value :math:`v_i`) and binary weights
:math:`w_{ij} = 1` when :math:`j` is :math:`i` itself or one of its
neighbours (else 0), the Gi* ("star": the village itself included) z-score is

.. math:: G^*_i = \frac{\sum_j w_{ij} x_j - \bar x\, W_i}
                       {S \sqrt{(n W_i - W_i^2) / (n - 1)}}

with :math:`W_i = \sum_j w_{ij}` (neighbours + 1), :math:`\bar x` the mean
and :math:`S = \sqrt{\overline{x^2} - \bar x^2}` the (population) standard
deviation of :math:`x` over all villages (Getis & Ord 1992, Ord & Getis 1995).
It is unitless: how many standard deviations the neighbourhood's sum lies
above (hot, :math:`G^* > 0`) or below (cold) what it would be if the values
were spread at random. This is ``esda.G_Local(y, w, transform="B",
star=True).Zs``, which computes it; p-values are two-sided,
:math:`p_i = 2\,(1 - \Phi(|G^*_i|))`.

Variable
    Per stage, the village's stage-weighted, time-decayed incident mass, read
    from the scored villages (so exactly the incidents the scores use: those
    dated on or before the as-of date, weighted as in
    :mod:`riskmap.scoring`). With voters known (a TPS file) it is the
    smoothed rate per 1,000 voters ``rate_<stage>`` of the incidents factor
    (the Gamma-Poisson shrinkage keeps a village of 50 voters with one
    incident from being a hot spot on its own); without, the mass per village
    ``incidents_<stage>`` (a count-like number, region-precision incidents
    shared over their kecamatan). ``hotspots.variable`` forces either.
Transform
    ``hotspots.transform = "log"`` (default): Gi* adds up
    :math:`x_i = \ln(1 + v_i / \bar v)`, :math:`\bar v` the mean of the
    variable over all villages of the stage (:func:`transform_values`):
    unitless, 0 without incidents, 0.69 at the average, 2.4 at ten times it.
    ``"none"``: :math:`x_i = v_i`. Incident values are mostly zero with a
    long tail, and under random dealing (the null of Gi*) the busiest
    villages are dealt somewhere too: on the raw values one village with 30
    times the average makes any 9-village total that holds it ordinary, so a
    cluster of several busy villages does not stand out against 83,000
    tests. The logarithm bounds that weight. Measured with
    ``bench/bench_hotspots.py --history`` (400 planted hot spots, sd 2 km, in
    83,000 villages; a planted hot spot counts as found when it or one of its
    8 nearest villages is hot at 95 %): raw values with pearson3 find 0 %,
    the log 93 %; normal p-values on the raw values 88 %, but they mark
    villages on pure noise (below). Tried and not taken (docs/METHOD.md
    section 9): ranks (91 %, but the smoothed rate of a village without
    incidents falls with its voters, so there the ranks follow the voters:
    twice the share of marks with no planted hot spot in the
    neighbourhood), :math:`k = 16` (94 %, a third more marks beyond 5 km),
    a 5 km distance band (99 %, but villages farther than 5 km from any
    other get no neighbourhood, and at 8,300 villages a 15 km band did no
    better than k = 8), permutations (no power at this size, below).
Weights
    The ``hotspots.k`` nearest villages by great-circle distance between
    centroids (3D unit vectors and a k-d tree, as :mod:`riskmap.joins`),
    made symmetric (j is i's neighbour when either chose the other), binary,
    the village itself added. Contiguity fails for Indonesia: an island
    village touches no polygon and would have no neighbourhood at all, and
    polygon sizes differ by 1,000x (a kota kelurahan of 0.5 km² beside a
    Papuan desa of 2,000 km²), so a fixed distance band gives city villages
    hundreds of neighbours and remote ones none. k nearest neighbours give
    every village, island or not, a neighbourhood of about the same number of
    villages (8 chosen, 9.8 on average after symmetrising at k = 8), so the
    z-scores are comparable; an island's nearest villages are across the
    water, which is where its incidents spill over to. The weights are cached
    per boundary set (a digest of the centroids) and k: :func:`knn_weights`.
Inference
    ``hotspots.inference = "pearson3"`` (default): the skewed side of the
    null distribution of the neighbourhood total is the Pearson type III law
    with its exact first three moments (:func:`pearson3_p`), the other side
    normal. ``"saddlepoint"`` (:func:`saddlepoint_p`) uses the values' whole
    distribution; ``"normal"`` is esda's ``p_norm``; ``"permutation"`` esda's
    conditional permutations, ties counted on both sides. Measured
    (bench/bench_hotspots.py, 2-core machine shared with other jobs, 83,000
    villages): weights 1.1-1.4 s once; 4 stages 1.0-1.4 s (pearson3), 0.6-0.9 s
    (normal), 6-9 s (saddlepoint); 999 permutations 16-40 s per stage
    (0.5-3 s at 8,300). A permutation p-value is never below
    1 / (permutations + 1), while Benjamini-Hochberg at 83,000 villages needs
    :math:`p \le 0.01\,m/n` for the :math:`m` strongest: with 999 draws
    nothing is significant unless over 830 villages are. The normal
    p-values are far too small for incident values (mostly zeros, a long
    tail), and still too small after the log transform: on pure noise they
    gave false ``hot_99`` villages in half the runs (raw values), and on
    83,000 villages with incidents dealt at random they marked villages in
    7 of 8 runs (log) and 8 of 8 (raw, 390 villages on average); pearson3
    and saddlepoint on the log values marked none in 16 of 16
    (tests/test_hotspots.py, bench/bench_hotspots.py --history).
FDR
    Benjamini-Hochberg on the two-sided p-values of all villages of a stage
    (``esda.fdr``), applied separately at each of ``hotspots.fdr_levels``
    (0.01, 0.05, 0.10): a village is ``hot_99`` when significant at 0.01 with
    :math:`G^* > 0`, else ``hot_95`` at 0.05, else ``hot_90`` at 0.10
    (``cold_*`` with :math:`G^* < 0`), else ``ns``. Of the villages marked at
    level q, at most a fraction q are expected to be false discoveries.

Examples
--------
>>> from riskmap import pipeline
>>> result = pipeline.run()                       # the embedded demo
>>> result.villages["hotspot_voting"].value_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from riskmap._errors import RiskmapInputError
from riskmap.config import Config, load_config
from riskmap.joins import _unit_vectors

CLASSES: tuple[str, ...] = ("cold_99", "cold_95", "cold_90", "ns", "hot_90", "hot_95", "hot_99")
"""Hot-spot class codes, coldest first (the categories of ``hotspot_<stage>``)."""
VARIABLES = ("auto", "rate", "mass")
INFERENCES = ("saddlepoint", "pearson3", "normal", "permutation")
TRANSFORMS = ("log", "none")
_WEIGHTS: dict[tuple[str, int], Any] = {}
_MAX_WEIGHTS = 8  # boundary sets kept (a national set: about 30 MB each)


def _settings(config: Config) -> dict[str, Any]:
    """The ``[hotspots]`` settings, checked (a wrong value names its key and what is allowed)."""
    hs = dict(config.data.get("hotspots", {}))
    where = config.source[-1]

    def bad(key: str, allowed: str) -> RiskmapInputError:
        value = hs.get(key)
        return RiskmapInputError("config_hotspots", file=where, setting=f"hotspots.{key}", value=value, allowed=allowed)

    if hs.get("variable") not in VARIABLES:
        raise bad("variable", ", ".join(f'"{v}"' for v in VARIABLES))
    if hs.get("inference") not in INFERENCES:
        raise bad("inference", ", ".join(f'"{v}"' for v in INFERENCES))
    if hs.get("transform") not in TRANSFORMS:
        raise bad("transform", ", ".join(f'"{v}"' for v in TRANSFORMS))
    for key in ("k", "permutations"):
        if isinstance(hs.get(key), bool) or not isinstance(hs.get(key), int) or hs[key] < 1:
            raise bad(key, ">= 1")
    levels = hs.get("fdr_levels")
    if (
        not isinstance(levels, list)
        or len(levels) != 3
        or not all(isinstance(q, int | float) and not isinstance(q, bool) and 0 < q < 1 for q in levels)
        or sorted(levels) != levels
    ):
        raise bad("fdr_levels", "3 rates between 0 and 1, smallest first")
    if isinstance(hs.get("seed"), bool) or not isinstance(hs.get("seed"), int):
        raise bad("seed", "a whole number")
    return hs


def _centroids(villages: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Centroid longitude and latitude of each village (degrees, EPSG:4326)."""
    geoms = villages.geometry
    if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
        geoms = geoms.to_crs(4326)
    centre = shapely.centroid(geoms.to_numpy())
    return shapely.get_x(centre), shapely.get_y(centre)


def knn_adjacency(lon: np.ndarray, lat: np.ndarray, k: int) -> sp.csr_matrix:
    """Symmetric binary k-nearest-neighbour adjacency with ones on the diagonal (Gi*'s self weight).

    Parameters
    ----------
    lon, lat
        Points in degrees (EPSG:4326); distances are great-circle (chords of
        3D unit vectors rank the same).
    k
        Neighbours chosen by each point (fewer when there are fewer points);
        ``j`` is a neighbour of ``i`` when either chose the other.
    """
    n = len(lon)
    kk = min(int(k), n - 1)
    if kk < 1:
        return sp.identity(n, format="csr")
    _, nb = cKDTree(_unit_vectors(lon, lat)).query(_unit_vectors(lon, lat), k=kk + 1)
    other = nb != np.arange(n)[:, None]
    other[other.all(axis=1), -1] = False  # duplicate points: the point itself may not come first
    rows = np.repeat(np.arange(n), kk + 1)[other.ravel()]
    cols = nb[other]
    adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    adj = ((adj + adj.T + sp.identity(n, format="csr")) > 0).astype(float)
    return sp.csr_matrix(adj)


def knn_weights(villages: gpd.GeoDataFrame, k: int) -> Any:
    """The cached ``libpysal.graph.Graph`` of :func:`knn_adjacency` on the village centroids.

    Cached in memory per boundary set (blake2b digest of the centroids, which
    is all the weights depend on) and ``k``, the :data:`_MAX_WEIGHTS` most
    recent kept: scoring the same villages again (another as-of date, more
    incidents, a backtest) does not rebuild them. A ``libpysal.graph.Graph``
    rather than a ``libpysal.weights.W``: at 83,000 villages ``W.from_sparse``
    takes 4.4 s and each ``G_Local`` on it 2.6 s, the Graph 0.5 s and 0.07 s.
    """
    from libpysal.graph import Graph

    lon, lat = _centroids(villages)
    digest = hashlib.blake2b(np.ascontiguousarray(lon, dtype=float).tobytes(), digest_size=16)
    digest.update(np.ascontiguousarray(lat, dtype=float).tobytes())
    key = (digest.hexdigest(), int(k))
    if key not in _WEIGHTS:
        if len(_WEIGHTS) >= _MAX_WEIGHTS:
            _WEIGHTS.pop(next(iter(_WEIGHTS)))
        graph = Graph.from_sparse(knn_adjacency(lon, lat, k))
        graph.sparse  # noqa: B018 -- cached property: computed once here, reused by every G_Local
        _WEIGHTS[key] = graph
    return _WEIGHTS[key]


def _bh_thresholds(p: np.ndarray, levels: list[float]) -> list[float]:
    """Benjamini-Hochberg cut-off per level (``esda.fdr``): reject ``p < cut``."""
    from esda import fdr

    return [float(fdr(p, q)) for q in levels]


def classify(z: np.ndarray, p: np.ndarray, levels: list[float]) -> tuple[pd.Categorical, list[float]]:
    """Hot/cold classes from z-scores and two-sided p-values, FDR-corrected at each level.

    Returns the classes (categories :data:`CLASSES`) and the p-value cut-off
    of each level (strictest first).
    """
    cuts = _bh_thresholds(p, levels) if len(p) else [0.0] * len(levels)
    suffix = ("99", "95", "90")
    codes = np.full(len(p), CLASSES.index("ns"), dtype=np.int8)
    for cut, tag in zip(cuts[::-1], suffix[::-1], strict=True):  # weakest first: stricter levels overwrite
        sig = p < cut
        codes[sig & (z > 0)] = CLASSES.index(f"hot_{tag}")
        codes[sig & (z < 0)] = CLASSES.index(f"cold_{tag}")
    return pd.Categorical.from_codes(codes, categories=list(CLASSES)), cuts


class HotSpots:
    """Local Getis-Ord Gi* hot spots with a Benjamini-Hochberg FDR correction (see the module).

    Build with :meth:`from_geodataframe`, then :meth:`fit`. Results: ``z_``
    (Gi* z-scores of the transformed values, unitless), ``p_`` (two-sided p-values), ``classes_``
    (``hot_99`` ... ``cold_90``, ``ns``), ``cuts_`` (the BH p-value cut-off at
    each FDR level, strictest first) and ``weights_`` (the
    ``libpysal.graph.Graph``); ``variable_`` is set by :func:`add_hotspots`. For a 1-D ``values`` they are arrays (a
    ``pd.Categorical`` for the classes, a list of cuts); for a DataFrame
    (one column per stage) DataFrames with its columns (``cuts_`` a dict).

    Parameters
    ----------
    villages
        Village polygons (EPSG:4326 or any CRS; centroids are taken in 4326).
    values
        Non-negative values per village (same order): an array or a DataFrame;
        ``hotspots.transform`` is applied to each column before Gi*.
    config
        Configuration (``[hotspots]``; defaults when None).
    """

    def __init__(
        self, villages: gpd.GeoDataFrame, values: np.ndarray | pd.Series | pd.DataFrame, config: Config | None = None
    ) -> None:
        self.villages = villages
        self.values = values
        self.config = config or load_config()
        self.z_: Any = None
        self.p_: Any = None
        self.classes_: Any = None
        self.cuts_: Any = None
        self.weights_: Any = None
        self.variable_: str | None = None

    @classmethod
    def from_geodataframe(
        cls,
        villages: gpd.GeoDataFrame,
        values: np.ndarray | pd.Series | pd.DataFrame,
        *,
        config: Config | None = None,
    ) -> HotSpots:
        """Alternative constructor in PySAL's style."""
        return cls(villages, values, config)

    def fit(self) -> HotSpots:
        """Compute z-scores, p-values and classes for every column; returns self."""
        hs = _settings(self.config)
        values = self.values
        if isinstance(values, pd.DataFrame):
            matrix = values.to_numpy(dtype=float)
        else:
            matrix = np.asarray(values, dtype=float).reshape(-1, 1)
        n = len(self.villages)
        if matrix.shape[0] != n:
            raise ValueError(f"{matrix.shape[0]} values for {n} villages")
        if not np.isfinite(matrix).all():
            raise ValueError("hot-spot values must be finite")
        self.weights_ = knn_weights(self.villages, int(hs["k"])) if n else None
        z = np.zeros(matrix.shape)
        p = np.ones(matrix.shape)
        for j in range(matrix.shape[1]):
            z[:, j], p[:, j] = self._gi_star(transform_values(matrix[:, j], str(hs["transform"])), hs)
        levels = [float(q) for q in hs["fdr_levels"]]
        classes, cuts = zip(*(classify(z[:, j], p[:, j], levels) for j in range(matrix.shape[1])), strict=True)
        if isinstance(values, pd.DataFrame):
            cols = values.columns
            index = values.index
            self.z_ = pd.DataFrame(z, index=index, columns=cols)
            self.p_ = pd.DataFrame(p, index=index, columns=cols)
            self.classes_ = pd.DataFrame(dict(zip(cols, classes, strict=True)), index=index)
            self.cuts_ = dict(zip(cols, cuts, strict=True))
        else:
            self.z_, self.p_, self.classes_, self.cuts_ = z[:, 0], p[:, 0], classes[0], cuts[0]
        return self

    def _gi_star(self, y: np.ndarray, hs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Gi* z-scores and two-sided p-values of one variable (all 0 and 1 when it does not vary)."""
        n = len(y)
        if n < 3 or np.ptp(y) <= 1e-12 * max(float(np.abs(y).max()), 1.0):
            return np.zeros(n), np.ones(n)  # no incident at all, or the same everywhere: nothing stands out
        from esda import G_Local

        inference = hs["inference"]
        permutations = int(hs["permutations"]) if inference == "permutation" else 0
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a neighbourhood of every village has no variance: z set to 0 below
            g = G_Local(
                y,
                self.weights_,
                transform="B",
                star=True,
                permutations=permutations,
                keep_simulations=bool(permutations),
                n_jobs=1,
                seed=int(hs["seed"]),
            )
            z = np.asarray(g.Zs, dtype=float)
            if inference == "normal":
                p = 2.0 * np.asarray(g.p_norm, dtype=float)
            elif inference == "permutation":
                p = _permutation_p(np.asarray(g.Gs, dtype=float), np.asarray(g.rGs, dtype=float))
            else:
                adj = sp.csr_matrix(self.weights_.sparse)
                m = np.asarray(adj.sum(axis=1), dtype=float).ravel()
                p = pearson3_p(z, y, m) if inference == "pearson3" else saddlepoint_p(y, adj @ y, m)
        p = np.minimum(p, 1.0)
        bad = ~np.isfinite(z) | ~np.isfinite(p)
        z[bad], p[bad] = 0.0, 1.0
        return z, p


def transform_values(y: np.ndarray, transform: str = "log") -> np.ndarray:
    r"""The values Gi* is computed on: :math:`\ln(1 + x_i / \bar x)` (``"log"``) or :math:`x_i` (``"none"``).

    :math:`\bar x` is the mean over all villages of the stage, so the
    transformed value is unitless and the same for a rate per 1,000 voters
    and for an incident mass (0 for a village without incidents, 0.69 for one
    at the average, 2.4 at ten times the average). It bounds the weight of one
    very busy village in a neighbourhood total: on the raw values a single
    village with 30 times the average makes every 9-village total that holds
    it look ordinary under random dealing (random dealing puts such a village
    somewhere too), so clusters of several busy villages are not found.
    All zero (no incident): returned unchanged.
    """
    y = np.asarray(y, dtype=float)
    if transform == "none":
        return y
    if transform != "log":
        raise ValueError(f"unknown transform {transform!r}")
    mean = float(y.mean()) if len(y) else 0.0
    return np.log1p(y / mean) if mean > 0 else y


def saddlepoint_p(y: np.ndarray, sums: np.ndarray, m: np.ndarray, grid: int = 256) -> np.ndarray:
    r"""Two-sided p-values of neighbourhood sums by the saddlepoint approximation (Lugannani-Rice).

    Under random dealing, the sum of a neighbourhood of :math:`m` villages is
    close to a sum of :math:`m` independent draws from the values of all
    villages (the finite-population correction :math:`(n-m)/(n-1)` is below
    1 % for :math:`n \ge 1000`). With the empirical cumulant generating
    function :math:`K(t) = \log \frac1n \sum_j e^{t (x_j - \bar x)}` and
    :math:`a = \text{sum}/m - \bar x`, the saddlepoint :math:`\hat t` solves
    :math:`K'(\hat t) = a`, and with :math:`w = \operatorname{sign}(\hat t)
    \sqrt{2m(\hat t a - K(\hat t))}`, :math:`u = \hat t \sqrt{m K''(\hat t)}`,

    .. math:: P(\text{sum} \ge s) \approx 1 - \Phi(w) + \phi(w)\,(1/u - 1/w)

    (the lower tail likewise on :math:`-x`). Unlike the normal curve it
    uses the whole distribution of the values, which for incidents is mostly
    zeros and a long tail: one busy village in a neighbourhood is common, nine
    are not. :math:`K, K', K''` are tabulated on ``grid`` values of
    :math:`t` (log-spaced, 1e-3 to 1e6 over the range of the values) and
    interpolated; a sum at the very edge of what is possible gets the exact
    probability of drawing the extreme value :math:`m` times.
    """
    from scipy import stats

    n = len(y)
    centred = y - y.mean()
    a = sums / m - y.mean()
    one_sided = np.ones(len(sums))
    spread = float(centred.max() - centred.min())
    if spread <= 0:
        return np.ones(len(sums))
    t = np.r_[0.0, np.geomspace(1e-3, 1e6, grid - 1) / spread]
    for sign in (1.0, -1.0):
        c, aa = sign * centred, sign * a
        top = float(c.max())
        side = aa > 1e-12 * spread
        if not side.any():
            continue
        k0, k1, k2 = np.empty(grid), np.empty(grid), np.empty(grid)
        for start in range(0, grid, 32):  # blocks of the grid: memory stays at 32 x n
            tb = t[start : start + 32]
            e = np.exp(np.outer(tb, c) - (tb * top)[:, None])  # shifted by t * max: no overflow
            s0, s1, s2 = e.sum(axis=1), e @ c, e @ (c * c)
            k0[start : start + 32] = np.log(s0 / n) + tb * top
            k1[start : start + 32] = s1 / s0
            k2[start : start + 32] = np.maximum(s2 / s0 - (s1 / s0) ** 2, 1e-300)
        k1 = np.maximum.accumulate(k1)  # K' is increasing; rounding must not break np.interp
        ai, mi = aa[side], m[side]
        th = np.interp(ai, k1, t)
        kk, kk2 = np.interp(th, t, k0), np.interp(th, t, k2)
        w = np.sqrt(np.maximum(2 * mi * (th * ai - kk), 0.0))
        u = th * np.sqrt(mi * kk2)
        with np.errstate(all="ignore"):
            lr = stats.norm.sf(w) + stats.norm.pdf(w) * (1 / u - 1 / w)
            near_mean = stats.norm.sf(np.sqrt(mi) * ai / np.sqrt(k2[0]))
        lr = np.where(w < 1e-2, near_mean, lr)
        edge = np.mean(c >= top - 1e-12 * spread) ** mi  # beyond the table: all m draws at the extreme
        lr = np.where(ai < k1[-1], lr, edge)
        one_sided[side] = np.minimum(one_sided[side], np.clip(lr, 0.0, 1.0))
    return np.minimum(2.0 * one_sided, 1.0)


def pearson3_p(z: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    r"""Two-sided p-values of Gi* z-scores with the skewness of the null distribution taken into account.

    Under random relabelling, the neighbourhood sum of village i is a sum of
    :math:`m_i = W_i` values drawn without replacement from all :math:`n`;
    its first three moments are exact: mean :math:`m\bar x`, variance
    :math:`m\mu_2 (n-m)/(n-1)` (Gi*'s denominator) and third central moment
    :math:`m\mu_3 (n-m)(n-2m)/((n-1)(n-2))` (:math:`\mu_k` the central
    moments of :math:`x`, divisor :math:`n`). The tail on the skewed side is
    that of the Pearson type III (shifted gamma) law with these moments,
    :math:`P(Z \ge z) = Q(\alpha, \alpha + z\sqrt\alpha)` with
    :math:`\alpha = 4/\gamma^2`; the other tail is the normal one (lighter
    in truth, so conservative). Incident values are zero in most villages
    and very skewed: there the normal p-value of a neighbourhood with a few
    incidents is 10-1000x too small, and pure noise gave false hot spots at
    99 % in half of the runs (tests/test_hotspots.py).

    Parameters
    ----------
    z
        Gi* z-scores.
    y
        The values (all villages).
    m
        :math:`W_i`, villages in each neighbourhood (the village itself included).
    """
    from scipy import stats

    n = len(y)
    d = y - y.mean()
    mu2, mu3 = float(np.mean(d**2)), float(np.mean(d**3))
    var = m * mu2 * (n - m) / (n - 1)
    k3 = m * mu3 * (n - m) * (n - 2 * m) / ((n - 1) * (n - 2))
    gamma = np.divide(k3, var**1.5, out=np.zeros_like(var), where=var > 0)
    upper, lower = stats.norm.sf(z), stats.norm.cdf(z)
    right, left = gamma > 1e-6, gamma < -1e-6
    a = 4.0 / gamma[right] ** 2
    upper[right] = stats.gamma.sf(a + z[right] * np.sqrt(a), a)
    a = 4.0 / gamma[left] ** 2
    lower[left] = stats.gamma.sf(a - z[left] * np.sqrt(a), a)
    return np.minimum(2.0 * np.minimum(upper, lower), 1.0)


def _permutation_p(observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    r"""Two-sided permutation p-values, ties counted on both sides.

    esda's ``p_sim`` folds the tails and counts a tie as "larger": for a
    village whose neighbourhood and most permuted ones are all zero it gives
    the smallest p-value there is, a false cold spot. Here each tail counts
    the draws at least as extreme (ties included), :math:`p = \min(1,
    2\min(p_{hi}, p_{lo}))`.
    """
    draws = simulated.shape[1]
    tol = 1e-12 * np.maximum(np.abs(observed), 1e-300)[:, None]
    hi = (simulated >= observed[:, None] - tol).sum(axis=1)
    lo = (simulated <= observed[:, None] + tol).sum(axis=1)
    return np.minimum(1.0, 2.0 * (np.minimum(hi, lo) + 1.0) / (draws + 1.0))


def stage_values(villages: pd.DataFrame, stages: list[str], variable: str = "auto") -> tuple[pd.DataFrame, str]:
    """The hot-spot variable per stage from scored villages, and which one was used.

    ``"rate"``: ``rate_<stage>`` (stage-weighted incidents per 1,000 voters,
    smoothed); ``"mass"``: ``incidents_<stage>`` (stage-weighted incidents per
    village); ``"auto"``: the rate when the villages have voters (a TPS
    file), else the mass.
    """
    if variable == "auto":
        has_voters = "voters" in villages and float(villages["voters"].sum()) > 0
        variable = "rate" if has_voters else "mass"
    prefix = "rate_" if variable == "rate" else "incidents_"
    values = pd.DataFrame({s: villages[prefix + s].to_numpy(dtype=float) for s in stages}, index=villages.index)
    return values, variable


def add_hotspots(villages: gpd.GeoDataFrame, config: Config | None = None) -> tuple[gpd.GeoDataFrame, HotSpots]:
    """Scored villages with ``hotspot_<stage>`` (a class of :data:`CLASSES`) and ``hotspot_z_<stage>`` (Gi*).

    ``hotspot_z_<stage>`` is the Gi* z-score of the transformed variable
    (``hotspots.transform``; by default ln(1 + v / mean of v)).

    Returns the new frame (``villages`` is not changed) and the fitted
    :class:`HotSpots` (columns = stages; ``variable_`` says which variable
    was used: ``rate`` or ``mass``).
    """
    config = config or load_config()
    stages = config.stages
    values, variable = stage_values(villages, stages, str(_settings(config)["variable"]))
    hot = HotSpots.from_geodataframe(villages, values, config=config).fit()
    hot.variable_ = variable
    extra: dict[str, Any] = {}
    for s in stages:
        extra[f"hotspot_{s}"] = hot.classes_[s].array
        extra[f"hotspot_z_{s}"] = np.round(hot.z_[s].to_numpy(), 4)
    add = pd.DataFrame(extra, index=villages.index)
    base = villages.drop(columns=[c for c in add.columns if c in villages.columns])
    out = gpd.GeoDataFrame(pd.concat([base, add], axis=1), geometry=villages.geometry.name, crs=villages.crs)
    return out, hot
