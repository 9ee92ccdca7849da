"""Public helpers for tests: small real-shaped layers and report assertions.

Used by riskmap's own tests and usable by anyone extending riskmap, like
``geopandas.testing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from riskmap.io.report import LayerReport, LoadReport


def grid_villages(
    nx: int = 3,
    ny: int = 3,
    *,
    origin: tuple[float, float] = (123.55, -10.20),
    size_deg: float = 0.01,
    district_every: int = 3,
) -> gpd.GeoDataFrame:
    """A grid of square villages in the Kemendagri-coded schema, EPSG:4326.

    Columns ``kode`` (``53.71.0D.10NN``), ``nama``, ``kecamatan``,
    ``kab_kota``, ``provinsi``; village ``i`` (row-major from the south-west)
    is ``Desa i``; every ``district_every`` villages share a kecamatan.
    """
    rows = []
    for j in range(ny):
        for i in range(nx):
            k = j * nx + i
            d = k // district_every + 1
            x0 = origin[0] + i * size_deg
            y0 = origin[1] + j * size_deg
            rows.append(
                {
                    "kode": f"53.71.{d:02d}.{1001 + k}",
                    "nama": f"Desa {k}",
                    "kecamatan": f"Kecamatan {d}",
                    "kab_kota": "Kota Uji",
                    "provinsi": "Nusa Tenggara Timur",
                    "geometry": box(x0, y0, x0 + size_deg, y0 + size_deg),
                }
            )
    return gpd.GeoDataFrame(rows, crs=4326)


def village_center(villages: gpd.GeoDataFrame, k: int) -> tuple[float, float]:
    """(lat, lon) of the centre of village ``k`` of :func:`grid_villages`."""
    c = villages.geometry.iloc[k].centroid
    return c.y, c.x


def to_big(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename :func:`grid_villages` columns to BIG's schema (KDEPUM, WADMKD, ...)."""
    out = gpd.GeoDataFrame(
        {
            "OBJECTID": np.arange(1, len(villages) + 1),
            "NAMOBJ": villages["nama"],
            "FCODE": "BA03070040",
            "KDEPUM": villages["kode"],
            "KDEBPS": "",
            "WADMKD": villages["nama"],
            "WADMKC": villages["kecamatan"],
            "WADMKK": villages["kab_kota"],
            "WADMPR": villages["provinsi"],
            "TIPADM": 1,
        },
        geometry=villages.geometry.values,
        crs=villages.crs,
    )
    return out


