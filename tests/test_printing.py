"""Printed maps as a commander gets them: page count and size, content, the TPS table."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from riskmap import pipeline
from riskmap.config import CATEGORIES
from riskmap.printing import PrintOptions, print_maps


def _pdfinfo(path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def _text(path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if page:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def demo():
    return pipeline.run()


def test_poppler_is_installed():
    assert shutil.which("pdfinfo") and shutil.which("pdftoppm"), "run bash scripts/setup.sh --test"


def test_all_stages_four_a4_landscape_pages(demo, tmp_path):
    path = tmp_path / "maps.pdf"
    print_maps(demo, path, PrintOptions(stages=demo.config.stages, tables=False))
    info = _pdfinfo(path)
    assert info["Pages"].strip() == "4"
    assert "841.89 x 595.276" in info["Page size"]
    titles = [_text(path, p) for p in range(1, 5)]
    for page, label in zip(
        titles, ["Kampanye", "Pemungutan Suara", "Penghitungan Suara", "Rekapitulasi Suara"], strict=True
    ):
        assert f"Peta Kerawanan Tahap {label} - Kota Kupang" in page
        assert "TERBATAS" in page and "data per 2024-12-04" in page
        assert "Sangat rawan" in page and "Kurang rawan" in page  # the legend
        assert "km" in page and "°S" in page  # scale bar and grid
        assert "SINTETIS" in page  # the demo says it is synthetic


def test_map_page_is_drawn_with_title_and_legend_where_expected(demo, tmp_path):
    path = tmp_path / "voting.pdf"
    print_maps(demo, path, PrintOptions(stages=["voting"], tables=False))
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(tmp_path / "p")], check=True)
    img = np.asarray(Image.open(tmp_path / "p-1.png").convert("L"), dtype=float)
    h, w = img.shape
    assert img.std() > 20  # not blank
    title_band = img[int(0.03 * h) : int(0.09 * h), int(0.05 * w) : int(0.6 * w)]
    assert (title_band < 100).mean() > 0.02  # dark title text at the top left
    legend = img[int(0.12 * h) : int(0.45 * h), int(0.74 * w) : int(0.98 * w)]
    assert (legend < 128).mean() > 0.01  # legend symbols and text on the right
    map_area = img[int(0.15 * h) : int(0.9 * h), int(0.06 * w) : int(0.7 * w)]
    assert len(np.unique((map_area // 16).astype(int))) > 5  # several grey levels: categories apart in B/W


def test_table_lists_exactly_the_rawan_tps(demo, tmp_path):
    path = tmp_path / "voting.pdf"
    print_maps(demo, path, PrintOptions(stages=["voting"], tables=True))
    pages = int(_pdfinfo(path)["Pages"])
    text = "\n".join(_text(path, p) for p in range(2, pages + 1))
    printed = set(re.findall(r"\b(53\d{11})\b", text))
    tps = demo.tps
    expected = set(tps.loc[tps["level_voting"].isin(list(CATEGORIES[1:])), "tps_id"])
    assert printed == expected
    assert "TPS Rawan dan Sangat Rawan - Tahap Pemungutan Suara" in text


def test_atlas_cover_overview_and_one_page_per_kecamatan(demo, tmp_path):
    path = tmp_path / "atlas.pdf"
    print_maps(demo, path, PrintOptions(stages=["voting"], atlas=True, paper="A3"))
    info = _pdfinfo(path)
    assert int(info["Pages"]) == 1 + 1 + 1 + 6  # cover, overview, the kab/kota's overview, six kecamatan
    assert "1190.55 x 841.89" in info["Page size"]  # A3 landscape
    assert "Atlas Kerawanan Pilkada" in _text(path, 1)
    assert "Ikhtisar Kerawanan Tahap Pemungutan Suara - Kota Kupang" in _text(path, 3)
    assert "Kec. Alak" in _text(path, 4)
    assert "Halaman 9" in _text(path, 9)


def test_area_english_portrait_png(demo, tmp_path):
    out = tmp_path / "alak.png"
    paths = print_maps(
        demo, out, PrintOptions(stages=["recap"], tables=False, area="Alak", lang="en", orientation="portrait", dpi=60)
    )
    assert paths == [out]
    img = Image.open(out)
    assert img.size[0] < img.size[1]  # portrait


def test_unknown_area_is_a_clear_error(demo, tmp_path):
    from riskmap._errors import RiskmapInputError

    with pytest.raises(RiskmapInputError) as err:
        print_maps(demo, tmp_path / "x.pdf", PrintOptions(stages=["voting"], area="Atlantis"))
    assert "Atlantis" in err.value.message("en") and "Alak" in err.value.message("en")


def test_print_with_proposed_posts(tmp_path):
    from riskmap.cli import main

    out = tmp_path / "posts.pdf"
    assert (
        main(["print", "--stage", "voting", "--no-tables", "--posts", "6", "--radius-km", "1.5", "--out", str(out)])
        == 0
    )
    assert "Pos usulan (6), radius 1.5 km" in _text(out, 1)


def test_names_print_literally_never_as_mathtext(tmp_path, villages, tps_frame):
    """A name with matplotlib mathtext (``$...$``) prints as typed; a broken formula does not stop the print."""
    names = [r"$\frac{$", r"$x^2$ Baru", r"\$y$"]
    for k, name in enumerate(names):
        villages.loc[k, "nama"] = name
    vpath = tmp_path / "desa.geojson"
    villages.to_file(vpath)
    tps = tps_frame.copy()
    tps.loc[:2, "kelurahan"] = names
    tpath = tmp_path / "tps.csv"
    tps.to_csv(tpath, index=False)
    result = pipeline.run(villages=str(vpath), tps=str(tpath), demo_data=False)
    path = tmp_path / "maps.pdf"
    print_maps(result, path, PrintOptions(stages=["voting"], tables=True))
    text = _text(path)
    assert "$x^2$ Baru" in text


def test_one_village_without_tps_prints_map_and_empty_table(tmp_path, villages):
    # issue 9: a one-village file crashed scoring (IndexError); with no TPS layer the table page crashed (KeyError)
    path = tmp_path / "desa.geojson"
    villages.iloc[:1].to_file(path)
    result = pipeline.run(path)
    out = tmp_path / "one.pdf"
    print_maps(result, out, PrintOptions(stages=["voting"], tables=True))
    assert _pdfinfo(out)["Pages"].strip() == "2"
    assert "Desa 0" in _text(out, 1)
    assert "Tidak ada TPS rawan" in _text(out, 2)


# -- faces of issue 10: the accuracy line, the method and hot spots in the legend -------------------
@pytest.fixture(scope="module")
def demo_accuracy(demo):
    from riskmap import backtest

    run = backtest.Backtest.from_layers(demo.layers, demo.config, stages=list(demo.config.stages)).fit()
    return {s: backtest.accuracy(run, s) for s in demo.config.stages}


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("id", "Teruji pada data ini: 45 % insiden 12 bulan berikutnya terjadi di 20 % kelurahan/desa"),
        ("en", "Tested on this data: 45 % of the incidents of the following 12 months fell in the 20 %"),
    ],
)
def test_every_map_page_carries_the_accuracy_line(demo, demo_accuracy, tmp_path, lang, words, orientation):
    from riskmap.view import accuracy_line

    path = tmp_path / "maps.pdf"
    opts = PrintOptions(
        stages=["voting", "recap"], tables=True, lang=lang, orientation=orientation, accuracy=demo_accuracy
    )
    print_maps(demo, path, opts)
    pages = [_one_line(_text(path, p)) for p in range(1, int(_pdfinfo(path)["Pages"]) + 1)]
    lines = {s: accuracy_line(demo_accuracy[s], lang) for s in ("voting", "recap")}
    assert words in lines["voting"] and lines["voting"] != lines["recap"]  # each page its own stage's figures
    assert lines["voting"] in pages[0]  # the voting map, then its TPS table pages, then the recap map
    recap = next(i for i, p in enumerate(pages) if "Rekapitulasi" in p or "Recapitulation" in p or "Recap" in p)
    assert lines["recap"] in pages[recap]
    assert [i for i, p in enumerate(pages) if "Teruji" in p or "Tested on" in p] == [0, recap]  # maps only
    assert f"{demo_accuracy['voting']['test_incidents']} " in pages[0]
    assert ("Metode: indeks berbobot" if lang == "id" else "Method: weighted index") in pages[0]


def _voting_map_pages(demo, accuracy):
    """The first (map) page of the voting stage in A4 landscape and portrait, Indonesian and English, drawn."""
    from riskmap import printing

    for orientation in ("landscape", "portrait"):
        for lang in ("id", "en"):
            opts = PrintOptions(stages=["voting"], tables=False, lang=lang, orientation=orientation, accuracy=accuracy)
            fig = next(printing._pages(demo, opts))
            fig.canvas.draw()
            yield orientation, lang, fig, fig.canvas.get_renderer()
            printing.plt.close(fig)


def test_accuracy_line_fits_the_page_clear_of_legend_and_scale_bar(demo, demo_accuracy, tmp_path):
    """The line's text box lies inside the page, below the map frame and the legend, above the footer."""
    from matplotlib.backends.backend_pdf import PdfPages

    for orientation, lang, fig, renderer in _voting_map_pages(demo, demo_accuracy):
        line = next(t for t in fig.texts if t.get_text().startswith(("Teruji", "Tested")))
        box = line.get_window_extent(renderer)
        page = fig.bbox
        assert box.x0 >= 0 and box.x1 <= page.x1 and box.y0 > 0, (orientation, lang)
        for ax in fig.axes:  # map (with its tick labels), legend, overview: nothing overlaps the line
            assert not box.overlaps(ax.get_tightbbox(renderer)), (orientation, lang, ax)
        footer = next(t for t in fig.texts if "riskmap 0" in t.get_text() or "riskmap " in t.get_text())
        assert not box.overlaps(footer.get_window_extent(renderer)), (orientation, lang)
        with PdfPages(tmp_path / f"{orientation}_{lang}.pdf") as pdf:
            pdf.savefig(fig)


