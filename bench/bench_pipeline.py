"""National-scale benchmark: the riskmap core pipeline against a bare geopandas floor.

Usage::

    python bench/bench_pipeline.py                # full scale (83k villages, 820k TPS, 100k incidents)
    python bench/bench_pipeline.py --scale 0.1    # quick smoke run
    python bench/bench_pipeline.py --regenerate   # rebuild the cached synthetic data

The synthetic national data (seeded, cached under ``bench/_data/``) is made on
first use. Every measured run is a fresh subprocess, so the peak RSS
(``ru_maxrss``) is that run's own; medians of ``--runs`` runs are reported.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA_ROOT = HERE / "_data"
FULL = {"villages": 83_000, "tps": 820_000, "incidents": 100_000}
TARGET_E2E_S, TARGET_PEAK_MB, TARGET_RATIO = 15.0, 3 * 1024.0, 1.5
VERTICES = 120  # target vertices per village polygon
DIRTY_SHARE = 0.005  # of TPS rows: empty, swapped or decimal-comma coordinates

PROVINCES = dict(
    zip(
        [
            11,
            12,
            13,
            14,
            15,
            16,
            17,
            18,
            19,
            21,
            31,
            32,
            33,
            34,
            35,
            36,
            51,
            52,
            53,
            61,
            62,
            63,
            64,
            65,
            71,
            72,
            73,
            74,
            75,
            76,
            81,
            82,
            91,
            92,
            93,
            94,
        ],
        [
            "Aceh",
            "Sumatera Utara",
            "Sumatera Barat",
            "Riau",
            "Jambi",
            "Sumatera Selatan",
            "Bengkulu",
            "Lampung",
            "Kepulauan Bangka Belitung",
            "Kepulauan Riau",
            "DKI Jakarta",
            "Jawa Barat",
            "Jawa Tengah",
            "DI Yogyakarta",
            "Jawa Timur",
            "Banten",
            "Bali",
            "Nusa Tenggara Barat",
            "Nusa Tenggara Timur",
            "Kalimantan Barat",
            "Kalimantan Tengah",
            "Kalimantan Selatan",
            "Kalimantan Timur",
            "Kalimantan Utara",
            "Sulawesi Utara",
            "Sulawesi Tengah",
            "Sulawesi Selatan",
            "Sulawesi Tenggara",
            "Gorontalo",
            "Sulawesi Barat",
            "Maluku",
            "Maluku Utara",
            "Papua",
            "Papua Barat",
            "Papua Selatan",
            "Papua Tengah",
        ],
        strict=True,
    )
)

# Island clusters, roughly where the real ones are: (province, centre lon, centre lat, semi-axes a, b in
# degrees, rotation in degrees, relative number of villages ~ the real count).
ISLANDS: list[tuple[int, float, float, float, float, float, int]] = [
    (11, 96.9, 4.4, 2, 0.8, -46, 6500),
    (12, 99, 2.3, 2, 1, -46, 5500),
    (12, 97.6, 1.1, 0.6, 0.2, -40, 600),
    (13, 100.5, -0.8, 1.6, 0.7, -46, 1100),
    (13, 99.3, -1.8, 0.7, 0.2, -46, 165),
    (14, 101.8, 0.5, 1.6, 1, -46, 1860),
    (15, 103, -1.7, 1.3, 0.8, -46, 1585),
    (16, 104.2, -3.3, 1.6, 1, -46, 3260),
    (17, 102.2, -3.6, 1.5, 0.4, -46, 1510),
    (18, 105, -5, 1, 0.8, -46, 2650),
    (19, 106.1, -2.2, 0.9, 0.35, -45, 300),
    (19, 107.9, -2.85, 0.4, 0.35, 0, 90),
    (21, 104.3, 0.9, 0.6, 0.4, 0, 420),
    (31, 106.85, -6.2, 0.2, 0.12, 0, 270),
    (36, 106.1, -6.4, 0.5, 0.35, 0, 1550),
    (32, 107.6, -6.9, 1.1, 0.45, -10, 5960),
    (33, 109.9, -7.2, 1.2, 0.4, 0, 8560),
    (34, 110.4, -7.85, 0.25, 0.2, 0, 440),
    (35, 112.6, -7.7, 1.4, 0.45, 0, 7500),
    (35, 113.3, -7.05, 0.9, 0.18, 0, 1000),
    (51, 115.1, -8.4, 0.6, 0.3, -10, 720),
    (52, 116.3, -8.6, 0.4, 0.35, 0, 600),
    (52, 117.8, -8.7, 1.1, 0.4, 0, 570),
    (53, 121.2, -8.6, 1.7, 0.35, 5, 1700),
    (53, 119.9, -9.7, 0.8, 0.35, -15, 550),
    (53, 124.3, -9.6, 1.2, 0.45, 30, 1200),
    (61, 110.8, 0, 1.8, 1.3, 0, 2150),
    (62, 113.5, -1.6, 1.8, 1.2, 20, 1580),
    (63, 115.4, -2.9, 0.9, 0.8, 0, 2020),
    (64, 116.6, 0.6, 1.2, 1.6, 0, 1040),
    (65, 116.6, 3.3, 0.9, 0.6, 0, 480),
    (71, 124.5, 1, 1.2, 0.3, 20, 1840),
    (75, 122.6, 0.7, 0.8, 0.3, 0, 730),
    (72, 121, -1.2, 1.5, 1, 60, 2020),
    (76, 119.2, -2.5, 0.9, 0.4, 80, 650),
    (73, 120, -4.2, 1.3, 0.55, 80, 3060),
    (74, 122.3, -4, 1, 0.6, 70, 2290),
    (81, 129.5, -3.1, 1.3, 0.3, 0, 800),
    (81, 126.6, -3.4, 0.5, 0.35, 0, 250),
    (81, 132.7, -5.6, 0.4, 0.3, 60, 185),
    (82, 128, 1, 1.2, 0.5, 80, 1200),
    (92, 132.6, -1.2, 1.5, 0.55, 0, 2100),
    (91, 139.5, -2.6, 1.5, 0.5, -10, 2000),
    (94, 136.8, -3.9, 1.6, 0.6, -15, 2300),
    (93, 139.5, -7.3, 1.3, 1, 0, 900),
]
PREFIX = np.array(
    [
        "Suka",
        "Karang",
        "Sumber",
        "Tanjung",
        "Batu",
        "Air",
        "Kampung",
        "Pasir",
        "Bukit",
        "Teluk",
        "Mekar",
        "Sido",
        "Tegal",
        "Lubuk",
        "Sungai",
        "Padang",
        "Muara",
        "Wono",
        "Rejo",
        "Banjar",
        "Cempaka",
        "Jati",
        "Kebon",
        "Kali",
        "Sri",
        "Tirta",
        "Pulau",
        "Ujung",
        "Koto",
        "Nagari",
    ]
)
SUFFIX = np.array(
    [
        "jaya",
        "makmur",
        "mulya",
        "rejo",
        "sari",
        "harjo",
        "agung",
        "baru",
        "indah",
        "asri",
        "lestari",
        "raya",
        "tengah",
        "wangi",
        "maju",
        "sejahtera",
        "utama",
        "permai",
        "kencana",
        "mukti",
        "damai",
    ]
)
INCIDENT_TYPES = {
    "hoax": 0.14,
    "money_politics": 0.14,
    "dawn_attack": 0.06,
    "identity_politics": 0.07,
    "black_campaign": 0.10,
    "intimidation": 0.10,
    "supporter_clash": 0.08,
    "apk_vandalism": 0.13,
    "state_facility_misuse": 0.06,
    "protest": 0.08,
    "count_delay": 0.04,
}
ELECTION_DAYS = np.array(["2018-06-27", "2019-04-17", "2020-12-09", "2024-02-14", "2024-11-27"], dtype="datetime64[D]")


# ----------------------------------------------------------------------------------------------- data
def counts_for(scale: float) -> dict[str, int]:
    return {k: max(round(v * scale), 10) for k, v in FULL.items()}


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.char.add(PREFIX[rng.integers(len(PREFIX), size=n)], SUFFIX[rng.integers(len(SUFFIX), size=n)])


def _fmt6(values: np.ndarray) -> np.ndarray:
    return np.char.mod("%.6f", values).astype(object)


def _to_lonlat(uv: np.ndarray, isl: tuple) -> np.ndarray:
    """Unit-disk coordinates -> lon/lat inside the island's rotated ellipse."""
    _, x0, y0, a, b, rot, _ = isl
    u, v = uv[:, 0] * a, uv[:, 1] * b
    c, s = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    return np.column_stack([x0 + c * u - s * v, y0 + s * u + c * v])


