"""Incidents: own schema in several formats, ACLED exports, every rejection reason."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd

from riskmap import pipeline
from riskmap.io import read_incidents
from riskmap.testing import assert_accounted, incident_rows, reasons_by_row, village_center


def test_own_schema_csv_xlsx_geojson_agree(tmp_path, villages, villages_path):
    frame = incident_rows(villages, [(0, "supporter_clash", "2024-11-20"), (3, "protest", "2024-11-28")])
    csv = tmp_path / "i.csv"
    frame.to_csv(csv, index=False)
    xlsx = tmp_path / "i.xlsx"
    frame.to_excel(xlsx, index=False)
    gj = tmp_path / "i.geojson"
    gpd.GeoDataFrame(
        frame.drop(columns=["lat", "lon"]),
        geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)),
        crs=4326,
    ).to_file(gj)
    results = [read_incidents(p)[0] for p in (csv, xlsx, gj)]
    for inc in results:
        assert list(inc["type"]) == ["supporter_clash", "protest"]
        assert list(inc["date"]) == [pd.Timestamp("2024-11-20"), pd.Timestamp("2024-11-28")]
        assert list(inc["severity"]) == [2, 2]
        assert list(inc["precision"]) == ["exact", "exact"]


def test_indonesian_columns_and_values(tmp_path):
    frame = pd.DataFrame(
        {
            "Tanggal": ["27/11/2024", "1 Oktober 2024", "14 Pebruari 2024"],
            "Jenis": ["Politik Uang", "perusakan APK", "Bentrok massa pendukung"],
            "Tingkat": ["berat", "ringan", "sedang"],
            "Lintang": ["-10,17", "-10.16", "-10.18"],
            "Bujur": ["123,6", "123.61", "123.58"],
            "Presisi": ["tepat", "perkiraan", "wilayah"],
            "Keterangan": ["Bagi-bagi uang", "Baliho dirobek", "Bentrok"],
        }
    )
    path = tmp_path / "insiden.csv"
    frame.to_csv(path, index=False)
    inc, report = read_incidents(path)
    assert report.rejected == []
    assert list(inc["type"]) == ["money_politics", "apk_vandalism", "supporter_clash"]
    assert list(inc["severity"]) == [3, 1, 2]
    assert list(inc["precision"]) == ["exact", "near", "region"]
    assert inc["date"].iloc[1] == pd.Timestamp("2024-10-01")


def test_every_rejection_reason(tmp_path, villages, villages_path):
    frame = incident_rows(villages, [(0, "supporter_clash", "2024-11-20")] * 7)
    frame.loc[1, "type"] = "gempa bumi"  # row 3 unknown type
    frame.loc[2, "date"] = ""  # row 4 missing date
    frame.loc[3, "date"] = "kemarin sore"  # row 5 unreadable date
    frame.loc[4, "date"] = "2025-01-05"  # row 6 after as-of
    frame.loc[5, "incident_id"] = "INC-000"  # row 7 duplicate of row 2
    lat, _lon = village_center(villages, 0)
    frame.loc[6, "lat"] = f"{lat - 0.02:.6f}"  # row 8 in no village (inside the box)
    path = tmp_path / "i.csv"
    frame.to_csv(path, index=False)
    layers = pipeline.load(villages_path, None, path, as_of=dt.date(2024, 12, 31))
    report = layers.report["incidents"]
    assert_accounted(report)
    assert reasons_by_row(report) == {
        3: "unknown_type",
        4: "missing_date",
        5: "unparseable_date",
        6: "after_as_of",
        7: "duplicate_id",
        8: "no_village",
    }
    assert report.used == 1
    assert "gempa bumi" in report.rejected[0].message("id")


def test_region_precision_not_pinned_to_a_village(tmp_path, villages, villages_path):
    frame = incident_rows(villages, [(4, "protest", "2024-11-28"), (4, "protest", "2024-11-28")])
    frame.loc[1, "precision"] = "region"
    frame.loc[1, "incident_id"] = "R"
    path = tmp_path / "i.csv"
    frame.to_csv(path, index=False)
    layers = pipeline.load(villages_path, None, path)
    inc = layers.incidents
    assert list(inc["village_idx"]) == [4, -1]
    assert list(inc["district_code"]) == ["53.71.02", "53.71.02"]


ACLED_COLUMNS = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
]


def _acled_row(event_id, date, etype, sub, lat, lon, geo, fatalities=0, notes=""):
    row = dict.fromkeys(ACLED_COLUMNS, "")
    row.update(
        {
            "event_id_cnty": event_id,
            "event_date": date,
            "year": date[-4:],
            "time_precision": "1",
            "event_type": etype,
            "sub_event_type": sub,
            "iso": "360",
            "country": "Indonesia",
            "admin1": "Nusa Tenggara Timur",
            "admin2": "Kota Kupang",
            "latitude": lat,
            "longitude": lon,
            "geo_precision": str(geo),
            "source": "Pos Kupang",
            "notes": notes,
            "fatalities": str(fatalities),
            "timestamp": "1733000000",
        }
    )
    return row


def test_acled_export_as_delivered(tmp_path, villages, villages_path):
    lat, lon = village_center(villages, 4)
    rows = [
        _acled_row("IDN1", "28 November 2024", "Protests", "Peaceful protest", lat, lon, 1, notes="Demo di PPK"),
        _acled_row("IDN2", "27 November 2024", "Riots", "Mob violence", lat, lon, 2, fatalities=1),
        _acled_row("IDN3", "20 November 2024", "Battles", "Armed clash", lat, lon, 1),
        _acled_row("IDN4", "21 November 2024", "Violence against civilians", "Attack", lat, lon, 3),
        _acled_row(
            "IDN5",
            "01 October 2024",
            "Strategic developments",
            "Looting/property destruction",
            lat,
            lon,
            1,
            notes="Baliho paslon dibakar",
        ),
        _acled_row("IDN6", "02 October 2024", "Protests", "Peaceful protest", "-8.5", "115.2", 1),  # Bali
    ]
    path = tmp_path / "acled.csv"
    pd.DataFrame(rows, columns=ACLED_COLUMNS).to_csv(path, index=False)
    layers = pipeline.load(villages_path, None, path)
    report = layers.report["incidents"]
    assert report.schema == "ACLED"
    assert_accounted(report)
    assert reasons_by_row(report) == {7: "outside_study_area"}  # issue 10: Battles (row 4) is used
    inc = layers.incidents.set_index("incident_id")
    assert inc.loc["IDN1", "type"] == "protest" and inc.loc["IDN1", "severity"] == 1
    assert inc.loc["IDN2", "type"] == "riot" and inc.loc["IDN2", "severity"] == 3
    assert inc.loc["IDN2", "precision"] == "near"
    assert inc.loc["IDN3", "type"] == "armed_clash" and inc.loc["IDN3", "severity"] == 2
    assert inc.loc["IDN4", "type"] == "attack_on_civilians" and inc.loc["IDN4", "precision"] == "region"
    assert inc.loc["IDN4", "village_idx"] == -1
    assert inc.loc["IDN5", "type"] == "apk_vandalism"
    assert inc.loc["IDN1", "date"] == pd.Timestamp("2024-11-28")
    assert inc.loc["IDN1", "description"] == "Demo di PPK"


def test_dates_outside_the_window_are_rejected_rows(tmp_path, villages, villages_path):
    # issue 9: 0001-01-01 or 9999-12-31 in an incident file stopped the run with OutOfBoundsDatetime
    specs = [(0, "protest", d) for d in ("2024-11-20", "0001-01-01", "9999-12-31", "31/12/9999", "1850-06-01")]
    path = tmp_path / "i.csv"
    incident_rows(villages, specs).to_csv(path, index=False)
    layers = pipeline.load(villages_path, None, path)
    report = layers.report["incidents"]
    assert_accounted(report)
    assert len(layers.incidents) == 1
    assert reasons_by_row(report) == {
        3: "date_out_of_range",
        4: "date_out_of_range",
        5: "date_out_of_range",
        6: "date_out_of_range",
    }
    note = next(n for n in report.rejected if n.row == 3)
    assert (
        "0001-01-01" in note.message("id") and "1900-01-01" in note.message("en") and "2100-12-31" in note.message("en")
    )


def test_date_window_comes_from_the_configuration(tmp_path, villages, villages_path):
    from riskmap.config import load_config

    path = tmp_path / "i.csv"
    incident_rows(villages, [(0, "protest", "2024-11-20"), (0, "protest", "2019-04-17")]).to_csv(path, index=False)
    config = load_config(overrides={"incidents": {"earliest_year": 2020}})
    layers = pipeline.load(villages_path, None, path, config=config)
    assert reasons_by_row(layers.report["incidents"]) == {3: "date_out_of_range"}


# ACLED codebook (2023): every event type with its sub-event types
ACLED_CODEBOOK = {
    "Battles": ["Armed clash", "Government regains territory", "Non-state actor overtakes territory"],
    "Explosions/Remote violence": [
        "Chemical weapon",
        "Air/drone strike",
        "Suicide bomb",
        "Shelling/artillery/missile attack",
        "Remote explosive/landmine/IED",
        "Grenade",
    ],
    "Violence against civilians": ["Sexual violence", "Attack", "Abduction/forced disappearance"],
    "Protests": ["Peaceful protest", "Protest with intervention", "Excessive force against protesters"],
    "Riots": ["Violent demonstration", "Mob violence"],
    "Strategic developments": [
        "Agreement",
        "Arrests",
        "Change to group/activity",
        "Disrupted weapons use",
        "Headquarters or base established",
        "Looting/property destruction",
        "Non-violent transfer of territory",
        "Other",
    ],
}


def _write_acled(tmp_path, rows, name="acled.csv"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=ACLED_COLUMNS).to_csv(path, index=False)
    return path


def test_every_acled_event_and_sub_event_type_is_mapped(tmp_path, villages, villages_path):
    # issue 10: Battles had no mapping and 63 % of a real export was rejected as unmapped_acled_type
    from riskmap.config import load_config

    config = load_config()
    lat, lon = village_center(villages, 2)
    pairs = [(e, s) for e, subs in ACLED_CODEBOOK.items() for s in subs]
    rows = [_acled_row(f"IDN{i}", "10 November 2024", e, s, lat, lon, 1) for i, (e, s) in enumerate(pairs)]
    inc, report = read_incidents(_write_acled(tmp_path, rows), config=config)
    assert_accounted(report)
    assert report.rejected == [] and len(inc) == len(pairs) == 25
    assert not [w for w in report.warnings if w.reason == "unmapped_event_type"]
    types = dict(zip(pairs, inc["type"], strict=True))
    for (event, sub), type_id in types.items():
        assert type_id in config.taxonomy, (event, sub)
        relevance = config.taxonomy[type_id]["stages"]
        assert set(relevance) == set(config.stages) and max(relevance.values()) > 0, type_id
        assert config.taxonomy[type_id]["label_id"] and config.taxonomy[type_id]["label_en"]
    assert types[("Battles", "Armed clash")] == "armed_clash"
    assert types[("Explosions/Remote violence", "Grenade")] == "explosion"
    assert types[("Violence against civilians", "Abduction/forced disappearance")] == "attack_on_civilians"
    assert types[("Riots", "Mob violence")] == "riot"
    assert types[("Strategic developments", "Looting/property destruction")] == "apk_vandalism"
    assert types[("Strategic developments", "Arrests")] == "strategic_development"
    severity = dict(zip(pairs, inc["severity"], strict=True))
    assert severity[("Battles", "Armed clash")] == 2 and severity[("Protests", "Peaceful protest")] == 1


def test_unmapped_acled_type_is_kept_with_a_warning_naming_the_key(tmp_path, villages, villages_path):
    lat, lon = village_center(villages, 2)
    rows = [
        _acled_row("IDN1", "10 November 2024", "Cyber attacks", "Hacking", lat, lon, 1),
        _acled_row("IDN2", "11 November 2024", "Protests", "Peaceful protest", lat, lon, 1),
    ]
    inc, report = read_incidents(_write_acled(tmp_path, rows))
    assert_accounted(report)
    assert report.rejected == [] and len(inc) == 2
    assert list(inc["type"]) == ["strategic_development", "protest"]
    (note,) = [w for w in report.warnings if w.reason == "unmapped_event_type"]
    assert note.row == 2
    for lang in ("id", "en"):
        text = note.message(lang)
        assert "Cyber attacks / Hacking" in text and '[acled.types] "Cyber attacks / Hacking"' in text
        assert "strategic_development" in text


def test_fatalities_graded_into_severity_from_the_configuration(tmp_path, villages, villages_path):
    from riskmap.config import load_config

    lat, lon = village_center(villages, 2)
    deaths = [0, 1, 2, 3, 9, 10, 150]
    rows = [
        _acled_row(f"IDN{d}", "10 November 2024", "Protests", "Peaceful protest", lat, lon, 1, fatalities=d)
        for d in deaths
    ]
    rows.append(_acled_row("IDNx", "10 November 2024", "Battles", "Armed clash", lat, lon, 1, fatalities="tidak ada"))
    path = _write_acled(tmp_path, rows)
    inc, _ = read_incidents(path)
    assert list(inc["severity"]) == [1, 3, 3, 3, 3, 3, 3, 2]  # default: any death is berat (3)
    finer = load_config(overrides={"incidents": {"fatalities_severity": {"1": 2, "3": 3}}})
    inc, _ = read_incidents(path, config=finer)
    assert list(inc["severity"]) == [1, 2, 2, 3, 3, 3, 3, 2]


def test_acled_geo_precision_3_is_region_and_unknown_codes_are_region_with_a_warning(tmp_path, villages, villages_path):
    lat, lon = village_center(villages, 2)
    rows = [
        _acled_row(f"IDN{g}", "10 November 2024", "Protests", "Peaceful protest", lat, lon, g)
        for g in ("1", "2", "3", "0", "9")
    ]
    layers = pipeline.load(villages_path, None, _write_acled(tmp_path, rows))
    inc = layers.incidents
    assert list(inc["precision"]) == ["exact", "near", "region", "region", "region"]
    assert list(inc["village_idx"] == -1) == [False, False, True, True, True]  # coarse: never pinned
    report = layers.report["incidents"]
    assert [w.row for w in report.warnings if w.reason == "export_precision_unknown"] == [5, 6]


UCDP_COLUMNS = [
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_dset_id",
    "conflict_new_id",
    "conflict_name",
    "dyad_dset_id",
    "dyad_new_id",
    "dyad_name",
    "side_a_dset_id",
    "side_a_new_id",
    "side_a",
    "side_b_dset_id",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
]


def _ucdp_row(event_id, date, violence, lat, lon, prec, best):
    row = dict.fromkeys(UCDP_COLUMNS, "")
    row.update(
        {
            "id": event_id,
            "relid": f"IDN-2024-1-{event_id}",
            "year": date[:4],
            "active_year": "1",
            "code_status": "Clear",
            "type_of_violence": str(violence),
            "conflict_name": "Indonesia: West Papua",
            "source_article": '"Kompas,2024-11-10,Kontak tembak di distrik"',
            "source_headline": "Kontak tembak di distrik",
            "where_prec": str(prec),
            "where_coordinates": "Kupang town",
            "adm_1": "Nusa Tenggara Timur province",
            "adm_2": "Kota Kupang",
            "latitude": lat,
            "longitude": lon,
            "geom_wkt": f"POINT ({lon} {lat})",
            "country": "Indonesia",
            "country_id": "850",
            "region": "Asia",
            "event_clarity": "1",
            "date_prec": "1",
            "date_start": f"{date} 00:00:00.000",
            "date_end": f"{date} 00:00:00.000",
            "best": str(best),
            "high": str(best),
            "low": str(best),
        }
    )
    return row


def test_ucdp_ged_export_as_delivered(tmp_path, villages, villages_path):
    lat, lon = village_center(villages, 2)
    rows = [
        _ucdp_row(1001, "2024-11-10", 1, lat, lon, 1, 2),
        _ucdp_row(1002, "2024-11-11", 2, lat, lon, 2, 0),
        _ucdp_row(1003, "2024-11-12", 3, lat, lon, 3, 12),
        _ucdp_row(1004, "2024-11-13", 3, lat, lon, 7, 1),
        _ucdp_row(1005, "2024-11-14", 4, lat, lon, 1, 1),  # a type UCDP may add: kept, warned
        _ucdp_row(1006, "2024-11-15", 1, "-8.556", "125.578", 1, 1),  # Dili: outside, not a lost decimal
    ]
    path = tmp_path / "GEDEvent_v24_1.csv"
    pd.DataFrame(rows, columns=UCDP_COLUMNS).to_csv(path, index=False)
    layers = pipeline.load(villages_path, None, path)
    report = layers.report["incidents"]
    assert report.schema == "UCDP"
    assert_accounted(report)
    assert reasons_by_row(report) == {7: "outside_study_area"}
    inc = layers.incidents.set_index("incident_id")
    assert list(inc["type"]) == [
        "armed_clash",
        "armed_clash",
        "attack_on_civilians",
        "attack_on_civilians",
        "armed_clash",
    ]
    assert list(inc["severity"]) == [3, 2, 3, 3, 3]
    assert list(inc["precision"]) == ["exact", "near", "region", "region", "exact"]
    assert inc.loc["1001", "date"] == pd.Timestamp("2024-11-10")
    assert inc.loc["1001", "description"] == "Kontak tembak di distrik"
    assert "UCDP" in inc.loc["1001", "source"]
    assert [w.row for w in report.warnings if w.reason == "unmapped_event_type"] == [6]
