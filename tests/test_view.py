"""riskmap.view's faces of issue 10: the accuracy line, the method's name, saved backtests, hot-spot labels."""

from __future__ import annotations

import json

import pytest

from riskmap import backtest, i18n, pipeline
from riskmap._errors import RiskmapInputError
from riskmap.config import load_config
from riskmap.view import accuracy_line, backtest_meta, data_digest, hotspot_label, method_label, saved_backtest

MEASURED = {
    "measured": True,
    "stage": "voting",
    "k": 20.0,
    "hit_rate": {"riskmap": 0.474, "count": 0.43, "decay": 0.41, "kde": 0.3, "random": 0.2},
    "windows": 6,
    "first_cutoff": "2019-01-01",
    "last_cutoff": "2024-01-01",
    "last_end": "2025-01-01",
    "window": "12M",
    "test_incidents": 812,
    "wins": {"count": 5, "decay": 6, "kde": 6, "random": 6},
    "best_baseline": "count",
}


def test_accuracy_line_in_both_languages():
    assert accuracy_line(MEASURED, "id") == (
        "Teruji pada data ini: 47 % insiden 12 bulan berikutnya terjadi di 20 % kelurahan/desa berskor tertinggi "
        "(median 6 jendela uji 2019–2024, 812 insiden; pembanding terkuat, hitungan: 43 %)."
    )
    en = accuracy_line(MEASURED, "en")
    assert en.startswith("Tested on this data: 47 % of the incidents of the following 12 months fell in the 20 %")
    assert "median of 6 test windows 2019–2024, 812 incidents; strongest baseline, count: 43 %" in en
    one = accuracy_line({**MEASURED, "window": "1M", "last_end": "2019-02-01", "first_cutoff": "2019-01-01"}, "en")
    assert "following 1 month fell" in one and "windows 2019," in one


@pytest.mark.parametrize(
    ("reason", "params", "words_id", "words_en"),
    [
        ("bt_no_incidents", {}, "tidak ada data insiden", "there are no incident data"),
        ("bt_no_precise", {}, "sampai kelurahan/desa", "located to a village"),
        (
            "bt_no_test_incidents",
            {"cutoffs": "2024-02-01", "window": "12M", "first": "2024-01-02", "last": "2024-03-01", "n": 4},
            "jendela uji 12 bulan (4 insiden bertanggal 2024-01-02 sampai 2024-03-01",
            "test window of 12 months (4 incidents dated 2024-01-02 to 2024-03-01",
        ),
    ],
)
def test_accuracy_line_says_plainly_why_it_was_not_measured(reason, params, words_id, words_en):
    acc = {"measured": False, "stage": "all", "reason": reason, "params": params}
    assert accuracy_line(acc, "id").startswith("Akurasi tidak dapat diukur pada data ini: ")
    assert words_id in accuracy_line(acc, "id")
    assert accuracy_line(acc, "en").startswith("Accuracy could not be measured on this data: ")
    assert words_en in accuracy_line(acc, "en")
    for lang in i18n.LANGS:
        assert "{" not in accuracy_line(acc, lang)


def test_accuracy_line_of_another_error_gives_its_message():
    acc = backtest.accuracy(RiskmapInputError("bt_bad_window", value="13X"))
    line = accuracy_line(acc, "id")
    assert line.startswith("Akurasi tidak dapat diukur pada data ini: Panjang jendela tidak terbaca: 13X")
    assert "12M (bulan)" in line and line.endswith(".") and not line.endswith("..")


def test_accuracy_line_without_a_backtest():
    assert accuracy_line(None, "id").startswith("Akurasi tidak diukur")
    assert accuracy_line(backtest.accuracy(None), "en").startswith("Accuracy not measured")


def test_method_label_names_the_configured_method():
    index = load_config(overrides={"scoring": {"method": "index"}})
    assert method_label(index, "id") == "Metode: indeks berbobot"
    fitted = load_config(overrides={"scoring": {"method": "fitted"}})
    assert method_label(fitted, "id") == "Metode: model terlatih pada data lalu"
    assert method_label(fitted, "en") == "Method: model fitted to past data"


def test_method_label_with_auto_names_the_method_used():
    auto = load_config()
    assert auto.data["scoring"]["method"] == "auto"
    assert method_label(auto, "id", "index") == "Metode: indeks berbobot (dipilih otomatis menurut banyaknya data)"
    assert method_label(auto, "en", "fitted") == (
        "Method: model fitted to past data (chosen automatically by the amount of data)"
    )
    assert method_label(auto, "en") == "Method: automatic"  # nothing scored yet