def test_every_legend_and_axis_lies_inside_the_page(demo, demo_accuracy):
    # the automatic method's label ("... (dipilih otomatis menurut banyaknya data)") once ran off the page
    for orientation, lang, fig, renderer in _voting_map_pages(demo, demo_accuracy):
        page = fig.bbox
        for ax in fig.axes:
            box = ax.get_tightbbox(renderer)
            assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1, (orientation, lang, ax, box, page)
            assert box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1, (orientation, lang, ax, box, page)


def test_accuracy_line_says_when_it_was_not_measured(demo, tmp_path, villages_path):
    path = tmp_path / "none.pdf"
    print_maps(demo, path, PrintOptions(stages=["voting"], tables=False))
    assert "Akurasi tidak diukur untuk cetakan ini" in _one_line(_text(path, 1))
    # no incident file: the print says accuracy could not be measured, and why
    from riskmap import backtest

    result = pipeline.run(villages_path, demo_data=False)
    with pytest.raises(backtest.RiskmapInputError) as err:
        backtest.Backtest.from_layers(result.layers, result.config).fit()
    acc = {"voting": backtest.accuracy(err.value, "voting")}
    for lang, words in (
        ("id", "Akurasi tidak dapat diukur pada data ini: tidak ada data insiden."),
        ("en", "Accuracy could not be measured on this data: there are no incident data."),
    ):
        print_maps(result, path, PrintOptions(stages=["voting"], tables=False, lang=lang, accuracy=acc))
        assert words in _one_line(_text(path, 1))


