"""Public helpers for tests: small real-shaped layers and report assertions.

Used by riskmap's own tests and usable by anyone extending riskmap, like
``geopandas.testing``.
"""

from __future__ import annotations

import contextlib
import csv
import http.server
import io
import json
import os
import re
import threading
import traceback
import zipfile
from collections.abc import Sequence
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


def tps_rows(villages: gpd.GeoDataFrame) -> pd.DataFrame:
    """One clean TPS at the centre of each village: KPU codes, coordinates as text, 400 voters."""
    rows = []
    for k in range(len(villages)):
        lat, lon = village_center(villages, k)
        code = villages["kode"].iloc[k].replace(".", "")
        rows.append(
            {
                "kode_tps": f"{code}001",
                "kecamatan": villages["kecamatan"].iloc[k],
                "kelurahan": villages["nama"].iloc[k],
                "no_tps": "1",
                "alamat": f"Jl. Uji {k}",
                "lat": f"{lat:.6f}",
                "lon": f"{lon:.6f}",
                "dpt": "400",
            }
        )
    return pd.DataFrame(rows)


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


# --------------------------------------------------------------------------
# Hostile input (issue 9): the invariants every run must keep, shared by the
# fuzz suite (tests/test_fuzz_*.py) and scripts/hostile_corpus.py.
# --------------------------------------------------------------------------

LEAK_MARKERS = ("root:x:0:0", "daemon:x:1:1")
"""Text of /etc/passwd: it never appears in an output, a report or a message."""

_TEMPLATE = re.compile(r"\{\{\s*(\d{1,6})\s*\*\s*(\d{1,6})\s*\}\}")
_WORD_BEFORE = re.compile(r"([A-Za-z0-9_]{2,40})\s{0,5}$")
_WORD_AFTER = re.compile(r"\s{0,5}([A-Za-z0-9_]{2,40})")
_MARKUP = re.compile(r"<\s*(?:script|img|svg|iframe|body|style|object|embed)\b[^<>]{0,200}>[^<]{0,20}", re.IGNORECASE)


