"""Generate the SYNTHETIC Kota Kupang demo data embedded with riskmap.

Everything written here is invented except the facts taken from the reference table
(51 kelurahan codes, names, kecamatan, interior points, areas) and the published
totals (TPS and voters per kecamatan, Bawaslu TPS-indicator counts, see
``data/README.md``). One seeded ``numpy.random.Generator`` drives all randomness, so
two runs give byte-identical files.

Usage: ``python scripts/make_demo_data.py [--out DIR] [--reference CSV]``.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import LineString, Point, Polygon

SEED = 20241127
CELL = 50.0  # partition grid cell (m)
SMOOTH = 85.0  # coverage_simplify tolerance (m)
METRIC_CRS = "EPSG:32751"  # UTM 51S
REPO = Path(__file__).resolve().parents[1]
NOTE = "Geometri sintetis untuk demo; bukan batas resmi. Synthetic geometry for demo only, not official boundaries."
NOTE_POINT = "Lokasi sintetis untuk demo; bukan lokasi resmi. Synthetic location for demo only, not official."
XSS_PROBE = "Uji keamanan: <script>alert(1)</script> <img src=x onerror=alert(2)>"
XY = np.ndarray  # (n, 2) metric coordinates

# --- Published facts (DOMAIN.md section 5 and 7) -------------------------------------------
TPS_PER_KEC = {"Alak": 104, "Maulafa": 122, "Kelapa Lima": 92, "Oebobo": 118, "Kota Raja": 71, "Kota Lama": 45}
TOTAL_VOTERS = 275_085
VOTERS_PER_KEC = {"Alak": 51_810, "Maulafa": 64_876, "Kelapa Lima": 43_439, "Oebobo": 60_220, "Kota Raja": 33_896}
VOTERS_PER_KEC["Kota Lama"] = TOTAL_VOTERS - sum(VOTERS_PER_KEC.values())  # 20,844
# indicator -> TPS flagged "ya"; the first four are Bawaslu's Kota Kupang counts, the rest invented
FLAG_COUNTS = {
    "pemilih_tms": 147,
    "pemilih_pindahan": 185,
    "penyelenggara_luar": 195,
    "disabilitas": 139,
    "riwayat_kekerasan": 12,
    "intimidasi": 8,
    "politik_uang": 10,
    "sara": 4,
    "netralitas": 6,
    "logistik": 10,
    "sulit_dijangkau": 15,
    "rawan_bencana": 20,
    "dekat_posko": 25,
    "listrik_internet": 15,
}
TPS_COLUMNS = [
    "kode_tps",
    "kecamatan",
    "kelurahan",
    "no_tps",
    "alamat",
    "lat",
    "lon",
    "dpt",
    *FLAG_COUNTS,
    "lokasi_khusus",
]
INCIDENT_COLUMNS = ["incident_id", "date", "type", "severity", "lat", "lon", "precision", "description", "source"]

# --- Invented landscape (lon, lat); the sea (Teluk Kupang) is north / north-west -----------
COAST = [
    (123.49, -10.232),
    (123.505, -10.215),
    (123.518, -10.200),
    (123.527, -10.189),
    (123.538, -10.179),
    (123.551, -10.170),
    (123.565, -10.165),
    (123.5735, -10.162),
    (123.58, -10.1575),
    (123.586, -10.1552),
    (123.593, -10.153),
    (123.601, -10.1505),
    (123.612, -10.1465),
    (123.63, -10.1425),
    (123.648, -10.139),
    (123.665, -10.1335),
    (123.685, -10.127),
    (123.71, -10.12),
]
LAND_EDGE = [
    (123.50, -10.19),
    (123.505, -10.225),
    (123.525, -10.245),
    (123.545, -10.262),
    (123.565, -10.285),
    (123.59, -10.297),
    (123.612, -10.292),
    (123.63, -10.275),
    (123.645, -10.25),
    (123.665, -10.232),
    (123.678, -10.21),
    (123.688, -10.19),
    (123.692, -10.165),
    (123.695, -10.14),
    (123.70, -10.10),
    (123.60, -10.10),
    (123.50, -10.15),
]
CITY_CENTRE = (123.585, -10.160)
ROADS = {  # main roads as chains of kelurahan interior points
    "Jl. Timor Raya": [
        "Lai Lai Bisi Kopan",
        "Solor",
        "Tode Kisar",
        "Fatubesi",
        "Pasir Panjang",
        "Kelapa Lima",
        "Oesapa Barat",
        "Oesapa",
        "Lasiana",
    ],
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
RIVERS = [
    ["Bakunase Dua", "Bakunase", "Airnona", "Fontein", "Airmata", "Lai Lai Bisi Kopan"],
    ["Liliba", "Oesapa Selatan", "Oesapa Barat"],
]
MARKETS = {
    "Pasar Oebobo": ("Oebobo", 3.0),
    "Pasar Oeba": ("Oeba", 3.0),
    "Pasar Kasih Naikoten": ("Naikoten Satu", 3.0),
    "Pasar Oesapa": ("Oesapa", 1.5),
    "Pasar Kampung Solor": ("Solor", 1.0),
}  # name: (kelurahan, weight)
JUNCTIONS = {
    "Pos Pam Bundaran PU": "Kayu Putih",
    "Pos Pam Terminal Kupang": "Oebobo",
    "Pos Pam Bandara El Tari": "Penfui",
    "Pos Pam Pelabuhan Tenau": "Alak",
    "Pos Pam Simpang Sikumana": "Sikumana",
}
POLSEK = {
    "Alak": "Namosain",
    "Maulafa": "Oepura",
    "Kelapa Lima": "Oesapa",
    "Oebobo": "Oebobo",
    "Kota Raja": "Bakunase",
    "Kota Lama": "Fatubesi",
}
PPK = {
    "Alak": "Nunbaun Delha",
    "Maulafa": "Maulafa",
    "Kelapa Lima": "Kelapa Lima",
    "Oebobo": "Oebufu",
    "Kota Raja": "Naikoten Satu",
    "Kota Lama": "Merdeka",
}
PRISONS = {"Penfui": ("Lapas Kelas IIA Kupang", 312), "Oebobo": ("Rutan Kelas IIB Kupang", 287)}
HOTSPOTS = {"Sikumana": 4.0, "Oesapa": 4.0, "Oebobo": 3.0, "Manutapen": 3.0}  # residential incident weight
STUDENT_AREAS = {"Penfui", "Liliba", "Oesapa", "Kelapa Lima", "Naimata", "Oesapa Selatan"}
STREETS = [
    "Kenanga",
    "Flamboyan",
    "Cendana",
    "Melati",
    "Anggrek",
    "Nangka",
    "Beringin",
    "Asoka",
    "Kamboja",
    "Bakti Karya",
    "Gunung Mutis",
    "Pulau Sumba",
    "Pulau Rote",
    "Pulau Sabu",
    "Pulau Alor",
    "Kenari",
    "Lontar",
    "Kesambi",
]
CHURCHES = ["GMIT Syalom", "GMIT Betel", "GMIT Imanuel", "GMIT Efata", "Gereja Katolik St. Yosef"]
MOSQUES = ["Masjid Al-Ikhlas", "Masjid Nurul Iman", "Masjid Al-Muttaqin"]

# --- Incident model -----------------------------------------------------------------------
# (kind, generic incidents, campaign, quiet period, voting day, recap)
CYCLES = [
    (
        "pilkada",
        50,
        ("2016-10-28", "2017-02-11"),
        ("2017-02-12", "2017-02-14"),
        "2017-02-15",
        ("2017-02-16", "2017-02-25"),
    ),
    (
        "pemilu",
        75,
        ("2018-09-23", "2019-04-13"),
        ("2019-04-14", "2019-04-16"),
        "2019-04-17",
        ("2019-04-18", "2019-05-10"),
    ),
    (
        "pemilu",
        95,
        ("2023-11-28", "2024-02-10"),
        ("2024-02-11", "2024-02-13"),
        "2024-02-14",
        ("2024-02-15", "2024-03-05"),
    ),
    (
        "pilkada",
        110,
        ("2024-09-25", "2024-11-23"),
        ("2024-11-24", "2024-11-26"),
        "2024-11-27",
        ("2024-11-28", "2024-12-06"),
    ),
]
STAGE_P = {"campaign": 0.62, "quiet": 0.06, "voting": 0.13, "recap": 0.19}
TYPE_P = {
    "campaign": {
        "apk_vandalism": 0.22,
        "hoax": 0.14,
        "money_politics": 0.12,
        "black_campaign": 0.12,
        "identity_politics": 0.08,
        "state_facility_misuse": 0.10,
        "intimidation": 0.08,
        "supporter_clash": 0.10,
        "protest": 0.04,
    },
    "quiet": {"dawn_attack": 0.45, "money_politics": 0.35, "intimidation": 0.10, "hoax": 0.10},
    "voting": {
        "dawn_attack": 0.15,
        "money_politics": 0.12,
        "intimidation": 0.18,
        "count_delay": 0.25,
        "supporter_clash": 0.08,
        "protest": 0.12,
        "hoax": 0.10,
    },
    "recap": {"protest": 0.35, "count_delay": 0.30, "hoax": 0.15, "supporter_clash": 0.10, "intimidation": 0.10},
}
SEVERITY_P = {
    "supporter_clash": (0.30, 0.45, 0.25),
    "intimidation": (0.35, 0.45, 0.20),
    "protest": (0.50, 0.40, 0.10),
    "apk_vandalism": (0.70, 0.30, 0),
    "dawn_attack": (0.50, 0.50, 0),
    "money_politics": (0.50, 0.50, 0),
}
PLACES = ("road", "market", "residential", "office", "tps", "scattered")
PLACE_P = {
    "apk_vandalism": (0.75, 0.05, 0.15, 0, 0, 0.05),
    "black_campaign": (0.40, 0.30, 0.25, 0, 0, 0.05),
    "supporter_clash": (0.60, 0.20, 0.10, 0, 0, 0.10),
    "identity_politics": (0.20, 0.35, 0.40, 0, 0, 0.05),
    "money_politics": (0.05, 0.35, 0.55, 0, 0, 0.05),
    "hoax": (0.10, 0.30, 0.50, 0, 0, 0.10),
    "state_facility_misuse": (0.30, 0.10, 0.55, 0, 0, 0.05),
    "intimidation": (0.10, 0.10, 0.75, 0, 0, 0.05),
    "dawn_attack": (0, 0.05, 0.90, 0, 0, 0.05),
    "protest": (0.20, 0.20, 0.20, 0.40, 0, 0),
    "count_delay": (0, 0, 0, 1, 0, 0),
}
TEMPLATES = {
    "hoax": [
        "Hoaks tentang {calon} beredar di grup WhatsApp warga {tempat}",
        "Informasi palsu soal kecurangan DPT disebarkan di {tempat}",
        "Video suntingan yang menyudutkan {calon} viral, disebar dari {tempat}",
    ],
    "money_politics": [
        "Dugaan pembagian uang oleh tim sukses {calon} di {tempat}",
        "Pembagian sembako bermuatan kampanye di {tempat}",
        "Warga di {tempat} mengaku dijanjikan uang untuk memilih {calon}",
    ],
    "dawn_attack": [
        "Dugaan serangan fajar: amplop berisi uang dibagikan di {tempat}",
        "Tim sukses {calon} diamankan saat membagikan uang subuh hari di {tempat}",
    ],
    "identity_politics": [
        "Ujaran bernuansa SARA dalam kampanye terbatas di {tempat}",
        "Spanduk bermuatan SARA ditemukan di {tempat}",
    ],
    "black_campaign": [
        "Selebaran kampanye hitam terhadap {calon} disebar di {tempat}",
        "Tabloid berisi fitnah terhadap {calon} ditemukan di {tempat}",
    ],
    "intimidation": [
        "Petugas KPPS diancam oknum tim sukses di {tempat}",
        "Warga diintimidasi agar memilih {calon} di {tempat}",
    ],
    "supporter_clash": [
        "Bentrok massa pendukung saat konvoi kampanye di {tempat}",
        "Keributan antarpendukung {calon} dan lawannya di {tempat}",
    ],
    "apk_vandalism": [
        "Baliho {calon} dirusak di {tempat}",
        "APK {calon} dibakar orang tak dikenal di {tempat}",
        "Spanduk {calon} dirobek di {tempat}",
    ],
    "state_facility_misuse": [
        "Mobil dinas Pemkot dipakai untuk kegiatan kampanye di {tempat}",
        "Gedung pemerintah dipakai pertemuan tim sukses {calon} di {tempat}",
        "ASN terlihat ikut kampanye {calon} di {tempat}",
    ],
    "protest": [
        "Massa pendukung {calon} berunjuk rasa di {tempat}",
        "Warga memprotes dugaan kecurangan {calon} di {tempat}",
    ],
    "protest@office": [
        "Saksi {calon} memprotes hasil rekapitulasi di {tempat}",
        "Massa pendukung {calon} berunjuk rasa di {tempat}",
    ],
    "protest@tps": ["Warga memprotes tidak terdaftar di DPT di {tempat}"],
    "count_delay@office": [
        "Rekapitulasi di {tempat} tertunda karena keberatan saksi",
        "Rekapitulasi suara di {tempat} molor hingga larut malam",
    ],
    "count_delay@tps": ["Penghitungan suara di {tempat} molor hingga dini hari"],
}

_FWD = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_INV = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def _to_metric(lonlat: list[tuple[float, float]] | XY) -> XY:
    """Project (lon, lat) pairs to UTM 51S metres."""
    a = np.asarray(lonlat, float).reshape(-1, 2)
    return np.c_[_FWD.transform(a[:, 0], a[:, 1])]


def _to_lonlat(xy: XY) -> XY:
    """Project metres back to (lon, lat) rounded to 6 decimals (RFC 7946 friendly)."""
    lon, lat = _INV.transform(xy[:, 0], xy[:, 1])
    return np.round(np.c_[lon, lat], 6)


def _load_reference(path: Path) -> pd.DataFrame:
    """Read the 51-kelurahan reference table and add metric columns ``x``, ``y``."""
    ref = pd.read_csv(path, dtype={"kode": str, "kode_kec": str})
    if len(ref) != 51 or set(ref["kecamatan"]) != set(TPS_PER_KEC):
        raise ValueError(f"{path}: expected the 51 kelurahan of the 6 kecamatan of Kota Kupang")
    ref[["x", "y"]] = _to_metric(ref[["lon", "lat"]].to_numpy())
    return ref


def _wiggle(coords: XY, amp: float, wavelengths: tuple[float, float], rng: np.random.Generator) -> XY:
    """Displace a densified line along its normals by a sum of four random sine waves."""
    s = np.r_[0.0, np.cumsum(np.hypot(*np.diff(coords, axis=0).T))]
    offset = sum(
        amp * rng.uniform(0.4, 1.0) * np.sin(2 * np.pi * s / rng.uniform(*wavelengths) + rng.uniform(0, 2 * np.pi))
        for _ in range(4)
    )
    d = np.gradient(coords, axis=0)
    return coords + np.c_[-d[:, 1], d[:, 0]] / np.hypot(d[:, 0], d[:, 1])[:, None] * offset[:, None]


def _make_outline(ref: pd.DataFrame, rng: np.random.Generator) -> tuple[Polygon, LineString]:
    """Build the synthetic city outline and coastline (metric CRS).

    Returns
    -------
    outline : Polygon
        Land south of a wiggly coast; the inland edge is scaled (bisection) so the
        area equals the sum of the real kelurahan areas.
    coast : LineString
        The synthetic coastline.
    """
    cc = _wiggle(shapely.get_coordinates(LineString(_to_metric(COAST)).segmentize(80)), 60, (900, 3500), rng)
    land = Polygon(np.r_[cc, [[cc[-1, 0], cc[-1, 1] - 4e4], [cc[0, 0], cc[0, 1] - 4e4]]])
    ec = _wiggle(
        shapely.get_coordinates(Polygon(_to_metric(LAND_EDGE)).exterior.segmentize(150)), 150, (3000, 7000), rng
    )
    centre, target = ref[["x", "y"]].to_numpy().mean(axis=0), ref["area_km2"].sum() * 1e6
    lo, hi = 0.5, 1.5
    for _ in range(50):
        k = (lo + hi) / 2
        outline = Polygon(centre + (ec - centre) * k).buffer(0).intersection(land)
        lo, hi = (k, hi) if outline.area < target else (lo, k)
    return outline, LineString(cc)


def _warp(xy: XY) -> XY:
    """Apply a fixed smooth domain warp so that partition borders bend organically."""
    rng, out = np.random.default_rng(SEED + 1), xy.copy()
    for _ in range(6):
        wl, th, amp, ph = rng.uniform(1500, 4000), rng.uniform(0, np.pi), rng.uniform(60, 140), rng.uniform(0, 6.3, 2)
        out[:, 0] += amp * np.sin(2 * np.pi * (xy[:, 0] * np.cos(th) + xy[:, 1] * np.sin(th)) / wl + ph[0])
        out[:, 1] += amp * np.sin(2 * np.pi * (xy[:, 1] * np.cos(th) - xy[:, 0] * np.sin(th)) / wl + ph[1])
    return out


def _grow(cost: np.ndarray, seeds: np.ndarray, nb: list[list[int]]) -> np.ndarray:
    """Seeded region growing: cells are claimed in order of cost, only from a neighbour.

    Unlike a plain argmin this never makes fragments, so big villages cannot wrap
    around small ones.
    """
    lab = np.full(cost.shape[1], -1)
    heap = [(0.0, int(c), i) for i, c in enumerate(seeds)]
    while heap:
        _, c, i = heapq.heappop(heap)
        if lab[c] < 0:
            lab[c] = i
            for n in nb[c]:
                if n >= 0 and lab[n] < 0:
                    heapq.heappush(heap, (cost.item(i, n), n, i))
    return lab


def _partition(ref: pd.DataFrame, outline: Polygon) -> tuple[XY, np.ndarray, np.ndarray]:
    """Split the outline into 51 connected regions with the real areas.

    A multiplicatively weighted Voronoi diagram on a ``CELL`` grid: cell c goes to
    argmin_i |w(c) - w(p_i)| / s_i, with p_i the real interior point, w a smooth warp
    and s_i a weight updated as s_i *= (A_i* / A_i)^k. After 80 fast vectorised rounds,
    30 rounds use seeded region growing (connected regions); the round with the
    smallest worst relative area error is kept.

    Returns
    -------
    centres : (N, 2) array of cell centres
    lab : (N,) array of village indices
    ij : (N, 2) array of integer grid (column, row) indices
    """
    x0, y0, x1, y1 = (np.floor(np.array(outline.bounds) / CELL) * CELL).tolist()
    gx, gy = np.meshgrid(np.arange(x0, x1 + CELL, CELL), np.arange(y0, y1 + CELL, CELL))
    ij = np.argwhere(shapely.contains_xy(outline, gx + CELL / 2, gy + CELL / 2))[:, ::-1]
    grid = np.full(np.array(gx.shape) + 2, -1)
    grid[ij[:, 1] + 1, ij[:, 0] + 1] = np.arange(len(ij))
    nb = np.stack([grid[ij[:, 1] + 1 + dj, ij[:, 0] + 1 + di] for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))], 1)
    centres = np.c_[gx[0, ij[:, 0]], gy[ij[:, 1], 0]] + CELL / 2
    pts, target = ref[["x", "y"]].to_numpy(), ref["area_km2"].to_numpy() * 1e6
    seeds = np.array([np.argmin(np.hypot(*(centres - p).T)) for p in pts])
    keep = _grow(np.zeros((1, len(ij))), seeds[:1], nb.tolist()) == 0  # drop land cells cut off from the city
    remap = np.full(len(keep) + 1, -1)  # remap[-1] stays -1 for "no neighbour"
    remap[np.flatnonzero(keep)] = np.arange(keep.sum())
    centres, ij, nb, seeds = centres[keep], ij[keep], remap[nb[keep]], remap[seeds]
    dist = np.hypot(*(_warp(centres)[None] - _warp(pts)[:, None]).transpose(2, 0, 1))
    weight, nb_list, best, best_err = np.sqrt(target), nb.tolist(), None, np.inf
    for it in range(110):
        cost = dist / weight[:, None]
        lab = np.argmin(cost, axis=0) if it < 80 else _grow(cost, seeds, nb_list)
        area = np.bincount(lab, minlength=len(pts)) * CELL**2
        if it >= 80 and (err := np.abs(area / target - 1).max()) < best_err:
            best, best_err = lab, err
        weight *= (target / area) ** (0.35 if it < 80 else 0.15)
    return centres, best, ij


def _polygons(centres: XY, lab: np.ndarray, ij: np.ndarray, n: int) -> list[Polygon]:
    """Union each village's cells (as row runs), node the coverage and smooth it."""
    order = np.lexsort((ij[:, 0], ij[:, 1], lab))
    lab_o, ij_o, c_o = lab[order], ij[order], centres[order]
    start = np.flatnonzero(np.r_[True, (np.diff(lab_o) != 0) | (np.diff(ij_o[:, 1]) != 0) | (np.diff(ij_o[:, 0]) != 1)])
    end, h = np.r_[start[1:], len(order)] - 1, CELL / 2
    runs = shapely.box(c_o[start, 0] - h, c_o[start, 1] - h, c_o[end, 0] + h, c_o[end, 1] + h)
    polys = np.array([shapely.union_all(runs[lab_o[start] == i]) for i in range(n)])
    # every grid point on an edge becomes a vertex on both sides: shared edges match exactly
    polys = shapely.transform(shapely.segmentize(polys, CELL), np.round)
    if not shapely.coverage_is_valid(polys):
        raise RuntimeError("cell union is not a valid coverage")
    return list(shapely.orient_polygons(shapely.coverage_simplify(polys, SMOOTH, simplify_boundary=True)))


