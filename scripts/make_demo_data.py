"""Generate the SYNTHETIC Kota Kupang demo data embedded with riskmap.

Everything written by this script is invented except the facts taken from the
reference table (51 kelurahan codes, names, kecamatan, interior points, areas) and
the published totals (TPS per kecamatan, voters, Bawaslu TPS-indicator counts).
The output is deterministic: one seeded ``numpy.random.Generator`` drives all
randomness, so two runs produce byte-identical files.

Run ``python scripts/make_demo_data.py`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import LineString, Point, Polygon

SEED = 20241127
CELL = 50.0  # partition grid cell, metres
METRIC_CRS = "EPSG:32751"  # UTM 51S
NOTE = ("Geometri sintetis untuk demo; bukan batas resmi. "
        "Synthetic geometry for demo only, not official boundaries.")
NOTE_POINT = ("Lokasi sintetis untuk demo; bukan lokasi resmi. "
              "Synthetic location for demo only, not an official location.")
XSS_PROBE = "Uji keamanan: <script>alert(1)</script> <img src=x onerror=alert(2)>"
REPO = Path(__file__).resolve().parents[1]

# Published facts (DOMAIN.md section 7 and Bawaslu TPS-rawan mapping, Pilkada 2024).
TPS_PER_KEC = {"Alak": 104, "Maulafa": 122, "Kelapa Lima": 92, "Oebobo": 118,
               "Kota Raja": 71, "Kota Lama": 45}
TOTAL_VOTERS = 275_085
VOTERS_PER_KEC = {"Alak": 51_810, "Maulafa": 64_876, "Kelapa Lima": 43_439,
                  "Oebobo": 60_220, "Kota Raja": 33_896}
VOTERS_PER_KEC["Kota Lama"] = TOTAL_VOTERS - sum(VOTERS_PER_KEC.values())
PRISONS = [("Lapas Kelas IIA Kupang", "Penfui", 312), ("Rutan Kelas IIB Kupang", "Oebobo", 287)]
# indicator -> number of TPS flagged "ya" (first four are Bawaslu's Kota Kupang counts)
FLAG_COUNTS = {"pemilih_tms": 147, "pemilih_pindahan": 185, "penyelenggara_luar": 195,
               "disabilitas": 139, "riwayat_kekerasan": 12, "intimidasi": 8,
               "politik_uang": 10, "sara": 4, "netralitas": 6, "logistik": 10,
               "sulit_dijangkau": 15, "rawan_bencana": 20, "dekat_posko": 25,
               "listrik_internet": 15}
TPS_COLUMNS = ["kode_tps", "kecamatan", "kelurahan", "no_tps", "alamat", "lat", "lon", "dpt",
               *FLAG_COUNTS, "lokasi_khusus"]
INCIDENT_COLUMNS = ["incident_id", "date", "type", "severity", "lat", "lon", "precision",
                    "description", "source"]

# Invented landscape, (lon, lat). Coast of Teluk Kupang to the north / north-west.
COAST = [(123.49, -10.232), (123.505, -10.215), (123.518, -10.200), (123.527, -10.189),
         (123.538, -10.179), (123.551, -10.170), (123.565, -10.1655), (123.575, -10.1612),
         (123.585, -10.1545), (123.597, -10.1495), (123.612, -10.1455), (123.630, -10.1425),
         (123.648, -10.139), (123.665, -10.1335), (123.685, -10.127), (123.71, -10.12)]
LAND_EDGE = [(123.50, -10.19), (123.505, -10.225), (123.525, -10.245), (123.545, -10.262),
             (123.565, -10.285), (123.59, -10.297), (123.612, -10.292), (123.63, -10.275),
             (123.645, -10.25), (123.665, -10.232), (123.678, -10.21), (123.688, -10.19),
             (123.692, -10.165), (123.695, -10.14), (123.70, -10.10), (123.60, -10.10),
             (123.50, -10.15)]
CITY_CENTRE = (123.585, -10.160)
# main roads as chains of kelurahan (through their interior points)
ROADS = {
    "Jl. Timor Raya": ["Lai Lai Bisi Kopan", "Solor", "Tode Kisar", "Fatubesi", "Pasir Panjang",
                       "Kelapa Lima", "Oesapa Barat", "Oesapa", "Lasiana"],
    "Jl. Yos Sudarso": ["Fatufeto", "Nunhila", "Namosain", "Alak"],
    "Jl. Jend. Sudirman": ["Merdeka", "Kuanino", "Naikoten Dua", "Naikoten Satu"],
    "Jl. El Tari": ["Oetete", "Oebobo", "Fatululi", "Kayu Putih", "Tuak Daun Merah", "Liliba"],
    "Jl. Frans Seda": ["Kelapa Lima", "Kayu Putih", "Oebufu"],
    "Jl. Adisucipto": ["Oebufu", "Naimata", "Penfui"],
    "Jl. H.R. Koroh": ["Naikoten Satu", "Oepura", "Sikumana", "Bello", "Kolhua"],
    "Jl. Moh. Hatta": ["Fontein", "Airnona", "Bakunase", "Bakunase Dua"],
    "Jl. Manulai": ["Bakunase", "Manutapen", "Penkase Oeleta", "Manulai II"],
    "Jl. Fatukoa": ["Sikumana", "Fatukoa", "Naioni"],
    "Jl. Batu Plat": ["Manutapen", "Batu Plat", "Naioni"],
}
RIVERS = [["Bakunase Dua", "Bakunase", "Airnona", "Fontein", "Airmata", "Lai Lai Bisi Kopan"],
          ["Liliba", "Oesapa Selatan", "Oesapa Barat"]]
MARKETS = {"Pasar Oebobo": ("Oebobo", 3.0), "Pasar Oeba": ("Oeba", 3.0),
           "Pasar Kasih Naikoten": ("Naikoten Satu", 3.0), "Pasar Oesapa": ("Oesapa", 1.5),
           "Pasar Kampung Solor": ("Solor", 1.0)}
JUNCTIONS = {"Pos Pam Bundaran PU": "Kayu Putih", "Pos Pam Terminal Kupang": "Oebobo",
             "Pos Pam Bandara El Tari": "Penfui", "Pos Pam Pelabuhan Tenau": "Alak",
             "Pos Pam Simpang Sikumana": "Sikumana"}
POLSEK = {"Alak": "Namosain", "Maulafa": "Oepura", "Kelapa Lima": "Oesapa",
          "Oebobo": "Oebobo", "Kota Raja": "Bakunase", "Kota Lama": "Fatubesi"}
PPK = {"Alak": "Nunbaun Delha", "Maulafa": "Maulafa", "Kelapa Lima": "Kelapa Lima",
       "Oebobo": "Oebufu", "Kota Raja": "Naikoten Satu", "Kota Lama": "Merdeka"}
HOTSPOTS = {"Sikumana": 4.0, "Oesapa": 4.0, "Oebobo": 3.0, "Manutapen": 3.0}
STUDENT_AREAS = {"Penfui", "Liliba", "Oesapa", "Kelapa Lima", "Naimata", "Oesapa Selatan"}
STREETS = ["Kenanga", "Flamboyan", "Cendana", "Melati", "Anggrek", "Nangka", "Beringin",
           "Asoka", "Kamboja", "Bakti Karya", "Gunung Mutis", "Pulau Sumba", "Pulau Rote",
           "Pulau Sabu", "Pulau Alor", "Kenari", "Lontar", "Kesambi"]
CHURCHES = ["GMIT Syalom", "GMIT Betel", "GMIT Imanuel", "GMIT Efata", "Gereja Katolik St. Yosef"]
MOSQUES = ["Masjid Al-Ikhlas", "Masjid Nurul Iman", "Masjid Al-Muttaqin"]

# Election cycles: (label, generic incident count, campaign, quiet, voting day, recap).
CYCLES = [
    ("pilkada", 50, ("2016-10-28", "2017-02-11"), ("2017-02-12", "2017-02-14"), "2017-02-15",
     ("2017-02-16", "2017-02-25")),
    ("pemilu", 75, ("2018-09-23", "2019-04-13"), ("2019-04-14", "2019-04-16"), "2019-04-17",
     ("2019-04-18", "2019-05-10")),
    ("pemilu", 95, ("2023-11-28", "2024-02-10"), ("2024-02-11", "2024-02-13"), "2024-02-14",
     ("2024-02-15", "2024-03-05")),
    ("pilkada", 110, ("2024-09-25", "2024-11-23"), ("2024-11-24", "2024-11-26"), "2024-11-27",
     ("2024-11-28", "2024-12-06")),
]
STAGE_P = {"campaign": 0.62, "quiet": 0.06, "voting": 0.13, "recap": 0.19}
TYPE_P = {
    "campaign": {"apk_vandalism": .22, "hoax": .14, "money_politics": .12, "black_campaign": .12,
                 "identity_politics": .08, "state_facility_misuse": .10, "intimidation": .08,
                 "supporter_clash": .10, "protest": .04},
    "quiet": {"dawn_attack": .45, "money_politics": .35, "intimidation": .10, "hoax": .10},
    "voting": {"dawn_attack": .15, "money_politics": .12, "intimidation": .18, "count_delay": .25,
               "supporter_clash": .08, "protest": .12, "hoax": .10},
    "recap": {"protest": .35, "count_delay": .30, "hoax": .15, "supporter_clash": .10,
              "intimidation": .10},
}
SEVERITY_P = {"supporter_clash": (.30, .45, .25), "intimidation": (.35, .45, .20),
              "protest": (.50, .40, .10), "apk_vandalism": (.70, .30, 0.0),
              "dawn_attack": (.50, .50, 0.0), "money_politics": (.50, .50, 0.0)}
# where each type happens: weights for road / market / residential / office / tps / scattered
PLACE_P = {"apk_vandalism": (.75, .05, .15, 0, 0, .05), "black_campaign": (.40, .30, .25, 0, 0, .05),
           "supporter_clash": (.60, .20, .10, 0, 0, .10), "identity_politics": (.20, .35, .40, 0, 0, .05),
           "money_politics": (.05, .35, .55, 0, 0, .05), "hoax": (.10, .30, .50, 0, 0, .10),
           "state_facility_misuse": (.30, .10, .55, 0, 0, .05), "intimidation": (.10, .10, .75, 0, 0, .05),
           "dawn_attack": (0, .05, .90, 0, 0, .05), "protest": (.20, .20, .20, .40, 0, 0),
           "count_delay": (0, 0, 0, 1, 0, 0)}
PLACES = ("road", "market", "residential", "office", "tps", "scattered")
TEMPLATES = {
    "hoax": ["Hoaks tentang {calon} beredar di grup WhatsApp warga {tempat}",
             "Informasi palsu soal kecurangan DPT disebarkan di {tempat}",
             "Video suntingan yang menyudutkan {calon} viral, disebar dari {tempat}"],
    "money_politics": ["Dugaan pembagian uang oleh tim sukses {calon} di {tempat}",
                       "Pembagian sembako bermuatan kampanye di {tempat}",
                       "Warga di {tempat} mengaku dijanjikan uang untuk memilih {calon}"],
    "dawn_attack": ["Dugaan serangan fajar: amplop berisi uang dibagikan di {tempat}",
                    "Tim sukses {calon} diamankan saat membagikan uang subuh hari di {tempat}"],
    "identity_politics": ["Ujaran bernuansa SARA dalam kampanye terbatas di {tempat}",
                          "Spanduk bermuatan SARA ditemukan di {tempat}"],
    "black_campaign": ["Selebaran kampanye hitam terhadap {calon} disebar di {tempat}",
                       "Tabloid berisi fitnah terhadap {calon} ditemukan di {tempat}"],
    "intimidation": ["Petugas KPPS diancam oknum tim sukses di {tempat}",
                     "Warga diintimidasi agar memilih {calon} di {tempat}"],
    "supporter_clash": ["Bentrok massa pendukung saat konvoi kampanye di {tempat}",
                        "Keributan antarpendukung {calon} dan lawannya di {tempat}"],
    "apk_vandalism": ["Baliho {calon} dirusak di {tempat}",
                      "APK {calon} dibakar orang tak dikenal di {tempat}",
                      "Spanduk {calon} dirobek di {tempat}"],
    "state_facility_misuse": ["Mobil dinas Pemkot dipakai untuk kegiatan kampanye di {tempat}",
                              "Gedung pemerintah dipakai pertemuan tim sukses {calon} di {tempat}",
                              "ASN terlihat ikut kampanye {calon} di {tempat}"],
    "protest": ["Massa pendukung {calon} berunjuk rasa di {tempat}",
                "Warga memprotes dugaan kecurangan {calon} di {tempat}"],
    "protest@office": ["Saksi {calon} memprotes hasil rekapitulasi di {tempat}",
                       "Massa pendukung {calon} berunjuk rasa di {tempat}"],
    "protest@tps": ["Warga memprotes tidak terdaftar di DPT di {tempat}"],
    "count_delay@office": ["Rekapitulasi di {tempat} tertunda karena keberatan saksi",
                           "Rekapitulasi suara di {tempat} molor hingga larut malam"],
    "count_delay@tps": ["Penghitungan suara di {tempat} molor hingga dini hari"],
}

XY = np.ndarray  # (n, 2) float array of metric coordinates


def _load_reference(path: Path) -> pd.DataFrame:
    """Read the 51-kelurahan reference table and add metric coordinates ``x``, ``y``."""
    ref = pd.read_csv(path, dtype={"kode": str, "kode_kec": str})
    if len(ref) != 51:
        raise ValueError(f"{path}: expected 51 kelurahan, found {len(ref)}")
    ref["x"], ref["y"] = _to_metric(ref["lon"].to_numpy(), ref["lat"].to_numpy())
    return ref.reset_index(drop=True)


_FWD = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_INV = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def _to_metric(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _FWD.transform(np.asarray(lon, float), np.asarray(lat, float))


def _to_lonlat(xy: XY) -> XY:
    lon, lat = _INV.transform(xy[:, 0], xy[:, 1])
    return np.round(np.c_[lon, lat], 6)


def _wiggle(coords: XY, amp: float, wavelengths: tuple[float, float],
            rng: np.random.Generator) -> XY:
    """Displace a densified line along its normals by a smooth random wave."""
    s = np.r_[0.0, np.cumsum(np.hypot(*np.diff(coords, axis=0).T))]
    offset = np.zeros(len(s))
    for _ in range(4):
        wl, phase = rng.uniform(*wavelengths), rng.uniform(0, 2 * np.pi)
        offset += amp * rng.uniform(0.4, 1.0) * np.sin(2 * np.pi * s / wl + phase)
    d = np.gradient(coords, axis=0)
    normal = np.c_[-d[:, 1], d[:, 0]] / np.hypot(d[:, 0], d[:, 1])[:, None]
    return coords + normal * offset[:, None]


def _make_outline(ref: pd.DataFrame, rng: np.random.Generator) -> tuple[Polygon, LineString]:
    """Build a synthetic city outline whose area equals the sum of real areas.

    Returns the land polygon (metric CRS) and the synthetic coastline.
    """
    coast = LineString(np.c_[_to_metric(*zip(*COAST))]).segmentize(80)
    cc = _wiggle(shapely.get_coordinates(coast), 60, (900, 3500), rng)
    land = Polygon(np.r_[cc, [[cc[-1, 0], cc[-1, 1] - 4e4], [cc[0, 0], cc[0, 1] - 4e4]]])
    edge = Polygon(np.c_[_to_metric(*zip(*LAND_EDGE))]).exterior.segmentize(150)
    ec = shapely.get_coordinates(edge)
    ec = _wiggle(ec, 150, (3000, 7000), rng)
    centre = ref[["x", "y"]].to_numpy().mean(axis=0)
    target = ref["area_km2"].sum() * 1e6
    lo, hi = 0.5, 1.5
    for _ in range(50):  # bisection on the scale of the inland edge
        k = (lo + hi) / 2
        outline = Polygon(centre + (ec - centre) * k).buffer(0).intersection(land)
        lo, hi = (k, hi) if outline.area < target else (lo, k)
    return outline, LineString(cc)


def _warp(xy: XY) -> XY:
    """Smooth, fixed domain warp that bends the partition borders organically."""
    rng, out = np.random.default_rng(SEED + 1), xy.copy()
    for _ in range(6):
        wl, th, amp = rng.uniform(1500, 4000), rng.uniform(0, np.pi), rng.uniform(60, 140)
        ph = rng.uniform(0, 2 * np.pi, 2)
        u = xy[:, 0] * np.cos(th) + xy[:, 1] * np.sin(th)
        v = -xy[:, 0] * np.sin(th) + xy[:, 1] * np.cos(th)
        out[:, 0] += amp * np.sin(2 * np.pi * u / wl + ph[0])
        out[:, 1] += amp * np.sin(2 * np.pi * v / wl + ph[1])
    return out


def _connected(lab: np.ndarray, seeds: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Mask of grid cells 4-connected to the seed cell of their own label."""
    ok = np.zeros(len(lab), bool)
    ok[seeds] = True
    front = seeds.copy()
    while len(front):
        cand = nb[front]
        own = np.repeat(lab[front], cand.shape[1])
        cand = cand.ravel()
        good = (cand >= 0) & (lab[np.maximum(cand, 0)] == own)
        cand = np.unique(cand[good])
        front = cand[~ok[cand]]
        ok[front] = True
    return ok


