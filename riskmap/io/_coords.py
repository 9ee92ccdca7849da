"""Coordinates as people type them, and what is wrong with the bad ones.

Parsing accepts numbers, text with a decimal point or a decimal comma
(``-10,1725``), and degrees-minutes-seconds with English or Indonesian
hemisphere letters (``10°10'21" LS``, ``123°35'BT``). Diagnosis sorts every
point that does not lie in the study area into one reason: missing,
unparseable, probably swapped latitude/longitude, probably a lost decimal
point (with the value it probably should have), or simply outside.
Nothing is corrected silently: a suspected fix is reported, not applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd

from riskmap.io._columns import as_text, to_numbers

_DMS = re.compile(
    r"^\s*(?P<pre>LS|LU|BT|BB|[NSEWUTB](?![a-z]))?\s*(?P<sign>[-+])?\s*(?P<deg>\d+(?:[.,]\d+)?)\s*[°º:d\s]\s*"
    r"(?:(?P<min>\d+(?:[.,]\d+)?)\s*['′:m\s]?\s*)?"
    r"(?:(?P<sec>\d+(?:[.,]\d+)?)\s*(?:\"|″|'')?\s*)?"
    r"(?P<hem>LS|LU|BT|BB|[NSEWUTB])?\s*$",
    re.IGNORECASE,
)
_NEGATIVE_HEMISPHERES = {"S", "W", "LS", "BB", "B"}


@dataclass(frozen=True)
class StudyArea:
    """The box points must fall in, EPSG:4326 degrees.

    Attributes
    ----------
    bounds
        (min lon, min lat, max lon, max lat), already including the margin.
    name
        Shown in messages (e.g. ``"Kota Kupang"``).
    """

    bounds: tuple[float, float, float, float]
    name: str = ""

    @classmethod
    def around(cls, bounds: np.ndarray | tuple[float, ...], margin_km: float = 5.0, name: str = "") -> StudyArea:
        """Box around ``bounds`` with a margin in kilometres."""
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        dlat = margin_km / 111.32
        dlon = margin_km / (111.32 * max(np.cos(np.radians((miny + maxy) / 2)), 0.1))
        return cls((minx - dlon, miny - dlat, maxx + dlon, maxy + dlat), name)

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Boolean array: which (lon, lat) lie inside the box."""
        minx, miny, maxx, maxy = self.bounds
        return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)