def _sample_in(
    poly: Polygon,
    k: int,
    rng: np.random.Generator,
    density: Callable[[XY], np.ndarray],
    margin: float = 40.0,
    spacing: float = 0.0,
) -> XY:
    """Draw ``k`` points at least ``margin`` m inside ``poly``, weighted by ``density``.

    Candidates are drawn uniformly, then accepted in a density-weighted random order
    while they keep ``spacing`` m from earlier picks (relaxed to half, then zero).

    Returns
    -------
    numpy.ndarray
        (k, 2) metric coordinates.
    """
    inner = poly.buffer(-margin)
    cand = rng.uniform(inner.bounds[:2], inner.bounds[2:], size=(max(60 * k, 200), 2))
    cand = cand[shapely.contains_xy(inner, cand[:, 0], cand[:, 1])]
    w, chosen = density(cand), []
    for sp in (spacing, spacing / 2, 0.0):
        for i in rng.choice(len(cand), size=len(cand), replace=False, p=w / w.sum()):
            if len(chosen) == k:
                return np.array(chosen)
            if all(np.hypot(*(cand[i] - c)) >= sp for c in chosen):
                chosen.append(cand[i])
    return np.array(chosen)


def _allocate(weights: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Split ``total`` by largest remainder, with at least ``minimum`` each."""
    out = np.full(len(weights), minimum)
    share = weights / weights.sum() * (total - out.sum())
    out += np.floor(share).astype(int)
    out[np.argsort(np.floor(share) - share, kind="stable")[: total - out.sum()]] += 1
    return out


def _centre_dist(xy: XY) -> np.ndarray:
    """Distance (m) to the old city centre (Kota Lama)."""
    return np.hypot(*(xy - _to_metric([CITY_CENTRE])[0]).T)


def _address(kel: str, rng: np.random.Generator) -> str:
    """Return a short plausible Indonesian TPS address."""
    rt, rw = rng.integers(1, 30), rng.integers(1, 10)
    return [
        f"Jl. {STREETS[rng.integers(len(STREETS))]} RT {rt:02d}/RW {rw:02d}",
        f"Halaman SD Inpres {kel}",
        f"Aula Kantor Lurah {kel}",
        f"Halaman {CHURCHES[rng.integers(len(CHURCHES))]} {kel}",
        f"Halaman {MOSQUES[rng.integers(len(MOSQUES))]} {kel}",
        f"Gedung Serbaguna RW {rw:02d} {kel}",
    ][rng.choice(6, p=[0.40, 0.15, 0.10, 0.12, 0.08, 0.15])]


def _make_tps(
    ref: pd.DataFrame, polys: list[Polygon], rng: np.random.Generator, density: Callable[[XY], np.ndarray]
) -> pd.DataFrame:
    """Place the 552 TPS with addresses and voter counts (indicator flags come later)."""
    pop = ref["area_km2"].to_numpy() * (800 + 14000 * np.exp(-_centre_dist(ref[["x", "y"]].to_numpy()) / 2500))
    n_tps = np.zeros(len(ref), int)
    for kec, total in TPS_PER_KEC.items():
        idx = np.flatnonzero(ref["kecamatan"] == kec)
        n_tps[idx] = _allocate(pop[idx], total, 2)
    rows = []
    for i, v in ref.iterrows():
        n, a = int(n_tps[i]), polys[i].area
        xy = _sample_in(polys[i], n, rng, lambda q: density(q) ** 3, spacing=min(0.5 * np.sqrt(a / n), 220.0))
        for k in range(n):
            prison = PRISONS.get(v["nama"]) if k == n - 1 else None  # prison TPS numbered last
            rows.append(
                {
                    "kode_tps": v["kode"].replace(".", "") + f"{k + 1:03d}",
                    "kecamatan": v["kecamatan"],
                    "kelurahan": v["nama"],
                    "no_tps": k + 1,
                    "alamat": prison[0] if prison else _address(v["nama"], rng),
                    "x": xy[k, 0],
                    "y": xy[k, 1],
                    "dpt": prison[1] if prison else 0,
                    "lokasi_khusus": "ya" if prison else "tidak",
                }
            )
    tps = pd.DataFrame(rows)
    for kec, total in VOTERS_PER_KEC.items():
        idx = np.flatnonzero((tps["kecamatan"] == kec) & (tps["lokasi_khusus"] == "tidak"))
        rest = total - tps.loc[tps["kecamatan"] == kec, "dpt"].sum()
        d = np.clip(rng.normal(rest / len(idx), 55, len(idx)), 340, 600).round().astype(int)
        while (gap := rest - d.sum()) != 0:  # nudge within [340, 600] until the total matches
            free = np.flatnonzero(d < 600 if gap > 0 else d > 340)
            d[rng.choice(free, size=min(abs(gap), len(free)), replace=False)] += np.sign(gap)
        tps.loc[idx, "dpt"] = d
    return tps


def _make_points(
    ref: pd.DataFrame, polys: list[Polygon], rng: np.random.Generator, density: Callable[[XY], np.ndarray]
) -> tuple[list[dict], list[dict], dict[str, XY]]:
    """Place election offices, police posts and markets inside their kelurahan."""
    by_name = dict(zip(ref["nama"], range(len(ref)), strict=True))

    def at(kel: str) -> XY:
        return _sample_in(polys[by_name[kel]], 1, rng, density, margin=60)[0]

    offices = [
        {"id": "KPU-01", "nama": "Kantor KPU Kota Kupang", "jenis": "kpu", "kecamatan": "Oebobo", "xy": at("Oebobo")}
    ]
    offices += [
        {"id": f"PPK-{k:02d}", "nama": f"Kantor PPK Kecamatan {kec}", "jenis": "ppk", "kecamatan": kec, "xy": at(kel)}
        for k, (kec, kel) in enumerate(PPK.items(), start=1)
    ]
    markets = {name: at(kel) for name, (kel, _) in MARKETS.items()}
    posts = [("Polresta Kupang Kota", "polresta", at("Kuanino"))]
    posts += [(f"Polsek {kec}", "polsek", at(kel)) for kec, kel in POLSEK.items()]
    posts += [(f"Pos Pam {name}", "pos_pam", xy) for name, xy in markets.items()]
    posts += [(name, "pos_pam", at(kel)) for name, kel in JUNCTIONS.items()]
    posts = [{"id": f"POS-{k:03d}", "nama": nm, "jenis": j, "xy": xy} for k, (nm, j, xy) in enumerate(posts, 1)]
    return offices, posts, markets


def _days(start: str, end: str) -> int:
    """Days from ``start`` to ``end`` (ISO dates)."""
    return int((np.datetime64(end) - np.datetime64(start)).astype(int))


def _date(rng: np.random.Generator, window: tuple[str, str], skew: tuple[float, float]) -> str:
    """Draw an ISO date in a window (inclusive) from a beta distribution."""
    return str(np.datetime64(window[0]) + np.timedelta64(round(rng.beta(*skew) * _days(*window)), "D"))


def _calon(kind: str, year: int, rng: np.random.Generator) -> str:
    """Name a contestant generically (no real person or party)."""
    if kind == "pilkada":
        office = "paslon gubernur" if year >= 2024 and rng.random() < 0.5 else "paslon wali kota"
        return f"{office} nomor urut {rng.integers(1, 5)}"
    return [
        "caleg DPRD Kota Kupang",
        "caleg DPR RI",
        f"pasangan capres nomor urut {rng.integers(1, 3 if year < 2024 else 4)}",
    ][rng.integers(3)]


def _make_incidents(
    ref: pd.DataFrame,
    polys: list[Polygon],
    tps: pd.DataFrame,
    offices: list[dict],
    markets: dict[str, XY],
    roads: dict[str, LineString],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Generate synthetic incidents.

    Each incident draws a stage of one of four election cycles, a type plausible for
    that stage, a date in the stage window and a place where that type clusters:
    main roads (campaign routes), markets, residential areas (weighted to a few
    hot-spot kelurahan), the KPU / PPK offices (recap protests, count delays), TPS
    (voting day) or anywhere. Precision "near" moves the point ~350 m; "region" puts
    it at the kecamatan or city centroid. Three real reports are re-enacted and one
    XSS probe row (source "uji") is added.
    """
    land = shapely.union_all(polys)
    safe = land.buffer(-10)
    shapely.prepare(safe)
    tree = shapely.STRtree(polys)
    kec_pt = {}
    for kec in TPS_PER_KEC:
        g = shapely.union_all([p for p, k in zip(polys, ref["kecamatan"], strict=True) if k == kec])
        kec_pt[kec] = np.array((g.centroid if g.contains(g.centroid) else g.point_on_surface()).coords[0])
    tps_w = tps["kelurahan"].map(HOTSPOTS).fillna(1.0).to_numpy()
    road_len = np.array([r.length for r in roads.values()])
    mk_w = np.array([MARKETS[m][1] for m in markets])
    rows: list[dict] = []

    def kel_of(p: XY) -> int:
        hit = tree.query(Point(p), predicate="within")
        return int(hit[0]) if len(hit) else -1

    def place(kind: str, office: dict) -> tuple[XY, str]:
        while True:
            if kind == "road":
                name = list(roads)[rng.choice(len(roads), p=road_len / road_len.sum())]
                p = np.array(roads[name].interpolate(rng.uniform(0, roads[name].length)).coords[0])
                p, label = p + rng.normal(0, 25, 2), ("simpang " if rng.random() < 0.3 else "") + name
            elif kind == "market":
                label = list(markets)[rng.choice(len(markets), p=mk_w / mk_w.sum())]
                p = markets[label] + rng.normal(0, 70, 2)
            elif kind == "office":
                p, label = office["xy"] + rng.normal(0, 20, 2), office["nama"]
            elif kind in ("tps", "residential"):
                t = tps.iloc[rng.choice(len(tps), p=tps_w / tps_w.sum())]
                p = np.array([t["x"], t["y"]]) + rng.normal(0, 15 if kind == "tps" else 150, 2)
                label = (
                    f"TPS {t['no_tps']:03d} Kelurahan {t['kelurahan']}"
                    if kind == "tps"
                    else f"RT {rng.integers(1, 30):02d}/RW {rng.integers(1, 10):02d}"
                )
            else:
                p, label = rng.uniform(land.bounds[:2], land.bounds[2:]), ""
            if safe.contains(Point(p)) and (k := kel_of(p)) >= 0:
                if kind in ("road", "residential", "scattered"):
                    label = f"{label}, Kelurahan {ref['nama'][k]}".lstrip(", ")
                return p, label

    def add(
        date: str,
        typ: str,
        kind: str,
        cyc: str,
        prec: str = "exact",
        office: dict = offices[0],
        where: tuple[XY, str] | None = None,
        sev: int | None = None,
        calon: str = "",
        desc: str = "",
    ) -> None:
        p, tempat = where if where is not None else place(kind, office)
        if prec == "near":
            while not safe.contains(Point(q := p + rng.normal(0, 350, 2))):
                pass
            p = q
        elif prec == "region":
            kec = ref["kecamatan"][kel_of(p)]
            p, tempat = (
                (np.array(land.centroid.coords[0]), "Kota Kupang")
                if typ == "hoax" and rng.random() < 0.5
                else (kec_pt[kec], f"wilayah Kecamatan {kec}")
            )
        sev = sev or int(rng.choice([1, 2, 3], p=SEVERITY_P.get(typ, (0.60, 0.37, 0.03))))
        key = f"{typ}@{kind}" if f"{typ}@{kind}" in TEMPLATES else typ
        text = desc or TEMPLATES[key][rng.integers(len(TEMPLATES[key]))].format(
            calon=calon or _calon(cyc, int(date[:4]), rng), tempat=tempat
        )
        if sev == 3 and typ in ("supporter_clash", "intimidation", "protest"):
            text += f"; {rng.integers(1, 5)} orang luka-luka"
        if prec == "near":
            text = text.replace(" di ", " di sekitar ", 1)
        rows.append(
            {
                "date": date,
                "type": typ,
                "severity": sev,
                "x": p[0],
                "y": p[1],
                "precision": prec,
                "description": text,
                "source": "sintetis",
            }
        )

    for cyc, n, campaign, quiet, vote, recap in CYCLES:
        for _ in range(n):
            stage = str(rng.choice(list(STAGE_P), p=list(STAGE_P.values())))
            typ = str(rng.choice(list(TYPE_P[stage]), p=list(TYPE_P[stage].values())))
            windows = {"campaign": (campaign, (2.2, 1.2)), "quiet": (quiet, (1.5, 1.0)), "recap": (recap, (1.2, 2.0))}
            date = vote if stage == "voting" else _date(rng, *windows[stage])
            pp = np.array(PLACE_P[typ], float)
            if stage == "voting" and typ != "hoax":
                pp = np.eye(6)[4] if typ in ("count_delay", "protest") else np.array([0, 0.1, 0.3, 0, 0.6, 0])
            elif stage == "recap" and typ in ("protest", "count_delay", "supporter_clash"):
                pp = np.eye(6)[3]
            kind = PLACES[rng.choice(6, p=pp / pp.sum())]
            office = offices[0]  # KPU office; the PPK offices host the first ~45% of the recap
            if stage == "recap" and _days(recap[0], date) <= 0.45 * _days(*recap):
                office = offices[1 + rng.integers(len(PPK))]
            prec = (
                "exact"
                if kind in ("office", "tps")
                else str(rng.choice(["exact", "near", "region"], p=[0.75, 0.18, 0.07]))
            )
            add(date, typ, kind, cyc, prec, office)
    kpu = offices[0]  # Nov 2016: supporters demonstrated at the KPU office (candidacy annulled)
    for d in ("2016-11-22", "2016-11-23", "2016-11-23"):
        add(
            d,
            "protest",
            "office",
            "pilkada",
            sev=2,
            where=(kpu["xy"] + rng.normal(0, 20, 2), kpu["nama"]),
            desc="Massa pendukung bakal paslon wali kota berunjuk rasa di Kantor KPU Kota Kupang "
            "memprotes pembatalan pencalonan",
        )
    # Oct 2024: APK of a governor pair torn at dozens of spots in three kelurahan
    by_name = dict(zip(ref["nama"], range(len(ref)), strict=True))
    for k in range(18):
        kel = ["Tuak Daun Merah", "Pasir Panjang", "Lasiana"][k % 3]
        p = _sample_in(polys[by_name[kel]], 1, rng, lambda q: np.ones(len(q)), margin=30)[0]
        add(
            f"2024-10-{13 + k % 4:02d}",
            "apk_vandalism",
            "road",
            "pilkada",
            sev=1,
            where=(p, f"Kelurahan {kel}"),
            calon=f"paslon gubernur nomor urut {1 + k % 2}",
        )
    add(
        "2024-11-05",
        "hoax",
        "office",
        "pilkada",
        sev=1,
        desc=XSS_PROBE,
        where=(kpu["xy"] + rng.normal(0, 20, 2), kpu["nama"]),
    )
    rows[-1]["source"] = "uji"
    inc = pd.DataFrame(rows).sort_values("date", kind="stable").reset_index(drop=True)
    year = inc["date"].str[:4]
    inc["incident_id"] = [f"KPG-{y}-{k:04d}" for y, k in zip(year, inc.groupby(year).cumcount() + 1, strict=True)]
    return inc


def _flag_tps(
    tps: pd.DataFrame,
    inc: pd.DataFrame,
    coast: LineString,
    rivers: list[LineString],
    roads: list[LineString],
    rng: np.random.Generator,
) -> None:
    """Add the indicator columns: exact counts, drawn where the story says they belong."""
    xy = tps[["x", "y"]].to_numpy()
    pts = shapely.points(xy)
    located = inc[inc["precision"] != "region"]

    def near(types: tuple[str, ...], radius: float = 600.0) -> np.ndarray:
        e = located.loc[located["type"].isin(types), ["x", "y"]].to_numpy()
        return (np.hypot(*(xy[:, None] - e[None]).transpose(2, 0, 1)) < radius).sum(axis=1) ** 2 + 0.05

    d_out = _centre_dist(xy) / 1000
    outer = d_out**3 + 0.5
    prison = (tps["lokasi_khusus"] == "ya").to_numpy()
    weights = {
        "pemilih_tms": 1 + np.exp(-d_out / 3),
        "pemilih_pindahan": 1 + 3 * tps["kelurahan"].isin(STUDENT_AREAS).to_numpy() + 100 * prison,
        "penyelenggara_luar": 1 + 0.2 * d_out,
        "disabilitas": np.ones(len(tps)),
        "riwayat_kekerasan": near(("supporter_clash", "intimidation")),
        "intimidasi": near(("intimidation",)),
        "politik_uang": near(("money_politics", "dawn_attack")),
        "sara": near(("identity_politics",), 800),
        "netralitas": near(("state_facility_misuse",), 800),
        "logistik": outer,
        "sulit_dijangkau": outer**2,
        "rawan_bencana": np.exp(-shapely.distance(pts, coast) / 150)
        + np.exp(-np.min([shapely.distance(pts, r) for r in rivers], axis=0) / 100)
        + 0.01,
        "dekat_posko": np.exp(-np.min([shapely.distance(pts, r) for r in roads], axis=0) / 200) + 0.1,
        "listrik_internet": outer,
    }
    for col, count in FLAG_COUNTS.items():
        w = np.where(prison & (col != "pemilih_pindahan"), 0.0, weights[col])
        flag = np.zeros(len(tps), bool)
        flag[rng.choice(len(tps), size=count, replace=False, p=w / w.sum())] = True
        tps[col] = np.where(flag, "ya", "tidak")


def _write_geojson(path: Path, features: list[tuple[dict, shapely.Geometry]]) -> None:
    """Write RFC 7946 GeoJSON: WGS 84, no crs member, 6-decimal coordinates."""
    feats = [
        {"type": "Feature", "properties": props, "geometry": shapely.transform(geom, _to_lonlat).__geo_interface__}
        for props, geom in features
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _write_csv(path: Path, df: pd.DataFrame, columns: list[str]) -> None:
    """Write ``df`` as UTF-8 CSV with lat/lon (from metric x/y) as plain 6-decimal numbers."""
    ll = _to_lonlat(df[["x", "y"]].to_numpy())
    df = df.assign(lon=[f"{v:.6f}" for v in ll[:, 0]], lat=[f"{v:.6f}" for v in ll[:, 1]])
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(df[columns].itertuples(index=False, name=None))


def generate(out: Path, reference: Path) -> dict[str, object]:
    """Generate every demo file.

    Parameters
    ----------
    out : Path
        Output folder; ``geo/`` and ``incidents/`` are created under it.
    reference : Path
        The kelurahan reference CSV (kode, nama, kode_kec, kecamatan, lat, lon, area_km2).

    Returns
    -------
    dict
        ``ref``, ``polys`` (metric), ``tps`` and ``inc`` frames, for the summary.
    """
    rng = np.random.default_rng(SEED)
    ref = _load_reference(reference)
    outline, coast = _make_outline(ref, rng)
    polys = _polygons(*_partition(ref, outline), len(ref))
    seeds, idx = ref[["x", "y"]].to_numpy(), dict(zip(ref["nama"], range(len(ref)), strict=True))
    roads = {name: LineString(seeds[[idx[k] for k in chain]]) for name, chain in ROADS.items()}
    rivers = [LineString(seeds[[idx[k] for k in chain]]) for chain in RIVERS]

    def density(xy: XY) -> np.ndarray:  # settlement: old centre, main roads, village cores, coast
        p = shapely.points(xy)
        d_road = np.min([shapely.distance(p, r) for r in roads.values()], axis=0)
        d_seed = np.min(np.hypot(*(xy[None] - seeds[:, None]).transpose(2, 0, 1)), axis=0)
        return (
            np.exp(-_centre_dist(xy) / 2500)
            + 0.8 * np.exp(-d_road / 300)
            + 0.8 * np.exp(-d_seed / 600)
            + 0.3 * np.exp(-shapely.distance(p, coast) / 600)
            + 0.02
        )

    tps = _make_tps(ref, polys, rng, density)
    offices, posts, markets = _make_points(ref, polys, rng, density)
    inc = _make_incidents(ref, polys, tps, offices, markets, roads, rng)
    _flag_tps(tps, inc, coast, rivers, list(roads.values()), rng)

    (out / "geo").mkdir(parents=True, exist_ok=True)
    (out / "incidents").mkdir(parents=True, exist_ok=True)
    _write_geojson(
        out / "geo" / "kota_kupang_kelurahan.geojson",
        [
            (
                {
                    "kode": r["kode"],
                    "nama": r["nama"],
                    "kecamatan": r["kecamatan"],
                    "kab_kota": "Kota Kupang",
                    "provinsi": "Nusa Tenggara Timur",
                    "luas_km2": round(polys[i].area / 1e6, 3),
                    "keterangan": NOTE,
                },
                polys[i],
            )
            for i, r in ref.iterrows()
        ],
    )
    _write_geojson(
        out / "geo" / "kota_kupang_pos_polisi.geojson",
        [
            ({"id": p["id"], "nama": p["nama"], "jenis": p["jenis"], "keterangan": NOTE_POINT}, Point(p["xy"]))
            for p in posts
        ],
    )
    _write_geojson(
        out / "geo" / "kota_kupang_kantor_pemilu.geojson",
        [
            (
                {
                    "id": o["id"],
                    "nama": o["nama"],
                    "jenis": o["jenis"],
                    "kecamatan": o["kecamatan"],
                    "keterangan": NOTE_POINT,
                },
                Point(o["xy"]),
            )
            for o in offices
        ],
    )
    _write_csv(out / "geo" / "kota_kupang_tps.csv", tps, TPS_COLUMNS)
    _write_csv(out / "incidents" / "kota_kupang_insiden.csv", inc, INCIDENT_COLUMNS)
    return {"ref": ref, "polys": polys, "tps": tps, "inc": inc}


def _summary(res: dict) -> str:
    """Format a short text summary of the generated data."""
    ref, polys, tps, inc = res["ref"], res["polys"], res["tps"], res["inc"]
    area = np.array([p.area / 1e6 for p in polys])
    err = area / ref["area_km2"].to_numpy() - 1
    g = tps.groupby("kecamatan", sort=False).agg(tps=("dpt", "size"), dpt=("dpt", "sum"))
    return "\n".join(
        [
            f"kelurahan: {len(polys)} polygons, total {area.sum():.3f} km2 (reference {ref['area_km2'].sum():.3f}), "
            f"area vs reference {err.min():+.1%} .. {err.max():+.1%}",
            f"TPS: {len(tps)}, voters (DPT) {tps['dpt'].sum():,}, per TPS {tps['dpt'].min()}..{tps['dpt'].max()}",
            *(f"  {k:<12} {r.tps:>4} TPS {r.dpt:>8,} voters" for k, r in g.iterrows()),
            "flags (ya): " + ", ".join(f"{c}={(tps[c] == 'ya').sum()}" for c in [*FLAG_COUNTS, "lokasi_khusus"]),
            f"incidents: {len(inc)}; precision "
            + ", ".join(f"{k}={v}" for k, v in inc["precision"].value_counts().items()),
            pd.crosstab(inc["type"], inc["date"].str[:4], margins=True, margins_name="total").to_string(),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, generate the files and print the summary."""
    parser = argparse.ArgumentParser(description="Generate the SYNTHETIC Kota Kupang demo data (fixed seed).")
    parser.add_argument("--out", type=Path, default=REPO / "data", help="output folder (default: <repo>/data)")
    parser.add_argument(
        "--reference",
        type=Path,
        default=REPO.parent / "shared" / "reference" / "kota_kupang_kelurahan.csv",
        help="kelurahan reference CSV",
    )
    args = parser.parse_args(argv)
    print(_summary(generate(args.out.resolve(), args.reference.resolve())))


if __name__ == "__main__":
    main()
