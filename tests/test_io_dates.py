"""Indonesian and ISO dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from riskmap.io._dates import parse_date, parse_dates


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