def test_method_label_falls_back_to_the_raw_name():
    config = load_config()
    config.data["scoring"]["method"] = "ensemble_v3"  # a method named later, without its words yet
    assert method_label(config, "en") == "Method: ensemble_v3"


def test_hotspot_labels():
    assert hotspot_label("hot_99", "id") == "Titik panas (99 %)"
    assert hotspot_label("cold_90", "en") == "Cold spot (90 %)"
    assert hotspot_label("ns", "en") == "Not significant"
    assert hotspot_label("weird", "en") == "weird"


def _saved(tmp_path, layers, config):
    run = backtest.Backtest.from_layers(layers, config, stages=["all", "voting"]).fit()
    path = tmp_path / "backtest.json"
    run.write(tmp_path, meta=backtest_meta(run, layers))
    return run, path


def test_saved_backtest_of_the_same_data_is_taken(tmp_path):
    layers = pipeline.load()
    config = load_config()
    run, path = _saved(tmp_path, layers, config)
    data = saved_backtest(str(path), layers, config)
    assert data["_meta"]["data_sha256_16"] == data_digest(layers)
    assert backtest.accuracy(data, "voting") == backtest.accuracy(run, "voting")


def test_saved_backtest_of_other_data_or_config_is_refused(tmp_path):
    layers = pipeline.load()
    config = load_config()
    _, path = _saved(tmp_path, layers, config)
    fewer = pipeline.load(as_of="2024-06-01")  # the incidents after June 2024 are left out
    assert data_digest(fewer) != data_digest(layers)
    with pytest.raises(RiskmapInputError) as err:
        saved_backtest(str(path), fewer, config)
    assert err.value.code == "bt_saved_mismatch"
    assert "insidennya berbeda" in err.value.message("id") and "riskmap backtest" in err.value.message("id")
    other = load_config(overrides={"incidents": {"half_life_days": 90}})
    with pytest.raises(RiskmapInputError) as err:
        saved_backtest(str(path), layers, other)
    assert "configuration differs" in err.value.message("en")


def test_saved_backtest_that_is_no_backtest_is_refused(tmp_path):
    layers = pipeline.load()
    for text in ("{ not json", json.dumps({"type": "FeatureCollection"}), "[1, 2]"):
        path = tmp_path / "backtest.json"
        path.write_text(text)
        with pytest.raises(RiskmapInputError) as err:
            saved_backtest(str(path), layers, load_config())
        assert err.value.code == "bt_saved_unreadable"
    with pytest.raises(RiskmapInputError) as err:
        saved_backtest(str(tmp_path / "missing.json"), layers, load_config())
    assert "missing.json" in err.value.message("en")


# -- issue 12, defect 2: a kab/kota or kecamatan chosen by name or Kemendagri code -------------------------------


def _two_regencies(tmp_path):
    """Villages of Kota Kupang (53.71, kecamatan 01-02) and Kabupaten Kupang (53.01, kecamatan 01), read from a file."""
    from riskmap.io.villages import read_villages
    from riskmap.testing import grid_villages

    frame = grid_villages(3, 3)
    frame.loc[6:, "kode"] = [f"53.01.01.{2001 + k}" for k in range(3)]
    frame["kab_kota"] = ["Kota Kupang"] * 6 + ["Kab. Kupang"] * 3
    frame.loc[6:, "kecamatan"] = "Kecamatan 1"  # the same kecamatan name in the other kab/kota
    path = tmp_path / "desa.geojson"
    frame.to_file(path)
    return read_villages(path)[0]


@pytest.mark.parametrize("typed", ["Kota Kupang", "kota  kupang", "KOTA KUPANG", "5371", "53.71", " 53.71 "])
def test_area_filter_takes_a_kab_kota_by_name_or_code(tmp_path, typed):
    from riskmap.view import area_filter

    flt, name = area_filter(_two_regencies(tmp_path), typed)
    assert flt.regencies == ("Kota Kupang",) and not flt.districts
    assert name == "Kota Kupang"


@pytest.mark.parametrize("typed", ["Kabupaten Kupang", "kab. kupang", "5301", "53.01"])
def test_area_filter_kabupaten_spelled_out_or_abbreviated(tmp_path, typed):
    from riskmap.view import area_filter

    assert area_filter(_two_regencies(tmp_path), typed)[0].regencies == ("Kab. Kupang",)


@pytest.mark.parametrize("typed", ["537102", "53.71.02", "53.71.2", "kecamatan 2", "Kec. Kecamatan 2"])
def test_area_filter_takes_a_kecamatan_by_name_or_code(tmp_path, typed):
    from riskmap.view import area_filter

    villages = _two_regencies(tmp_path)
    flt, name = area_filter(villages, typed)
    assert flt.districts == ("Kecamatan 2",)
    assert name == "Kec. Kecamatan 2, Kota Kupang"
    kept = villages[villages["district"].isin(flt.districts)]
    assert set(kept["district_code"]) == {"53.71.02"}