def _unit_disk(rng: np.random.Generator, n: int) -> np.ndarray:
    r, t = np.sqrt(rng.random(n)), rng.random(n) * 2 * np.pi
    return np.column_stack([r * np.cos(t), r * np.sin(t)])


def _seeds(rng: np.random.Generator, n: int) -> np.ndarray:
    """60 % uniform, 40 % around four towns (denser, smaller villages), all in the unit disk."""
    pts = (_unit_disk(rng, 4) * 0.8)[rng.integers(4, size=n)] + rng.normal(0, 0.1, (n, 2))
    redo = ((pts**2).sum(axis=1) > 0.98) | (rng.random(n) < 0.6)
    pts[redo] = _unit_disk(rng, int(redo.sum()))
    return pts


def _chunks(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """Labels 0..m-1 for n consecutive items in chunks of lo..hi items."""
    sizes = rng.integers(lo, hi + 1, size=n // lo + 1)
    return np.repeat(np.arange(len(sizes)), sizes)[:n]


def make_villages(rng: np.random.Generator, n: int) -> gpd.GeoDataFrame:
    weights = np.array([isl[6] for isl in ISLANDS], dtype=float)
    per_island = np.floor(n * weights / weights.sum()).astype(int)
    per_island[np.argsort(-weights)[: n - per_island.sum()]] += 1
    seeds = np.vstack([_to_lonlat(_seeds(rng, k), isl) for isl, k in zip(ISLANDS, per_island, strict=True)])
    island_of = np.repeat(np.arange(len(ISLANDS)), per_island)
    coasts = np.array(
        [
            shapely.Polygon(_to_lonlat(np.column_stack([np.cos(t), np.sin(t)]), isl))
            for isl in ISLANDS
            for t in [np.linspace(0, 2 * np.pi, 361)[:-1]]
        ]
    )
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=shapely.box(90, -15, 145, 10), ordered=True)
    )
    assert len(cells) == n and shapely.contains_xy(cells, seeds[:, 0], seeds[:, 1]).all()
    polys = shapely.intersection(cells, coasts[island_of])  # convex cell & convex island: one polygon
    k = shapely.get_num_coordinates(polys) - 1
    polys = shapely.segmentize(polys, shapely.length(polys) / np.maximum(VERTICES - k / 2, 8))
    assert (shapely.get_type_id(polys) == 3).all() and shapely.is_valid(polys).all()

    province = np.array([ISLANDS[i][0] for i in island_of])
    hilbert = gpd.GeoSeries(polys).hilbert_distance().to_numpy()
    order = np.lexsort((hilbert, province))  # codes follow space: a kecamatan is ~15 neighbouring villages
    polys, province = polys[order], province[order]
    codes, kec_id = np.empty(n, dtype=object), np.empty(n, dtype=np.int64)
    next_kec = 0
    for prov in np.unique(province):
        at = np.flatnonzero(province == prov)
        kec = _chunks(rng, len(at), 10, 20)
        reg = _chunks(rng, kec[-1] + 1, 8, 22)
        kec_in_reg = np.arange(len(reg)) - np.searchsorted(reg, reg)
        village_in_kec = np.arange(len(at)) - np.searchsorted(kec, kec)
        codes[at] = [
            f"{prov:02d}.{reg[c] + 1:02d}.{kec_in_reg[c] + 1:02d}.{2001 + d:04d}"
            for c, d in zip(kec, village_in_kec, strict=True)
        ]
        kec_id[at] = next_kec + kec
        next_kec += kec[-1] + 1
    reg_key, reg_id = np.unique(pd.Series(codes).str[:5].to_numpy(), return_inverse=True)
    reg_names = np.where(rng.random(len(reg_key)) < 0.12, "Kota ", "Kabupaten ").astype(object) + _names(
        rng, len(reg_key)
    )
    return gpd.GeoDataFrame(
        {
            "KDEPUM": codes,
            "WADMKD": _names(rng, n).astype(object),
            "WADMKC": _names(rng, next_kec)[kec_id].astype(object),
            "WADMKK": reg_names[reg_id],
            "WADMPR": [PROVINCES[p] for p in province],
            "_kec": kec_id,  # helper, dropped before writing
        },
        geometry=polys,
        crs=4326,
    )