def _dms(text: str) -> float:
    m = _DMS.match(text)
    if not m or (m["min"] is None and m["hem"] is None and m["pre"] is None) or (m["pre"] and m["hem"]):
        return np.nan
    value = float(m["deg"].replace(",", "."))
    value += float((m["min"] or "0").replace(",", ".")) / 60
    value += float((m["sec"] or "0").replace(",", ".")) / 3600
    hem = (m["hem"] or m["pre"] or "").upper()
    if m["sign"] == "-" or hem in _NEGATIVE_HEMISPHERES:
        value = -value
    return value


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of coordinates.

    Returns
    -------
    numbers
        float64 array, NaN where missing or unreadable.
    missing
        True where the cell is empty.
    """
    if pd.api.types.is_numeric_dtype(values):
        missing = values.isna().to_numpy()
        return to_numbers(values).to_numpy(copy=True), missing  # inf is unreadable, not empty
    # plain numbers first, straight from the cells; text work only for the rest
    numbers = to_numbers(values).to_numpy(copy=True)
    missing = np.zeros(len(values), dtype=bool)
    todo = np.flatnonzero(np.isnan(numbers))
    if len(todo):
        text = as_text(values.iloc[todo])
        empty = ((text == "") | text.str.lower().isin(["nan", "none", "null", "-", "na", "n/a"])).to_numpy()
        missing[todo[empty]] = True
        # decimal comma: "-10,1725" -> "-10.1725" (only when there is no point)
        has_comma = text.str.contains(",", regex=False) & ~text.str.contains(".", regex=False)
        fixed_text = text.where(~has_comma, text.str.replace(",", ".", regex=False))
        # thousands separators ("123.607.123", a number typed without its decimal point and shown
        # Indonesian-style): the digits, so that the lost decimal point is diagnosed, not "unreadable"
        grouped = text.str.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3}){2,}|[-+]?\d{1,3}(?:,\d{3}){2,}").fillna(False)
        fixed_text = fixed_text.where(~grouped, text.str.replace(r"[.,]", "", regex=True))
        fixed = pd.to_numeric(fixed_text, errors="coerce")
        numbers[todo] = fixed.to_numpy(dtype="float64", na_value=np.nan)
        again = np.isnan(numbers[todo]) & ~empty  # degrees-minutes-seconds and other text
        if again.any():
            numbers[todo[again]] = [_dms(v) for v in text.to_numpy()[again]]
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers, missing


_NUM = r"(-?\d{1,3}(?:\.\d+)?)"
_MAP_LINKS = [  # (lat, lon) in the link, most precise first
    re.compile(rf"!3d{_NUM}!4d{_NUM}"),  # Google Maps pin
    re.compile(rf"[?&](?:q|query|ll|destination|daddr)=(?:loc:)?\s*{_NUM}\s*(?:,|%2C)\s*{_NUM}", re.IGNORECASE),
    re.compile(rf"[?&]mlat={_NUM}&mlon={_NUM}", re.IGNORECASE),  # OpenStreetMap marker
    re.compile(rf"@{_NUM},{_NUM}"),  # Google Maps view centre
    re.compile(rf"#map=\d+(?:\.\d+)?/{_NUM}/{_NUM}"),  # OpenStreetMap view
    re.compile(rf"^geo:{_NUM},{_NUM}", re.IGNORECASE),
]


def _from_map_links(text: pd.Series) -> pd.Series:
    """Replace Google Maps / OpenStreetMap links and geo: URIs by their "lat, lon"; other cells unchanged."""
    links = text.str.contains(r"https?://|geo:|maps\.|openstreetmap", case=False, regex=True).to_numpy(dtype=bool)
    if not links.any():
        return text
    out = text.copy()
    todo = text[links]
    found = pd.Series("", index=todo.index, dtype="str")
    for pattern in _MAP_LINKS:
        parts = todo.str.extract(pattern)
        hit = parts[0].notna() & (found == "")
        found[hit] = parts.loc[hit, 0] + ", " + parts.loc[hit, 1]
    out[found.index[found != ""]] = found[found != ""]
    return out


_DEC = r"[-+]?\d+(?:\.\d+)?"
_DEC_COMMA = r"[-+]?\d+(?:,\d+)?"
_HEMI_LAT = r"(?:LS|LU|[NS])"
_PAIRS = [  # (pattern, lat group, lon group), tried in order on the rows not yet read
    (re.compile(rf"^POINT\s*Z?\s*\(\s*({_DEC})\s+({_DEC})(?:\s+{_DEC})?\s*\)$", re.IGNORECASE), 2, 1),  # WKT: x y
    (re.compile(rf"^({_DEC})\s*[,;\s]\s*({_DEC})$"), 1, 2),
    (re.compile(rf"^({_DEC_COMMA})\s*(?:;|\s|,\s+)\s*({_DEC_COMMA})$"), 1, 2),  # decimal commas
    (re.compile(r"^([-+]?\d+,\d+),([-+]?\d+,\d+)$"), 1, 2),  # "-10,1725,123,6071"
    (re.compile(rf"^(.*?\d.*?{_HEMI_LAT})\s*[,;]?\s+(.*\d.*)$", re.IGNORECASE), 1, 2),  # 10°10'21" LS 123°35' BT
    (re.compile(rf"^({_HEMI_LAT}\s*\d.*?)\s*[,;]?\s+([A-Z]{{1,2}}\s*\d.*)$", re.IGNORECASE), 1, 2),  # LS 10° BT 123°
    (re.compile(r"^(.+?)\s*[,;]\s*(.+)$"), 1, 2),  # anything else with a separator: each half read on its own
]


def split_pairs(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split a single coordinates column into latitude and longitude text.

    Read as people and tools write a point: ``"-10.17, 123.55"``,
    ``"-10.17 123.55"``, ``"(-10.17, 123.55)"``, decimal commas
    (``"-10,17; 123,55"``, ``"-10,17 123,55"``), degrees-minutes-seconds
    (``10°10'21" LS, 123°35'10" BT`` or ``LS 10°10'21" BT 123°35'10"``), WKT
    (``POINT (123.55 -10.17)``, longitude first), and map links as field
    officers paste them: Google Maps (``.../@-10.17,123.55,17z``,
    ``?q=-10.17,123.55``, ``!3d-10.17!4d123.55``), OpenStreetMap
    (``?mlat=-10.17&mlon=123.55``, ``#map=17/-10.17/123.55``) and
    ``geo:-10.17,123.55``. A shortened link (``maps.app.goo.gl/...``) holds no
    coordinates and is rejected as unreadable. Latitude comes first except in
    WKT; a column written longitude first is found by :func:`diagnose` row
    by row (``swapped_coordinates``).
    """
    text = _from_map_links(as_text(values)).str.strip()
    text = text.where(text.str.upper().str.startswith("POINT"), text.str.strip("()[]{} "))
    lat = pd.Series("", index=text.index, dtype="str")
    lon = pd.Series("", index=text.index, dtype="str")
    todo = (text != "").to_numpy(copy=True)
    for pattern, lat_group, lon_group in _PAIRS:
        if not todo.any():
            break
        found = text[todo].str.extract(pattern)
        hit = found[0].notna()
        rows = found.index[hit]
        lat[rows] = found.loc[hit, lat_group - 1].str.strip()
        lon[rows] = found.loc[hit, lon_group - 1].str.strip()
        todo[text.index.get_indexer(rows)] = False
    left = text.index[todo]  # one value (the other is missing), or a link with no coordinates (unreadable)
    lat[left] = text[left]
    lon[left] = text[left].where(text[left].str.contains("://", regex=False), "")
    return lat, lon