def test_hot_spots_get_a_symbol_and_a_legend_entry(demo, tmp_path):
    from test_mapping import _with_hotspots

    hot = _with_hotspots(demo)
    path = tmp_path / "hot.pdf"
    print_maps(hot, path, PrintOptions(stages=["voting", "recap"], tables=False))
    voting, recap = _one_line(_text(path, 1)), _one_line(_text(path, 2))
    assert "Titik panas/dingin (kelurahan)" in voting
    assert "Titik panas (99 %) (2)" in voting and "Titik dingin (95 %) (1)" in voting
    assert "Tidak signifikan" not in voting
    assert "Titik panas" not in recap  # no column for this stage: no symbol, no legend entry
    from riskmap import printing

    fig = next(printing._pages(hot, PrintOptions(stages=["voting"], tables=False)))
    rings = [c for c in fig.axes[0].collections if c.get_zorder() == 9]
    assert sum(len(c.get_offsets()) for c in rings) == 7
    printing.plt.close(fig)


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_overview_title_clear_of_the_map_labels(demo, orientation):
    # portrait: the overview's title "Peta ikhtisar" was printed over the map's longitude labels
    from riskmap import printing

    fig = next(printing._pages(demo, PrintOptions(stages=["voting"], tables=False, orientation=orientation)))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    map_ax = fig.axes[0]
    labels = [t.get_window_extent(renderer) for t in map_ax.texts if t.get_gid() == printing.GRID_GID]
    title = next(t for t in fig.texts if t.get_text() == "Peta ikhtisar").get_window_extent(renderer)
    assert labels and not any(title.overlaps(b) for b in labels)
    printing.plt.close(fig)