def points_in(rng: np.random.Generator, geoms: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random points (6-decimal lon/lat) inside ``geoms[idx]``, by vectorised rejection."""
    shapely.prepare(geoms)
    box = shapely.bounds(geoms)[idx]
    x, y, todo = np.empty(len(idx)), np.empty(len(idx)), np.arange(len(idx))
    while todo.size:
        px = np.round(box[todo, 0] + rng.random(todo.size) * (box[todo, 2] - box[todo, 0]), 6)
        py = np.round(box[todo, 1] + rng.random(todo.size) * (box[todo, 3] - box[todo, 1]), 6)
        ok = shapely.contains_xy(geoms[idx[todo]], px, py)
        x[todo[ok]], y[todo[ok]] = px[ok], py[ok]
        todo = todo[~ok]
    return x, y


TpsSites = tuple[np.ndarray, np.ndarray, np.ndarray]  # true lon, lat and village index of each TPS


def make_tps(rng: np.random.Generator, v: gpd.GeoDataFrame, n: int) -> tuple[pd.DataFrame, TpsSites, dict[str, int]]:
    nv = len(v)
    counts = 1 + rng.multinomial(n - nv, (w := rng.lognormal(0, 0.6, nv)) / w.sum())
    vi = np.repeat(np.arange(nv), counts)
    number = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    x, y = points_in(rng, np.asarray(v.geometry.values), vi)
    lat, lon = _fmt6(y), _fmt6(x)
    dirty = rng.choice(n, size=round(DIRTY_SHARE * n), replace=False)
    empty, swapped, comma = np.array_split(dirty, 3)
    lat[empty], lon[empty] = "", ""
    lat[swapped], lon[swapped] = lon[swapped], lat[swapped]
    lat[comma] = [s.replace(".", ",") for s in lat[comma]]
    lon[comma] = [s.replace(".", ",") for s in lon[comma]]
    digits = v["KDEPUM"].str.replace(".", "", regex=False).to_numpy()
    flag = {"riwayat_kekerasan": 0.02, "politik_uang": 0.03, "intimidasi": 0.015, "rawan_bencana": 0.05}
    frame = pd.DataFrame(
        {
            "kode_tps": digits[vi] + np.char.zfill(number.astype(str), 3).astype(object),
            "kelurahan": v["WADMKD"].to_numpy()[vi],
            "kecamatan": v["WADMKC"].to_numpy()[vi],
            "no_tps": number,
            "alamat": "Jl. "
            + _names(rng, n).astype(object)
            + " No. "
            + rng.integers(1, 200, n).astype(str).astype(object),
            "lat": lat,
            "lon": lon,
            "dpt": rng.integers(150, 601, n),
            **{k: np.where(rng.random(n) < p, "ya", "tidak") for k, p in flag.items()},
        }
    )
    return frame, (x, y, vi), {"empty": len(empty), "swapped": len(swapped), "decimal_comma": len(comma)}


def make_incidents(rng: np.random.Generator, v: gpd.GeoDataFrame, sites: TpsSites, n: int) -> pd.DataFrame:
    x, y, vi = sites
    hot = rng.lognormal(0, 1.2, len(v))[vi]  # some villages see far more incidents
    pick = rng.choice(len(vi), size=n, p=hot / hot.sum())
    precision = rng.choice(["exact", "near", "region"], size=n, p=[0.8, 0.15, 0.05])
    dist = np.where(precision == "exact", rng.exponential(350, n), rng.exponential(2000, n))  # metres from the TPS
    theta = rng.random(n) * 2 * np.pi
    lat = y[pick] + dist * np.cos(theta) / 111_320
    lon = x[pick] + dist * np.sin(theta) / (111_320 * np.cos(np.radians(y[pick])))
    centre = shapely.centroid(np.asarray(v.geometry.values))  # region precision: the kecamatan's centre
    size = np.bincount(v["_kec"])
    kec = v["_kec"].to_numpy()[vi[pick]]
    region = precision == "region"
    lon[region] = (np.bincount(v["_kec"], weights=shapely.get_x(centre)) / size)[kec[region]]
    lat[region] = (np.bincount(v["_kec"], weights=shapely.get_y(centre)) / size)[kec[region]]
    start, end = np.datetime64("2017-01-01"), np.datetime64("2024-12-31")
    near_vote = rng.random(n) < 0.6  # most incidents come in the weeks before a vote
    day = np.where(
        near_vote,
        ELECTION_DAYS[rng.integers(len(ELECTION_DAYS), size=n)]
        + rng.normal(-20, 30, n).astype(int).astype("timedelta64[D]"),
        start + rng.integers(0, int((end - start).astype(int)) + 1, n).astype("timedelta64[D]"),
    )
    kind = rng.choice(list(INCIDENT_TYPES), size=n, p=list(INCIDENT_TYPES.values()))
    return pd.DataFrame(
        {
            "incident_id": np.char.add("INS-", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
            "date": np.datetime_as_string(np.clip(day, start, end), unit="D"),
            "type": kind,
            "severity": rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15]),
            "lat": _fmt6(lat),
            "lon": _fmt6(lon),
            "precision": precision,
            "description": "Laporan "
            + np.char.replace(kind, "_", " ").astype(object)
            + " di "
            + v["WADMKD"].to_numpy()[vi[pick]],
            "source": rng.choice(["Bawaslu", "Polri", "media daring", "pemantau pemilu", "laporan warga"], size=n),
        }
    )


def generate(out: Path, scale: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    rng = np.random.default_rng(42)
    n = counts_for(scale)
    out.mkdir(parents=True, exist_ok=True)
    villages = make_villages(rng, n["villages"])
    assert villages["KDEPUM"].is_unique
    tps, sites, dirty = make_tps(rng, villages, n["tps"])
    incidents = make_incidents(rng, villages, sites, n["incidents"])
    villages.drop(columns="_kec").to_parquet(out / "villages.parquet")
    tps.to_csv(out / "tps.csv", index=False)
    incidents.to_csv(out / "incidents.csv", index=False)
    meta = {
        "scale": scale,
        **n,
        "tps_dirty": dirty,
        "seconds": round(time.perf_counter() - t0, 1),
        "mean_vertices": float(shapely.get_num_coordinates(villages.geometry.values).mean()),
        "incident_precision": dict(Counter(incidents["precision"])),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


# ------------------------------------------------------------------------------------ measured runs
VIL, TPS, INC = "villages.parquet", "tps.csv", "incidents.csv"
Lap = Callable[[str], None]


def child_riskmap(data: Path, out: Path, lap: Lap) -> dict[str, Any]:
    from riskmap import pipeline
    from riskmap.config import load_config
    from riskmap.export import write_score_outputs

    lap("")
    cfg = load_config()
    layers = pipeline.load(villages=data / VIL, tps=data / TPS, incidents=data / INC, config=cfg)
    lap("load (read+validate+join)")
    result = pipeline.score(layers, cfg)
    lap("score (4 stages)")
    write_score_outputs(result, out / "parquet", fmt="parquet")
    lap("write GeoParquet")
    print(
        json.dumps(
            {
                "report": {
                    name: {
                        "read": rep.read,
                        "used": rep.used,
                        "rejected": len(rep.rejected),
                        "reasons": rep.reason_counts(),
                        "warnings": dict(Counter(w.reason for w in rep.warnings)),
                    }
                    for name, rep in result.report.layers.items()
                }
            }
        ),
        flush=True,
    )
    lap("")
    write_score_outputs(result, out / "geojson", fmt="geojson")
    lap("write GeoJSON (separate)")
    return {}


NO_CHECK = "joins.assign_villages TPS, no named check"


def child_splits(data: Path, out: Path, lap: Lap) -> dict[str, Any]:
    """Public functions one by one; the TPS join runs first without the record's village names."""
    import copy

    from riskmap import joins, pipeline
    from riskmap.config import load_config
    from riskmap.export import write_score_outputs
    from riskmap.io import read_incidents, read_tps, read_villages

    cfg = load_config()
    opts = cfg.data["joins"]
    points_within = getattr(joins, "points_within", None) or joins.incidents_near  # renamed in 4d744b1
    lap("")
    read_villages(data / VIL)
    lap("io.read_villages")
    layers = pipeline.load(villages=data / VIL, incidents=data / INC, config=cfg)
    lap("pipeline.load villages+incidents only")
    read_incidents(data / INC, area=layers.area, config=cfg)
    lap("io.read_incidents")
    tps, rep = read_tps(data / TPS, area=layers.area, config=cfg)
    lap("io.read_tps")
    rep_copy = copy.deepcopy(rep)
    lap("")
    unnamed = tps.drop(columns=["named_village_code", "named_village"])
    layers.tps = joins.assign_villages(unnamed, layers.villages, rep_copy)
    layers.report.add(rep_copy)
    lap(NO_CHECK)
    inc = layers.incidents
    points_within(layers.tps, inc[inc["precision"] != "region"].reset_index(drop=True), opts["tps_radius_m"])
    lap("joins.points_within TPS x incidents 1 km")
    joins.village_neighbours(layers.villages, opts["neighbours_k"], opts["neighbours_max_km"])
    lap("joins.village_neighbours")
    result = pipeline.score(layers, cfg)
    lap("pipeline.score")
    write_score_outputs(result, out / "parquet", fmt="parquet")
    lap("write GeoParquet")
    write_score_outputs(result, out / "geojson", fmt="geojson")
    lap("write GeoJSON")
    joins.assign_villages(tps, layers.villages, rep)
    lap("joins.assign_villages TPS, as in load")
    return {}


def child_floor(data: Path, out: Path, lap: Lap) -> dict[str, Any]:
    lap("")
    villages = gpd.read_parquet(data / VIL)
    layers = []
    for name in (TPS, INC):
        df = pd.read_csv(data / name)
        for col in ("lat", "lon"):  # decimal-comma rows make the column text
            df[col] = pd.to_numeric(df[col], errors="coerce")
        df = df.dropna(subset=["lat", "lon"])
        layers.append(gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326))
    tps, incidents = layers
    lap("read (parquet + 2 CSV, points)")
    vcols = villages[["KDEPUM", "geometry"]]
    tps = gpd.sjoin(tps, vcols, predicate="within").drop(columns="index_right")
    lap("sjoin TPS within villages")
    incidents = gpd.sjoin(incidents, vcols, predicate="within").drop(columns="index_right")
    lap("sjoin incidents within villages")
    tps_m, inc_m = tps[["geometry"]].to_crs(3395), incidents[["geometry"]].to_crs(3395)
    pairs = gpd.sjoin(tps_m, inc_m, predicate="dwithin", distance=1000 / np.cos(np.radians(tps["lat"].to_numpy())))
    tps["n_near"] = pairs.groupby(level=0).size().reindex(tps.index, fill_value=0)
    lap("sjoin dwithin 1 km (EPSG:3395)")
    per_village = tps.groupby("KDEPUM").agg(n_tps=("kode_tps", "size"), voters=("dpt", "sum"))
    per_village["n_incidents"] = incidents.groupby("KDEPUM").size()
    villages = villages.merge(per_village, left_on="KDEPUM", right_index=True, how="left")
    lap("groupby counts")
    (out / "floor").mkdir(parents=True, exist_ok=True)
    villages.to_parquet(out / "floor" / VIL)
    tps.to_parquet(out / "floor" / "tps.parquet")
    lap("write GeoParquet")
    return {"used": {"tps": len(tps), "incidents": len(incidents)}}