def _partition(ref: pd.DataFrame, outline: Polygon) -> tuple[XY, np.ndarray, np.ndarray]:
    """Split the outline into 51 connected regions of the real areas.

    Multiplicatively weighted Voronoi on a grid of ``CELL`` metres (cost = warped
    distance / weight); weights are iterated towards the target areas and cells not
    connected to their village's interior point are handed to the next-best village.

    Returns
    -------
    centres : (N, 2) cell centres; lab : (N,) village index; ij : (N, 2) grid indices.
    """
    x0, y0, x1, y1 = (np.floor(np.array(outline.bounds) / CELL) * CELL).tolist()
    gx, gy = np.meshgrid(np.arange(x0, x1 + CELL, CELL), np.arange(y0, y1 + CELL, CELL))
    inside = shapely.contains_xy(outline, gx + CELL / 2, gy + CELL / 2)
    ij = np.argwhere(inside)[:, ::-1]  # (col, row)
    grid = -np.ones(gx.shape, int)
    grid[ij[:, 1], ij[:, 0]] = np.arange(len(ij))
    pad = np.pad(grid, 1, constant_values=-1)
    nb = np.stack([pad[ij[:, 1] + 1 + dj, ij[:, 0] + 1 + di]
                   for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))], axis=1)
    centres = np.c_[gx[0, ij[:, 0]], gy[ij[:, 1], 0]] + CELL / 2
    pts = ref[["x", "y"]].to_numpy()
    target = ref["area_km2"].to_numpy() * 1e6
    seeds = np.array([np.argmin(np.hypot(*(centres - p).T)) for p in pts])
    land = _connected(np.zeros(len(ij), int), seeds[:1], nb)  # drop stray land cells
    centres, ij = centres[land], ij[land]
    remap = -np.ones(len(land) + 1, int)
    remap[np.flatnonzero(land)] = np.arange(land.sum())
    nb, seeds = remap[nb[land]], remap[seeds]
    dist = np.hypot(*(_warp(centres)[None] - _warp(pts)[:, None]).transpose(2, 0, 1))
    weight, n = np.sqrt(target), len(pts)
    for it in range(110):
        cost = dist / weight[:, None]
        lab = np.argmin(cost, axis=0)
        lab[seeds] = np.arange(n)
        if it >= 90:  # enforce connectivity in the last rounds
            for _ in range(30):
                bad = ~_connected(lab, seeds, nb)
                if not bad.any():
                    break
                cost[lab[bad], np.flatnonzero(bad)] = np.inf
                lab[bad] = np.argmin(cost[:, bad], axis=0)
        area = np.bincount(lab, minlength=n) * CELL**2
        weight *= (target / area) ** 0.35
    return centres, lab, ij


