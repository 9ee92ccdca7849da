"""Indonesian and ISO dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from riskmap.io._dates import date_window, parse_date, parse_dates, read_dates


@pytest.mark.parametrize(
    "text",
    [
        "2024-11-27",
        "27/11/2024",
        "27-11-2024",
        "27.11.2024",
        "27 November 2024",
        "27 Nopember 2024",
        "27 Nov 2024",
        "Rabu, 27 November 2024",
        "27 november 2024 13:00",
        "2024-11-27T07:00:00",
        "27/11/24",
        "November 27, 2024",
        "27-Nov-24",
        "27-Nop-2024",
        "45623",
        "45623.0",
        45623,
    ],
)
def test_formats(text):
    assert parse_date(text) == dt.date(2024, 11, 27)


@pytest.mark.parametrize("text", ["", "kemarin", "31/02/2024", "11/27/2024", "27 Novembre 2024"])
def test_unreadable(text):
    assert parse_date(text) is None


def test_indonesian_months():
    assert parse_date("1 Agustus 2019") == dt.date(2019, 8, 1)
    assert parse_date("17 Agt 2019") == dt.date(2019, 8, 17)
    assert parse_date("5 Desember 2024") == dt.date(2024, 12, 5)
    assert parse_date("14 Pebruari 2024") == dt.date(2024, 2, 14)
    assert parse_date("2 Mei 2017") == dt.date(2017, 5, 2)


def test_column_parse_keeps_nat_for_bad():
    out = parse_dates(pd.Series(["27/11/2024", "x", "2024-02-14"]))
    assert out.iloc[0] == pd.Timestamp("2024-11-27") and pd.isna(out.iloc[1])
    assert out.iloc[2] == pd.Timestamp("2024-02-14")


def test_four_digit_year_is_never_read_as_two_digits():
    # "1 Jan 0001" became 2001-01-01: only a two-digit year means 20xx
    assert parse_date("1 Jan 0001") == dt.date(1, 1, 1)
    assert parse_date("01/01/0024") == dt.date(24, 1, 1)
    assert parse_date("27-Nop-24") == dt.date(2024, 11, 27)


@pytest.mark.parametrize(
    "value", ["0001-01-01", "9999-12-31", "31/12/9999", "1 Jan 0001", "1677-09-20", "2262-05-01", "1899-12-31"]
)
def test_dates_pandas_cannot_hold_never_crash(value):
    # issue 9: any date before 1677 or after 2262 raised OutOfBoundsDatetime
    dates, outside = read_dates(pd.Series([value, "27/11/2024"], dtype=object), date_window(1900, 2100))
    assert dates.isna().tolist() == [True, False] and outside.tolist() == [True, False]
    assert parse_dates(pd.Series([value])).dtype == "datetime64[ns]"


def test_date_cells_outside_the_window():
    cells = pd.Series([dt.datetime(1, 1, 1), dt.date(9999, 12, 31), pd.Timestamp("2024-11-27")], dtype=object)
    dates, outside = read_dates(cells, date_window(1900, 2100))
    assert outside.tolist() == [True, True, False] and dates.iloc[2] == pd.Timestamp("2024-11-27")
    column = pd.Series(["0001-01-01", "2024-11-27"]).astype("datetime64[s]")  # a GeoPackage date field
    dates, outside = read_dates(column, date_window(1900, 2100))
    assert outside.tolist() == [True, False] and dates.dtype == "datetime64[ns]"