CHILDREN = {"riskmap": child_riskmap, "splits": child_splits, "floor": child_floor}


def child_main(kind: str, data: Path, out: Path) -> None:
    """Run one measurement; print one JSON line per step (so a killed run keeps its finished steps)."""
    t = time.perf_counter()

    def lap(name: str) -> None:  # lap("") restarts the clock without recording
        nonlocal t
        now = time.perf_counter()
        if name:
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            print(json.dumps({"lap": [name, now - t, rss_mb]}), flush=True)
        t = time.perf_counter()

    try:
        print(json.dumps(CHILDREN[kind](data, out, lap)), flush=True)
    except Exception:
        print(json.dumps({"error": traceback.format_exc()}), flush=True)


def run_child(kind: str, data: Path, out: Path, timeout: float) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--data", str(data), "--out", str(out)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        stdout, problem = proc.stdout, proc.returncode and f"exit code {proc.returncode}\n{proc.stderr[-3000:]}"
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        problem = f"killed after the {timeout:.0f} s timeout"
    res: dict[str, Any] = {"steps": []}
    for msg in (json.loads(ln) for ln in stdout.splitlines() if ln.startswith("{")):
        res["steps"].append(msg["lap"]) if "lap" in msg else res.update(msg)
    res["problem"] = problem or res.pop("error", None)
    return res


