"""Dates as Indonesian files write them.

Accepted: ISO ``2024-11-27`` (with or without time), ``27/11/2024``,
``27-11-2024``, ``27.11.2024`` (day first, as in Indonesia), ``27 November
2024``, ``27 Nopember 2024``, ``27 Nov 2024``, ``27-Nov-24`` (Excel's
default), ``Rabu, 27 November 2024``,
English month names, Excel date cells, and Excel serial day numbers
(``45623`` = 27 November 2024) as a CSV saved from a General-format column
carries them.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

MONTHS: dict[str, int] = {
    "januari": 1,
    "jan": 1,
    "january": 1,
    "februari": 2,
    "pebruari": 2,
    "feb": 2,
    "peb": 2,
    "february": 2,
    "maret": 3,
    "mar": 3,
    "march": 3,
    "april": 4,
    "apr": 4,
    "mei": 5,
    "may": 5,
    "juni": 6,
    "jun": 6,
    "june": 6,
    "juli": 7,
    "jul": 7,
    "july": 7,
    "agustus": 8,
    "agu": 8,
    "agt": 8,
    "ags": 8,
    "aug": 8,
    "august": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "oct": 10,
    "october": 10,
    "november": 11,
    "nopember": 11,
    "nov": 11,
    "nop": 11,
    "desember": 12,
    "des": 12,
    "dec": 12,
    "december": 12,
}

_EXCEL_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (1900 system, after its 1900 leap-year bug)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ].*)?$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:\s.*)?$")
_TEXT = re.compile(r"^(?:[a-z]+,?\s+)?(\d{1,2})(?:\s+|-)([a-z]+)\.?(?:\s+|-)(\d{4}|\d{2})(?:\s.*)?$")
_TEXT_MDY = re.compile(r"^([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})(?:\s.*)?$")


def parse_date(value: object) -> dt.date | None:
    """Parse one date; ``None`` when it cannot be read."""
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return None if pd.isna(value) else value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    try:
        if (m := _EXCEL_SERIAL.match(text)) and 20_000 <= int(m[1]) <= 80_000:  # 1954-2119
            return _EXCEL_EPOCH + dt.timedelta(days=int(m[1]))
        if m := _ISO.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(text):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)  # 24 is 2024; 0024 is the year 24
            return dt.date(year, int(m[2]), int(m[1]))
        if (m := _TEXT.match(text)) and m[2] in MONTHS:  # also Excel's 27-Nov-24
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)  # 24 is 2024; 0024 is the year 24
            return dt.date(year, MONTHS[m[2]], int(m[1]))
        if (m := _TEXT_MDY.match(text)) and m[1] in MONTHS:
            return dt.date(int(m[3]), MONTHS[m[1]], int(m[2]))
    except ValueError:  # 31/02/2024 and the like
        return None
    return None


Window = tuple[dt.date, dt.date]
"""First and last acceptable day."""

PANDAS_WINDOW: Window = (dt.date(1678, 1, 1), dt.date(2261, 12, 31))
"""The days a ``datetime64[ns]`` column can hold (pandas' nanosecond range, whole years)."""


def date_window(first_year: int, last_year: int) -> Window:
    """1 January of ``first_year`` to 31 December of ``last_year``, clipped to :data:`PANDAS_WINDOW`."""
    first = max(dt.date(max(int(first_year), 1), 1, 1), PANDAS_WINDOW[0])
    last = min(dt.date(min(int(last_year), 9999), 12, 31), PANDAS_WINDOW[1])
    return first, last


def config_window(data: dict) -> Window:
    """The window of acceptable dates from a configuration's ``[incidents]`` table."""
    inc = data["incidents"]
    return date_window(inc.get("earliest_year", 1900), inc.get("latest_year", 2100))


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse a column of dates to ``datetime64[ns]`` (NaT where unreadable or beyond pandas' range).

    Each distinct text is parsed once, so large files stay fast.
    """
    return read_dates(values, PANDAS_WINDOW)[0]


def read_dates(values: pd.Series, window: Window) -> tuple[pd.Series, np.ndarray]:
    """Parse a column of dates and tell which readable dates fall outside ``window``.

    Returns
    -------
    dates
        ``datetime64[ns]``, normalised to the day; NaT where unreadable or
        outside the window (a year 1 or 9999 never reaches pandas, which
        cannot hold it).
    outside
        True where the cell is a readable date outside ``window``.
    """
    first, last = pd.Timestamp(window[0]), pd.Timestamp(window[1]) + pd.Timedelta(days=1)
    if pd.api.types.is_datetime64_any_dtype(values):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize(None)
        outside = (values.notna() & ((values < first) | (values >= last))).to_numpy()
        return values.where(~outside).astype("datetime64[ns]").dt.normalize(), outside
    uniques = pd.unique(values.astype(object))
    parsed = {u: parse_date(u) for u in uniques}
    out = values.astype(object).map(parsed)
    outside = out.map(lambda d: d is not None and not window[0] <= d <= window[1]).to_numpy(dtype=bool)
    out = out.where(out.notna() & ~outside, np.nan)
    return pd.to_datetime(out, errors="coerce").astype("datetime64[ns]"), outside