def test_table_personnel_are_whole_people(demo, tmp_path):
    """Issue 12, defect 7: the printed TPS table showed police per TPS as 0.4 (a share of a guard group)."""
    from riskmap.deploy import staffing_plan

    path = tmp_path / "voting.pdf"
    print_maps(demo, path, PrintOptions(stages=["voting"], tables=True))
    text = "\n".join(_text(path, p) for p in range(2, int(_pdfinfo(path)["Pages"]) + 1))
    rows = [line for line in text.splitlines() if re.search(r"\b53\d{11}\b", line)]
    staff = [re.search(r"(\d+(?:[.,]\d+)?) ?/ ?(\d+(?:[.,]\d+)?)\s*$", line) for line in rows]
    assert rows and all(staff), rows[:3]
    assert all(m[1].isdigit() and m[2].isdigit() for m in staff)
    plan, _ = staffing_plan(demo.tps, "voting", demo.config)
    shown = {re.search(r"\b(53\d{11})\b", line)[1]: int(m[1]) for line, m in zip(rows, staff, strict=True)}
    expected = plan.set_index("tps_id")["police_required"]
    assert shown == {tps_id: int(expected[tps_id]) for tps_id in shown}


def test_atlas_with_tables_has_the_tables_and_per_tps_police(demo, tmp_path):
    """Issue 12, defect 8: ``--atlas --tables`` gave no tables, and the atlas pages had no police per TPS."""
    import matplotlib.pyplot as plt

    from riskmap import printing
    from riskmap.deploy import staffing_plan

    path = tmp_path / "atlas.pdf"
    print_maps(demo, path, PrintOptions(stages=["voting"], atlas=True, tables=True))
    pages = int(_pdfinfo(path)["Pages"])
    texts = [_text(path, p) for p in range(1, pages + 1)]
    plan, _ = staffing_plan(demo.tps, "voting", demo.config)  # one plan of the whole printed area
    tps = demo.tps.join(plan[["police_required", "linmas_required"]])
    districts = sorted(set(demo.villages["district"]))
    assert pages > 2 + len(districts)  # cover, overview, per kecamatan a map and its table page(s)
    cover = texts[0]
    numbers = {}  # page -> the police numbers written beside the TPS
    for page, fig in enumerate(printing._pages(demo, PrintOptions(stages=["voting"], atlas=True, tables=True)), 1):
        found = [t for ax in fig.axes for t in ax.texts if t.get_fontsize() == printing.TPS_POLICE_FONT]
        numbers[page] = [int(t.get_text()) for t in found]
        plt.close(fig)
    for district in districts:
        mine = tps[tps["district"] == district]
        rawan = mine[mine["level_voting"].isin(list(CATEGORIES[1:]))]
        number = int(re.search(rf"Kec\. {district} +(\d+)\b", cover)[1])  # the contents give its page
        page = texts[number - 1]
        assert f"Kec. {district}" in page and "Angka di TPS: polisi per TPS" in page
        assert sum(numbers[number]) == int(mine["police_required"].sum())  # every TPS's police is on its page
        assert len(numbers[number]) == int((mine["police_required"] > 0).sum())
        table = ""
        k = number
        while k < pages and "TPS Rawan dan Sangat Rawan" in texts[k] and f"Kec. {district}" in texts[k]:
            table += texts[k]
            k += 1
        assert table, district
        printed = set(re.findall(r"\b(53\d{11})\b", table))
        assert printed == set(rawan["tps_id"])
        for tps_id, police, linmas in rawan[["tps_id", "police_required", "linmas_required"]].itertuples(False):
            assert re.search(rf"{tps_id}.*\s{police} ?/ ?{linmas}\s*$", table, flags=re.M), tps_id