# ------------------------------------------------------------------------------------------ report
Rows = dict[str, tuple[float, float]]


def medians(runs: list[dict[str, Any]]) -> Rows:
    """Step -> (median seconds, median peak RSS MB so far), over the runs that finished the step."""
    got: dict[str, list[list[Any]]] = {}
    for step in (s for r in runs for s in r["steps"]):
        got.setdefault(step[0], []).append(step)
    return {n: (statistics.median(s[1] for s in v), statistics.median(s[2] for s in v)) for n, v in got.items()}


def print_table(title: str, rows: Rows, runs: list[dict[str, Any]]) -> None:
    print(f"\n{title}, {len(runs)} run(s)\n  {'step':<42}{'median s':>10}{'peak RSS MB':>13}")
    for name, (sec, mb) in rows.items():
        print(f"  {name:<42}{sec:>10.2f}{mb:>13.0f}")
    for k, r in enumerate(runs):
        if r["problem"]:
            print(f"  run {k + 1} did not finish: {r['problem']}")


def machine() -> str:
    cpuinfo, meminfo = (Path(f"/proc/{f}").read_text().splitlines() for f in ("cpuinfo", "meminfo"))
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    mem_kb = next(int(ln.split()[1]) for ln in meminfo if ln.startswith("MemTotal"))
    return (
        f"machine: nproc={len(os.sched_getaffinity(0))}, CPU {cpu}, RAM {mem_kb / 2**20:.1f} GiB; "
        f"Python {sys.version.split()[0]}, geopandas {gpd.__version__}, shapely {shapely.__version__}, "
        f"pandas {pd.__version__}, numpy {np.__version__}"
    )