def to_gadm(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename to GADM 4.1 level 4 (GID_4 built alphabetically, not an official code)."""
    order = villages["nama"].rank(method="first").astype(int)
    return gpd.GeoDataFrame(
        {
            "GID_0": "IDN",
            "NAME_1": villages["provinsi"],
            "NAME_2": villages["kab_kota"],
            "NAME_3": villages["kecamatan"],
            "GID_4": [f"IDN.18.21.1.{k}_1" for k in order],
            "NAME_4": villages["nama"],
            "VARNAME_4": "NA",
            "TYPE_4": "Kelurahan",
            "ENGTYPE_4": "Village",
            "CC_4": "NA",
        },
        geometry=villages.geometry.values,
        crs=villages.crs,
    )


def to_codab(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename to OCHA/HDX COD-AB level 4 (``ADM4_PCODE`` = "ID" + a BPS-style 10-digit code)."""
    digits = villages["kode"].str.replace(".", "", regex=False)
    return gpd.GeoDataFrame(
        {
            "ADM4_EN": villages["nama"],
            "ADM4_PCODE": "ID" + digits,
            "ADM4_REF": None,
            "ADM3_EN": villages["kecamatan"],
            "ADM3_PCODE": "ID" + digits.str[:7],
            "ADM2_EN": villages["kab_kota"],
            "ADM2_PCODE": "ID" + digits.str[:4],
            "ADM1_EN": villages["provinsi"],
            "ADM1_PCODE": "ID" + digits.str[:2],
            "ADM0_EN": "Indonesia",
            "ADM0_PCODE": "ID",
        },
        geometry=villages.geometry.values,
        crs=villages.crs,
    )


def assert_accounted(report: LayerReport | LoadReport) -> None:
    """Assert ``read == used + rejected`` for a layer or every layer of a report."""
    layers = report.layers.values() if isinstance(report, LoadReport) else [report]
    for layer in layers:
        layer.check()


def reasons_by_row(report: LayerReport) -> dict[int, str]:
    """Rejected rows of a layer as {row: reason}."""
    return {n.row: n.reason for n in report.rejected if n.row is not None}


def incident_rows(villages: gpd.GeoDataFrame, specs: list[tuple[int, str, str]]) -> pd.DataFrame:
    """Incidents at village centres: specs are (village index, type, ISO date)."""
    rows = []
    for n, (k, kind, date) in enumerate(specs):
        lat, lon = village_center(villages, k)
        rows.append(
            {
                "incident_id": f"INC-{n:03d}",
                "date": date,
                "type": kind,
                "severity": "2",
                "lat": f"{lat + 0.001:.6f}",
                "lon": f"{lon:.6f}",
                "precision": "exact",
                "description": f"Kejadian uji {n}",
                "source": "uji",
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ synthetic incident histories
ELECTION_DAYS = ("2017-02-15", "2018-06-27", "2019-04-17", "2020-12-09", "2024-02-14", "2024-11-27")
"""Indonesian election days (Pilkada 2017, 2018, 2020, 2024; Pemilu 2019, 2024): campaign peaks precede them."""


@dataclass
class IncidentHistory:
    """A synthetic incident history made by :func:`incident_history`.

    Attributes
    ----------
    incidents
        Rows in riskmap's incident CSV format (``incident_id``, ``date``,
        ``type``, ``severity``, ``lat``, ``lon``, ``precision``,
        ``description``, ``source``), text like a hand-made export.
    hot_spots
        Positions (in the villages given) of the villages holding the
        planted persistent hot spots.
    generation
        Per incident: 0 for a background event, n for an event triggered
        n steps down a chain.
    """

    incidents: pd.DataFrame
    hot_spots: np.ndarray
    generation: np.ndarray

    def to_csv(self, path: str | Path) -> Path:
        """Write the incidents as a UTF-8 CSV; returns the path."""
        self.incidents.to_csv(path, index=False)
        return Path(path)


def _district_column(villages: gpd.GeoDataFrame) -> str | None:
    for name in ("district_code", "kecamatan", "district", "WADMKC", "ADM3_PCODE", "NAME_3"):
        if name in villages:
            return name
    return None


def incident_history(
    villages: gpd.GeoDataFrame,
    *,
    start: str = "2017-01-01",
    end: str = "2024-12-31",
    background_per_year: float = 60.0,
    hot_spots: int = 3,
    hot_share: float = 0.6,
    hot_spot_km: float = 1.0,
    branching: float = 0.4,
    trigger_days: float = 20.0,
    trigger_km: float = 1.5,
    campaign_boost: float = 3.0,
    campaign_days: int = 75,
    precision_mix: tuple[float, float, float] = (0.8, 0.12, 0.08),
    config: Any = None,
    seed: int = 0,
) -> IncidentHistory:
    """A clustered, self-exciting incident history over several years (Hawkes-like), deterministic by seed.

    Background events arrive at ``background_per_year`` per year, ``1 +
    campaign_boost`` times faster in the ``campaign_days`` before each
    election day of :data:`ELECTION_DAYS`; a share ``hot_share`` of them
    falls near one of ``hot_spots`` persistent hot spots (Gaussian, sd
    ``hot_spot_km`` km around a village centre), the rest anywhere (a
    village at random, a point inside it). Every event triggers
    Poisson(``branching``) more events, each ``trigger_days`` days later on
    average (exponential) and ``trigger_km`` km away (Gaussian sd), so
    trouble spreads to neighbouring villages; triggered events keep the
    parent's type with probability 0.7. Precision is exact / near (moved by
    up to ~1 km) / region (placed at the kecamatan's centre) in
    ``precision_mix``. Types come from the configuration's taxonomy;
    events outside every village polygon are dropped (region ones are kept).

    Parameters
    ----------
    villages
        Village polygons in EPSG:4326 (any schema; a kecamatan column is used
        for region-precision events when present).

    Returns
    -------
    IncidentHistory
    """
    from riskmap.config import load_config

    config = config or load_config()
    rng = np.random.default_rng(seed)
    geoms = villages.geometry.to_numpy()
    centre = shapely.centroid(geoms)
    cx, cy = shapely.get_x(centre), shapely.get_y(centre)
    km_lat = 1.0 / 110.574
    km_lon = km_lat / np.cos(np.radians(np.mean(cy)))
    t0, t1 = np.datetime64(start, "D"), np.datetime64(end, "D")
    n_days = int((t1 - t0).astype(int)) + 1
    days = t0 + np.arange(n_days)
    rate = np.ones(n_days)
    for e in ELECTION_DAYS:
        ed = np.datetime64(e, "D")
        rate[(days <= ed) & (days > ed - campaign_days)] += campaign_boost
    n0 = rng.poisson(background_per_year * n_days / 365.25 * rate.mean())
    t = rng.choice(n_days, size=n0, p=rate / rate.sum()).astype(float)
    hot = rng.choice(len(villages), size=min(hot_spots, len(villages)), replace=False)
    on_hot = rng.random(n0) < hot_share
    which = hot[rng.integers(len(hot), size=n0)]
    anywhere = rng.integers(len(villages), size=n0)
    x = np.where(on_hot, cx[which] + rng.normal(0, hot_spot_km, n0) * km_lon, np.nan)
    y = np.where(on_hot, cy[which] + rng.normal(0, hot_spot_km, n0) * km_lat, np.nan)
    rest = np.flatnonzero(~on_hot)
    if len(rest):
        pts = shapely.point_on_surface(geoms[anywhere[rest]])
        bx, by = _jitter_inside(rng, geoms[anywhere[rest]], shapely.get_x(pts), shapely.get_y(pts))
        x[rest], y[rest] = bx, by
    types = np.array(list(config.taxonomy))
    kind = rng.integers(len(types), size=n0)
    gen = np.zeros(n0, dtype=np.int64)
    parts = [(t, x, y, kind, gen)]
    parent_t, parent_x, parent_y, parent_k, g = t, x, y, kind, 0
    while len(parent_t) and g < 50:
        g += 1
        children = rng.poisson(branching, len(parent_t))
        idx = np.repeat(np.arange(len(parent_t)), children)
        m = len(idx)
        ct = parent_t[idx] + rng.exponential(trigger_days, m)
        cx_ = parent_x[idx] + rng.normal(0, trigger_km, m) * km_lon
        cy_ = parent_y[idx] + rng.normal(0, trigger_km, m) * km_lat
        ck = np.where(rng.random(m) < 0.7, parent_k[idx], rng.integers(len(types), size=m))
        keep = ct < n_days
        parent_t, parent_x, parent_y, parent_k = ct[keep], cx_[keep], cy_[keep], ck[keep]
        parts.append((parent_t, parent_x, parent_y, parent_k, np.full(int(keep.sum()), g)))
    t, x, y, kind, gen = (np.concatenate([p[i] for p in parts]) for i in range(5))
    order = np.lexsort((x, t))
    t, x, y, kind, gen = t[order], x[order], y[order], kind[order], gen[order]
    n = len(t)
    precision = rng.choice(np.array(["exact", "near", "region"]), size=n, p=list(precision_mix))
    # which village each event lies in: events off every polygon are dropped (unless region)
    tree = shapely.STRtree(geoms)
    p_idx, v_idx = tree.query(shapely.points(x, y), predicate="within")
    village = np.full(n, -1, dtype=np.int64)
    village[p_idx] = v_idx
    near = precision == "near"
    x = x + near * rng.uniform(-0.7, 0.7, n) * km_lon
    y = y + near * rng.uniform(-0.7, 0.7, n) * km_lat
    col = _district_column(villages)
    region = precision == "region"
    if col is not None:
        codes, _ = pd.factorize(villages[col])
        size = np.bincount(codes)
        dx, dy = np.bincount(codes, weights=cx) / size, np.bincount(codes, weights=cy) / size
        d = codes[np.maximum(village, 0)]
        x = np.where(region & (village >= 0), dx[d], x)
        y = np.where(region & (village >= 0), dy[d], y)
    keep = village >= 0
    t, x, y, kind, gen, precision, village = (a[keep] for a in (t, x, y, kind, gen, precision, village))
    n = len(t)
    dates = np.datetime_as_string(t0 + np.floor(t).astype("timedelta64[D]"), unit="D")
    name_col = next((c for c in ("nama", "WADMKD", "village_name", "NAME_4") if c in villages), None)
    names = villages[name_col].to_numpy() if name_col else np.array([f"desa {k}" for k in range(len(villages))])
    frame = pd.DataFrame(
        {
            "incident_id": [f"SIM-{seed}-{k:06d}" for k in range(n)],
            "date": dates,
            "type": types[kind],
            "severity": rng.choice(["1", "2", "3"], size=n, p=[0.5, 0.35, 0.15]),
            "lat": [f"{v:.6f}" for v in y],
            "lon": [f"{v:.6f}" for v in x],
            "precision": precision,
            "description": [f"Kejadian sintetis {types[k]} di {names[v]}" for k, v in zip(kind, village, strict=True)],
            "source": "sintetis",
        }
    )
    return IncidentHistory(incidents=frame, hot_spots=np.sort(hot), generation=gen)


def _jitter_inside(
    rng: np.random.Generator, geoms: np.ndarray, x: np.ndarray, y: np.ndarray, tries: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points inside each polygon by rejection from its bounds (its interior point after ``tries``)."""
    bounds = shapely.bounds(geoms)
    ox, oy = x.copy(), y.copy()
    todo = np.arange(len(geoms))
    for _ in range(tries):
        if not len(todo):
            break
        b = bounds[todo]
        px = rng.uniform(b[:, 0], b[:, 2])
        py = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(geoms[todo], px, py)
        ox[todo[inside]], oy[todo[inside]] = px[inside], py[inside]
        todo = todo[~inside]
    return ox, oy