def test_area_filter_code_of_a_kecamatan_whose_name_repeats_keeps_only_its_kab_kota(tmp_path):
    from riskmap.view import area_filter

    villages = _two_regencies(tmp_path)
    flt, _ = area_filter(villages, "53.01.01")
    keep = villages["district"].isin(flt.districts) & villages["regency"].isin(flt.regencies)
    assert set(villages.loc[keep, "district_code"]) == {"53.01.01"}


def test_area_filter_bare_name_of_two_kab_kota_is_ambiguous_and_unknown_lists_close_names(tmp_path):
    from riskmap.view import area_filter

    villages = _two_regencies(tmp_path)
    with pytest.raises(RiskmapInputError) as err:
        area_filter(villages, "Kupang")
    assert err.value.code == "ambiguous_area"
    assert "Kota Kupang" in err.value.message("id") and "Kab. Kupang" in err.value.message("id")
    with pytest.raises(RiskmapInputError) as err:
        area_filter(villages, "Kota Kupagn")
    text = err.value.message("id")
    assert err.value.code == "unknown_area"
    assert err.value.params["choices"].startswith("Kota Kupang (53.71)")  # the closest name first, with its code
    assert "5371" in text  # how to fix it: the code forms
    with pytest.raises(RiskmapInputError):
        area_filter(villages, "9999")


def test_display_tables_name_stages_and_categories_in_the_language():
    """Issue 12, defect 5: the escalation table said "skor campaign" (stage ids), categories stayed ids."""
    from riskmap.view import escalation, make_view, ranked_tps, ranked_villages

    result = pipeline.run()
    table = escalation(result, "campaign", "recap", lang="id")
    assert "skor Kampanye" in table.columns and "kategori Rekapitulasi Suara" in table.columns
    assert not [c for c in table.columns if "campaign" in c or "recap" in c]
    assert set(table["kategori Kampanye"]) <= {"Kurang rawan", "Rawan", "Sangat rawan"}
    assert "score Campaign" in escalation(result, "campaign", "recap", lang="en").columns
    assert table.iloc[:, -1].dtype == bool  # the app counts the rises from the last column
    view = make_view(result, "voting")
    villages, tps = ranked_villages(view, lang="id"), ranked_tps(view, lang="id")
    assert list(villages.columns)[:5] == ["kode", "kelurahan/desa", "kecamatan", "skor", "kategori"]
    assert list(tps.columns)[3:6] == ["alamat", "skor", "kategori"] and tps["skor"].is_monotonic_decreasing
    english = ranked_villages(view, lang="en")
    assert list(english.columns)[:5] == ["code", "village", "district (kecamatan)", "score", "category"]
    assert set(english["category"]) <= {"Low risk", "Vulnerable", "Highly vulnerable"}


def test_one_set_of_share_classes_for_the_screen_and_the_print():
    """Issue 12: the screen's overview had classes at 5/10/25/50 %, the printed one at 10/25/50 %, bounds on
    different sides; both now read ``[display] overview_breaks_pct`` through the same function."""
    import numpy as np

    from riskmap.config import load_config
    from riskmap.printing import _share_classes
    from riskmap.view import share_breaks, share_class, share_class_labels

    breaks = share_breaks(load_config())
    assert breaks == [5.0, 10.0, 25.0, 50.0]
    shares = np.array([0.0, 0.049, 0.05, 0.0999, 0.10, 0.3, 0.5, 1.0, np.nan])
    assert share_class(shares, breaks).tolist() == [0, 0, 1, 1, 2, 3, 4, 4, 5]
    assert share_class_labels(breaks) == ["0-5 %", "5-10 %", "10-25 %", "25-50 %", "50-100 %"]
    printed = _share_classes(breaks)
    assert [label for _, label in printed] == share_class_labels(breaks)
    greys = [int(colour[1:3], 16) for colour, _ in printed]
    assert greys == sorted(greys, reverse=True)  # light (few) to dark (many)


def test_names_with_numbers_sort_as_people_read_them():
    from riskmap.view import natural_key

    names = ["Kab 10", "kab 2", "Kab 1", "Kota Kupang", "Kabupaten Alor", "Kab 2A"]
    assert sorted(names, key=natural_key) == ["Kab 1", "kab 2", "Kab 2A", "Kab 10", "Kabupaten Alor", "Kota Kupang"]
