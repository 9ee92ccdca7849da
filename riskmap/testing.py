"""Public helpers for tests: small real-shaped layers and report assertions.

Used by riskmap's own tests and usable by anyone extending riskmap, like
``geopandas.testing``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
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