def _polygons(centres: XY, lab: np.ndarray, ij: np.ndarray, n: int) -> list[Polygon]:
    """Union the cells of each village (as row runs) and smooth the staircase."""
    order = np.lexsort((ij[:, 0], ij[:, 1], lab))
    lab_o, ij_o, c_o = lab[order], ij[order], centres[order]
    brk = np.r_[True, (np.diff(lab_o) != 0) | (np.diff(ij_o[:, 1]) != 0) | (np.diff(ij_o[:, 0]) != 1)]
    start = np.flatnonzero(brk)
    end = np.r_[start[1:], len(order)] - 1
    h = CELL / 2
    runs = shapely.box(c_o[start, 0] - h, c_o[start, 1] - h, c_o[end, 0] + h, c_o[end, 1] + h)
    polys = [shapely.union_all(runs[lab_o[start] == i]) for i in range(n)]
    polys = shapely.coverage_simplify(np.array(polys, dtype=object), 55.0, simplify_boundary=True)
    return [shapely.orient_polygons(p) for p in polys]


def _settlement(xy: XY, seeds: XY, roads: list[LineString], coast: LineString) -> np.ndarray:
    """Relative settlement density: old centre, main roads, village cores, coast."""
    pts = shapely.points(xy)
    centre = np.c_[_to_metric(*CITY_CENTRE)][0]
    d_centre = np.hypot(*(xy - centre).T)
    d_road = np.min([shapely.distance(pts, r) for r in roads], axis=0)
    d_seed = np.min(np.hypot(*(xy[None] - seeds[:, None]).transpose(2, 0, 1)), axis=0)
    d_coast = shapely.distance(pts, coast)
    return (np.exp(-d_centre / 2500) + 0.8 * np.exp(-d_road / 300)
            + 0.8 * np.exp(-d_seed / 600) + 0.3 * np.exp(-d_coast / 600) + 0.02)