@dataclass
class Diagnosis:
    """Per-point verdict of :func:`diagnose`.

    Attributes
    ----------
    ok
        Point is readable and inside the study area.
    reason
        Reason code for the others (empty string where ok).
    suggestion
        For swapped / lost-decimal points: the (lat, lon) they probably meant.
    """

    ok: np.ndarray
    reason: np.ndarray
    suggestion: list[tuple[float, float] | None]


_SCALES = [10.0**k for k in range(-7, 8)]
_MAX_LOST_DECIMAL = 180.0 * _SCALES[-1]
"""Largest value a degree with a lost decimal point can reach (180 x 10^7); beyond it a point is impossible."""


NEIGHBOURHOOD_DEG = 5.0
"""Margin (degrees) around Indonesia's box and the study area within which a point is a real place an export
can hold (Timor-Leste, Malaysia, Papua New Guinea, northern Australia): such a point is reported as outside the
study area, never as a lost decimal point, even when shifting its digits would land it inside."""


def _plausible(lat: float, lon: float, area: StudyArea) -> bool:
    """True when (lat, lon) is a coordinate on Earth within :data:`NEIGHBOURHOOD_DEG` of Indonesia or the area."""
    if abs(lat) > 90 or abs(lon) > 180:
        return False
    minx, miny, maxx, maxy = area.bounds
    lo_x, lo_y, hi_x, hi_y = INDONESIA.bounds
    m = NEIGHBOURHOOD_DEG
    return min(minx, lo_x) - m <= lon <= max(maxx, hi_x) + m and min(miny, lo_y) - m <= lat <= max(maxy, hi_y) + m