# -- issue 12, Build 3: printing at province scale ---------------------------------------------------------------
def _two_regencies(tmp_path, config=None, nx: int = 10, ny: int = 8, every: int = 2):
    """80 villages in 40 kecamatan of two kab/kota: "Kabupaten Awal" holds "Zona 01".."Zona 20", "Kabupaten Baru"
    "Alfa 21".."Alfa 40", so the alphabetical order of all kecamatan is not their order grouped by kab/kota."""
    from riskmap.testing import grid_villages, tps_rows

    v = grid_villages(nx, ny, size_deg=0.02, district_every=every)
    d = v["kode"].str.slice(6, 8).astype(int)
    b = d > d.max() // 2
    v.loc[~b, "kecamatan"] = "Zona " + d[~b].astype(str).str.zfill(2)
    v.loc[b, "kecamatan"] = "Alfa " + d[b].astype(str).str.zfill(2)
    v.loc[~b, "kab_kota"] = "Kabupaten Awal"
    v.loc[b, "kab_kota"] = "Kabupaten Baru"
    v.loc[b, "kode"] = v.loc[b, "kode"].str.replace("53.71.", "53.72.", regex=False)
    v.to_file(tmp_path / "desa.geojson")
    tps_rows(v).to_csv(tmp_path / "tps.csv", index=False)
    paths = {"villages": str(tmp_path / "desa.geojson"), "tps": str(tmp_path / "tps.csv")}
    return pipeline.run(**paths, demo_data=False, config=config)


@pytest.fixture(scope="module")
def two_regencies(tmp_path_factory):
    return _two_regencies(tmp_path_factory.mktemp("two"))


@pytest.fixture(scope="module")
def province_like(tmp_path_factory):
    """1,200 villages in 60 kecamatan of two kab/kota: a page of it all is at province scale."""
    return _two_regencies(tmp_path_factory.mktemp("province"), nx=40, ny=30, every=20)


@pytest.fixture(scope="module")
def two_regencies_atlas(two_regencies, tmp_path_factory):
    path = tmp_path_factory.mktemp("atlas") / "atlas.pdf"
    print_maps(two_regencies, path, PrintOptions(stages=["voting"], atlas=True))
    pages = int(_pdfinfo(path)["Pages"])
    return path, [_text(path, p) for p in range(1, pages + 1)]


def _title(page: str) -> str:
    return next(line.strip() for line in page.splitlines() if line.strip().startswith(("Peta", "Ikhtisar", "Isi")))