def _sample_in(poly: Polygon, k: int, rng: np.random.Generator, density: Callable[[XY], np.ndarray],
               margin: float = 40.0, spacing: float = 0.0) -> XY:
    """Draw ``k`` points inside ``poly`` (``margin`` from its border), favouring density."""
    inner = poly.buffer(-margin)
    x0, y0, x1, y1 = inner.bounds
    cand = rng.uniform((x0, y0), (x1, y1), size=(max(60 * k, 200), 2))
    cand = cand[shapely.contains_xy(inner, cand[:, 0], cand[:, 1])]
    w = density(cand)
    chosen: list[np.ndarray] = []
    for sp in (spacing, spacing / 2, 0.0):
        for i in rng.choice(len(cand), size=len(cand), replace=False, p=w / w.sum()):
            if len(chosen) == k:
                return np.array(chosen)
            if all(np.hypot(*(cand[i] - c)) >= sp for c in chosen):
                chosen.append(cand[i])
    return np.array(chosen)


def _allocate(weights: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Largest-remainder allocation of ``total`` items with a per-item minimum."""
    out = np.full(len(weights), minimum)
    share = weights / weights.sum() * (total - out.sum())
    out += np.floor(share).astype(int)
    out[np.argsort(-(share - np.floor(share)), kind="stable")[: total - out.sum()]] += 1
    return out


def _make_tps(ref: pd.DataFrame, polys: list[Polygon], rng: np.random.Generator,
              density: Callable[[XY], np.ndarray]) -> pd.DataFrame:
    """Place 552 TPS with addresses and voter counts (flags are added later)."""
    pop = ref["area_km2"].to_numpy() * (800 + 14000 * np.exp(-_settlement_dist(ref) / 2500))
    ref = ref.assign(n_tps=0)
    for kec, total in TPS_PER_KEC.items():
        idx = np.flatnonzero(ref["kecamatan"] == kec)
        ref.loc[idx, "n_tps"] = _allocate(pop[idx], total, 2)
    prison = {kel: (name, dpt) for name, kel, dpt in PRISONS}
    rows = []
    for i, v in ref.iterrows():
        n = int(v["n_tps"])
        xy = _sample_in(polys[i], n, rng, density, spacing=0.6 * np.sqrt(polys[i].area / n))
        for k in range(n):
            special = v["nama"] in prison and k == n - 1
            rt, rw = int(rng.integers(1, 30)), int(rng.integers(1, 10))
            alamat = prison[v["nama"]][0] if special else _address(v["nama"], rt, rw, rng)
            rows.append({"kode_tps": v["kode"].replace(".", "") + f"{k + 1:03d}",
                         "kecamatan": v["kecamatan"], "kelurahan": v["nama"], "no_tps": k + 1,
                         "alamat": alamat, "x": xy[k, 0], "y": xy[k, 1],
                         "dpt": prison[v["nama"]][1] if special else 0,
                         "lokasi_khusus": "ya" if special else "tidak"})
    tps = pd.DataFrame(rows)
    for kec, total in VOTERS_PER_KEC.items():
        idx = np.flatnonzero((tps["kecamatan"] == kec) & (tps["lokasi_khusus"] == "tidak"))
        rest = total - tps.loc[(tps["kecamatan"] == kec), "dpt"].sum()
        d = np.clip(rng.normal(rest / len(idx), 55, len(idx)), 340, 600).round().astype(int)
        while (gap := rest - d.sum()) != 0:  # nudge within bounds until the total matches
            free = np.flatnonzero((d < 600) if gap > 0 else (d > 340))
            pick = rng.choice(free, size=min(abs(gap), len(free)), replace=False)
            d[pick] += np.sign(gap)
        tps.loc[idx, "dpt"] = d
    return tps


def _settlement_dist(ref: pd.DataFrame) -> np.ndarray:
    centre = np.c_[_to_metric(*CITY_CENTRE)][0]
    return np.hypot(ref["x"] - centre[0], ref["y"] - centre[1]).to_numpy()


def _address(kel: str, rt: int, rw: int, rng: np.random.Generator) -> str:
    kind = rng.choice(6, p=[.40, .15, .10, .12, .08, .15])
    return [f"Jl. {STREETS[rng.integers(len(STREETS))]} RT {rt:02d}/RW {rw:02d}",
            f"Halaman SD Inpres {kel}", f"Aula Kantor Lurah {kel}",
            f"Halaman {CHURCHES[rng.integers(len(CHURCHES))]} {kel}",
            f"Halaman {MOSQUES[rng.integers(len(MOSQUES))]} {kel}",
            f"Gedung Serbaguna RW {rw:02d} {kel}"][kind]


def _make_points(ref: pd.DataFrame, polys: list[Polygon], rng: np.random.Generator,
                 density: Callable[[XY], np.ndarray]) -> tuple[list[dict], list[dict], dict]:
    """Place election offices, police posts and markets inside their kelurahan."""
    by_name = {n: i for i, n in enumerate(ref["nama"])}

    def at(kel: str) -> np.ndarray:
        return _sample_in(polys[by_name[kel]], 1, rng, density, margin=60)[0]

    offices = [{"id": "KPU-01", "nama": "Kantor KPU Kota Kupang", "jenis": "kpu",
                "kecamatan": "Oebobo", "xy": at("Oebobo")}]
    for k, (kec, kel) in enumerate(PPK.items(), start=1):
        offices.append({"id": f"PPK-{k:02d}", "nama": f"Kantor PPK Kecamatan {kec}",
                        "jenis": "ppk", "kecamatan": kec, "xy": at(kel)})
    markets = {name: at(kel) for name, (kel, _) in MARKETS.items()}
    posts = [("Polresta Kupang Kota", "polresta", at("Kuanino"))]
    posts += [(f"Polsek {kec}", "polsek", at(kel)) for kec, kel in POLSEK.items()]
    posts += [(f"Pos Pam {name}", "pos_pam", xy) for name, xy in markets.items()]
    posts += [(name, "pos_pam", at(kel)) for name, kel in JUNCTIONS.items()]
    post_rows = [{"id": f"POS-{k:03d}", "nama": nm, "jenis": j, "xy": xy}
                 for k, (nm, j, xy) in enumerate(posts, start=1)]
    return offices, post_rows, markets


def _date(rng: np.random.Generator, window: tuple[str, str], skew: tuple[float, float]) -> str:
    start, end = np.datetime64(window[0]), np.datetime64(window[1])
    days = int((end - start).astype(int))
    return str(start + np.timedelta64(int(round(rng.beta(*skew) * days)), "D"))


def _calon(kind: str, year: int, rng: np.random.Generator) -> str:
    if kind == "pilkada":
        office = "paslon wali kota" if year < 2024 or rng.random() < 0.5 else "paslon gubernur"
        return f"{office} nomor urut {rng.integers(1, 5)}"
    return ["caleg DPRD Kota Kupang", "caleg DPR RI",
            f"pasangan capres nomor urut {rng.integers(1, 3 if year < 2024 else 4)}"][rng.integers(3)]


def _make_incidents(ref: pd.DataFrame, polys: list[Polygon], tps: pd.DataFrame, offices: list[dict],
                    markets: dict, roads: dict[str, LineString], land: Polygon,
                    rng: np.random.Generator) -> pd.DataFrame:
    """Generate synthetic incidents clustered at markets, roads, offices and hot spots."""
    safe = land.buffer(-10)
    shapely.prepare(safe)
    tree = shapely.STRtree(polys)
    kec_geom = {k: shapely.union_all([polys[i] for i in np.flatnonzero(ref["kecamatan"] == k)])
                for k in TPS_PER_KEC}
    kec_cent = {k: g.centroid if g.contains(g.centroid) else g.point_on_surface()
                for k, g in kec_geom.items()}
    tps_w = tps["kelurahan"].map(HOTSPOTS).fillna(1.0).to_numpy()
    road_names, road_len = list(roads), np.array([r.length for r in roads.values()])
    mk_names = list(markets)
    mk_w = np.array([MARKETS[m][1] for m in mk_names])
    rows: list[dict] = []

    def kel_of(p: np.ndarray) -> int:
        hit = tree.query(Point(p), predicate="within")
        return int(hit[0]) if len(hit) else -1

    def place(kind: str, stage: str) -> tuple[np.ndarray, str]:
        while True:
            if kind == "road":
                name = road_names[rng.choice(len(roads), p=road_len / road_len.sum())]
                line = roads[name]
                p = np.array(line.interpolate(rng.uniform(0, line.length)).coords[0])
                p, label = p + rng.normal(0, 25, 2), ("simpang " if rng.random() < .3 else "") + name
            elif kind == "market":
                name = mk_names[rng.choice(len(mk_names), p=mk_w / mk_w.sum())]
                p, label = markets[name] + rng.normal(0, 70, 2), name
            elif kind == "office":
                o = offices[1 + rng.integers(len(offices) - 1)] \
                    if stage == "recap" and rng.random() < 0.7 else offices[0]
                p, label = o["xy"] + rng.normal(0, 20, 2), o["nama"]
            elif kind == "tps":
                t = tps.iloc[rng.choice(len(tps), p=tps_w / tps_w.sum())]
                p = np.array([t["x"], t["y"]]) + rng.normal(0, 15, 2)
                label = f"TPS {t['no_tps']:03d} Kelurahan {t['kelurahan']}"
            elif kind == "residential":
                t = tps.iloc[rng.choice(len(tps), p=tps_w / tps_w.sum())]
                p = np.array([t["x"], t["y"]]) + rng.normal(0, 150, 2)
                label = f"RT {rng.integers(1, 30):02d}/RW {rng.integers(1, 10):02d}"
            else:
                p, label = rng.uniform(land.bounds[:2], land.bounds[2:]), ""
            if safe.contains(Point(p)) and (k := kel_of(p)) >= 0:
                if kind in ("road", "residential", "scattered"):
                    label = f"{label}, Kelurahan {ref['nama'][k]}".lstrip(", ")
                return p, label

    def add(date: str, typ: str, stage: str, kind: str, cyc: str, prec: str = "exact",
            where: tuple[np.ndarray, str] | None = None, sev: int | None = None,
            calon: str | None = None, desc: str | None = None) -> None:
        p, tempat = where if where is not None else place(kind, stage)
        year = int(date[:4])
        if prec == "near":
            while not safe.contains(Point(q := p + rng.normal(0, 350, 2))):
                pass
            p = q
        elif prec == "region":
            kec = ref["kecamatan"][kel_of(p)]
            if typ == "hoax" and rng.random() < 0.5:
                p, tempat = np.array(land.centroid.coords[0]), "Kota Kupang"
            else:
                p, tempat = np.array(kec_cent[kec].coords[0]), f"wilayah Kecamatan {kec}"
        if sev is None:
            sev = int(rng.choice([1, 2, 3], p=SEVERITY_P.get(typ, (.60, .37, .03))))
        key = f"{typ}@{kind}" if f"{typ}@{kind}" in TEMPLATES else typ
        tpl = TEMPLATES[key][rng.integers(len(TEMPLATES[key]))]
        text = desc or tpl.format(calon=calon or _calon(cyc, year, rng), tempat=tempat)
        if sev == 3 and typ in ("supporter_clash", "intimidation", "protest"):
            text += f"; {rng.integers(1, 5)} orang luka-luka"
        if prec == "near":
            text = text.replace(" di ", " di sekitar ", 1)
        rows.append({"date": date, "type": typ, "severity": sev, "x": p[0], "y": p[1],
                     "precision": prec, "description": text, "source": "sintetis"})

    at_tps = np.array([0, .10, .30, 0, .60, 0])
    for cyc, n, campaign, quiet, vote, recap in CYCLES:
        for _ in range(n):
            stage = str(rng.choice(list(STAGE_P), p=list(STAGE_P.values())))
            tp = TYPE_P[stage]
            typ = str(rng.choice(list(tp), p=list(tp.values())))
            date = {"campaign": lambda: _date(rng, campaign, (2.2, 1.2)),
                    "quiet": lambda: _date(rng, quiet, (1.5, 1.0)),
                    "voting": lambda: vote,
                    "recap": lambda: _date(rng, recap, (1.2, 2.0))}[stage]()
            pp = np.array(PLACE_P[typ], float)
            if stage == "voting" and typ in ("count_delay", "protest"):
                pp = np.eye(6)[4]
            elif stage == "voting" and typ != "hoax":
                pp = at_tps
            elif stage == "recap" and typ in ("protest", "count_delay", "supporter_clash"):
                pp = np.eye(6)[3]
            kind = PLACES[rng.choice(6, p=pp / pp.sum())]
            prec = "exact" if kind in ("office", "tps") else \
                str(rng.choice(["exact", "near", "region"], p=[.75, .18, .07]))
            add(date, typ, stage, kind, cyc, prec)
    # Real reports, re-enacted synthetically.
    kpu = offices[0]
    for d in ("2016-11-22", "2016-11-23", "2016-11-23"):
        add(d, "protest", "campaign", "office", "pilkada", sev=2,
            where=(kpu["xy"] + rng.normal(0, 20, 2), kpu["nama"]),
            desc="Massa pendukung bakal paslon wali kota berunjuk rasa di Kantor KPU Kota Kupang "
                 "memprotes pembatalan pencalonan")
    by_name = {n: i for i, n in enumerate(ref["nama"])}
    for k in range(18):
        kel = ["Tuak Daun Merah", "Pasir Panjang", "Lasiana"][k % 3]
        p = _sample_in(polys[by_name[kel]], 1, rng, _flat_density, margin=30)[0]
        add(f"2024-10-{13 + k % 4:02d}", "apk_vandalism", "campaign", "road", "pilkada", sev=1,
            where=(p, f"Kelurahan {kel}"), calon=f"paslon gubernur nomor urut {1 + k % 2}")
    add("2024-11-05", "hoax", "campaign", "office", "pilkada", sev=1, desc=XSS_PROBE,
        where=(kpu["xy"] + rng.normal(0, 20, 2), kpu["nama"]))
    rows[-1]["source"] = "uji"
    inc = pd.DataFrame(rows).sort_values("date", kind="stable").reset_index(drop=True)
    year = inc["date"].str[:4]
    inc["incident_id"] = [f"KPG-{y}-{k:04d}" for y, k in zip(year, inc.groupby(year).cumcount() + 1)]
    return inc


def _flat_density(xy: XY) -> np.ndarray:
    return np.ones(len(xy))


def _flag_tps(tps: pd.DataFrame, inc: pd.DataFrame, ref: pd.DataFrame, coast: LineString,
              rivers: list[LineString], roads: list[LineString], rng: np.random.Generator) -> None:
    """Add the Bawaslu indicator columns with fixed counts and coherent placement."""
    xy = tps[["x", "y"]].to_numpy()
    pts = shapely.points(xy)
    exact = inc[inc["precision"] != "region"]

    def near(types: tuple[str, ...], radius: float = 600.0) -> np.ndarray:
        e = exact[exact["type"].isin(types)][["x", "y"]].to_numpy()
        d = np.hypot(*(xy[:, None] - e[None]).transpose(2, 0, 1))
        return (d < radius).sum(axis=1).astype(float)

    d_out = tps["kelurahan"].map(dict(zip(ref["nama"], _settlement_dist(ref)))).to_numpy() / 1000
    outer = d_out ** 3 + 0.5
    d_coast = shapely.distance(pts, coast)
    d_river = np.min([shapely.distance(pts, r) for r in rivers], axis=0)
    d_road = np.min([shapely.distance(pts, r) for r in roads], axis=0)
    prison = (tps["lokasi_khusus"] == "ya").to_numpy()
    weights = {
        "pemilih_tms": 1 + np.exp(-d_out / 3),
        "pemilih_pindahan": 1 + 3 * tps["kelurahan"].isin(STUDENT_AREAS) + 100 * prison,
        "penyelenggara_luar": 1 + 0.2 * d_out,
        "disabilitas": np.ones(len(tps)),
        "riwayat_kekerasan": near(("supporter_clash", "intimidation")) ** 2 + 0.05,
        "intimidasi": near(("intimidation",)) ** 2 + 0.05,
        "politik_uang": near(("money_politics", "dawn_attack")) ** 2 + 0.05,
        "sara": near(("identity_politics",), 800) ** 2 + 0.05,
        "netralitas": near(("state_facility_misuse",), 800) ** 2 + 0.05,
        "logistik": outer,
        "sulit_dijangkau": outer ** 2,
        "rawan_bencana": np.exp(-d_coast / 150) + np.exp(-d_river / 100) + 0.01,
        "dekat_posko": np.exp(-d_road / 200) + 0.1,
        "listrik_internet": outer,
    }
    for col, count in FLAG_COUNTS.items():
        w = np.where(prison & (col != "pemilih_pindahan"), 0.0, weights[col])
        flag = np.zeros(len(tps), bool)
        flag[rng.choice(len(tps), size=count, replace=False, p=w / w.sum())] = True
        tps[col] = np.where(flag, "ya", "tidak")


def _write_geojson(path: Path, features: list[tuple[dict, object]]) -> None:
    """Write RFC 7946 GeoJSON (WGS 84, no crs member, 6-decimal coordinates)."""
    feats = []
    for props, geom in features:
        geom = shapely.transform(geom, _to_lonlat)
        feats.append({"type": "Feature", "properties": props, "geometry": geom.__geo_interface__})
    text = json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def _write_csv(path: Path, df: pd.DataFrame, columns: list[str]) -> None:
    """Write ``df`` with lat/lon from metric x/y as plain 6-decimal numbers."""
    ll = _to_lonlat(df[["x", "y"]].to_numpy())
    df = df.assign(lon=[f"{v:.6f}" for v in ll[:, 0]], lat=[f"{v:.6f}" for v in ll[:, 1]])
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        w.writerows(df[columns].itertuples(index=False, name=None))


def generate(out: Path, reference: Path) -> dict[str, object]:
    """Generate all demo files under ``out``; return the objects for the summary."""
    rng = np.random.default_rng(SEED)
    ref = _load_reference(reference)
    outline, coast = _make_outline(ref, rng)
    centres, lab, ij = _partition(ref, outline)
    polys = _polygons(centres, lab, ij, len(ref))
    land = shapely.union_all(polys)
    seeds = ref[["x", "y"]].to_numpy()
    idx = {n: i for i, n in enumerate(ref["nama"])}
    roads = {name: LineString(seeds[[idx[k] for k in chain]]) for name, chain in ROADS.items()}
    rivers = [LineString(seeds[[idx[k] for k in chain]]) for chain in RIVERS]
    density = lambda xy: _settlement(xy, seeds, list(roads.values()), coast)  # noqa: E731
    tps = _make_tps(ref, polys, rng, density)
    offices, posts, markets = _make_points(ref, polys, rng, density)
    inc = _make_incidents(ref, polys, tps, offices, markets, roads, land, rng)
    _flag_tps(tps, inc, ref, coast, rivers, list(roads.values()), rng)

    (out / "geo").mkdir(parents=True, exist_ok=True)
    (out / "incidents").mkdir(parents=True, exist_ok=True)
    _write_geojson(out / "geo" / "kota_kupang_kelurahan.geojson", [
        ({"kode": r["kode"], "nama": r["nama"], "kecamatan": r["kecamatan"],
          "kab_kota": "Kota Kupang", "provinsi": "Nusa Tenggara Timur",
          "luas_km2": round(polys[i].area / 1e6, 3), "keterangan": NOTE}, polys[i])
        for i, r in ref.iterrows()])
    _write_geojson(out / "geo" / "kota_kupang_pos_polisi.geojson", [
        ({"id": p["id"], "nama": p["nama"], "jenis": p["jenis"], "keterangan": NOTE_POINT},
         Point(p["xy"])) for p in posts])
    _write_geojson(out / "geo" / "kota_kupang_kantor_pemilu.geojson", [
        ({"id": o["id"], "nama": o["nama"], "jenis": o["jenis"], "kecamatan": o["kecamatan"],
          "keterangan": NOTE_POINT}, Point(o["xy"])) for o in offices])
    _write_csv(out / "geo" / "kota_kupang_tps.csv", tps, TPS_COLUMNS)
    _write_csv(out / "incidents" / "kota_kupang_insiden.csv", inc, INCIDENT_COLUMNS)
    return {"ref": ref, "polys": polys, "tps": tps, "inc": inc}


def _summary(res: dict[str, object]) -> str:
    ref, polys, tps, inc = res["ref"], res["polys"], res["tps"], res["inc"]
    err = np.array([p.area / 1e6 for p in polys]) / ref["area_km2"].to_numpy() - 1
    lines = [f"kelurahan: {len(polys)}, total area {sum(p.area for p in polys) / 1e6:.3f} km2 "
             f"(reference {ref['area_km2'].sum():.3f}), area error {err.min():+.1%} .. {err.max():+.1%}",
             f"TPS: {len(tps)}, voters {tps['dpt'].sum():,}, dpt {tps['dpt'].min()}..{tps['dpt'].max()}"]
    g = tps.groupby("kecamatan", sort=False).agg(tps=("dpt", "size"), dpt=("dpt", "sum"))
    lines += [f"  {k:<12} {r.tps:>4} TPS {r.dpt:>7,} voters" for k, r in g.iterrows()]
    flags = ", ".join(f"{c}={(tps[c] == 'ya').sum()}" for c in [*FLAG_COUNTS, "lokasi_khusus"])
    lines.append(f"flags (ya): {flags}")
    lines.append(f"incidents: {len(inc)}; precision "
                 + ", ".join(f"{k}={v}" for k, v in inc["precision"].value_counts().items()))
    tab = pd.crosstab(inc["type"], inc["date"].str[:4], margins=True, margins_name="total")
    lines.append(tab.to_string())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "data",
                        help="output folder (default: the repository's data/)")
    parser.add_argument("--reference", type=Path,
                        default=REPO / ".." / "shared" / "reference" / "kota_kupang_kelurahan.csv",
                        help="kelurahan reference CSV (kode,nama,kode_kec,kecamatan,lat,lon,area_km2)")
    args = parser.parse_args(argv)
    print(_summary(generate(args.out, args.reference.resolve())))


if __name__ == "__main__":
    main()