def git_rev() -> str:
    return (
        subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=REPO
        ).stdout.strip()
        or "?"
    )


def check(label: str, value: float, limit: float, unit: str = "", digits: int = 2) -> str:
    return f"  {label} {value:.{digits}f}{unit} <= {limit:g}{unit}: {'PASS' if value <= limit else 'FAIL'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="measured runs of riskmap and of the floor (default 3)")
    ap.add_argument("--split-runs", type=int, default=1, help="runs of the finer riskmap splits (default 1)")
    ap.add_argument("--scale", type=float, default=1.0, help="scale all three counts (0.1 = smoke run)")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the cached synthetic data")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a run is killed (default 1800)")
    ap.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child_main(args.child, args.data, args.out)

    data = DATA_ROOT if args.scale == 1 else DATA_ROOT / f"scale-{args.scale:g}"
    meta_path = data / "meta.json"
    if (
        args.regenerate
        or not meta_path.exists()
        or json.loads(meta_path.read_text())["tps"] != counts_for(args.scale)["tps"]
    ):
        print(f"generating synthetic data in {data} ...", flush=True)
        generate(data, args.scale)
    meta = json.loads(meta_path.read_text())
    print(machine())
    print(
        f"data: {meta['villages']:,} villages (mean {meta['mean_vertices']:.0f} vertices), {meta['tps']:,} TPS "
        f"(dirty rows {meta['tps_dirty']}), {meta['incidents']:,} incidents {meta['incident_precision']}\nfiles: "
        + ", ".join(f"{f} {(data / f).stat().st_size / 2**20:.0f} MB" for f in (VIL, TPS, INC))
        + f" (generated in {meta['seconds']} s)"
    )

    # riskmap and floor runs alternate, so that a machine slowing down or speeding up
    # during the benchmark weighs on both sides alike
    order = [kind for _ in range(args.runs) for kind in ("riskmap", "floor")] + ["splits"] * args.split_runs
    results: dict[str, list[dict[str, Any]]] = {"riskmap": [], "floor": [], "splits": []}
    failed: set[str] = set()
    for kind in order:
        if kind in failed:
            continue  # a failing or killed run would fail again
        runs = args.split_runs if kind == "splits" else args.runs
        rev, load, t0 = git_rev(), os.getloadavg()[0], time.perf_counter()
        results[kind].append(res := run_child(kind, data, DATA_ROOT / "out" / kind, args.timeout))
        print(
            f"  {kind} run {len(results[kind])}/{runs}: {time.perf_counter() - t0:.1f} s wall, riskmap at {rev}, "
            f"load average before/after {load:.1f}/{os.getloadavg()[0]:.1f}"
            + (" (did not finish)" if res["problem"] else ""),
            flush=True,
        )
        if res["problem"]:
            failed.add(kind)
    rm, fl, sp = (medians(results[k]) for k in ("riskmap", "floor", "splits"))
    parts = ("load (read+validate+join)", "score (4 stages)", "write GeoParquet")
    e2e = sum(rm[p][0] for p in parts) if all(p in rm for p in parts) else None
    floor_e2e = sum(v[0] for v in fl.values()) if fl and not results["floor"][-1]["problem"] else None
    if e2e is not None:
        rm["END TO END (load+score+write parquet)"] = (e2e, rm[parts[-1]][1])
        rm["write GeoJSON (separate)"] = rm.pop("write GeoJSON (separate)", (float("nan"), float("nan")))
    if floor_e2e is not None:
        fl["END TO END"] = (floor_e2e, max(v[1] for v in fl.values()))
    print_table("riskmap: pipeline.load -> pipeline.score -> write_score_outputs", rm, results["riskmap"])
    print_table("bare geopandas floor", fl, results["floor"])
    print_table("riskmap finer splits (all in one process: peak RSS is cumulative)", sp, results["splits"])
    no_check = ("pipeline.load villages+incidents only", "io.read_tps", NO_CHECK, "pipeline.score", "write GeoParquet")
    if all(p in sp for p in no_check):
        print(f"  => end to end without the named-village check ~ {sum(sp[p][0] for p in no_check):.2f} s")

    for rep_run in [r for r in results["riskmap"] if "report" in r][:1]:
        print("\nload report (riskmap, first run):")
        for layer, rep in rep_run["report"].items():
            ok = "OK" if rep["read"] == rep["used"] + rep["rejected"] else "MISMATCH"
            print(
                f"  {layer:<10} read {rep['read']:>9,} = used {rep['used']:>9,} + rejected {rep['rejected']:>6,}"
                f"  [{ok}]\n    rejected by reason: {rep['reasons']}\n    warnings by reason: {rep['warnings']}"
            )
    if results["floor"] and "used" in results["floor"][0]:
        print(f"floor rows used: {results['floor'][0]['used']}")

    print("\ntargets" + (f" (scale {args.scale:g}; they are meant for full scale)" if args.scale != 1 else "") + ":")
    if e2e is None:
        print(f"  riskmap end to end: no run finished (timeout {args.timeout:.0f} s): FAIL")
        return None
    print(check("riskmap end to end", e2e, TARGET_E2E_S, " s"))
    print(check("riskmap peak RSS", rm[parts[-1]][1], TARGET_PEAK_MB, " MB", 0))
    if floor_e2e:
        print(check(f"ratio riskmap/floor end to end = {e2e:.2f}/{floor_e2e:.2f} =", e2e / floor_e2e, TARGET_RATIO))
    return None


if __name__ == "__main__":
    main()