@dataclass
class CliRun:
    """One run of the command line: arguments, exit status and what it printed."""

    argv: list[str]
    status: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Standard output and standard error together."""
        return self.stdout + self.stderr


def run_cli(argv: Sequence[str]) -> CliRun:
    """Run ``riskmap.cli.main(argv)`` in this process, capturing what it prints.

    An exception escaping ``main`` (it should turn every error into a status)
    is recorded as status -1 with its traceback in ``stderr``.
    """
    from riskmap.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exc:  # argparse refusing the arguments
            status = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # the invariant under test
            traceback.print_exc(file=err)
            status = -1
    return CliRun(list(argv), int(status), out.getvalue(), err.getvalue())


def cli_violations(run: CliRun) -> list[str]:
    """Invariants of one CLI run: exit status 0, 1 or 2 (never 3), no traceback."""
    found = []
    if run.status not in (0, 1, 2):
        found.append(f"crash: exit status {run.status}: {run.stderr.strip()[-300:]}")
    if "Traceback" in run.output:
        found.append("crash: traceback in output")
    return found


def report_violations(report: LoadReport | dict[str, Any]) -> list[str]:
    """``read == used + len(rejected)`` for every layer of a report (object or report.json)."""
    found = []
    layers = report.to_dict("en") if isinstance(report, LoadReport) else report
    for name, rep in layers.items():
        if name.startswith("_") or not isinstance(rep, dict):
            continue
        if rep["read"] != rep["used"] + len(rep["rejected"]):
            found.append(
                f"silent row loss: {name}: read {rep['read']} != used {rep['used']} + rejected {len(rep['rejected'])}"
            )
    return found


def count_data_rows(path: str | Path) -> int | None:
    """Data rows the user sees in a file, or None when it cannot be told without GDAL.

    CSV/TXT/TSV: non-blank records after the first non-blank line (the header),
    quoted line breaks kept inside their record. GeoJSON: the features of a
    FeatureCollection (1 for a lone Feature).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    raw = path.read_bytes()
    if suffix in (".csv", ".txt", ".tsv"):
        utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        text = ""
        for encoding in ("utf-16", "latin-1") if utf16 else ("utf-8-sig", "latin-1"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        # lines end at \r, \n or \r\n only, as for the csv module (str.splitlines also breaks at \x85, \u2028...)
        physical = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
        lines = [line for line in physical if line.strip()]
        if not lines:
            return 0
        from riskmap.io._read import _header_index

        delimiter = max(("\t", ";", "|", ","), key=lambda d: sum(line.count(d) for line in lines[:20]))
        # title rows above the header (government spreadsheets) are not data: the header as the reader finds it
        try:
            title = _header_index(list(csv.reader(lines[:20], delimiter=delimiter)))
        except csv.Error:  # a field beyond the csv module's limit: no title detection
            title = 0
        text = "".join(physical[physical.index(lines[title]) :]) if title else text
        physical = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
        blank = re.compile(r"[\s,;|]*")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        count, start = 0, 0
        try:
            for _ in reader:  # a record spans physical lines start..line_num (quoted line breaks)
                record = "".join(physical[start : reader.line_num])
                start = reader.line_num
                count += not blank.fullmatch(record)
        except csv.Error:
            return len(lines) - 1
        return max(count - 1, 0)
    if suffix in (".geojson", ".json"):
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
            return len(doc["features"])
        if isinstance(doc, dict) and doc.get("type") == "Feature":
            return 1
    return None


def template_violations(inputs: str, outputs: str) -> list[str]:
    """Templates in the input (``Desa {{ 6*7 }}``) that come out evaluated (``Desa 42``).

    A template counts only with a word right before or after it, so that an
    unrelated number in the output is not taken for an evaluation.
    """
    found = []
    for m in _TEMPLATE.finditer(inputs):  # anchored on "{{": linear in the input's length
        a, b = m.groups()
        wb = _WORD_BEFORE.search(inputs, max(0, m.start() - 45), m.start())
        wa = _WORD_AFTER.match(inputs, m.end())
        before, after = (wb.group(1) if wb else None), (wa.group(1) if wa else None)
        product = str(int(a) * int(b))
        patterns = []
        if before:
            patterns.append(re.escape(before) + r"\s*" + product + r"(?!\d)")
        if after:
            patterns.append(r"(?<!\d)" + product + r"\s*" + re.escape(after))
        if any(re.search(p, outputs) for p in patterns):
            found.append(f"template evaluated: {m.group(0).strip()!r} became {product}")
    return sorted(set(found))


def markup_violations(inputs: str, html: str) -> list[str]:
    """Markup from the input (``<script>alert(1)``, ``<img onerror=...>``) found raw in a page."""
    hits = {m.group(0) for m in _MARKUP.finditer(inputs) if m.group(0) in html}
    return sorted(f"script or markup injected: {h!r}" for h in hits)


def leak_violations(texts: str, tokens: Sequence[str] = (), inputs: str = "") -> list[str]:
    """Contents of files outside the input (``/etc/passwd``, secret tokens) found in outputs.

    A marker that the input itself holds (a generated name ``daemon:x:1:1``) is
    an echo of the input, not a leak.
    """
    markers = (*LEAK_MARKERS, *tokens)
    return [
        f"file read outside the input: {t!r} in the output" for t in markers if t and t in texts and t not in inputs
    ]


def read_outputs(folder: str | Path) -> str:
    """Text of every file under ``folder`` (zips opened member by member), for the checks above."""
    parts: list[str] = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        if path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(path) as zf:
                    parts.extend(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
            except zipfile.BadZipFile:
                pass
        else:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


class RequestRecorder:
    """A local HTTP server that records every request sent to it; also the proxy of every request.

    Used as a context manager: while active, ``http_proxy``, ``https_proxy``,
    ``all_proxy`` and GDAL's ``GDAL_HTTP_PROXY`` point at it, so any request
    (to any host) that Python, curl or GDAL makes ends up recorded in
    :attr:`requests` instead of leaving the machine. ``url`` is its own
    address (``http://127.0.0.1:<port>/``), to be named in payloads.
    """

    _ENV = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "GDAL_HTTP_PROXY")

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorder = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                recorder.requests.append(f"{self.command} {self.path}")
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def __getattr__(self, name: str) -> Any:  # do_GET, do_CONNECT, ...: every method
                if name.startswith("do_"):
                    return self._any
                raise AttributeError(name)

            def log_message(self, *args: Any) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self._saved: dict[str, str | None] = {}
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RequestRecorder:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        for key in (*self._ENV, "no_proxy", "NO_PROXY", "GDAL_HTTP_TIMEOUT", "GDAL_HTTP_MAX_RETRY"):
            self._saved[key] = os.environ.get(key)
        for key in self._ENV:
            os.environ[key] = self.url
        for key in ("no_proxy", "NO_PROXY"):
            os.environ.pop(key, None)
        os.environ["GDAL_HTTP_TIMEOUT"] = "5"
        os.environ["GDAL_HTTP_MAX_RETRY"] = "0"
        return self

    def __exit__(self, *exc: object) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._server.shutdown()
        self._server.server_close()

    def env(self) -> dict[str, str]:
        """Environment for a subprocess whose requests must come here too."""
        env = {k: v for k, v in os.environ.items() if k not in ("no_proxy", "NO_PROXY")}
        env.update({key: self.url for key in self._ENV})
        env.update(GDAL_HTTP_TIMEOUT="5", GDAL_HTTP_MAX_RETRY="0")
        return env

    def violations(self) -> list[str]:
        """One violation per request received."""
        return [f"network request: {r}" for r in self.requests]


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


def _district_codes(villages: gpd.GeoDataFrame) -> np.ndarray | None:
    """Kecamatan of each village as integer codes, or None.

    By a code column, else by its name within its kab/kota and province (kecamatan names repeat across Indonesia).
    """
    for code in ("district_code", "ADM3_PCODE", "KDCPUM"):
        if code in villages:
            return pd.factorize(villages[code])[0]
    for name, parents in (
        ("kecamatan", ("kab_kota", "kabupaten", "provinsi")),
        ("district", ("regency", "province")),
        ("WADMKC", ("WADMKK", "WADMPR")),
        ("NAME_3", ("NAME_2", "NAME_1")),
    ):
        if name in villages:
            cols = [c for c in (*parents, name) if c in villages]
            return pd.factorize(pd.MultiIndex.from_frame(villages[cols].astype(str)))[0]
    return None


def incident_history(
    villages: gpd.GeoDataFrame,
    *,
    start: str = "2017-01-01",
    end: str = "2024-12-31",
    background_per_year: float = 60.0,
    hot_spots: int = 3,
    hot_share: float = 0.6,
    hot_spot_km: float | tuple[float, float] = 1.0,
    episode_years: float | None = None,
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
    ``hot_spot_km`` km around a village centre; a pair (low, high) gives each
    hot spot its own sd, log-uniform in that range: a town riot and a regional
    insurgency), the rest anywhere (a village at random, a point inside it).
    With ``episode_years``, a hot spot is not persistent but active during one
    episode (exponential length of that mean, at least a year, starting
    anywhere in the period), as conflicts flare up and end; its share of the
    background then goes to the hot spots active at the time. Every event triggers
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
    if isinstance(hot_spot_km, tuple):
        lo, hi = np.log(hot_spot_km[0]), np.log(hot_spot_km[1])
        spread = np.exp(rng.uniform(lo, hi, len(hot)))
    else:
        spread = np.full(len(hot), float(hot_spot_km))
    on_hot = rng.random(n0) < hot_share
    h = rng.integers(len(hot), size=n0)
    if episode_years is not None:  # each hot spot active in one episode; an event picks among the active ones
        length = np.maximum(rng.exponential(episode_years * 365.25, len(hot)), 365.0)
        begin = rng.uniform(-length / 2, n_days - length / 2)
        active = (t[:, None] >= begin[None, :]) & (t[:, None] < (begin + length)[None, :])
        any_active = active.any(axis=1)
        on_hot &= any_active
        cum = np.cumsum(active, axis=1)
        pick = (rng.random(n0) * np.maximum(cum[:, -1], 1)).astype(np.int64)
        h = np.where(any_active, (cum <= pick[:, None]).sum(axis=1).clip(0, len(hot) - 1), h)
    which = hot[h]
    anywhere = rng.integers(len(villages), size=n0)
    x = np.where(on_hot, cx[which] + rng.normal(0, 1, n0) * spread[h] * km_lon, np.nan)
    y = np.where(on_hot, cy[which] + rng.normal(0, 1, n0) * spread[h] * km_lat, np.nan)
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
    codes = _district_codes(villages)
    region = precision == "region"
    if codes is not None:
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