def test_atlas_is_grouped_by_kab_kota_each_with_its_overview_page(two_regencies_atlas):
    """The province atlas had its kecamatan in alphabetical order across all kabupaten, and no kab/kota page."""
    _, texts = two_regencies_atlas
    titles = [_title(t) for t in texts[2:]]  # after the cover and one page more of contents
    awal = [f"Peta Kerawanan Tahap Pemungutan Suara - Kec. Zona {d:02d}" for d in range(1, 21)]
    baru = [f"Peta Kerawanan Tahap Pemungutan Suara - Kec. Alfa {d:02d}" for d in range(21, 41)]
    assert titles == [
        "Peta Kerawanan Tahap Pemungutan Suara - Nusa Tenggara Timur",
        "Ikhtisar Kerawanan Tahap Pemungutan Suara - Kabupaten Awal",
        *awal,
        "Ikhtisar Kerawanan Tahap Pemungutan Suara - Kabupaten Baru",
        *baru,
    ]
    overview = _one_line(texts[3])  # Kabupaten Awal: its kecamatan, their shares and the page of each
    for d in range(1, 21):
        assert re.search(rf"Kec\. Zona {d:02d} 2 \d+ ?% 2 \d+ ?% {4 + d}\b", overview), d
    assert "Alfa" not in overview and "Bagian kelurahan/desa rawan + sangat rawan" in overview


def test_contents_continue_on_the_next_page_and_list_every_kecamatan(two_regencies_atlas):
    """The contents ran off the cover after entry 27: 43 entries now take the cover and a second page."""
    path, texts = two_regencies_atlas
    assert "Isi (lanjutan)" in texts[1] and "Isi (lanjutan)" not in texts[0]
    contents = texts[0] + texts[1]
    listed = dict(re.findall(r"(Kec\. (?:Zona|Alfa) \d\d) +(\d+)\b", contents))
    assert len(listed) == 40  # every kecamatan, each once
    for name, page in listed.items():  # each entry's page is that kecamatan's map
        assert _title(texts[int(page) - 1]).endswith(f"- {name}"), (name, page)
    assert re.search(r"Kabupaten Awal +4\b", contents) and re.search(r"Kabupaten Baru +25\b", contents)
    assert len(texts) == 2 + 1 + 2 + 40
    bottom = 0.07 * float(_pdfinfo(path)["Page size"].split()[2])  # nothing below the contents' bottom margin
    for page in (1, 2):
        subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), str(path) + ".html"])
        with open(str(path) + ".html") as fh:
            html = fh.read()
        words = re.findall(r'yMax="([\d.]+)">(Kec\.|Kabupaten)<', html)
        height = float(_pdfinfo(path)["Page size"].split()[2])
        assert words and all(float(y) < height - bottom for y, _ in words), page


def _drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _label_boxes(fig):
    renderer = _drawn(fig)
    from riskmap import printing

    texts = [t for t in fig.axes[0].texts if t.get_gid() == printing.LABEL_GID]
    return texts, [t.get_bbox_patch().get_window_extent(renderer) for t in texts]


@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_stage_map_labels_never_overlap_and_fit_the_scale(demo, province_like, paper):
    """A3 stage maps of a province were an unreadable mass of overlapping village names."""
    from riskmap import printing

    for result, level in ((demo, "village"), (province_like, "district")):
        opts = PrintOptions(stages=["voting"], tables=False, paper=paper)
        fig = next(printing._pages(result, opts))
        texts, boxes = _label_boxes(fig)
        assert texts
        for i, a in enumerate(boxes):
            assert not any(a.overlaps(b) for b in boxes[i + 1 :]), texts[i].get_text()
        names = {t.get_text() for t in texts}
        if level == "village":
            assert names <= set(result.villages["village_name"]) and len(names) >= 10
        else:  # at province scale the names are of kecamatan, not of 1,200 villages
            kecamatan = {f"Kec. {d}" for d in result.villages["district"]}
            assert names <= kecamatan and len(names) >= 10, names
        printing.plt.close(fig)