def _explain(lat: float, lon: float, area: StudyArea) -> tuple[str, tuple[float, float] | None]:
    """Find the likeliest reason a readable point falls outside the area."""
    minx, miny, maxx, maxy = area.bounds

    def inside(x: float, y: float) -> bool:
        return minx <= x <= maxx and miny <= y <= maxy

    if inside(lat, lon):
        return "swapped_coordinates", (lon, lat)
    if max(abs(lat), abs(lon)) > _MAX_LOST_DECIMAL:  # no decimal point lost can explain it
        return "impossible_coordinates", None
    if _plausible(lat, lon, area):  # a real place near the area (Timor-Leste next to NTT): simply outside
        return "outside_study_area", None
    best: tuple[int, str, tuple[float, float]] | None = None
    for swap in (False, True):
        y, x = (lon, lat) if swap else (lat, lon)
        for sy, sx in product(_SCALES, _SCALES):
            if sy == 1.0 and sx == 1.0:
                continue
            if inside(x * sx, y * sy):
                cost = abs(round(np.log10(sy))) + abs(round(np.log10(sx))) + (2 if swap else 0)
                if best is None or cost < best[0]:
                    best = (cost, "lost_decimal_point", (y * sy, x * sx))
    if best is not None:
        return best[1], best[2]
    if abs(lat) > 90 or abs(lon) > 180:
        return "impossible_coordinates", None
    return "outside_study_area", None


def diagnose(lat: np.ndarray, lon: np.ndarray, missing: np.ndarray, area: StudyArea) -> Diagnosis:
    """Classify each point: ok, or the reason it cannot be used.

    Parameters
    ----------
    lat, lon
        Parsed coordinates (NaN where unreadable), EPSG:4326 degrees.
    missing
        True where either coordinate cell was empty.
    area
        The study area box.
    """
    n = len(lat)
    reason = np.full(n, "", dtype=object)
    suggestion: list[tuple[float, float] | None] = [None] * n
    readable = ~np.isnan(lat) & ~np.isnan(lon)
    reason[missing] = "missing_coordinates"
    reason[~missing & ~readable] = "unparseable_coordinates"
    inside = readable & area.contains(lon, lat)
    for i in np.flatnonzero(readable & ~inside):
        reason[i], suggestion[i] = _explain(float(lat[i]), float(lon[i]), area)
    return Diagnosis(ok=inside, reason=reason, suggestion=suggestion)


def utm_epsg(area: StudyArea, south: bool) -> int:
    """EPSG code of the WGS 84 / UTM zone at the centre of ``area`` (326zz north, 327zz south)."""
    minx, _, maxx, _ = area.bounds
    zone = int(np.clip(np.floor(((minx + maxx) / 2 + 180) / 6) + 1, 1, 60))
    return (32700 if south else 32600) + zone


def from_projected(
    x: np.ndarray, y: np.ndarray, area: StudyArea, crs: str | int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """Convert projected coordinates (metres) to longitude/latitude.

    With ``crs`` (declared by the user) every row is converted from it.
    Otherwise rows that look like GPS UTM metres (easting 100,000-900,000
    and northing 0-10,000,000) are converted from the WGS 84 / UTM zone of
    the study area, south when the northing is above 5,000,000 (false
    northing). No degree value looks like that; a lost decimal point only
    does when both values lost it north of the equator with a six-digit
    longitude (``123607``, ``14748``), and such a row then lands outside the
    study area and is rejected.

    Parameters
    ----------
    x, y
        Parsed numbers of the longitude/easting and latitude/northing columns.

    Returns
    -------
    lon, lat, converted, crs
        Degrees (the input where not converted), the rows converted, and the
        CRS used (None when nothing was converted).
    """
    from pyproj import Transformer

    lon, lat = x.copy(), y.copy()
    if crs is not None:
        converted = ~np.isnan(x) & ~np.isnan(y)
        used = crs
    else:
        converted = (x >= 100_000) & (x <= 900_000) & (y >= 0) & (y <= 10_000_000)
        if not converted.any():
            return lon, lat, converted, None
        used = f"EPSG:{utm_epsg(area, south=bool(np.median(y[converted]) > 5_000_000))}"
    if converted.any():
        transformer = Transformer.from_crs(used, "EPSG:4326", always_xy=True)
        lon[converted], lat[converted] = transformer.transform(x[converted], y[converted])
        off = converted & ~(np.isfinite(lon) & np.isfinite(lat))  # metres no projection can map: unreadable
        lon[off] = lat[off] = np.nan
    return lon, lat, converted, str(used)


INDONESIA = StudyArea((94.0, -11.5, 141.5, 6.5), "Indonesia")
"""Fallback study area when no village layer is given."""
