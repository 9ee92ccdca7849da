"""Coordinate parsing and diagnosis of bad points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmap.io._coords import StudyArea, diagnose, parse_numbers, split_pairs

STUDY = StudyArea((123.4, -10.4, 123.8, -10.0), "Kota Kupang")

KUPANG = StudyArea.around((123.52, -10.25, 123.70, -10.12), margin_km=2.0, name="Kota Kupang")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-10.1725", -10.1725),
        ("-10,1725", -10.1725),
        (" 123,5546 ", 123.5546),
        ("10°10'21\" LS", -(10 + 10 / 60 + 21 / 3600)),
        ("123°35'BT", 123 + 35 / 60),
        ("10 10 21 S", -(10 + 10 / 60 + 21 / 3600)),
        ("-10.1725e0", -10.1725),
    ],
)
def test_parse_accepts_common_forms(text, value):
    numbers, missing = parse_numbers(pd.Series([text]))
    assert not missing[0]
    assert numbers[0] == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("text", ["abc", "12.3.4", "--1", "10°"])
def test_parse_rejects_garbage(text):
    numbers, missing = parse_numbers(pd.Series([text]))
    assert np.isnan(numbers[0]) and not missing[0]


def test_parse_marks_empty_cells_missing():
    numbers, missing = parse_numbers(pd.Series(["", " ", "NaN", "-"]))
    assert missing.all() and np.isnan(numbers).all()


def test_numeric_columns_pass_through():
    numbers, missing = parse_numbers(pd.Series([-10.1, np.nan]))
    assert numbers[0] == -10.1 and missing[1]


def test_split_pairs():
    lat, lon = split_pairs(pd.Series(["-10.17, 123.55", "-10,17; 123,55", "-10.17 123.55", ""]))
    assert list(lat) == ["-10.17", "-10,17", "-10.17", ""]
    assert list(lon) == ["123.55", "123,55", "123.55", ""]


@pytest.mark.parametrize(
    "cell",
    [
        "-10,1725 123,6071",  # decimal commas, a space between
        "-10,1725, 123,6071",
        "-10,1725,123,6071",
        "(-10.1725, 123.6071)",
        "[-10.1725 123.6071]",
        "POINT (123.6071 -10.1725)",  # WKT: longitude first
        "point z (123.6071 -10.1725 12)",
        "10°10'21\" LS, 123°36'25.56\" BT",
        "10°10'21\"S 123°36'25.56\"E",
        "LS 10°10'21\" BT 123°36'25.56\"",
    ],
)
def test_split_pairs_as_people_and_tools_write_them(cell):
    lat, lon = split_pairs(pd.Series([cell], dtype="str"))
    (lat_value,), _ = parse_numbers(lat)
    (lon_value,), _ = parse_numbers(lon)
    assert lat_value == pytest.approx(-10.1725, abs=1e-6) and lon_value == pytest.approx(123.6071, abs=1e-6)


def test_split_pairs_one_value_is_missing_half():
    lat, lon = split_pairs(pd.Series(["-10.1725", "https://maps.app.goo.gl/x1"], dtype="str"))
    assert list(lat) == ["-10.1725", "https://maps.app.goo.gl/x1"] and list(lon) == ["", "https://maps.app.goo.gl/x1"]


def _diag(pairs):
    lat = np.array([p[0] for p in pairs], dtype=float)
    lon = np.array([p[1] for p in pairs], dtype=float)
    return diagnose(lat, lon, np.isnan(lat) & False, KUPANG)


def test_diagnosis_reasons_and_suggestions():
    d = _diag(
        [
            (-10.17, 123.60),  # fine
            (123.60, -10.17),  # swapped
            (-10.17, 1.2360),  # lost decimal: 123.60 -> 1.2360
            (-1017000, 123.60),  # lost decimal point entirely
            (-6.2, 106.8),  # Jakarta: simply outside
            (np.nan, 123.6),  # unreadable
        ]
    )
    assert list(d.ok) == [True, False, False, False, False, False]
    assert list(d.reason) == [
        "",
        "swapped_coordinates",
        "lost_decimal_point",
        "lost_decimal_point",
        "outside_study_area",
        "unparseable_coordinates",
    ]
    assert d.suggestion[1] == (-10.17, 123.60)
    assert d.suggestion[2] == pytest.approx((-10.17, 123.60))
    assert d.suggestion[3] == pytest.approx((-10.17, 123.60))
    assert d.suggestion[4] is None


def test_study_area_margin_is_in_km():
    area = StudyArea.around((123.0, -10.0, 123.0, -10.0), margin_km=11.132)
    minx, miny, maxx, maxy = area.bounds
    assert maxy - miny == pytest.approx(0.2, rel=1e-3)
    assert maxx - minx == pytest.approx(0.2 / np.cos(np.radians(10)), rel=1e-3)


def test_thousands_separators_become_a_lost_decimal_point_not_unreadable():
    """123607123 typed without its point and shown Indonesian-style as 123.607.123: diagnosed, with the fix."""
    lat, _ = parse_numbers(pd.Series(["-10.171.234", "-10,1712"], dtype="str"))
    lon, _ = parse_numbers(pd.Series(["123.607.123", "1,236,071"], dtype="str"))
    assert list(lat) == [-10171234.0, -10.1712] and list(lon) == [123607123.0, 1236071.0]
    area = StudyArea((123.4, -10.4, 123.8, -10.0), "Kota Kupang")
    diag = diagnose(lat, lon, np.zeros(2, dtype=bool), area)
    assert list(diag.reason) == ["lost_decimal_point", "lost_decimal_point"]
    assert diag.suggestion[0] == pytest.approx((-10.171234, 123.607123))
    assert diag.suggestion[1] == pytest.approx((-10.1712, 123.6071))


@pytest.mark.parametrize("value", ["1e400", "inf", "-inf", "Infinity", "9" * 400, "-" + "9" * 400, "1e400, 123.6"])
def test_overflowing_coordinates_are_unreadable_not_a_crash(value):
    # issue 9: "9" * 400 reached pandas as an int too large for a float (OverflowError); inf was "outside"
    numbers, missing = parse_numbers(pd.Series([value, "-10.17", 10**400], dtype=object))
    assert np.isnan(numbers[0]) and not missing[0] and numbers[1] == -10.17 and np.isnan(numbers[2])
    d = diagnose(numbers[:1], np.array([123.6]), missing[:1], STUDY)
    assert list(d.reason) == ["unparseable_coordinates"]


@pytest.mark.parametrize("lat", [1e308, -1e20, 1e12, 95.0, float("inf")])
def test_coordinates_beyond_the_earth_are_impossible(lat):
    d = diagnose(np.array([lat]), np.array([123.6]), np.array([False]), STUDY)
    assert list(d.reason) == ["impossible_coordinates"] and d.suggestion == [None]


def test_numeric_column_with_inf_is_unreadable_not_empty():
    numbers, missing = parse_numbers(pd.Series([float("inf"), np.nan, -10.17]))
    assert np.isnan(numbers[:2]).all() and list(missing) == [False, True, False]


def test_real_places_near_the_area_are_outside_not_a_lost_decimal_point():
    # issue 10: Timor-Leste events next to NTT were reported as lost_decimal_point ("perhaps -0.93 meant")
    north_maluku = StudyArea((119.0, -1.5, 128.0, 2.5), "Sulawesi Utara - Maluku Utara")
    places = [
        (-9.30, 125.60),  # Timor-Leste (Suai): -0.93 would fall inside
        (-8.556, 125.578),  # Dili
        (-12.46, 130.84),  # Darwin
        (5.98, 116.07),  # Kota Kinabalu, Malaysia
    ]
    d = diagnose(
        np.array([p[0] for p in places]), np.array([p[1] for p in places]), np.zeros(len(places), bool), north_maluku
    )
    assert list(d.reason) == ["outside_study_area"] * len(places)
    assert d.suggestion == [None] * len(places)
    # digits that cannot be a place near Indonesia are still diagnosed, with the fix
    d = diagnose(np.array([-9.30, 12.56, 1256.0]), np.array([12.56, 12.56, 125.6]), np.zeros(3, bool), north_maluku)
    assert list(d.reason) == ["lost_decimal_point"] * 3