def test_village_labels_fit_their_polygon(two_regencies, tmp_path):
    """On a kecamatan's page a village name is written only where its box lies inside the village."""
    import shapely

    from riskmap import printing

    opts = PrintOptions(stages=["voting"], tables=False, area="Zona 03")
    fig = next(printing._pages(two_regencies, opts))
    texts, boxes = _label_boxes(fig)
    ax = fig.axes[0]
    proj = printing._Projected.of(two_regencies)
    inv = ax.transData.inverted()
    assert {t.get_text() for t in texts} == {"Desa 4", "Desa 5"}
    for t, b in zip(texts, boxes, strict=True):
        (x0, y0), (x1, y1) = inv.transform([(b.x0, b.y0), (b.x1, b.y1)])
        village = proj.villages.geometry[two_regencies.villages["village_name"] == t.get_text()].iloc[0]
        assert village.contains(shapely.box(x0, y0, x1, y1)), t.get_text()
    printing.plt.close(fig)


def test_scale_bar_is_a_matplotlib_scalebar_in_utm_metres(demo):
    from matplotlib_scalebar.scalebar import ScaleBar
    from pyproj import CRS

    from riskmap import printing

    fig = next(printing._pages(demo, PrintOptions(stages=["voting"], tables=False)))
    bars = [a for a in fig.axes[0].artists if isinstance(a, ScaleBar)]
    assert len(bars) == 1 and bars[0].dx == 1.0 and bars[0].units == "m"
    crs = printing._Projected.of(demo).crs
    assert CRS(crs).utm_zone == "51S" and crs.axis_info[0].unit_name == "metre"
    printing.plt.close(fig)


def test_many_villages_print_aggregated_by_kab_kota(tmp_path):
    """Above [display] aggregate_above_villages a stage map shows kab/kota shaded by their share, not villages."""
    from riskmap.config import load_config

    cfg = tmp_path / "small.toml"
    cfg.write_text("[display]\naggregate_above_villages = 50\n")
    result = _two_regencies(tmp_path, config=load_config(cfg))
    from riskmap import printing

    fig = next(printing._pages(result, PrintOptions(stages=["voting"], tables=False)))
    map_ax = fig.axes[0]
    fills = [a for a in map_ax.patches if isinstance(a, printing.PathPatch) and a.get_zorder() == 3]
    rings = sum(int((p.get_path().codes == printing.MplPath.MOVETO).sum()) for p in fills)
    assert rings == 2  # two kab/kota outlines, not 80 villages
    path = tmp_path / "agg.pdf"
    print_maps(result, path, PrintOptions(stages=["voting"], tables=False))
    page = _one_line(_text(path, 1))
    assert "Bagian kelurahan/desa rawan + sangat rawan" in page
    printing.plt.close(fig)


def test_deployment_pdf_prints_the_plan_it_is_given(demo, tmp_path):
    """Issue 12, build 4: the deployment PDF printed its own staffing (as the patterns need) and posts over all
    TPS, not the plan on the screen (100 police available, one kecamatan)."""
    from riskmap import deploy
    from riskmap.view import ViewFilter

    district = sorted(set(demo.villages["district"]))[0]
    flt = ViewFilter(districts=(district,))
    plan = deploy.plan(demo, "voting", filters=flt, available_police=20, placement=deploy.PlacementRequest(3, 1500.0))
    path = tmp_path / "penempatan.pdf"
    print_maps(demo, path, PrintOptions(stages=["voting"], tables=True, filters=flt, deployment=plan))
    text = "\n".join(_text(path, p) for p in range(2, int(_pdfinfo(path)["Pages"]) + 1))
    rows = [line for line in text.splitlines() if re.search(r"\b53\d{11}\b", line)]
    shown = {re.search(r"\b(53\d{11})\b", line)[1]: int(re.search(r"(\d+) ?/ ?(\d+)\s*$", line)[1]) for line in rows}
    assigned = plan.staffing.set_index("tps_id")["police"]
    assert rows and shown == {t: int(assigned[t]) for t in shown}
    assert sum(shown.values()) <= 20 < int(plan.staffing["police_required"].sum())  # the shortage is printed
    assert "Pos usulan (3), radius 1.5 km" in _text(path, 1)
