"""One translation table for everything users read: Indonesian first, English on request.

``t(key, lang, **params)`` returns the text for ``key`` in ``lang`` (``"id"``
or ``"en"``) with ``{params}`` filled in. Stage, incident-type and indicator
names live in the configuration (they are data); everything else is here.
"""

from __future__ import annotations

from typing import Any

LANGS = ("id", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # -- general ------------------------------------------------------------
    "row": {"id": "baris", "en": "row"},
    "layer_villages": {"id": "Batas kelurahan/desa", "en": "Village boundaries"},
    "layer_tps": {"id": "TPS", "en": "Polling stations (TPS)"},
    "layer_incidents": {"id": "Insiden", "en": "Incidents"},
    "layer_posts": {"id": "Pos polisi", "en": "Police posts"},
    "layer_candidate_sites": {"id": "Calon lokasi pos", "en": "Candidate post sites"},
    "layer_campaign_posts": {"id": "Posko kampanye", "en": "Campaign posts"},
    "layer_venues": {"id": "Tempat rekapitulasi", "en": "Recap venues"},
    "report_summary": {
        "id": "{layer} ({source}): {read} baris dibaca, {used} dipakai, {rejected} ditolak.",
        "en": "{layer} ({source}): {read} rows read, {used} used, {rejected} rejected.",
    },
    "report_schema": {
        "id": "Format dikenali: {schema}.",
        "en": "Format recognised: {schema}.",
    },
    "report_warnings": {
        "id": "{n} baris dipakai dengan catatan ({where}).",
        "en": "{n} rows used with a warning ({where}).",
    },
    # -- categories and factors ----------------------------------------------
    "kurang_rawan": {"id": "Kurang rawan", "en": "Low risk"},
    "rawan": {"id": "Rawan", "en": "Vulnerable"},
    "sangat_rawan": {"id": "Sangat rawan", "en": "Highly vulnerable"},
    "factor_incidents": {"id": "Insiden di kelurahan", "en": "Incidents in the village"},
    "factor_spillover": {"id": "Insiden di kelurahan sekitar", "en": "Incidents in neighbouring villages"},
    "factor_indicators": {"id": "Indikator TPS rawan Bawaslu", "en": "Bawaslu TPS-rawan indicators"},
    "factor_exposure": {"id": "Jumlah pemilih", "en": "Number of voters"},
    "factor_nearby_incidents": {"id": "Insiden di sekitar TPS", "en": "Incidents near the TPS"},
    "factor_village": {"id": "Kerawanan kelurahan", "en": "Village context"},
    # method (issue 10): factors of the fitted scoring method
    "factor_near_repeat": {"id": "Insiden baru-baru ini di dekatnya", "en": "Recent incidents nearby"},
    "factor_background": {"id": "Risiko dasar wilayah", "en": "Background risk of the area"},
    # -- command line ----------------------------------------------------------
    "cli_error": {"id": "Kesalahan: {message}", "en": "Error: {message}"},
    "cli_internal_error": {
        "id": "Terjadi kesalahan internal ({name}: {exc}). Jalankan lagi dengan --debug dan laporkan.",
        "en": "Internal error ({name}: {exc}). Run again with --debug and report it.",
    },
    # -- errors (file level) ---------------------------------------------------
    # -- hostile input: file names, content, limits (gdal: io/_read.py, io/_safety.py) --------------
    "file_name_invalid": {
        "id": "nama file tidak dapat dipakai ({reason}: terlalu panjang, berisi karakter NUL, atau ditolak sistem).",
        "en": "the file name cannot be used ({reason}: too long, holds a NUL character, or refused by the system).",
    },
    "file_name_invalid_fix": {
        "id": "Ganti nama file dengan nama pendek (huruf, angka, garis bawah), lalu unggah lagi.",
        "en": "Rename the file to a short name (letters, digits, underscores) and upload it again.",
    },
    "name_forbidden": {
        "id": "nama '{name}' berisi '{part}' (alamat internet atau jalur khusus GDAL); riskmap hanya membuka file lokal.",
        "en": "the name '{name}' holds '{part}' (an internet address or a special GDAL path); riskmap opens only local files.",
    },
    "name_forbidden_fix": {
        "id": "Unduh datanya dulu, simpan sebagai file biasa, lalu pilih file itu.",
        "en": "Download the data first, save it as an ordinary file, then choose that file.",
    },
    "zip_member_unsafe": {
        "id": "ZIP berisi nama file yang tidak aman ('{name}': jalur absolut, '..', garis miring terbalik atau NUL).",
        "en": "the ZIP holds an unsafe file name ('{name}': an absolute path, '..', a backslash or NUL).",
    },
    "zip_member_unsafe_fix": {
        "id": "Buat ulang ZIP dari folder berisi file peta saja.",
        "en": "Create the ZIP again from a folder holding only the map files.",
    },
    "content_redirect": {
        "id": "isi file bukan {format}: file ini adalah dokumen {kind} GDAL yang dapat membaca file lain; riskmap tidak membukanya.",
        "en": "the content is not {format}: this file is a GDAL {kind} document that can read other files; riskmap does not open it.",
    },
    "content_redirect_fix": {
        "id": "Ekspor ulang layer-nya sebagai {format} asli (misalnya di QGIS: Export > Save Features As).",
        "en": "Export the layer again as a real {format} file (e.g. in QGIS: Export > Save Features As).",
    },
    "content_not_format": {
        "id": "isi file bukan {format} (awal file tidak cocok dengan format yang disebut nama file).",
        "en": "the content is not {format} (the start of the file does not match the format its name gives).",
    },
    "content_not_format_fix": {
        "id": "Periksa ekstensi nama file, atau ekspor ulang layer-nya sebagai {format}.",
        "en": "Check the file name's extension, or export the layer again as {format}.",
    },
    "content_driver": {
        "id": "isi file bukan {format}: GDAL membacanya sebagai '{driver}'; riskmap tidak membukanya.",
        "en": "the content is not {format}: GDAL reads it as '{driver}'; riskmap does not open it.",
    },
    "content_driver_fix": {
        "id": "Ekspor ulang layer-nya sebagai {format}.",
        "en": "Export the layer again as {format}.",
    },
    # -- r1 (file reading, issue 9 red team) --
    "crs_external": {
        "id": "sistem koordinat file menunjuk ke alamat internet atau file lain (link, URL, grid); riskmap tidak mengambilnya.",
        "en": "the file's coordinate system points to an internet address or another file (link, URL, grid); riskmap does not fetch it.",
    },
    "crs_external_fix": {
        "id": "Di QGIS, tetapkan CRS layer-nya (misalnya EPSG:4326) lalu ekspor ulang (Export > Save Features As).",
        "en": "In QGIS, set the layer's CRS (e.g. EPSG:4326) and export it again (Export > Save Features As).",
    },
    "limit_workbook_seconds": {"id": "waktu membaca workbook (detik)", "en": "time to read the workbook (seconds)"},
    "limit_parquet_mb": {"id": "ukuran data Parquet tanpa kompresi (MiB)", "en": "uncompressed Parquet data (MiB)"},
    "limit_columns": {"id": "jumlah kolom", "en": "columns"},
    "workbook_memory": {
        "id": "workbook ini membutuhkan lebih banyak memori daripada batas max_workbook_mb ({limit} MiB) untuk dibaca (misalnya sel yang sangat jauh seperti XFD1048576, atau teks sangat panjang yang diulang); file tidak dibaca.",
        "en": "this workbook needs more memory to read than the limit max_workbook_mb ({limit} MiB) allows (e.g. a cell very far out such as XFD1048576, or a very long text repeated); the file is not read.",
    },
    "workbook_memory_fix": {
        "id": "Buka di Excel, hapus baris dan kolom kosong di luar tabel, lalu simpan sebagai CSV UTF-8 (File > Save As > CSV UTF-8).",
        "en": "Open it in Excel, delete the empty rows and columns outside the table, then save it as CSV UTF-8 (File > Save As > CSV UTF-8).",
    },
    "excel_not_workbook": {
        "id": "isi file bukan workbook Excel/LibreOffice, walaupun namanya berakhiran {suffix}.",
        "en": "the content is not an Excel/LibreOffice workbook, although its name ends in {suffix}.",
    },
    "excel_not_workbook_fix": {
        "id": "Buka file aslinya di Excel lalu simpan sebagai .xlsx atau CSV UTF-8.",
        "en": "Open the original file in Excel and save it as .xlsx or CSV UTF-8.",
    },
    "detail_damaged": {"id": "struktur file rusak", "en": "the file's structure is damaged"},
    "village_too_many_vertices": {
        "id": "poligon ini punya {n} titik sudut, lebih dari batas max_vertices ({most}); kelurahan/desa asli punya paling banyak beberapa ribu. Sederhanakan di QGIS (Vector > Geometry Tools > Simplify) lalu ekspor ulang.",
        "en": "this polygon has {n} vertices, more than the limit max_vertices ({most}); real villages have a few thousand at most. Simplify it in QGIS (Vector > Geometry Tools > Simplify) and export again.",
    },
    "reason_village_too_many_vertices": {"id": "Terlalu banyak titik sudut", "en": "Too many vertices"},
    "csv_utf16_no_bom": {
        "id": "file ini berkode UTF-16 tanpa penanda BOM, sehingga hurufnya tidak dapat dibaca dengan pasti.",
        "en": "this file is encoded as UTF-16 without a byte-order mark (BOM), so its letters cannot be read reliably.",
    },
    "csv_utf16_no_bom_fix": {
        "id": "Buka di Excel lalu simpan sebagai CSV UTF-8 (File > Save As > CSV UTF-8).",
        "en": "Open it in Excel and save it as CSV UTF-8 (File > Save As > CSV UTF-8).",
    },
    "csv_binary": {
        "id": "file ini bukan file teks/CSV (isinya data biner), walaupun namanya berakhiran {suffix}.",
        "en": "this file is not a text/CSV file (its content is binary data), although its name ends in {suffix}.",
    },
    "csv_binary_fix": {
        "id": "Pilih file CSV yang benar, atau buka file aslinya di Excel lalu simpan sebagai CSV UTF-8.",
        "en": "Choose the right CSV file, or open the original in Excel and save it as CSV UTF-8.",
    },
    "csv_binary_kind": {
        "id": "file ini bukan file teks/CSV: isinya file {kind}, walaupun namanya berakhiran {suffix}.",
        "en": "this file is not a text/CSV file: its content is a {kind} file, although its name ends in {suffix}.",
    },
    "csv_binary_kind_fix": {
        "id": "Pilih file CSV yang benar, atau buka file aslinya di Excel lalu simpan sebagai CSV UTF-8.",
        "en": "Choose the right CSV file, or open the original in Excel and save it as CSV UTF-8.",
    },
    "zip_duplicate_member": {
        "id": "ZIP berisi nama file yang sama dua kali ('{name}'); tidak jelas mana yang harus dibaca.",
        "en": "the ZIP holds the same file name twice ('{name}'); it is unclear which one to read.",
    },
    "zip_duplicate_member_fix": {
        "id": "Buat ulang ZIP-nya dari folder aslinya (setiap file sekali saja).",
        "en": "Make the ZIP again from the original folder (each file once).",
    },
    "prj_unreadable": {
        "id": "shapefile punya file .prj, tetapi isinya tidak dapat dibaca sebagai sistem koordinat, dan koordinatnya ({example}) bukan bujur/lintang Indonesia.",
        "en": "the shapefile has a .prj file, but its content cannot be read as a coordinate system, and its coordinates ({example}) are not Indonesian longitude/latitude.",
    },
    "prj_unreadable_fix": {
        "id": 'Di QGIS, tetapkan CRS layer-nya lalu ekspor ulang shapefile-nya, atau sebutkan CRS-nya (crs = "EPSG:32751" di pemetaan kolom).',
        "en": 'In QGIS, set the layer\'s CRS and export the shapefile again, or state its CRS (crs = "EPSG:32751" in the column mapping).',
    },
    "prj_unreadable_assumed": {
        "id": "file .prj shapefile tidak dapat dibaca sebagai sistem koordinat; koordinatnya cocok dengan bujur/lintang sehingga dianggap EPSG:4326.",
        "en": "the shapefile's .prj file cannot be read as a coordinate system; its coordinates fit longitude/latitude, so EPSG:4326 was assumed.",
    },
    "gpkg_computed": {
        "id": "GeoPackage berisi tabel '{layer}' dengan kolom terhitung '{column}' (generated column) yang menjalankan SQL saat dibaca; riskmap tidak membukanya.",
        "en": "the GeoPackage holds a table '{layer}' with a computed column '{column}' (generated column) that runs SQL when read; riskmap does not open it.",
    },
    "gpkg_computed_fix": {
        "id": "Di QGIS, simpan layer itu sebagai layer biasa (Export > Save Features As... GeoPackage).",
        "en": "In QGIS, save that layer as an ordinary layer (Export > Save Features As... GeoPackage).",
    },
    "gpkg_view": {
        "id": "GeoPackage berisi layer '{layer}' yang berupa tampilan SQL (view) atau tabel virtual; riskmap tidak menjalankannya.",
        "en": "the GeoPackage holds a layer '{layer}' that is an SQL view or a virtual table; riskmap does not run it.",
    },
    "gpkg_view_fix": {
        "id": "Di QGIS, simpan layer itu sebagai layer biasa (Export > Save Features As... GeoPackage).",
        "en": "In QGIS, save that layer as an ordinary layer (Export > Save Features As... GeoPackage).",
    },
    "limit_exceeded": {
        "id": "file melebihi batas {setting}: {what} {value}, padahal batasnya {limit}; file tidak dibaca.",
        "en": "the file exceeds the limit {setting}: {what} {value}, the limit is {limit}; the file is not read.",
    },
    "limit_file_mb": {"id": "ukuran file (MiB)", "en": "file size (MiB)"},
    "limit_zip_expanded_mb": {"id": "ukuran isi ZIP setelah dibuka (MiB)", "en": "expanded ZIP size (MiB)"},
    "limit_zip_ratio": {"id": "rasio kompresi satu file di ZIP", "en": "compression ratio of one ZIP member"},
    "limit_zip_members": {"id": "jumlah file di ZIP", "en": "files in the ZIP"},
    "limit_features": {"id": "jumlah fitur", "en": "features"},
    "limit_table_rows": {"id": "jumlah baris", "en": "rows"},
    "limit_exceeded_fix": {
        "id": "Periksa apakah file-nya benar. Bila benar, naikkan batasnya di file konfigurasi, misalnya my.toml berisi [limits] {setting} = ..., lalu jalankan riskmap ... --config my.toml.",
        "en": "Check that it is the right file. If it is, raise the limit in a configuration file, e.g. my.toml holding [limits] {setting} = ..., then run riskmap ... --config my.toml.",
    },
    "crs_local": {
        "id": "sistem koordinat file ('{crs}') adalah sistem lokal/teknik yang tidak dapat ditempatkan di peta.",
        "en": "the file's coordinate system ('{crs}') is a local/engineering system that cannot be placed on the map.",
    },
    "crs_local_fix": {
        "id": "Ekspor ulang dalam CRS geografis (EPSG:4326) atau UTM (misalnya EPSG:32751).",
        "en": "Export it again in a geographic CRS (EPSG:4326) or a UTM CRS (e.g. EPSG:32751).",
    },
    "truncated_row": {
        "id": "baris ini terpotong: hanya {n} dari {m} kolom; baris tidak dipakai.",
        "en": "this row is cut short: only {n} of {m} columns; the row is not used.",
    },
    "misaligned_row": {
        "id": "baris ini berisi {n} kolom, padahal judulnya {m} kolom (kolom bergeser); baris tidak dipakai.",
        "en": "this row holds {n} columns but the header has {m} (columns shifted); the row is not used.",
    },
    "bad_character": {
        "id": "ada karakter yang tidak terbaca di kolom '{column}' (ditampilkan sebagai �); periksa ejaannya.",
        "en": "a character could not be read in column '{column}' (shown as �); check the spelling.",
    },
    "file_not_found": {"id": "file tidak ditemukan.", "en": "file not found."},
    "file_not_found_fix": {
        "id": "Periksa nama dan folder file.",
        "en": "Check the file name and folder.",
    },
    "unknown_format": {
        "id": "format file '{suffix}' tidak dikenali.",
        "en": "file format '{suffix}' is not supported.",
    },
    "unknown_format_fix": {
        "id": "Gunakan CSV, XLSX, Shapefile (boleh di-zip), GeoJSON, GeoPackage, FlatGeobuf atau GeoParquet.",
        "en": "Use CSV, XLSX, Shapefile (zipped is fine), GeoJSON, GeoPackage, FlatGeobuf or GeoParquet.",
    },
    "empty_file": {"id": "file kosong.", "en": "the file is empty."},
    "empty_file_fix": {
        "id": "Simpan ulang file beserta isinya.",
        "en": "Save the file again with its content.",
    },
    "csv_unreadable": {
        "id": "file CSV tidak dapat dibaca ({detail}).",
        "en": "the CSV file cannot be read ({detail}).",
    },
    "csv_unreadable_fix": {
        "id": "Buka di Excel lalu simpan ulang sebagai CSV (UTF-8).",
        "en": "Open it in Excel and save again as CSV (UTF-8).",
    },
    "excel_unreadable": {
        "id": "file Excel tidak dapat dibaca ({detail}).",
        "en": "the Excel file cannot be read ({detail}).",
    },
    "excel_unreadable_fix": {
        "id": "Simpan ulang sebagai .xlsx, atau sebagai CSV.",
        "en": "Save it again as .xlsx, or as CSV.",
    },
    "zip_unreadable": {"id": "file ZIP rusak atau bukan ZIP.", "en": "the ZIP file is damaged or not a ZIP."},
    "zip_unreadable_fix": {"id": "Buat ulang file ZIP-nya.", "en": "Create the ZIP file again."},
    "zip_no_layer": {
        "id": "di dalam ZIP tidak ada shapefile atau file peta lain (isi: {names}).",
        "en": "the ZIP holds no shapefile or other map file (contents: {names}).",
    },
    "zip_no_layer_fix": {
        "id": "ZIP harus berisi .shp bersama .shx, .dbf dan .prj.",
        "en": "The ZIP must hold the .shp with its .shx, .dbf and .prj.",
    },
    "zip_many_layers": {
        "id": "ZIP berisi beberapa layer ({names}).",
        "en": "the ZIP holds several layers ({names}).",
    },
    "zip_many_layers_fix": {
        "id": "Sebutkan layer yang dipakai (opsi layer di pemetaan kolom) atau buat ZIP dengan satu layer.",
        "en": "Name the layer to use (layer option of the column mapping) or make a ZIP with one layer.",
    },
    "gpkg_many_layers": {
        "id": "berkas (GeoPackage atau File Geodatabase) berisi beberapa layer ({names}).",
        "en": "the file (GeoPackage or File Geodatabase) holds several layers ({names}).",
    },
    "gpkg_many_layers_fix": {
        "id": 'Sebutkan layer yang dipakai (layer = "..." di pemetaan kolom).',
        "en": 'Name the layer to use (layer = "..." in the column mapping).',
    },
    "vector_unreadable": {
        "id": "file peta tidak dapat dibaca ({detail}).",
        "en": "the map file cannot be read ({detail}).",
    },
    "vector_unreadable_fix": {
        "id": "Buka di QGIS untuk memeriksa, lalu ekspor ulang (misalnya ke GeoPackage).",
        "en": "Open it in QGIS to check, then export it again (for example to GeoPackage).",
    },
    "vector_no_geometry": {"id": "file tidak berisi geometri.", "en": "the file has no geometry."},
    "vector_no_geometry_fix": {
        "id": "Gunakan file peta dengan poligon atau titik.",
        "en": "Use a map file with polygons or points.",
    },
    "no_crs": {
        "id": "file tidak menyebut sistem koordinat (CRS) dan koordinatnya ({example}) bukan bujur/lintang Indonesia.",
        "en": "the file declares no coordinate system (CRS) and its coordinates ({example}) are not Indonesian longitude/latitude.",
    },
    "no_crs_fix": {
        "id": 'Sertakan file .prj bersama shapefile, atau sebutkan CRS-nya (crs = "EPSG:32751" di pemetaan kolom).',
        "en": 'Include the .prj file with the shapefile, or state its CRS (crs = "EPSG:32751" in the column mapping).',
    },
    "unknown_crs": {
        "id": "sistem koordinat '{crs}' di pemetaan kolom tidak dikenal.",
        "en": "the coordinate system '{crs}' in the column mapping is unknown.",
    },
    "unknown_crs_fix": {
        "id": 'Tulis kode EPSG, misalnya crs = "EPSG:32751" (WGS 84 / UTM 51S) atau "EPSG:23891" (DGN95 / UTM 51S).',
        "en": 'Write an EPSG code, e.g. crs = "EPSG:32751" (WGS 84 / UTM 51S) or "EPSG:23891" (DGN95 / UTM 51S).',
    },
    "config_syntax": {
        "id": "file konfigurasi salah tulis: {detail}.",
        "en": "the configuration file has a syntax error: {detail}.",
    },
    "config_syntax_fix": {
        "id": "Perbaiki baris yang disebut (format TOML).",
        "en": "Fix the line named (TOML format).",
    },
    "config_unknown_stage": {
        "id": "{key} menyebut tahap '{stage}' yang tidak ada.",
        "en": "{key} names a stage '{stage}' that does not exist.",
    },
    "config_unknown_stage_fix": {
        "id": "Tahap yang ada: campaign, voting, counting, recap.",
        "en": "The stages are: campaign, voting, counting, recap.",
    },
    "config_thresholds": {
        "id": "ambang kategori tidak masuk akal (rawan {rawan}, sangat rawan {sangat_rawan}).",
        "en": "category thresholds do not make sense (rawan {rawan}, sangat rawan {sangat_rawan}).",
    },
    "config_thresholds_fix": {
        "id": "Harus 0 <= rawan <= sangat_rawan <= 100.",
        "en": "They must satisfy 0 <= rawan <= sangat_rawan <= 100.",
    },
    "config_weights": {"id": "bobot {key} kosong atau negatif.", "en": "weights {key} are missing or negative."},
    "config_weights_fix": {"id": "Beri bobot 0 atau lebih.", "en": "Give weights of 0 or more."},
    "mapped_column_missing": {
        "id": "kolom '{column}' dari pemetaan kolom tidak ada di file. Kolom yang ada: {columns}.",
        "en": "column '{column}' named in the column map is not in the file. Columns found: {columns}.",
    },
    "mapped_column_missing_fix": {
        "id": "Tulis nama kolom persis seperti di baris judul file.",
        "en": "Write the column name exactly as in the file's header row.",
    },
    "column_map_syntax": {
        "id": "pemetaan kolom '{pair}' tidak dimengerti.",
        "en": "column mapping '{pair}' is not understood.",
    },
    "column_map_syntax_fix": {
        "id": "Tulis sebagai layer.field=kolom, misalnya tps.lat=Lintang.",
        "en": "Write it as layer.field=column, for example tps.lat=Lintang.",
    },
    "villages_unrecognised": {
        "id": "kolom kode dan nama kelurahan/desa tidak dikenali. Kolom yang ada: {columns}.",
        "en": "the village code and name columns were not recognised. Columns found: {columns}.",
    },
    "villages_unrecognised_fix": {
        "id": "Beri pemetaan kolom, misalnya --columns villages.village_code=KODE,villages.village_name=NAMA.",
        "en": "Give a column mapping, for example --columns villages.village_code=KODE,villages.village_name=NAMA.",
    },
    "villages_need_polygons": {
        "id": "batas kelurahan/desa harus berupa poligon, bukan tabel.",
        "en": "village boundaries must be polygons, not a table.",
    },
    "villages_need_polygons_fix": {
        "id": "Gunakan shapefile (boleh di-zip), GeoJSON atau GeoPackage batas desa, misalnya dari BIG.",
        "en": "Use a village boundary shapefile (zipped is fine), GeoJSON or GeoPackage, for example BIG's.",
    },
    "no_coordinate_columns": {
        "id": "tidak ada kolom koordinat (lintang/bujur). Kolom yang ada: {columns}.",
        "en": "no coordinate columns (latitude/longitude). Columns found: {columns}.",
    },
    "no_coordinate_columns_fix": {
        "id": "Beri nama kolom lat dan lon, atau pemetaan kolom (tps.lat=..., tps.lon=...).",
        "en": "Name the columns lat and lon, or give a column mapping (tps.lat=..., tps.lon=...).",
    },
    "incidents_missing_column": {
        "id": "kolom wajib '{field}' tidak ditemukan. Kolom yang ada: {columns}.",
        "en": "required column '{field}' not found. Columns found: {columns}.",
    },
    "incidents_missing_column_fix": {
        "id": "Tambahkan kolom itu (date/tanggal, type/jenis) atau beri pemetaan kolom.",
        "en": "Add that column (date/tanggal, type/jenis) or give a column mapping.",
    },
    "bad_as_of": {
        "id": "tanggal --as-of '{value}' tidak dapat dibaca.",
        "en": "the --as-of date '{value}' cannot be read.",
    },
    "bad_as_of_fix": {"id": "Tulis sebagai 2024-11-01.", "en": "Write it as 2024-11-01."},
    "no_villages_left": {
        "id": "tidak ada satu pun kelurahan/desa yang dapat dipakai (alasan: {reasons}).",
        "en": "not a single village could be used (reasons: {reasons_en}).",
    },
    "no_villages_left_fix": {
        "id": "Perbaiki file batas sesuai alasan itu (misalnya ekspor ulang dari QGIS dengan CRS yang benar), lalu coba lagi.",
        "en": "Fix the boundary file for those reasons (for example export it again from QGIS with the right CRS), then retry.",
    },
    "output_not_writable": {
        "id": "tidak dapat menulis ke {path} ({detail}).",
        "en": "cannot write to {path} ({detail}).",
    },
    "output_not_writable_fix": {
        "id": "Pilih folder lain yang dapat ditulisi.",
        "en": "Choose another folder you can write to.",
    },
    # -- rejected rows --------------------------------------------------------------
    "missing_geometry": {"id": "baris ini tidak punya poligon.", "en": "this row has no polygon."},
    "not_polygon": {"id": "geometri bukan poligon.", "en": "the geometry is not a polygon."},
    "missing_id": {
        "id": "kode kelurahan/desa kosong (kolom {column}).",
        "en": "the village code is empty (column {column}).",
    },
    "invalid_geometry": {
        "id": "poligon rusak dan tidak dapat diperbaiki.",
        "en": "the polygon is broken and cannot be repaired.",
    },
    "duplicate_id": {
        "id": "kode '{id}' sudah dipakai di baris {first_row}; baris ini dilewati.",
        "en": "id '{id}' already used on row {first_row}; this row is skipped.",
    },
    "missing_coordinates": {
        "id": "koordinat kosong. Isi lintang dan bujur.",
        "en": "coordinates are empty. Fill in latitude and longitude.",
    },
    "unparseable_coordinates": {
        "id": (
            "koordinat tidak terbaca (lintang '{lat}', bujur '{lon}'). Tulis sebagai angka desimal, misalnya "
            "-10.1725, atau tempel tautan peta yang lengkap (tautan pendek maps.app.goo.gl tidak memuat koordinat)."
        ),
        "en": (
            "coordinates cannot be read (lat '{lat}', lon '{lon}'). Write them as decimal numbers, e.g. -10.1725, "
            "or paste the full map link (a short maps.app.goo.gl link holds no coordinates)."
        ),
    },
    "swapped_coordinates": {
        "id": "lintang dan bujur tampaknya tertukar (lintang '{lat}', bujur '{lon}'); seharusnya mungkin {suggestion}. Tukar kedua kolom.",
        "en": "latitude and longitude look swapped (lat '{lat}', lon '{lon}'); probably {suggestion}. Swap the two columns.",
    },
    "lost_decimal_point": {
        "id": "koordinat tampaknya kehilangan titik desimal (lintang '{lat}', bujur '{lon}'); mungkin maksudnya {suggestion}. Periksa dan perbaiki.",
        "en": "the coordinates look like they lost a decimal point (lat '{lat}', lon '{lon}'); perhaps {suggestion} was meant. Check and fix.",
    },
    "outside_study_area": {
        "id": "titik ({lat}, {lon}) berada di luar wilayah kajian ({area}). Periksa koordinatnya.",
        "en": "the point ({lat}, {lon}) lies outside the study area ({area}). Check its coordinates.",
    },
    "no_village": {
        "id": "titik ({lat}, {lon}) tidak berada di kelurahan/desa mana pun (laut atau celah antar-batas).",
        "en": "the point ({lat}, {lon}) lies in no village (sea or a gap between boundaries).",
    },
    "unknown_type": {
        "id": "jenis insiden '{value}' tidak dikenal. Jenis yang dikenal: {known}.",
        "en": "incident type '{value}' is unknown. Known types: {known}.",
    },
    "unmapped_acled_type": {
        "id": "jenis kejadian ACLED '{value}' tidak dipetakan ke jenis insiden riskmap. Tambahkan di [acled.types] konfigurasi bila relevan.",
        "en": "ACLED event type '{value}' maps to no riskmap incident type. Add it to [acled.types] in the configuration if relevant.",
    },
    "missing_date": {"id": "tanggal kosong.", "en": "the date is empty."},
    "unparseable_date": {
        "id": "tanggal '{value}' tidak terbaca. Tulis seperti 27/11/2024, 27 November 2024 atau 2024-11-27.",
        "en": "date '{value}' cannot be read. Write it like 27/11/2024, 27 November 2024 or 2024-11-27.",
    },
    "after_as_of": {
        "id": "tanggal {date} setelah tanggal acuan {as_of}; tidak dihitung.",
        "en": "dated {date}, after the as-of date {as_of}; not counted.",
    },
    # -- warnings (row still used) ----------------------------------------------------
    "crs_assumed": {
        "id": "file tidak menyebut CRS; koordinatnya cocok dengan bujur/lintang sehingga dianggap EPSG:4326.",
        "en": "the file declares no CRS; its coordinates fit longitude/latitude, so EPSG:4326 was assumed.",
    },
    "voters_from_parts": {
        "id": "jumlah pemilih (DPT) per TPS dihitung sebagai {columns}.",
        "en": "voters (DPT) per TPS are taken as {columns}.",
    },
    "no_district_column": {
        "id": (
            "tidak ada kolom kecamatan dan kode kelurahan bukan kode Kemendagri: insiden yang lokasinya hanya "
            "setingkat wilayah disebar ke semua kelurahan di berkas. Tambahkan kolom kecamatan agar lebih tepat."
        ),
        "en": (
            "no kecamatan column and the village codes are not Kemendagri codes: region-level incidents are "
            "spread over every village in the file. Add a kecamatan column to narrow them down."
        ),
    },
    "coordinates_utm_guessed": {
        "id": (
            "{n} baris berkoordinat dalam meter (UTM GPS); dianggap {crs}, zona UTM wilayah kajian, dan diubah ke "
            'bujur/lintang. Jika salah, sebutkan sistem koordinatnya di pemetaan kolom (crs = "EPSG:...").'
        ),
        "en": (
            "{n} rows have coordinates in metres (GPS UTM); taken as {crs}, the study area's UTM zone, and converted "
            'to longitude/latitude. If that is wrong, name the coordinate system in the column mapping (crs = "EPSG:...").'
        ),
    },
    "coordinates_declared_crs": {
        "id": "koordinat {n} baris diubah dari {crs} (pemetaan kolom) ke bujur/lintang.",
        "en": "the coordinates of {n} rows were converted from {crs} (column mapping) to longitude/latitude.",
    },
    "ids_shortened": {
        "id": (
            "kolom '{column}' berisi {n} kode yang sudah dipendekkan Excel (misalnya {example}); angka aslinya hilang, "
            "jadi ID TPS dibuat dari kelurahan dan nomor TPS. Format kolom itu sebagai Teks di Excel sebelum menyimpan CSV."
        ),
        "en": (
            "column '{column}' holds {n} codes Excel has shortened (e.g. {example}); the digits are lost, so TPS ids "
            "were built from the village and TPS number. Format that column as Text in Excel before saving the CSV."
        ),
    },
    "sheets_stacked": {
        "id": "{n} lembar kerja dengan kolom yang sama dibaca sebagai satu tabel ({names}); baris dilaporkan per lembar.",
        "en": "{n} worksheets with the same columns were read as one table ({names}); rows are reported per sheet.",
    },
    "sheet_skipped": {
        "id": (
            "lembar '{sheet}' ({rows} baris) tidak dibaca: kolomnya ({columns}) berbeda dari lembar '{first}'. "
            "Jika lembar itu berisi data TPS, samakan judul kolomnya dengan lembar '{first}'."
        ),
        "en": (
            "sheet '{sheet}' ({rows} rows) was not read: its columns ({columns}) differ from sheet '{first}'. "
            "If it holds TPS data, give it the same column headers as sheet '{first}'."
        ),
    },
    "layer_chosen": {
        "id": "berkas berisi beberapa layer ({names}); dipakai layer '{layer}'.",
        "en": "the file holds several layers ({names}); the layer '{layer}' was used.",
    },
    "crs_reprojected": {
        "id": "diproyeksikan ulang dari {crs} ke EPSG:4326.",
        "en": "reprojected from {crs} to EPSG:4326.",
    },
    "repaired_geometry": {"id": "poligon tidak valid, sudah diperbaiki.", "en": "invalid polygon, repaired."},
    "merged_parts": {
        "id": "kode '{id}' juga ada di baris {first_row}; bagian poligonnya digabung.",
        "en": "code '{id}' also on row {first_row}; the polygon parts were merged.",
    },
    "missing_name": {
        "id": "nama kosong; kode dipakai sebagai nama.",
        "en": "the name is empty; the code is used as name.",
    },
    "unparseable_voters": {
        "id": "jumlah pemilih '{value}' tidak terbaca; dipakai nilai bawaan.",
        "en": "voter count '{value}' cannot be read; the default is used.",
    },
    "voters_over_limit": {
        "id": "jumlah pemilih {value} melebihi batas {limit} per TPS; periksa.",
        "en": "voter count {value} exceeds the limit of {limit} per TPS; check it.",
    },
    "no_voter_column": {
        "id": "tidak ada kolom jumlah pemilih (DPT); dipakai nilai bawaan per TPS.",
        "en": "no voter count (DPT) column; a default per TPS is used.",
    },
    "unparseable_flag": {
        "id": "nilai '{value}' di kolom {column} bukan ya/tidak; dianggap tidak.",
        "en": "value '{value}' in column {column} is not yes/no; taken as no.",
    },
    "severity_assumed": {
        "id": "tidak ada kolom tingkat keparahan; semua insiden dianggap tingkat {severity} (1 ringan, 2 sedang, 3 berat).",
        "en": "no severity column; all incidents taken as severity {severity} (1 minor, 2 moderate, 3 serious).",
    },
    "unparseable_severity": {
        "id": "tingkat keparahan '{value}' tidak dikenal; dianggap tingkat {severity} (1 ringan, 2 sedang, 3 berat).",
        "en": "severity '{value}' is not known; taken as severity {severity} (1 minor, 2 moderate, 3 serious).",
    },
    "precision_assumed": {
        "id": "tidak ada kolom presisi lokasi; semua insiden dianggap tepat lokasinya.",
        "en": "no location precision column; all incidents taken as exactly located.",
    },
    "unparseable_precision": {
        "id": "presisi lokasi '{value}' tidak dikenal; dianggap tepat (exact).",
        "en": "location precision '{value}' is not known; taken as exact.",
    },
    "village_mismatch": {
        "id": "data menyebut kelurahan {named}, tetapi titiknya berada di {found}; dipakai sesuai titik. Periksa koordinat atau nama.",
        "en": "the record names village {named}, but its point lies in {found}; the point is used. Check the coordinates or the name.",
    },
    "ambiguous_village": {
        "id": "titik berada di tumpang-tindih atau tepat di batas {n} poligon kelurahan; dipakai {found}.",
        "en": "the point lies where {n} village polygons overlap or meet; {found} is used.",
    },
    "campaign_posts_marked": {
        "id": "{n} TPS berjarak kurang dari {radius} m dari posko kampanye; ditandai 'dekat posko'.",
        "en": "{n} TPS lie within {radius} m of a campaign post; flagged 'near a campaign post'.",
    },
    "unknown_area": {
        "id": "wilayah '{area}' tidak ada di data. Nama yang ada, yang paling mirip dulu: {choices}.",
        "en": "area '{area}' is not in the data. Names in the data, closest first: {choices}.",
    },
    "unknown_area_fix": {
        "id": 'Tulis nama kecamatan atau kabupaten/kota (mis. "Kota Kupang"), atau kode Kemendagri-nya dengan '
        "atau tanpa titik (53.71 atau 5371 untuk kab/kota, 53.71.01 atau 537101 untuk kecamatan).",
        "en": 'Give the name of a kecamatan or kab/kota (e.g. "Kota Kupang"), or its Kemendagri code with or '
        "without dots (53.71 or 5371 for a kab/kota, 53.71.01 or 537101 for a kecamatan).",
    },
    "ambiguous_area": {
        "id": "wilayah '{area}' cocok dengan lebih dari satu kabupaten/kota: {choices}.",
        "en": "area '{area}' matches more than one kab/kota: {choices}.",
    },
    "ambiguous_area_fix": {
        "id": 'Tulis nama lengkapnya (mis. "Kabupaten Kupang" atau "Kota Kupang") atau kodenya.',
        "en": 'Give the full name (e.g. "Kabupaten Kupang" or "Kota Kupang") or its code.',
    },
    "unknown_stage": {
        "id": "tahap '{stage}' tidak dikenal. Tahap yang ada: {stages}, atau all.",
        "en": "stage '{stage}' is unknown. Stages: {stages}, or all.",
    },
    "print_format": {
        "id": "{path}: cetak hanya ke .pdf atau .png.",
        "en": "{path}: printing writes .pdf or .png only.",
    },
    "export_format": {
        "id": "format ekspor '{fmt}' tidak dikenal. Pilih: {formats}.",
        "en": "export format '{fmt}' is unknown. Choose: {formats}.",
    },
    "export_no_layer": {
        "id": "layer '{layer}' tidak ada (file-nya tidak diberikan).",
        "en": "layer '{layer}' is not there (its file was not given).",
    },
    # -- exports: XLSX and CSV (exports engineer, issue 9) ---------------------------
    "xlsx_too_many_rows": {
        "id": "tabel '{sheet}' punya {rows} baris, lebih dari yang muat di satu lembar Excel ({limit} baris).",
        "en": "table '{sheet}' has {rows} rows, more than an Excel worksheet holds ({limit} rows).",
    },
    "xlsx_too_many_rows_fix": {
        "id": "Ekspor sebagai CSV, GeoPackage atau GeoParquet, atau pilih satu kab/kota atau satu layer.",
        "en": "Export as CSV, GeoPackage or GeoParquet instead, or choose one kab/kota or one layer.",
    },
    "xlsx_readme_sheet": {"id": "Keterangan", "en": "README"},
    "xlsx_readme_key": {"id": "keterangan", "en": "item"},
    "xlsx_readme_value": {"id": "nilai", "en": "value"},
    "xlsx_readme_text": {
        "id": "Dibuat oleh riskmap. Teks dari berkas masukan ditulis sebagai teks, tidak pernah sebagai rumus.",
        "en": "Made by riskmap. Text from the input files is written as text, never as a formula.",
    },
    "xlsx_readme_rows": {"id": "baris di lembar {sheet}", "en": "rows in sheet {sheet}"},
    "xlsx_sheet_rejected": {"id": "ditolak", "en": "rejected"},
    "xlsx_note_too_long": {
        "id": "lembar {sheet}, kolom {column}: sel lebih dari 32.767 karakter dibiarkan kosong",
        "en": "sheet {sheet}, column {column}: cells over 32,767 characters left empty",
    },
    "staffing_pattern": {
        "id": "pola pengamanan '{pattern}' tidak dimengerti.",
        "en": "staffing pattern '{pattern}' is not understood.",
    },
    "staffing_pattern_fix": {
        "id": "Tulis sebagai A-B-C (A polisi menjaga B TPS dibantu C Linmas), misalnya 2-2-4, atau A-B.",
        "en": "Write it as A-B-C (A police guard B TPS with C Linmas), e.g. 2-2-4, or A-B.",
    },
    "staffing_no_pattern": {
        "id": "tidak ada pola pengamanan untuk kategori '{category}' di [staffing.patterns].",
        "en": "no staffing pattern for category '{category}' in [staffing.patterns].",
    },
    "deploy_needs_tps": {
        "id": "rencana pengamanan TPS membutuhkan file TPS (--tps).",
        "en": "a TPS staffing plan needs a TPS file (--tps).",
    },
    "region_no_district": {
        "id": "insiden berpresisi wilayah tidak berada di kecamatan mana pun; dibagi ke seluruh wilayah kajian.",
        "en": "region-precision incident lies in no kecamatan; spread over the whole study area.",
    },
    # -- issue 12 browser --
    "map_regencies": {"id": "Kab/kota", "en": "Kab/kota"},
    "map_overview_title": {
        "id": "Bagian kelurahan/desa {high} per kab/kota",
        "en": "Share of villages {high} per kab/kota",
    },
    "map_overview_villages": {"id": "Kelurahan/desa {high}", "en": "Villages {high}"},
    "map_overview_tps": {"id": "TPS {high}", "en": "TPS {high}"},
    "map_overview_click": {
        "id": "Klik kab/kota untuk melihat kelurahan/desanya.",
        "en": "Click a kab/kota to see its villages.",
    },
    # -- issue 12 deploy --
    "deploy_filtered_no_tps": {
        "id": "saringan tampilan ini tidak menyisakan TPS untuk direncanakan.",
        "en": "the view's filters leave no TPS to plan for.",
    },
    "deploy_filtered_no_tps_fix": {
        "id": "Ubah saringan kabupaten/kota, kecamatan atau kategori.",
        "en": "Change the kab/kota, kecamatan or category filter.",
    },
    "deploy_solver_optimal": {"id": "terbukti optimal", "en": "proven optimal"},
    "deploy_solver_time_limit": {
        "id": "berhenti di batas waktu {limit} detik: solusi terbaik yang ditemukan, paling jauh {gap} dari batas "
        "atas (belum terbukti optimal)",
        "en": "stopped at the time limit of {limit} s: the best solution found, at most {gap} from the upper bound "
        "(not proven optimal)",
    },
    "col.site": {"id": "lokasi", "en": "site"},
    "col.site_kind": {"id": "jenis lokasi", "en": "kind of site"},
    "col.tps_covered": {"id": "TPS terjangkau", "en": "TPS covered"},
    "col.police": {"id": "polisi", "en": "police"},
    "col.tps_reached": {"id": "TPS dalam jangkauan", "en": "TPS within reach"},
    "col.risk_reached": {"id": "jumlah skor TPS dalam jangkauan", "en": "sum of the scores within reach"},
    "col.regency": {"id": "kabupaten/kota", "en": "regency/city (kab/kota)"},
    "col.police_required": {"id": "polisi dibutuhkan", "en": "police required"},
    "col.police_assigned": {"id": "polisi ditugaskan", "en": "police assigned"},
    "col.linmas_required": {"id": "Linmas dibutuhkan", "en": "Linmas required"},
    "col.linmas_assigned": {"id": "Linmas ditugaskan", "en": "Linmas assigned"},
    "site_kind_post": {"id": "pos polisi", "en": "police post"},
    "site_kind_village": {"id": "titik tengah kelurahan/desa", "en": "village interior point"},
    # -- issue 12 app --
    "whatif_mark": {"id": "SIMULASI: bobot/ambang diubah", "en": "SIMULATION: weights/thresholds changed"},
    "precision_exact": {"id": "tepat", "en": "exact"},
    "precision_near": {"id": "perkiraan (dekat)", "en": "approximate (near)"},
    "precision_region": {"id": "wilayah", "en": "region"},
    # -- issue 12 vocab (column aliases in the configuration) --
    "config_aliases": {
        "id": "{key} harus berupa daftar nama kolom (teks).",
        "en": "{key} must be a list of column names (text).",
    },
    "config_aliases_fix": {
        "id": 'Tulis misalnya voters = ["dpt", "jumlah_dpt"]; daftar ini menggantikan daftar bawaan.',
        "en": 'Write e.g. voters = ["dpt", "jumlah_dpt"]; the list replaces the default list.',
    },
}

# Texts of the app's page (keys "app.<key>").
_APP: dict[str, dict[str, str]] = {
    "page": {"id": "Tampilan", "en": "View"},
    "page_risk": {"id": "Peta kerawanan", "en": "Risk map"},
    "page_deploy": {"id": "Penempatan Personel", "en": "Personnel deployment"},
    "dep_title": {"id": "Penempatan Personel", "en": "Personnel deployment"},
    "dep_police": {"id": "Polisi tersedia (0 = sesuai pola)", "en": "Police available (0 = as the patterns need)"},
    "dep_linmas": {"id": "Linmas tersedia (0 = sesuai pola)", "en": "Linmas available (0 = as the patterns need)"},
    "dep_mode": {"id": "Penempatan pos", "en": "Post placement"},
    "dep_mode_none": {"id": "Tanpa pos", "en": "No posts"},
    "dep_mode_max": {"id": "P pos, cakupan risiko terbesar", "en": "P posts, most risk covered"},
    "dep_mode_set": {"id": "Pos paling sedikit untuk semua TPS rawan", "en": "Fewest posts covering every rawan TPS"},
    "dep_p": {"id": "Jumlah pos (P)", "en": "Number of posts (P)"},
    "dep_radius": {"id": "Radius tanggap (km)", "en": "Response radius (km)"},
    "dep_summary": {"id": "Ringkasan per kategori", "en": "Summary per category"},
    "dep_below": {"id": "TPS di bawah pola", "en": "TPS below pattern"},
    "dep_posts": {"id": "Pos", "en": "Posts"},
    "dep_download_plan": {"id": "Rencana (GeoJSON)", "en": "Plan (GeoJSON)"},
    "dep_download_kec": {"id": "Per kecamatan (CSV)", "en": "Per kecamatan (CSV)"},
    "dep_download_summary": {"id": "Ringkasan (JSON)", "en": "Summary (JSON)"},
    "dep_campaign": {"id": "Prioritas patroli kampanye", "en": "Campaign patrol priorities"},
    "dep_recap": {"id": "Tempat rekapitulasi", "en": "Recap venues"},
    "title": {"id": "Peta Kerawanan Pilkada", "en": "Pilkada Security Risk Map"},
    "demo_note": {
        "id": "Data demo Kota Kupang: kode dan nama kelurahan asli, tetapi batas wilayah, TPS, pos dan semua "
        "insiden adalah **sintetis** (buatan).",
        "en": "Kota Kupang demo data: real kelurahan codes and names, but boundaries, TPS, posts and all incidents "
        "are **synthetic**.",
    },
    "data": {"id": "Data", "en": "Data"},
    "demo": {"id": "Data demo (sintetis)", "en": "Demo data (synthetic)"},
    "upload": {"id": "Unggah file sendiri", "en": "Upload your own files"},
    "up_villages": {
        "id": "Batas kelurahan/desa (ZIP shapefile atau GDB, GeoJSON, GPKG, FGB, GeoParquet)",
        "en": "Village boundaries (zipped shapefile or GDB, GeoJSON, GPKG, FGB, GeoParquet)",
    },
    "up_tps": {"id": "TPS (CSV, XLSX, XLS, ODS, GeoJSON)", "en": "Polling stations (CSV, XLSX, XLS, ODS, GeoJSON)"},
    "up_incidents": {
        "id": "Insiden (CSV, XLSX, XLS, ODS, ACLED, UCDP)",
        "en": "Incidents (CSV, XLSX, XLS, ODS, ACLED, UCDP)",
    },
    "up_posts": {"id": "Pos polisi (opsional)", "en": "Police posts (optional)"},
    "up_candidate_sites": {
        "id": "Calon lokasi pos (opsional; tanpa file: titik tengah kelurahan)",
        "en": "Candidate post sites (optional; without a file: village centres)",
    },
    "need_villages": {"id": "Unggah file batas kelurahan/desa untuk mulai.", "en": "Upload a village file to start."},
    "kept_previous": {
        "id": "Data sebelumnya tetap ditampilkan. Perbaiki file lalu unggah lagi.",
        "en": "The previous data stays on screen. Fix the file and upload it again.",
    },
    "stage": {"id": "Tahapan", "en": "Stage"},
    "filters": {"id": "Saring tampilan", "en": "Filter the view"},
    "districts": {"id": "Kecamatan", "en": "Kecamatan"},
    "levels": {"id": "Kategori", "en": "Category"},
    "types": {"id": "Jenis insiden", "en": "Incident types"},
    "dates": {"id": "Tanggal insiden", "en": "Incident dates"},
    "filter_note": {
        "id": "Saringan mengubah yang ditampilkan, bukan skornya.",
        "en": "Filters change what is shown, not the scores.",
    },
    "whatif": {"id": "Bobot dan ambang (simulasi)", "en": "Weights and thresholds (what-if)"},
    "reset": {"id": "Kembalikan ke bawaan", "en": "Reset to defaults"},
    "village_weights": {"id": "Bobot skor kelurahan", "en": "Village score weights"},
    "tps_weights": {"id": "Bobot skor TPS", "en": "TPS score weights"},
    "th_rawan": {"id": "Ambang rawan", "en": "Threshold rawan"},
    "th_sangat": {"id": "Ambang sangat rawan", "en": "Threshold sangat rawan"},
    "half_life": {"id": "Waktu paruh insiden (hari)", "en": "Incident half-life (days)"},
    "tiles": {"id": "URL ubin peta (opsional)", "en": "Tile URL (optional)"},
    "tiles_help": {
        "id": "Kosongkan bila tanpa internet. Contoh: https://tile.openstreetmap.org/{z}/{x}/{y}.png atau server "
        "ubin lokal.",
        "en": "Leave empty without internet. E.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png or a local "
        "tile server.",
    },
    "report": {"id": "Laporan pemuatan data", "en": "Load report"},
    "rejected_rows": {"id": "baris ditolak - lihat laporan pemuatan", "en": "rows rejected - see the load report"},
    "download_rejected": {"id": "Unduh baris ditolak (CSV)", "en": "Download rejected rows (CSV)"},
    "explain": {"id": "Mengapa?", "en": "Why?"},
    "pick": {"id": "Klik kelurahan atau TPS di peta, atau pilih:", "en": "Click a village or TPS on the map, or pick:"},
    "none": {"id": "(belum dipilih)", "en": "(none)"},
    "pick_tps": {"id": "TPS di kelurahan/desa ini:", "en": "TPS in this village:"},
    "pick_tps_none": {"id": "(seluruh kelurahan/desa)", "en": "(the whole village)"},
    "factor": {"id": "Faktor", "en": "Factor"},
    "points": {"id": "Poin", "en": "Points"},
    "share": {"id": "Porsi", "en": "Share"},
    "behind": {"id": "Insiden di balik skor", "en": "Incidents behind the score"},
    "no_incidents": {"id": "Tidak ada insiden yang relevan.", "en": "No relevant incidents."},
    "rank_villages": {"id": "Peringkat kelurahan", "en": "Village ranking"},
    "rank_tps": {"id": "Peringkat TPS", "en": "TPS ranking"},
    "between": {"id": "Perubahan antar tahapan", "en": "Change between stages"},
    "downloads": {"id": "Unduh", "en": "Download"},
    "dl_villages_geojson": {"id": "Kelurahan (GeoJSON)", "en": "Villages (GeoJSON)"},
    "dl_villages_csv": {"id": "Kelurahan (CSV)", "en": "Villages (CSV)"},
    "dl_tps_geojson": {"id": "TPS (GeoJSON)", "en": "TPS (GeoJSON)"},
    "dl_tps_csv": {"id": "TPS (CSV)", "en": "TPS (CSV)"},
    # -- XLSX downloads (exports engineer, issue 9) --
    "dl_villages_xlsx": {"id": "Kelurahan (Excel)", "en": "Villages (Excel)"},
    "dl_tps_xlsx": {"id": "TPS (Excel)", "en": "TPS (Excel)"},
    "download_rejected_xlsx": {"id": "Unduh baris ditolak (Excel)", "en": "Download rejected rows (Excel)"},
    "dep_download_kec_xlsx": {"id": "Per kecamatan (Excel)", "en": "Per kecamatan (Excel)"},
    "from": {"id": "Dari tahap", "en": "From stage"},
    "to": {"id": "Ke tahap", "en": "To stage"},
    "escalating": {"id": "kelurahan naik kategori", "en": "villages move up a category"},
    "matrix": {"id": "Jumlah kelurahan per kategori dan tahapan", "en": "Villages per category and stage"},
    "as_of": {"id": "Data per", "en": "Data as of"},
    "print": {"id": "Cetak peta tahap ini (PDF)", "en": "Print this stage's map (PDF)"},
    "printing": {"id": "Mencetak...", "en": "Printing..."},
    "dl_pdf": {"id": "Unduh PDF", "en": "Download the PDF"},
    "regency": {"id": "Kab/kota", "en": "Kab/kota"},
    "col_date": {"id": "tanggal", "en": "date"},
    "col_type": {"id": "jenis", "en": "type"},
    "col_severity": {"id": "tingkat", "en": "severity"},
    "col_precision": {"id": "presisi lokasi", "en": "precision"},
    "col_description": {"id": "keterangan", "en": "description"},
    "col_distance_m": {"id": "jarak (m)", "en": "distance (m)"},
    "col_weight": {"id": "bobot tahap", "en": "stage weight"},
    # -- issue 12 browser --
    "overview_all": {"id": "(semua: ringkasan per kab/kota)", "en": "(all: overview per kab/kota)"},
    "overview_back": {"id": "Kembali ke ringkasan", "en": "Back to the overview"},
    "overview_note": {
        "id": "{n} kelurahan/desa: ditampilkan per kab/kota. Klik kab/kota di peta (atau pilih di sini) untuk "
        "melihat kelurahan/desanya.",
        "en": "{n} villages: shown per kab/kota. Click a kab/kota on the map (or choose it here) to see its villages.",
    },
    # -- issue 12 deploy --
    "dep_totals": {
        "id": "**Polisi** (ditugaskan / dibutuhkan): {p_asg} / {p_req} · **Linmas**: {l_asg} / {l_req} · "
        "TPS di bawah pola: {below}",
        "en": "**Police** (assigned / required): {p_asg} / {p_req} · **Linmas**: {l_asg} / {l_req} · "
        "TPS below pattern: {below}",
    },
    "dep_posts_line": {
        "id": "Pos ditempatkan: {placed} · TPS terjangkau {covered}/{total} ({share} dari risiko) · TPS rawan tak "
        "terjangkau: {uncovered} · {status}",
        "en": "Posts placed: {placed} · TPS covered {covered}/{total} ({share} of the risk) · high-risk TPS not "
        "covered: {uncovered} · {status}",
    },
    "dep_sites_file": {
        "id": "Lokasi calon pos: {n} dari file lokasi calon.",
        "en": "Candidate post sites: {n} from the candidate-site file.",
    },
    "dep_sites_default": {
        "id": "Lokasi calon pos: {n} (pos polisi dan titik tengah kelurahan/desa).",
        "en": "Candidate post sites: {n} (police posts and village interior points).",
    },
    "dep_filtered": {
        "id": "Rencana untuk TPS pada tampilan tersaring: {n} TPS.",
        "en": "Plan for the TPS of the filtered view: {n} TPS.",
    },
    "dep_reserves": {"id": "Regu cadangan ({n} regu)", "en": "Reserve teams ({n} teams)"},
    "dep_placed": {"id": "Pos yang ditempatkan", "en": "Placed posts"},
    "dep_per_regency": {"id": "Personel per kabupaten/kota", "en": "Personnel per kab/kota"},
    "dep_per_district": {"id": "Personel per kecamatan", "en": "Personnel per kecamatan"},
    # -- issue 12 app --
    "as_of_pick": {"id": "Tanggal acuan", "en": "As of"},
    "as_of_help": {
        "id": "Skor hanya memakai insiden sampai tanggal ini; insiden sesudahnya dilaporkan di laporan pemuatan. "
        "Kosong = semua insiden, sampai insiden terakhir. Untuk skor hari pemungutan suara, pilih hari "
        "sebelum pemungutan suara.",
        "en": "Scores use only the incidents up to this day; later incidents are listed in the load report. "
        "Empty = every incident, up to the latest one. For voting-day scores, pick the day before voting.",
    },
    "as_of_latest": {"id": "{date} (insiden terakhir)", "en": "{date} (latest incident)"},
    "as_of_chosen": {"id": "{date} (tanggal acuan dipilih)", "en": "{date} (chosen as-of date)"},
    "as_of_none": {
        "id": "tidak ada insiden (skor tanpa riwayat insiden)",
        "en": "no incidents (scores without an incident history)",
    },
    "whatif_banner": {
        "id": "Simulasi: skor dihitung dengan bobot atau ambang yang diubah ({changes}), bukan dengan konfigurasi. "
        "Peta, legenda, cetakan dan unduhan ditandai SIMULASI. Pilih 'Kembalikan ke bawaan' untuk skor resmi.",
        "en": "Simulation: scores computed with changed weights or thresholds ({changes}), not the configuration. "
        "Map, legend, printouts and downloads are marked SIMULATION. Choose 'Reset to defaults' for the real "
        "scores.",
    },
    "whatif_thresholds": {"id": "ambang kategori", "en": "category thresholds"},
    "report_rejected_title": {"id": "Baris ditolak", "en": "Rejected rows"},
    "report_warnings_title": {
        "id": "Daftar peringatan: baris yang dipakai dengan catatan",
        "en": "Warnings list: rows used with a warning",
    },
    "later_rows": {
        "id": "insiden sesudah tanggal acuan tidak dipakai untuk skor (daftarnya di laporan pemuatan)",
        "en": "incidents after the as-of date are not used for the scores (listed in the load report)",
    },
    "warned_rows": {
        "id": "baris dipakai dengan catatan - lihat daftar peringatan di laporan pemuatan",
        "en": "rows used with a warning - see the warnings list in the load report",
    },
    "download_warnings": {"id": "Unduh daftar peringatan (CSV)", "en": "Download the warnings list (CSV)"},
    "download_warnings_xlsx": {"id": "Unduh daftar peringatan (Excel)", "en": "Download the warnings list (Excel)"},
    "server_log": {"id": "rinciannya di log server", "en": "details in the server log"},
}

# app area (issue 9, hostile input): the tile-URL check, the page's last-resort message, uploads.
_APP.update(
    {
        "unexpected_error": {
            "id": "Terjadi kesalahan tak terduga saat menyiapkan halaman. Muat ulang halaman; bila berulang, "
            "periksa file yang diunggah atau hubungi pengelola aplikasi (rinciannya tercatat di log server).",
            "en": "Something unexpected went wrong while preparing the page. Reload the page; if it happens again, "
            "check the uploaded files or contact the app's administrator (the details are in the server log).",
        },
        "tiles_refused": {
            "id": "Peta digambar tanpa ubin peta.",
            "en": "The map is drawn without map tiles.",
        },
    }
)
MESSAGES.update(
    {
        "tiles_url_invalid": {
            "id": "URL ubin peta '{url}' tidak dipakai: hanya alamat http:// atau https:// (atau jalur di server "
            "ini) dengan {z}, {x}, {y} (serta {s}, {r} bila perlu), tanpa spasi, tanda kutip, garis miring "
            "terbalik atau kurung kurawal lain.",
            "en": "tile URL '{url}' is not used: only an http:// or https:// address (or a path on this server) "
            "with {z}, {x}, {y} (and {s}, {r} if needed), without spaces, quotes, backslashes or other braces.",
        },
        "tiles_url_invalid_fix": {
            "id": "Contoh: https://tile.openstreetmap.org/{z}/{x}/{y}.png - atau kosongkan kolom ini.",
            "en": "Example: https://tile.openstreetmap.org/{z}/{x}/{y}.png - or leave the box empty.",
        },
    }
)

# Texts of printed pages (keys "print.<key>").
_PRINT: dict[str, dict[str, str]] = {
    "staff": {"id": "Polisi / Linmas", "en": "Police / Linmas"},
    "tps_police": {"id": "Angka di TPS: polisi per TPS", "en": "Number at a TPS: police at that TPS"},
    "chosen_posts": {"id": "Pos usulan ({n}), radius {km} km", "en": "Proposed posts ({n}), {km} km radius"},
    "title": {"id": "Peta Kerawanan Tahap {stage} - {area}", "en": "Risk Map, {stage} Stage - {area}"},
    "made": {"id": "Dibuat {made} · data per {as_of}", "en": "Made {made} · data as of {as_of}"},
    "villages": {"id": "Kelurahan/desa", "en": "Villages"},
    "tps": {"id": "TPS", "en": "Polling stations"},
    "posts": {"id": "Pos polisi", "en": "Police posts"},
    "sources": {"id": "Sumber data", "en": "Data sources"},
    "method": {
        "id": "Metode riskmap {version}, konfigurasi {digest}",
        "en": "riskmap method {version}, config {digest}",
    },
    "page": {"id": "Halaman {n}", "en": "Page {n}"},
    "table_title": {
        "id": "TPS Rawan dan Sangat Rawan - Tahap {stage} - {area}",
        "en": "Vulnerable and Highly Vulnerable TPS - {stage} Stage - {area}",
    },
    "cols": {
        "id": "No|TPS|Kelurahan/desa|Alamat|Pemilih|Kategori|Skor|Faktor utama",
        "en": "No|TPS|Village|Address|Voters|Category|Score|Top factors",
    },
    "none_rawan": {"id": "Tidak ada TPS rawan atau sangat rawan.", "en": "No vulnerable TPS."},
    "cover": {"id": "Atlas Kerawanan Pilkada", "en": "Pilkada Security Risk Atlas"},
    "overview": {"id": "Peta ikhtisar", "en": "Overview"},
    "contents": {"id": "Isi", "en": "Contents"},
    "north": {"id": "U", "en": "N"},
    "synthetic": {
        "id": "DATA DEMO SINTETIS - bukan data sebenarnya",
        "en": "SYNTHETIC DEMO DATA - not real data",
    },
    # -- issue 12 print --
    "kecamatan": {"id": "Kec. {name}", "en": "Kec. {name}"},
    "regency_unknown": {"id": "(kab/kota tidak diketahui)", "en": "(kab/kota unknown)"},
    "areas_n": {"id": "{n} wilayah", "en": "{n} areas"},
    "contents_more": {"id": "Isi (lanjutan)", "en": "Contents (continued)"},
    "share_legend": {
        "id": "Bagian kelurahan/desa rawan + sangat rawan",
        "en": "Share of villages vulnerable + highly vulnerable",
    },
    "units_title": {
        "id": "Ikhtisar Kerawanan Tahap {stage} - {area}",
        "en": "Risk Overview, {stage} Stage - {area}",
    },
    "unit_cols": {
        "id": "Kecamatan|Desa|Rawan+|TPS|Rawan+|Hal.",
        "en": "Kecamatan|Villages|Vuln.+|TPS|Vuln.+|Page",
    },
    # -- issue 12 app --
    "whatif": {"id": "SIMULASI", "en": "SIMULATION"},
    "whatif_footer": {
        "id": "SIMULASI - skor dihitung dengan bobot/ambang yang diubah, bukan dengan konfigurasi",
        "en": "SIMULATION - scores computed with changed weights/thresholds, not the configuration",
    },
}

MESSAGES.update({f"app.{k}": v for k, v in _APP.items()})
MESSAGES.update({f"print.{k}": v for k, v in _PRINT.items()})

# -- the app for an office (issue 11: login, roles, incident log, verification, alerts, users) ------------------
_OFFICE: dict[str, dict[str, str]] = {
    "login_title": {"id": "Masuk ke riskmap", "en": "Log in to riskmap"},
    "login_intro": {
        "id": "Peta kerawanan ini hanya untuk pengguna yang berwenang. Masukkan nama pengguna dan kata sandi Anda.",
        "en": "This risk map is for authorised users only. Enter your user name and password.",
    },
    "login_name": {"id": "Nama pengguna", "en": "User name"},
    "login_password": {"id": "Kata sandi", "en": "Password"},
    "login_submit": {"id": "Masuk", "en": "Log in"},
    "login_failed": {
        "id": "Nama pengguna atau kata sandi salah, atau akun dinonaktifkan. Coba lagi; setelah beberapa kali gagal, "
        "Anda harus menunggu sebentar.",
        "en": "Wrong user name or password, or the account is disabled. Try again; after several failures you "
        "have to wait a while.",
    },
    "login_locked": {
        "id": "Terlalu banyak percobaan gagal untuk nama ini. Coba lagi setelah {until}, atau minta admin "
        "memeriksa akun Anda.",
        "en": "Too many failed attempts for this name. Try again after {until}, or ask the admin to check "
        "your account.",
    },
    "login_empty": {"id": "Isi nama pengguna dan kata sandi.", "en": "Enter a user name and a password."},
    "login_sso": {"id": "Masuk dengan akun kantor (SSO)", "en": "Log in with the office account (SSO)"},
    "login_sso_unknown": {
        "id": "Akun SSO {name} belum terdaftar di riskmap. Minta admin membuatnya: riskmap users add {name} --role viewer",
        "en": "The SSO account {name} is not registered in riskmap. Ask the admin to create it: "
        "riskmap users add {name} --role viewer",
    },
    "login_no_store": {
        "id": "Basis data riskmap tidak dapat dibuka, jadi tidak ada yang dapat masuk. Hubungi petugas TIK. ({detail})",
        "en": "riskmap's database cannot be opened, so nobody can log in. Contact the IT officer. ({detail})",
    },
    "login_first_admin": {
        "id": "Belum ada akun. Petugas TIK membuat admin pertama di server: riskmap users add NAMA --role admin",
        "en": "There is no account yet. The IT officer creates the first admin on the server: "
        "riskmap users add NAME --role admin",
    },
    "session_expired": {
        "id": "Sesi Anda berakhir karena lama tidak aktif. Silakan masuk lagi.",
        "en": "Your session ended after a long time without activity. Please log in again.",
    },
    "logged_in_as": {"id": "Masuk sebagai **{name}** ({role})", "en": "Logged in as **{name}** ({role})"},
    "local_planner": {
        "id": "Mode lokal: hanya komputer ini yang dapat membuka aplikasi, tanpa akun (sebagai perencana).",
        "en": "Local mode: only this computer can open the app, without accounts (as a planner).",
    },
    "logout": {"id": "Keluar", "en": "Log out"},
    "role_viewer": {"id": "pemantau", "en": "viewer"},
    "role_officer": {"id": "petugas lapangan", "en": "field officer"},
    "role_planner": {"id": "perencana", "en": "planner"},
    "role_admin": {"id": "admin", "en": "admin"},
    "no_store_local": {
        "id": "Basis data insiden tidak dapat dibuka; peta memakai file saja. ({detail})",
        "en": "The incident database cannot be opened; the map uses the files only. ({detail})",
    },
    "page_log": {"id": "Catat insiden", "en": "Log an incident"},
    "page_verify": {"id": "Verifikasi insiden", "en": "Verify incidents"},
    "page_alerts": {"id": "Peringatan dini", "en": "Early warning"},
    "page_users": {"id": "Kelola pengguna", "en": "Manage users"},
    "with_unverified": {"id": "Sertakan insiden belum diverifikasi", "en": "Include unverified incidents"},
    "with_unverified_help": {
        "id": "Insiden yang dicatat di aplikasi masuk ke skor setelah diverifikasi perencana. Centang untuk ikut "
        "memakai yang belum diverifikasi.",
        "en": "Incidents logged in the app enter the scores once a planner has verified them. Tick to use the "
        "unverified ones too.",
    },
    "logged_in_scores": {
        "id": "{n} insiden dari log basis data ikut dihitung ({matched} sama dengan insiden di file, dihitung sekali).",
        "en": "{n} incidents from the database log are included ({matched} match an incident in the file, "
        "counted once).",
    },
    "log_title": {"id": "Catat insiden", "en": "Log an incident"},
    "log_date": {"id": "Tanggal", "en": "Date"},
    "log_time": {"id": "Jam", "en": "Time"},
    "log_type": {"id": "Jenis insiden", "en": "Incident type"},
    "log_severity": {"id": "Tingkat keparahan", "en": "Severity"},
    "sev_1": {"id": "1 - ringan", "en": "1 - minor"},
    "sev_2": {"id": "2 - sedang", "en": "2 - moderate"},
    "sev_3": {"id": "3 - berat", "en": "3 - serious"},
    "log_description": {"id": "Uraian kejadian", "en": "What happened"},
    "log_source": {"id": "Sumber informasi", "en": "Source of the information"},
    "log_source_default": {"id": "laporan petugas", "en": "officer's report"},
    "log_where": {"id": "Lokasi", "en": "Location"},
    "where_map": {"id": "Klik di peta", "en": "Click on the map"},
    "where_coords": {"id": "Ketik koordinat", "en": "Type coordinates"},
    "where_village": {"id": "Pilih kelurahan/desa", "en": "Pick a village"},
    "log_map_help": {
        "id": "Klik tempat kejadian di peta; penanda biru menunjukkan titik yang akan disimpan.",
        "en": "Click where it happened on the map; the blue marker shows the point that will be saved.",
    },
    "log_point": {"id": "Titik: {lat}, {lon}", "en": "Point: {lat}, {lon}"},
    "log_no_point": {"id": "Belum ada titik: klik di peta.", "en": "No point yet: click on the map."},
    "log_coords": {"id": "Koordinat (lintang, bujur)", "en": "Coordinates (latitude, longitude)"},
    "log_coords_help": {
        "id": "Misalnya -10.1725, 123.6070 atau 10°10'21\" LS 123°36'25\" BT, atau tautan Google Maps yang lengkap.",
        "en": "For example -10.1725, 123.6070 or 10°10'21\" S 123°36'25\" E, or a full Google Maps link.",
    },
    "log_village": {"id": "Kelurahan/desa", "en": "Village"},
    "log_save": {"id": "Simpan insiden", "en": "Save the incident"},
    "log_saved": {
        "id": "Tersimpan (nomor {id}). Insiden ini masuk ke skor setelah diverifikasi perencana.",
        "en": "Saved (number {id}). It enters the scores once a planner has verified it.",
    },
    "log_need_point": {
        "id": "Lokasi belum ada: klik di peta, ketik koordinat, atau pilih kelurahan/desa.",
        "en": "No location yet: click on the map, type coordinates or pick a village.",
    },
    "log_future": {
        "id": "Tanggal {date} belum terjadi. Periksa tanggalnya.",
        "en": "The date {date} is in the future. Check the date.",
    },
    "log_failed": {
        "id": "Insiden tidak tersimpan: {detail}. Coba lagi; bila berulang, hubungi petugas TIK.",
        "en": "The incident was not saved: {detail}. Try again; if it happens again, contact the IT officer.",
    },
    "mine_title": {"id": "Insiden yang saya catat", "en": "Incidents I logged"},
    "mine_none": {"id": "Anda belum mencatat insiden.", "en": "You have not logged any incident yet."},
    "col_status": {"id": "status", "en": "status"},
    "col_author": {"id": "pencatat", "en": "logged by"},
    "col_logged_at": {"id": "dicatat (UTC)", "en": "logged at (UTC)"},
    "col_lat": {"id": "lintang", "en": "latitude"},
    "col_lon": {"id": "bujur", "en": "longitude"},
    "col_source": {"id": "sumber", "en": "source"},
    "col_time": {"id": "jam", "en": "time"},
    "col_pick": {"id": "Pilih", "en": "Pick"},
    "status_unverified": {"id": "belum diverifikasi", "en": "unverified"},
    "status_verified": {"id": "terverifikasi", "en": "verified"},
    "status_rejected": {"id": "ditolak", "en": "rejected"},
    "verify_title": {"id": "Verifikasi insiden yang dicatat", "en": "Verify logged incidents"},
    "verify_none": {
        "id": "Tidak ada insiden yang menunggu verifikasi.",
        "en": "No incident is waiting for verification.",
    },
    "verify_help": {
        "id": "Pilih insiden di daftar Pilih, lalu verifikasi atau tolak. Yang diverifikasi masuk ke skor.",
        "en": "Pick incidents in the Pick list, then verify or reject them. Verified ones enter the scores.",
    },
    "verify_why": {"id": "Alasan (wajib untuk menolak)", "en": "Reason (needed to reject)"},
    "verify_all": {"id": "Pilih semua ({n})", "en": "Pick all ({n})"},
    "verify_ok": {"id": "Verifikasi", "en": "Verify"},
    "verify_reject": {"id": "Tolak", "en": "Reject"},
    "verify_done": {"id": "{n} insiden: {status}.", "en": "{n} incidents: {status}."},
    "verify_pick_first": {"id": "Pilih dulu insidennya.", "en": "Pick the incidents first."},
    "verify_need_why": {"id": "Tulis alasan penolakan.", "en": "Write the reason for the rejection."},
    "alerts_title": {"id": "Peringatan dini: lonjakan insiden", "en": "Early warning: incident surges"},
    "alerts_none": {
        "id": "Tidak ada lonjakan per {as_of}: tidak ada kecamatan atau kab/kota yang 7 hari terakhirnya mencapai "
        "ambang.",
        "en": "No surge as of {as_of}: no kecamatan or kab/kota reached the threshold in the last 7 days.",
    },
    "alerts_rule": {
        "id": "Lonjakan: 7 hari terakhir sedikitnya {ratio} kali rata-rata mingguan 4 minggu sebelumnya "
        "(rata-rata minimal {floor} insiden per minggu). Dihitung per {as_of}.",
        "en": "Surge: the last 7 days hold at least {ratio} times the weekly mean of the 4 weeks before "
        "(a mean of at least {floor} incidents a week). As of {as_of}.",
    },
    "alerts_count": {"id": "{n} peringatan", "en": "{n} alerts"},
    "alerts_failed": {"id": "Peringatan tidak dapat dihitung: {detail}", "en": "Alerts cannot be computed: {detail}"},
    "alert_layer": {"id": "Peringatan lonjakan", "en": "Surge alerts"},
    "level_district": {"id": "kecamatan", "en": "kecamatan"},
    "level_regency": {"id": "kab/kota", "en": "kab/kota"},
    "col_level": {"id": "tingkat wilayah", "en": "level"},
    "col_unit": {"id": "wilayah", "en": "area"},
    "col_code": {"id": "kode", "en": "code"},
    "col_last7": {"id": "insiden 7 hari terakhir", "en": "incidents, last 7 days"},
    "col_mean4": {"id": "rata-rata per minggu, 4 minggu sebelumnya", "en": "weekly mean, 4 weeks before"},
    "col_ratio": {"id": "rasio", "en": "ratio"},
    "col_previous": {"id": "minggu yang sama siklus pemilu lalu", "en": "same week, previous election cycle"},
    "col_cycle_ratio": {"id": "rasio terhadap siklus lalu", "en": "ratio to the previous cycle"},
    "col_from": {"id": "dari", "en": "from"},
    "col_to": {"id": "sampai", "en": "to"},
    "users_title": {"id": "Kelola pengguna", "en": "Manage users"},
    "users_add": {"id": "Tambah pengguna", "en": "Add a user"},
    "users_role": {"id": "Peran", "en": "Role"},
    "users_disabled": {"id": "Nonaktif", "en": "Disabled"},
    "users_password2": {"id": "Ulangi kata sandi", "en": "Repeat the password"},
    "users_mismatch": {"id": "Kedua kata sandi tidak sama.", "en": "The two passwords differ."},
    "users_short": {
        "id": "Kata sandi minimal {n} karakter.",
        "en": "The password needs at least {n} characters.",
    },
    "users_added": {"id": "Pengguna {name} ditambahkan ({role}).", "en": "User {name} added ({role})."},
    "users_disable": {"id": "Nonaktifkan pengguna", "en": "Disable a user"},
    "users_disabled_done": {"id": "Pengguna {name} dinonaktifkan.", "en": "User {name} disabled."},
    "users_set_password": {"id": "Ganti kata sandi", "en": "Change a password"},
    "users_password_set": {"id": "Kata sandi {name} diganti.", "en": "The password of {name} was changed."},
    "store_error": {"id": "Basis data menolak: {detail}", "en": "The database refused: {detail}"},
}
MESSAGES.update({f"app.{k}": v for k, v in _OFFICE.items()})

# Short reason labels for summaries and tables.
_REASON_LABELS: dict[str, tuple[str, str]] = {
    "missing_geometry": ("Tanpa poligon", "No polygon"),
    "not_polygon": ("Bukan poligon", "Not a polygon"),
    "missing_id": ("Kode kosong", "Missing code"),
    "invalid_geometry": ("Poligon rusak", "Broken polygon"),
    "duplicate_id": ("Kode ganda", "Duplicate id"),
    "missing_coordinates": ("Koordinat kosong", "Missing coordinates"),
    "unparseable_coordinates": ("Koordinat tak terbaca", "Unreadable coordinates"),
    "swapped_coordinates": ("Lintang/bujur tertukar", "Latitude/longitude swapped"),
    "lost_decimal_point": ("Titik desimal hilang", "Lost decimal point"),
    "outside_study_area": ("Di luar wilayah kajian", "Outside the study area"),
    "no_village": ("Tidak di kelurahan mana pun", "In no village"),
    "unknown_type": ("Jenis insiden tak dikenal", "Unknown incident type"),
    "unmapped_acled_type": ("Jenis ACLED tak dipetakan", "Unmapped ACLED type"),
    "missing_date": ("Tanggal kosong", "Missing date"),
    "unparseable_date": ("Tanggal tak terbaca", "Unreadable date"),
    "after_as_of": ("Setelah tanggal acuan", "After the as-of date"),
    # gdal (io/_read.py): rows rejected while reading
    "truncated_row": ("Baris terpotong", "Row cut short"),
    "misaligned_row": ("Kolom bergeser", "Columns shifted"),
}
for _code, (_id, _en) in _REASON_LABELS.items():
    MESSAGES["reason_" + _code] = {"id": _id, "en": _en}


# -- data layers (issue 9: hostile input; data engineer) ---------------------------
MESSAGES.update(
    {
        "impossible_coordinates": {
            "id": (
                "koordinat (lintang '{lat}', bujur '{lon}') tidak mungkin ada di bumi: lintang harus antara -90 "
                "dan 90, bujur antara -180 dan 180. Periksa dan tulis ulang titiknya."
            ),
            "en": (
                "the coordinates (lat '{lat}', lon '{lon}') cannot exist on Earth: latitude must lie between -90 "
                "and 90, longitude between -180 and 180. Check and retype the point."
            ),
        },
        "implausible_voters": {
            "id": "jumlah pemilih {value} tidak masuk akal (lebih dari {most} per TPS); dipakai nilai bawaan. Periksa DPT.",
            "en": "voter count {value} is not plausible (more than {most} per TPS); the default is used. Check the DPT.",
        },
        "date_out_of_range": {
            "id": "tanggal '{value}' di luar rentang {first} sampai {last}. Periksa tahunnya.",
            "en": "date '{value}' lies outside {first} to {last}. Check the year.",
        },
        "as_of_out_of_range": {
            "id": "tanggal --as-of '{value}' di luar rentang {first} sampai {last}.",
            "en": "the --as-of date '{value}' lies outside {first} to {last}.",
        },
        "as_of_out_of_range_fix": {
            "id": "Tulis tanggal acuan dalam rentang itu, misalnya 2024-11-27.",
            "en": "Give an as-of date in that range, e.g. 2024-11-27.",
        },
        "village_off_earth": {
            "id": (
                "poligon ini memakai koordinat yang tidak ada di bumi (bujur {lon_min} sampai {lon_max}, lintang "
                "{lat_min} sampai {lat_max}; lintang harus antara -90 dan 90, bujur antara -180 dan 180). Periksa "
                "sistem koordinat (CRS) file di QGIS lalu ekspor ulang."
            ),
            "en": (
                "this polygon has coordinates that do not exist on Earth (longitude {lon_min} to {lon_max}, latitude "
                "{lat_min} to {lat_max}; latitude must lie between -90 and 90, longitude between -180 and 180). "
                "Check the file's CRS in QGIS and export again."
            ),
        },
        "village_outside_indonesia": {
            "id": (
                "poligon ini keluar dari wilayah Indonesia (bujur {lon_min} sampai {lon_max}, lintang {lat_min} "
                "sampai {lat_max}; Indonesia ada di bujur {box_lon} dan lintang {box_lat}). Periksa sistem koordinat "
                "(CRS) dan apakah barisnya memang kelurahan/desa."
            ),
            "en": (
                "this polygon reaches outside Indonesia (longitude {lon_min} to {lon_max}, latitude {lat_min} to "
                "{lat_max}; Indonesia lies within longitude {box_lon} and latitude {box_lat}). Check the CRS and "
                "whether the row really is a village."
            ),
        },
        "village_too_large": {
            "id": (
                "poligon ini seluas {area} km², lebih besar dari kelurahan/desa mana pun (batas {most} km²). "
                "Periksa sistem koordinat (CRS) dan apakah barisnya memang kelurahan/desa, bukan kabupaten atau provinsi."
            ),
            "en": (
                "this polygon covers {area} km², more than any village (limit {most} km²). Check the CRS and whether "
                "the row really is a village, not a regency or province."
            ),
        },
        "no_tps_left": {
            "id": "tidak ada satu pun TPS yang dapat dipakai (alasan: {reasons}).",
            "en": "not a single polling station (TPS) could be used (reasons: {reasons_en}).",
        },
        "no_tps_left_fix": {
            "id": "Jalankan riskmap validate --report ditolak.csv untuk melihat setiap baris, perbaiki file TPS, lalu coba lagi.",
            "en": "Run riskmap validate --report rejected.csv to see every row, fix the TPS file, then retry.",
        },
        "bad_number_option": {
            "id": "nilai {option} '{value}' tidak dapat dipakai.",
            "en": "the value '{value}' of {option} cannot be used.",
        },
        "bad_number_option_fix": {
            "id": "Beri angka dari {low} sampai {high}.",
            "en": "Give a number from {low} to {high}.",
        },
    }
)
# -- backtest (riskmap backtest, riskmap/backtest.py; issue 10) ---------------------------------
MESSAGES.update(
    {
        "bt_no_incidents": {
            "id": "Uji mundur (backtest) butuh berkas insiden, tetapi tidak ada insiden yang terbaca.",
            "en": "The backtest needs an incident file, but no incidents were read.",
        },
        "bt_no_incidents_fix": {
            "id": "Berikan berkas insiden dengan --incidents (lihat riskmap validate untuk baris yang ditolak).",
            "en": "Give an incident file with --incidents (riskmap validate lists any rejected rows).",
        },
        "bt_no_precise": {
            "id": "Tidak ada insiden yang lokasinya diketahui sampai tingkat kelurahan/desa (semua berpresisi wilayah).",
            "en": "No incident is located to a village (all have region precision).",
        },
        "bt_no_precise_fix": {
            "id": "Uji mundur menghitung insiden per kelurahan/desa: perlu insiden berpresisi exact atau near.",
            "en": "The backtest counts incidents per village: it needs incidents of precision exact or near.",
        },
        "bt_no_test_incidents": {
            "id": "Tidak ada insiden berlokasi tepat dalam jendela {window} setelah tanggal potong {cutoffs}. "
            "{n} insiden berlokasi tepat bertanggal {first} sampai {last}.",
            "en": "No precisely located incident falls in the {window} window after the cutoffs {cutoffs}. "
            "The {n} precisely located incidents are dated {first} to {last}.",
        },
        "bt_no_test_incidents_fix": {
            "id": "Pilih tanggal potong di antara {first} dan {last} (mis. --from, --to, --every), "
            "atau jangan beri --cutoffs agar dipilih otomatis.",
            "en": "Choose cutoffs between {first} and {last} (e.g. --from, --to, --every), "
            "or give no --cutoffs to have them chosen for you.",
        },
        "bt_bad_cutoff": {
            "id": "Tanggal potong tidak terbaca atau di luar rentang tahun: {value}.",
            "en": "Cutoff date unreadable or outside the allowed years: {value}.",
        },
        "bt_bad_cutoff_fix": {
            "id": "Tulis tanggal seperti 2024-01-01 atau 01/01/2024, dipisah koma: --cutoffs 2023-01-01,2024-01-01.",
            "en": "Write dates like 2024-01-01 or 01/01/2024, separated by commas: --cutoffs 2023-01-01,2024-01-01.",
        },
        "bt_bad_window": {
            "id": "Panjang jendela tidak terbaca: {value}.",
            "en": "Window length unreadable: {value}.",
        },
        "bt_bad_window_fix": {
            "id": "Tulis angka dan satuan, paling lama 50 tahun: 12M (bulan), 6M, 90D (hari), 2W (minggu), 1Y (tahun).",
            "en": "Write a number and a unit, at most 50 years: 12M (months), 6M, 90D (days), 2W (weeks), 1Y (years).",
        },
        "bt_from_after_to": {
            "id": "Tanggal --from ({start}) jatuh setelah --to ({end}).",
            "en": "The --from date ({start}) is after the --to date ({end}).",
        },
        "bt_from_after_to_fix": {
            "id": "Tukar kedua tanggal.",
            "en": "Swap the two dates.",
        },
        "bt_too_many_cutoffs": {
            "id": "Terlalu banyak tanggal potong ({n}; paling banyak {most}, backtest.max_cutoffs).",
            "en": "Too many cutoff dates ({n}; at most {most}, backtest.max_cutoffs).",
        },
        "bt_too_many_cutoffs_fix": {
            "id": "Pakai --every yang lebih panjang atau rentang --from/--to yang lebih pendek, "
            "atau naikkan backtest.max_cutoffs di berkas --config.",
            "en": "Use a longer --every or a shorter --from/--to range, "
            "or raise backtest.max_cutoffs in a --config file.",
        },
        "bt_cutoff_options": {
            "id": "Pakai --cutoffs, atau --from dan --to bersama (dengan --every), bukan campuran.",
            "en": "Use --cutoffs, or --from and --to together (with --every), not a mix.",
        },
        "bt_bad_stage": {
            "id": "Tahapan tidak dikenal: {value}.",
            "en": "Unknown stage: {value}.",
        },
        "bt_bad_stage_fix": {
            "id": "Pilih dari: {known} (beberapa dipisah koma).",
            "en": "Choose from: {known} (several separated by commas).",
        },
        "bt_stage_all": {"id": "Semua insiden", "en": "All incidents"},
        "bt_method_riskmap": {"id": "riskmap", "en": "riskmap"},
        "bt_method_count": {"id": "hitungan", "en": "count"},
        "bt_method_decay": {"id": "hitungan meluruh", "en": "decayed count"},
        "bt_method_kde": {"id": "kepadatan kernel", "en": "kernel density"},
        "bt_method_random": {"id": "acak", "en": "random"},
        "bt_metric_hit_rate_villages": {
            "id": "Bagian insiden di {k} % desa teratas",
            "en": "Share of incidents in the top {k} % of villages",
        },
        "bt_metric_pai_area": {"id": "PAI pada {k} % luas wilayah", "en": "PAI at {k} % of the area"},
        "bt_metric_auc": {"id": "AUC", "en": "AUC"},
        "bt_verdict_head": {
            "id": "Uji mundur: {n} jendela uji {window}; skor dibuat hanya dari insiden sebelum tanggal potong.",
            "en": "Backtest: {n} test windows of {window}; scores use only incidents before each cutoff.",
        },
        "bt_median_riskmap": {"id": "riskmap {value} (median)", "en": "riskmap {value} (median)"},
        "bt_verdict_line": {
            "id": "riskmap mengalahkan baseline {baseline} di {wins} dari {n} jendela (median {baseline}: {theirs})",
            "en": "riskmap beats the {baseline} baseline in {wins} of {n} windows (median {baseline}: {theirs})",
        },
        "bt_axis_villages": {
            "id": "Bagian desa/kelurahan (urut skor, tertinggi dulu)",
            "en": "Share of villages (in score order, highest first)",
        },
        "bt_axis_area": {
            "id": "Bagian luas wilayah (urut skor, tertinggi dulu)",
            "en": "Share of the area (in score order, highest first)",
        },
        "bt_axis_incidents": {"id": "Bagian insiden jendela uji", "en": "Share of test-window incidents"},
        "bt_chart_title": {
            "id": "Uji mundur - {stage}: median dari {n} jendela {window}",
            "en": "Backtest - {stage}: median over {n} windows of {window}",
        },
        "bt_written": {"id": "ditulis", "en": "written"},
    }
)

for _code, (_id, _en) in {
    "impossible_coordinates": ("Koordinat mustahil", "Impossible coordinates"),
    "village_off_earth": ("Koordinat poligon di luar bumi", "Polygon coordinates off the Earth"),
    "village_outside_indonesia": ("Poligon di luar Indonesia", "Polygon outside Indonesia"),
    "village_too_large": ("Poligon terlalu luas", "Polygon too large"),
    "date_out_of_range": ("Tanggal di luar rentang", "Date out of range"),
}.items():
    MESSAGES["reason_" + _code] = {"id": _id, "en": _en}


# -- inputs10 (issue 10: incident inputs as delivered, national files; io/incidents, villages, _coords) ---------
MESSAGES.update(
    {
        "collapsed_parts_dropped": {
            "id": (
                "{n} bagian poligon ini menyusut menjadi titik atau garis (tanpa luas) dan dibuang; bagian lain "
                "dipakai. Periksa batas kelurahan/desa ini di aplikasi GIS bila perlu."
            ),
            "en": (
                "{n} part(s) of this polygon had collapsed to a point or a line (no area) and were dropped; the "
                "other parts are used. Check this village's boundary in a GIS application if needed."
            ),
        },
        "unmapped_event_type": {
            "id": (
                "jenis kejadian {export} '{value}' belum dipetakan ke jenis insiden riskmap; kejadian tetap dipakai "
                "sebagai '{default}'. Untuk memetakannya, tambahkan baris {line} di konfigurasi Anda (ganti ... "
                "dengan salah satu jenis di [taxonomy])."
            ),
            "en": (
                "{export} event type '{value}' maps to no riskmap incident type; the event is used as '{default}'. "
                "To map it, add the line {line} to your configuration (replace ... with one of the types in "
                "[taxonomy])."
            ),
        },
        "export_precision_unknown": {
            "id": (
                "{column} '{value}' bukan kode {export} yang dikenal ({known}); lokasi dianggap setingkat wilayah "
                "(tidak dipatok ke satu kelurahan/desa). Periksa kolom {column}."
            ),
            "en": (
                "{column} '{value}' is not a known {export} code ({known}); the location is taken as region-level "
                "(not pinned to one village). Check the {column} column."
            ),
        },
        "config_unknown_type": {
            "id": "{key} = '{value}' bukan jenis insiden di [taxonomy]. Jenis yang ada: {known}.",
            "en": "{key} = '{value}' is not an incident type in [taxonomy]. Types there: {known}.",
        },
        "config_unknown_type_fix": {
            "id": "Tulis salah satu jenis yang ada, atau tambahkan jenis itu di [taxonomy].",
            "en": "Write one of the existing types, or add that type to [taxonomy].",
        },
        "collapsed_parts_summary": {
            "id": "{parts} bagian poligon tanpa luas (titik/garis) dibuang dari {polygons} kelurahan/desa.",
            "en": "{parts} polygon part(s) with no area (points/lines) were dropped from {polygons} villages.",
        },
    }
)


# -- r2 (issue 9 red-team: point layers, report, terminal, cli) --------------------------------
MESSAGES.update(
    {
        "empty_geometry": {
            "id": "geometri baris ini kosong (tanpa koordinat). Gambar ulang titiknya atau isi lintang dan bujur.",
            "en": "this row's geometry is empty (it has no coordinates). Redraw the point or fill in latitude and "
            "longitude.",
        },
        "reason_empty_geometry": {"id": "Geometri kosong", "en": "Empty geometry"},
        "report_warnings_list": {"id": "lihat daftar peringatan", "en": "see the warnings list"},
        "report_warnings_cli": {
            "id": "daftarnya: riskmap validate dengan --report report.json, report.csv atau report.xlsx",
            "en": "to list them: riskmap validate with --report report.json, report.csv or report.xlsx",
        },
        "report_warnings_file": {"id": "daftarnya di {path}", "en": "listed in {path}"},
        "no_data_rows": {
            "id": "file tidak berisi baris data (hanya judul kolom, atau tanpa fitur). Periksa apakah file yang "
            "benar yang dipilih, atau isi datanya di bawah judul kolom.",
            "en": "the file holds no data rows (only the column names, or no features). Check that the right file "
            "was chosen, or fill in the data under the column names.",
        },
        "no_columns_found": {
            "id": "tidak ada (di file ini tidak ada kolom atribut sama sekali)",
            "en": "none (the file has no attribute columns at all)",
        },
        "village_looks_projected": {
            "id": "koordinat poligon ini tampak dalam meter (misalnya UTM: bujur {lon_min} sampai {lon_max}, "
            "lintang {lat_min} sampai {lat_max}), bukan derajat, dan file tidak menyebut CRS-nya. Sebutkan CRS: "
            "di QGIS atur CRS layer lalu ekspor ulang, atau beri --columns villages.crs=EPSG:32751 (UTM 51S, "
            "NTT; 32750 = UTM 50S, 32752 = UTM 52S).",
            "en": "this polygon's coordinates look like metres (e.g. UTM: x {lon_min} to {lon_max}, y {lat_min} to "
            "{lat_max}), not degrees, and the file names no CRS. Name the CRS: set the layer's CRS in QGIS and "
            "export again, or give --columns villages.crs=EPSG:32751 (UTM 51S, NTT; 32750 = UTM 50S, 32752 = "
            "UTM 52S).",
        },
        "reason_village_looks_projected": {
            "id": "Koordinat dalam meter (mis. UTM) tanpa CRS: sebutkan CRS, mis. --columns villages.crs=EPSG:32751",
            "en": "Coordinates in metres (e.g. UTM) with no CRS: name the CRS, e.g. --columns villages.crs=EPSG:32751",
        },
        "xlsx_sheet_notes": {"id": "ditolak dan catatan", "en": "rejected and warnings"},
    }
)


# -- hot spots (issue 10: Getis-Ord Gi* with FDR, riskmap/hotspots.py; hot engineer) -------------------
MESSAGES.update(
    {
        "hotspot_hot_99": {"id": "Titik panas (99 %)", "en": "Hot spot (99 %)"},
        "hotspot_hot_95": {"id": "Titik panas (95 %)", "en": "Hot spot (95 %)"},
        "hotspot_hot_90": {"id": "Titik panas (90 %)", "en": "Hot spot (90 %)"},
        "hotspot_cold_99": {"id": "Titik dingin (99 %)", "en": "Cold spot (99 %)"},
        "hotspot_cold_95": {"id": "Titik dingin (95 %)", "en": "Cold spot (95 %)"},
        "hotspot_cold_90": {"id": "Titik dingin (90 %)", "en": "Cold spot (90 %)"},
        "hotspot_ns": {"id": "Tidak signifikan", "en": "Not significant"},
        "config_hotspots": {
            "id": "pengaturan {setting} bernilai {value}, yang tidak dapat dipakai.",
            "en": "the setting {setting} has the value {value}, which cannot be used.",
        },
        "config_hotspots_fix": {
            "id": "Nilai yang boleh: {allowed} (lihat komentar [hotspots] di default.toml).",
            "en": "Allowed values: {allowed} (see the comments of [hotspots] in default.toml).",
        },
    }
)


# -- database, accounts, audit, early warning (issue 11: riskmap/store, riskmap/alerts.py, CLI db|incidents|users|audit|alerts) --
MESSAGES.update(
    {
        "layer_logged_incidents": {"id": "Insiden tercatat (basis data)", "en": "Logged incidents (database)"},
        "store_bad_url": {
            "id": "alamat basis data tidak dapat dibaca: {url}.",
            "en": "the database address cannot be read: {url}.",
        },
        "store_bad_url_fix": {
            "id": "Tulis postgresql://pengguna:sandi@server/nama_db, atau sqlite:///jalur/file.sqlite, atau jalur file.",
            "en": "Write postgresql://user:password@host/dbname, or sqlite:///path/file.sqlite, or a file path.",
        },
        "store_cannot_connect": {
            "id": "basis data {url} tidak dapat dihubungi ({detail}).",
            "en": "cannot connect to the database {url} ({detail}).",
        },
        "store_cannot_connect_fix": {
            "id": "Periksa alamat, nama pengguna, sandi, dan bahwa server PostgreSQL berjalan.",
            "en": "Check the address, user name, password, and that the PostgreSQL server is running.",
        },
        "store_bad_role": {
            "id": "peran '{value}' tidak dikenal.",
            "en": "unknown role '{value}'.",
        },
        "store_bad_role_fix": {"id": "Peran yang ada: {known}.", "en": "Roles: {known}."},
        "store_bad_user_name": {
            "id": "{field} '{value}' tidak dapat dipakai (kosong, lebih dari 128 karakter, atau berisi karakter kendali).",
            "en": "{field} '{value}' cannot be used (empty, over 128 characters, or holds control characters).",
        },
        "store_weak_password": {
            "id": "sandi terlalu pendek.",
            "en": "the password is too short.",
        },
        "store_weak_password_fix": {
            "id": "Pakai sandi minimal {n} karakter.",
            "en": "Use a password of at least {n} characters.",
        },
        "store_user_exists": {
            "id": "pengguna '{name}' sudah ada.",
            "en": "user '{name}' already exists.",
        },
        "store_user_exists_fix": {
            "id": "Pilih nama lain, atau ganti sandinya dengan riskmap users passwd.",
            "en": "Choose another name, or change its password with riskmap users passwd.",
        },
        "store_no_such_user": {"id": "pengguna '{name}' tidak ada.", "en": "there is no user '{name}'."},
        "store_no_such_user_fix": {
            "id": "Lihat daftar dengan riskmap users list.",
            "en": "See the list with riskmap users list.",
        },
        "store_bad_field_value": {
            "id": "nilai '{value}' untuk {field} tidak dapat dipakai.",
            "en": "the value '{value}' for {field} cannot be used.",
        },
        "store_bad_field_value_fix": {
            "id": "Tanggal: 2024-11-27 atau 27/11/2024 (dalam rentang tahun konfigurasi); jam: 14:30; "
            "lintang -90..90 dan bujur -180..180 dalam derajat; tingkat keparahan 1, 2 atau 3.",
            "en": "Date: 2024-11-27 or 27/11/2024 (within the configuration's years); time: 14:30; "
            "latitude -90..90 and longitude -180..180 in degrees; severity 1, 2 or 3.",
        },
        "store_bad_type": {
            "id": "jenis insiden '{value}' tidak ada dalam taksonomi.",
            "en": "incident type '{value}' is not in the taxonomy.",
        },
        "store_bad_type_fix": {"id": "Jenis yang ada: {known}.", "en": "Known types: {known}."},
        "store_bad_choice": {
            "id": "nilai '{value}' untuk {field} tidak dikenal.",
            "en": "unknown value '{value}' for {field}.",
        },
        "store_bad_choice_fix": {"id": "Pilihan: {known}.", "en": "Choices: {known}."},
        "store_bad_field": {
            "id": "kolom {field} tidak dapat diubah.",
            "en": "the field {field} cannot be changed.",
        },
        "store_why_required": {
            "id": "alasan perubahan wajib diisi.",
            "en": "a reason for the change is required.",
        },
        "store_why_required_fix": {
            "id": "Tulis mengapa insiden diubah atau dihapus (--why).",
            "en": "Say why the incident is changed or deleted (--why).",
        },
        "store_no_such_incident": {
            "id": "insiden {incident_id} tidak ada di basis data.",
            "en": "incident {incident_id} is not in the database.",
        },
        "store_no_such_incident_fix": {
            "id": "Salin ID dari riskmap incidents export.",
            "en": "Copy the ID from riskmap incidents export.",
        },
        "store_incident_exists": {
            "id": "insiden {incident_id} sudah tercatat.",
            "en": "incident {incident_id} is already logged.",
        },
        "store_busy": {
            "id": "basis data sedang sibuk; perubahan tidak disimpan.",
            "en": "the database is busy; the change was not saved.",
        },
        "store_busy_fix": {"id": "Coba lagi sebentar lagi.", "en": "Try again in a moment."},
        "store_bad_since": {
            "id": "tanggal '{value}' tidak dapat dibaca.",
            "en": "the date '{value}' cannot be read.",
        },
        "store_bad_since_fix": {"id": "Tulis misalnya 2024-11-27.", "en": "Write for example 2024-11-27."},
        "store_backup_write": {
            "id": "cadangan tidak dapat ditulis ({detail}).",
            "en": "the backup cannot be written ({detail}).",
        },
        "store_backup_bad": {
            "id": "bukan file cadangan riskmap yang utuh.",
            "en": "not a complete riskmap backup file.",
        },
        "store_backup_bad_fix": {
            "id": "Pakai file yang dibuat oleh riskmap db backup, tanpa diubah.",
            "en": "Use a file written by riskmap db backup, unchanged.",
        },
        "store_restore_not_empty": {
            "id": "basis data {url} sudah berisi {n} baris; pemulihan akan menimpanya.",
            "en": "the database {url} already holds {n} rows; a restore would replace them.",
        },
        "store_restore_not_empty_fix": {
            "id": "Pulihkan ke basis data kosong, atau tambahkan --force untuk mengganti isinya.",
            "en": "Restore into an empty database, or add --force to replace its contents.",
        },
        "store_password_mismatch": {
            "id": "kedua sandi yang diketik tidak sama.",
            "en": "the two passwords typed differ.",
        },
        "store_password_file": {
            "id": "file sandi kosong atau tidak dapat dibaca.",
            "en": "the password file is empty or cannot be read.",
        },
        "store_password_prompt": {"id": "Sandi untuk {name}: ", "en": "Password for {name}: "},
        "store_password_again": {"id": "Ketik ulang sandi: ", "en": "Type the password again: "},
        "store_no_terminal": {
            "id": "tidak ada terminal untuk menanyakan sandi.",
            "en": "there is no terminal to ask for the password.",
        },
        "store_no_terminal_fix": {
            "id": "Berikan sandi dalam file dengan --password-file FILE.",
            "en": "Give the password in a file with --password-file FILE.",
        },
        "reason_logged_matches_file": {
            "id": "sama dengan insiden {matched_id} dari file (jenis sama, dalam {m} m dan {days} hari): dihitung sekali",
            "en": "same as incident {matched_id} from the file (same type, within {m} m and {days} days): counted once",
        },
        "logged_matches_file": {
            "id": "sama dengan insiden {matched_id} dari file (jenis sama, dalam {m} m dan {days} hari): dihitung sekali.",
            "en": "same as incident {matched_id} from the file (same type, within {m} m and {days} days): counted once.",
        },
        "reason_already_logged": {"id": "sudah tercatat", "en": "already logged"},
        "already_logged": {
            "id": "insiden {incident_id} sudah tercatat di basis data; tidak dicatat dua kali.",
            "en": "incident {incident_id} is already in the database; not logged twice.",
        },
        "cli_db_upgraded": {
            "id": "Basis data {url}: skema {revision} (terbaru).",
            "en": "Database {url}: schema {revision} (newest).",
        },
        "cli_db_backup": {
            "id": "Cadangan {path}: {counts}.",
            "en": "Backup {path}: {counts}.",
        },
        "cli_db_restored": {
            "id": "Dipulihkan ke {url}: {counts}.",
            "en": "Restored into {url}: {counts}.",
        },
        "cli_incident_added": {"id": "Insiden dicatat: {incident_id}", "en": "Incident logged: {incident_id}"},
        "cli_incidents_imported": {
            "id": "{n} insiden dicatat dari {file} (sumber: impor).",
            "en": "{n} incidents logged from {file} (via: import).",
        },
        "cli_incidents_moderated": {
            "id": "{n} insiden kini berstatus {status}.",
            "en": "{n} incidents are now {status}.",
        },
        "cli_incidents_exported": {
            "id": "{n} insiden diekspor.",
            "en": "{n} incidents exported.",
        },
        "cli_user_added": {"id": "Pengguna {name} ({role}) dibuat.", "en": "User {name} ({role}) created."},
        "cli_user_disabled": {"id": "Pengguna {name} dinonaktifkan.", "en": "User {name} disabled."},
        "cli_user_password": {"id": "Sandi {name} diganti.", "en": "Password of {name} changed."},
        "cli_user_disabled_flag": {"id": "nonaktif", "en": "disabled"},
        "cli_audit_empty": {
            "id": "Log audit kosong untuk periode ini.",
            "en": "The audit log is empty for this period.",
        },
        "cli_export_format": {
            "id": "format ekspor '{path}' tidak dikenal.",
            "en": "unknown export format '{path}'.",
        },
        "cli_export_format_fix": {
            "id": "Akhiri nama file dengan .csv, .geojson atau .xlsx.",
            "en": "End the file name with .csv, .geojson or .xlsx.",
        },
        "cli_score_db": {
            "id": "Insiden tercatat dari {url}: {n} ikut dihitung ({statuses}).",
            "en": "Logged incidents from {url}: {n} included ({statuses}).",
        },
        # early warning
        "alerts_none": {
            "id": "Tidak ada lonjakan insiden per {as_of}.",
            "en": "No incident surge as of {as_of}.",
        },
        "alerts_header": {
            "id": "PERINGATAN DINI per {as_of}: {n} wilayah melonjak.",
            "en": "EARLY WARNING as of {as_of}: {n} areas surging.",
        },
        "alerts_level_district": {"id": "Kecamatan", "en": "Kecamatan (district)"},
        "alerts_level_regency": {"id": "Kab/Kota", "en": "Kab/kota (regency)"},
        "alerts_recent": {
            "id": "{count} insiden 7 hari terakhir, {ratio:.1f}x rata-rata mingguan {baseline:.1f} dari 4 minggu sebelumnya",
            "en": "{count} incidents in the last 7 days, {ratio:.1f}x the weekly mean {baseline:.1f} of the 4 weeks before",
        },
        "alerts_cycle": {
            "id": "{ratio:.1f}x minggu yang sama siklus pemilu sebelumnya ({prev} insiden, {start}..{end})",
            "en": "{ratio:.1f}x the same week of the previous election cycle ({prev} incidents, {start}..{end})",
        },
    }
)


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Term(str):
    """A message parameter that is itself a key of :data:`MESSAGES`, translated with the message."""


def t(key: str, lang: str = "id", /, **params: Any) -> str:
    """Text for ``key`` in ``lang`` with ``params`` filled in.

    ``key`` and ``lang`` are positional only, so a message may have placeholders of those names (``{key}``).

    Parameters that are :class:`Term` are translated into ``lang`` too.
    Unknown keys come back as the key itself, so a missing translation shows
    up in the interface instead of crashing it.
    """
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["id"]
    params = {k: t(v, lang) if isinstance(v, Term) else v for k, v in params.items()}
    return text.format_map(_Missing(params))


# -- faces (issue 10: accuracy panel and line, the method in legends, hot spots on maps; app, mapping, printing) --
MESSAGES.update(
    {
        "legend_method": {"id": "Metode: {name}", "en": "Method: {name}"},
        "method_index": {"id": "indeks berbobot", "en": "weighted index"},
        "method_fitted": {"id": "model terlatih pada data lalu", "en": "model fitted to past data"},
        "method_auto": {"id": "otomatis", "en": "automatic"},
        "method_auto_chose": {
            "id": "{name} (dipilih otomatis menurut banyaknya data)",
            "en": "{name} (chosen automatically by the amount of data)",
        },
        "acc_line": {
            "id": "Teruji pada data ini: {hit} insiden {window} berikutnya terjadi di {k} % kelurahan/desa berskor "
            "tertinggi (median {n} jendela uji {years}, {incidents} insiden; pembanding terkuat, {baseline}: {theirs}).",
            "en": "Tested on this data: {hit} of the incidents of the following {window} fell in the {k} % "
            "highest-scored villages (median of {n} test windows {years}, {incidents} incidents; strongest baseline, {baseline}: "
            "{theirs}).",
        },
        "acc_not_measured": {
            "id": "Akurasi tidak dapat diukur pada data ini: {why}.",
            "en": "Accuracy could not be measured on this data: {why}.",
        },
        "acc_not_run": {
            "id": "Akurasi tidak diukur untuk cetakan ini (ukur dengan riskmap backtest, atau cetak tanpa --no-accuracy).",
            "en": "Accuracy not measured for this print (measure it with riskmap backtest, or print without "
            "--no-accuracy).",
        },
        "acc_why_bt_no_incidents": {"id": "tidak ada data insiden", "en": "there are no incident data"},
        "acc_why_bt_no_precise": {
            "id": "tidak ada insiden yang lokasinya diketahui sampai kelurahan/desa",
            "en": "no incident is located to a village",
        },
        "acc_why_bt_no_test_incidents": {
            "id": "tidak ada insiden berlokasi tepat dalam jendela uji {window} ({n} insiden bertanggal {first} "
            "sampai {last}: rentangnya terlalu pendek)",
            "en": "no precisely located incident falls in a test window of {window} ({n} incidents dated {first} "
            "to {last}: too short a span)",
        },
        "acc_why_bt_stage_no_test_incidents": {
            "id": "tidak ada insiden tahap ini dalam jendela uji",
            "en": "no incident of this stage falls in a test window",
        },
        "acc_unit_D": {"id": "{n} hari", "en": "{n} days"},
        "acc_unit_D_one": {"id": "{n} hari", "en": "{n} day"},
        "acc_unit_W": {"id": "{n} minggu", "en": "{n} weeks"},
        "acc_unit_W_one": {"id": "{n} minggu", "en": "{n} week"},
        "acc_unit_M": {"id": "{n} bulan", "en": "{n} months"},
        "acc_unit_M_one": {"id": "{n} bulan", "en": "{n} month"},
        "acc_unit_Y": {"id": "{n} tahun", "en": "{n} years"},
        "acc_unit_Y_one": {"id": "{n} tahun", "en": "{n} year"},
        "bt_stage_not_run": {
            "id": "Uji mundur ini tidak mengukur tahap {stage}.",
            "en": "This backtest did not measure the stage {stage}.",
        },
        "bt_stage_not_run_fix": {
            "id": "Jalankan riskmap backtest lagi dengan tahap ini (--stage), atau cetak tanpa --backtest.",
            "en": "Run riskmap backtest again with this stage (--stage), or print without --backtest.",
        },
        "bt_saved_mismatch": {
            "id": "Hasil uji mundur tersimpan ({path}) diukur pada data atau konfigurasi lain ({what}).",
            "en": "The saved backtest ({path}) was measured on other data or another configuration ({what}).",
        },
        "bt_saved_mismatch_fix": {
            "id": "Jalankan riskmap backtest lagi pada berkas yang sama, atau cetak tanpa --backtest "
            "(akurasi lalu diukur ulang).",
            "en": "Run riskmap backtest again on the same files, or print without --backtest (accuracy is then "
            "measured again).",
        },
        "bt_saved_what_data": {
            "id": "batas kelurahan/desa atau insidennya berbeda",
            "en": "the villages or the incidents differ",
        },
        "bt_saved_what_config": {"id": "konfigurasinya berbeda", "en": "the configuration differs"},
        "bt_saved_unreadable": {
            "id": "Berkas uji mundur {path} tidak dapat dibaca sebagai backtest.json riskmap ({detail}).",
            "en": "The backtest file {path} cannot be read as a riskmap backtest.json ({detail}).",
        },
        "bt_saved_unreadable_fix": {
            "id": "Beri jalur ke backtest.json yang ditulis riskmap backtest --out FOLDER.",
            "en": "Give the path of the backtest.json written by riskmap backtest --out FOLDER.",
        },
        "hotspot_layer": {"id": "Titik panas/dingin", "en": "Hot and cold spots"},
        "hotspot_tip": {"id": "Titik panas/dingin", "en": "Hot/cold spot"},
        "hotspot_legend": {"id": "Titik panas/dingin (kelurahan)", "en": "Hot/cold spots (villages)"},
    }
)
_APP.update(
    {
        "acc_title": {"id": "Seberapa akurat?", "en": "How accurate?"},
        "acc_intro": {
            "id": "Uji mundur pada data yang dimuat: di setiap tanggal potong, skor dibuat hanya dari insiden "
            "sebelumnya lalu dibandingkan dengan insiden jendela berikutnya, dan dengan pembanding sederhana.",
            "en": "Backtest of the loaded data: at each cutoff the scores use only the incidents before it and are "
            "compared with the next window's incidents, and with simple baselines.",
        },
        "acc_run": {"id": "Ukur akurasi (uji mundur)", "en": "Measure accuracy (backtest)"},
        "acc_running": {
            "id": "Menguji skor pada data lalu... (beberapa detik; lebih lama untuk data provinsi)",
            "en": "Testing the scores on past data... (a few seconds; longer for province data)",
        },
        "acc_which": {"id": "Insiden yang diuji", "en": "Incidents tested"},
        "acc_curves": {
            "id": "Kurva tangkapan: bagian insiden jendela uji di kelurahan/desa berskor tertinggi (median)",
            "en": "Capture curves: share of test-window incidents in the highest-scored villages (median)",
        },
        "acc_table": {"id": "Median atas jendela uji", "en": "Medians over the test windows"},
        "acc_method": {"id": "Metode", "en": "Method"},
        "acc_hit": {"id": "Bagian insiden di 20 % desa teratas", "en": "Incidents in the top 20 % of villages"},
        "acc_pai": {"id": "PAI pada 5 % luas", "en": "PAI at 5 % of the area"},
        "acc_auc": {"id": "AUC", "en": "AUC"},
        "acc_brier": {"id": "Brier (lebih kecil lebih baik)", "en": "Brier (lower is better)"},
        "acc_verdict": {"id": "Kesimpulan", "en": "Verdict"},
        "acc_x": {"id": "Bagian", "en": "Share"},
        "acc_y": {"id": "Bagian insiden", "en": "Share of incidents"},
        "acc_dl_json": {"id": "Unduh backtest.json", "en": "Download backtest.json"},
        "acc_dl_csv": {"id": "Unduh backtest.csv", "en": "Download backtest.csv"},
    }
)
MESSAGES.update({f"app.{k}": v for k, v in _APP.items() if k.startswith("acc_")})

# -- issue 12 (fix12): area choice, deploy and print texts of the CLI and the printer ---------------------------
MESSAGES.update(
    {
        "config_deploy_rounding": {
            "id": "pengaturan [deploy] rounding bernilai '{value}', yang tidak dapat dipakai.",
            "en": "the setting [deploy] rounding has the value '{value}', which cannot be used.",
        },
        "config_deploy_rounding_fix": {
            "id": "Nilai yang boleh: {allowed} (lihat komentar [deploy] di default.toml).",
            "en": "Allowed values: {allowed} (see the comments of [deploy] in default.toml).",
        },
        # column names of the display tables (riskmap.view: ranked villages and TPS, escalation)
        "col.code": {"id": "kode", "en": "code"},
        "col.village": {"id": "kelurahan/desa", "en": "village"},
        "col.district": {"id": "kecamatan", "en": "district (kecamatan)"},
        "col.address": {"id": "alamat", "en": "address"},
        "col.score": {"id": "skor", "en": "score"},
        "col.category": {"id": "kategori", "en": "category"},
        "col.factors": {"id": "faktor utama", "en": "top factors"},
        "col.tps": {"id": "TPS", "en": "polling station (TPS)"},
        "col.voters": {"id": "pemilih", "en": "voters"},
        "col.incidents": {"id": "insiden", "en": "incidents"},
        "col.nearby": {"id": "insiden ≤1 km", "en": "incidents ≤1 km"},
        "col.score_stage": {"id": "skor {stage}", "en": "score {stage}"},
        "col.category_stage": {"id": "kategori {stage}", "en": "category {stage}"},
        "col.change": {"id": "selisih", "en": "change"},
        "col.escalates": {"id": "naik", "en": "escalates"},
        "col.venue": {"id": "tempat rekapitulasi", "en": "recap venue"},
        "col.venue_kind": {"id": "jenis", "en": "kind"},
        "col.venue_placed": {"id": "letak", "en": "location"},
        "col.tps_risk": {"id": "skor TPS yang dihitung", "en": "score of the TPS counted"},
        "col.nearby_incidents": {"id": "insiden di sekitar", "en": "incidents nearby"},
        "col.police_suggested": {"id": "polisi disarankan", "en": "police suggested"},
        "col.rank": {"id": "peringkat", "en": "rank"},
        "col.incident_cells": {"id": "sel padat insiden ({cell} m)", "en": "incident cells ({cell} m)"},
        "venue_kind_ppk": {"id": "PPK (kecamatan)", "en": "PPK (kecamatan office)"},
        "venue_kind_kpu": {"id": "KPU kabupaten/kota", "en": "KPU (kab/kota office)"},
        "venue_placed_kecamatan_interior_point": {
            "id": "titik tengah kecamatan (tanpa file tempat)",
            "en": "kecamatan interior point (no venue file)",
        },
        "venue_placed_file": {"id": "dari file tempat", "en": "from the venue file"},
        "deploy_row_tps": {"id": "TPS", "en": "Polling stations (TPS)"},
        "deploy_row_guard_groups": {"id": "Kelompok jaga", "en": "Guard groups"},
        "deploy_row_pattern": {"id": "Pola pengamanan", "en": "Staffing pattern"},
        "deploy_row_police_planning_arithmetic": {
            "id": "Polisi menurut hitungan pola",
            "en": "Police by the pattern arithmetic",
        },
        "deploy_row_linmas_planning_arithmetic": {
            "id": "Linmas menurut hitungan pola",
            "en": "Linmas by the pattern arithmetic",
        },
        "deploy_row_police_required_by_groups": {
            "id": "Polisi dibutuhkan kelompok jaga",
            "en": "Police required by the guard groups",
        },
        "deploy_row_linmas_required_by_groups": {
            "id": "Linmas dibutuhkan kelompok jaga",
            "en": "Linmas required by the guard groups",
        },
        "deploy_row_police_assigned": {"id": "Polisi ditugaskan", "en": "Police assigned"},
        "deploy_row_linmas_assigned": {"id": "Linmas ditugaskan", "en": "Linmas assigned"},
        "khusus": {"id": "Lokasi khusus", "en": "Special location"},
        # lines `riskmap deploy` and `riskmap score` print
        "cli_reserves": {
            "id": "cadangan: {n} regu, masing-masing {team} polisi",
            "en": "reserves: {n} teams of {team} police",
        },
        "cli_posts": {
            "id": "pos: {chosen} dipilih, {covered}/{total} TPS terjangkau ({share} dari risiko), TPS rawan yang "
            "tidak terjangkau: {uncovered}; hasil penempatan: {optimal}",
            "en": "posts: {chosen} chosen, {covered}/{total} TPS covered ({share} of the risk), high-risk "
            "uncovered: {uncovered}; placement: {optimal}",
        },
        "cli_staffing": {
            "id": "polisi: dibutuhkan {p_req}, ditugaskan {p_asg}; Linmas: dibutuhkan {l_req}, ditugaskan {l_asg}; "
            "TPS di bawah pola: {below}",
            "en": "police: required {p_req}, assigned {p_asg}; Linmas: required {l_req}, assigned {l_asg}; "
            "TPS below pattern: {below}",
        },
        "cli_patrol": {
            "id": "{rank}. {village} ({district}): skor {score}, {cells} sel padat insiden",
            "en": "{rank}. {village} ({district}): score {score}, {cells} incident cells",
        },
        "cli_venue": {
            "id": "  {name}: skor {score} ({level}), polisi {police}",
            "en": "  {name}: score {score} ({level}), police {police}",
        },
        "cli_as_of": {"id": "{layer}: data per {as_of}", "en": "{layer}: data as of {as_of}"},
        # the load report's tables (riskmap.io.report: counts_table, notes_table)
        "col.layer": {"id": "lapisan data", "en": "layer"},
        "col.file": {"id": "berkas", "en": "file"},
        "col.schema": {"id": "format", "en": "format"},
        "col.read": {"id": "dibaca", "en": "read"},
        "col.used": {"id": "dipakai", "en": "used"},
        "col.rejected": {"id": "ditolak", "en": "rejected"},
        "col.warnings": {"id": "catatan", "en": "warnings"},
        "col.kind": {"id": "jenis", "en": "kind"},
        "col.row": {"id": "baris", "en": "row"},
        "col.sheet": {"id": "lembar", "en": "sheet"},
        "col.reason": {"id": "alasan", "en": "reason"},
        "col.message": {"id": "keterangan", "en": "message"},
        "note_rejected": {"id": "ditolak", "en": "rejected"},
        "note_warning": {"id": "dipakai dengan catatan", "en": "used with a warning"},
        # texts of riskmap/mapping.py (the app engineer's file): ready for its inline `lang == "id"` ternaries
        "map_score": {"id": "Skor", "en": "Score"},
        "map_category": {"id": "Kategori", "en": "Category"},
        "map_factors": {"id": "Faktor utama", "en": "Top factors"},
        "map_address": {"id": "Alamat", "en": "Address"},
        "map_unit_villages_tps": {"id": "kel./TPS", "en": "villages/TPS"},
        "map_villages": {"id": "Kelurahan/desa", "en": "Villages"},
        "map_heat": {"id": "Sebaran insiden (heat)", "en": "Incident heat"},
        "map_incidents": {"id": "Insiden", "en": "Incidents"},
        "map_posts": {"id": "Pos polisi", "en": "Police posts"},
        "map_fullscreen": {"id": "Layar penuh", "en": "Full screen"},
        "map_stage_buttons": {"id": "Tahapan", "en": "Stage"},
        "map_fullscreen_exit": {"id": "Keluar", "en": "Exit"},
        "map_guard_groups": {"id": "Kelompok jaga", "en": "Guard groups"},
        "map_tps_police": {"id": "polisi {assigned} / {required}", "en": "police {assigned} / {required}"},
        "map_chosen_posts": {"id": "Pos terpilih", "en": "Chosen posts"},
        "area_no_tps": {
            "id": "wilayah '{area}' tidak memiliki TPS di file TPS.",
            "en": "area '{area}' has no TPS in the TPS file.",
        },
        "area_no_tps_fix": {
            "id": "Pilih wilayah lain (--area), atau periksa kolom kode kelurahan/koordinat di file TPS.",
            "en": "Choose another area (--area), or check the village code / coordinate columns of the TPS file.",
        },
    }
)

# Short labels of the warnings' reason codes (the load report's reason column), beside _REASON_LABELS of the
# rejections: every reason code has a label in both languages (tests/test_i18n.py).
_WARNING_LABELS: dict[str, tuple[str, str]] = {
    "ambiguous_village": ("Di batas beberapa kelurahan", "On a boundary of several villages"),
    "campaign_posts_marked": ("Dekat posko kampanye", "Near a campaign post"),
    "collapsed_parts_dropped": ("Bagian tanpa luas dibuang", "Parts without area dropped"),
    "collapsed_parts_summary": ("Bagian tanpa luas dibuang", "Parts without area dropped"),
    "export_precision_unknown": ("Ketepatan lokasi tidak dikenal", "Unknown location precision"),
    "ids_shortened": ("Kode dipendekkan Excel", "Codes shortened by Excel"),
    "implausible_voters": ("Jumlah pemilih tidak masuk akal", "Implausible voter count"),
    "merged_parts": ("Bagian poligon digabung", "Polygon parts merged"),
    "missing_name": ("Nama kosong", "Missing name"),
    "no_data_rows": ("Tanpa baris data", "No data rows"),
    "no_district_column": ("Tanpa kolom kecamatan", "No kecamatan column"),
    "no_voter_column": ("Tanpa kolom DPT", "No voter column"),
    "precision_assumed": ("Ketepatan lokasi dianggap tepat", "Location precision assumed"),
    "repaired_geometry": ("Poligon diperbaiki", "Polygon repaired"),
    "severity_assumed": ("Tingkat keparahan diasumsikan", "Severity assumed"),
    "unmapped_event_type": ("Jenis kejadian tidak terpetakan", "Unmapped event type"),
    "unparseable_flag": ("Nilai ya/tidak tidak terbaca", "Unreadable yes/no value"),
    "unparseable_precision": ("Ketepatan lokasi tidak terbaca", "Unreadable location precision"),
    "unparseable_severity": ("Tingkat keparahan tidak terbaca", "Unreadable severity"),
    "unparseable_voters": ("Jumlah pemilih tidak terbaca", "Unreadable voter count"),
    "village_mismatch": ("Kelurahan tidak cocok", "Village mismatch"),
    "voters_from_parts": ("DPT dari beberapa kolom", "Voters from several columns"),
    "voters_over_limit": ("Pemilih melebihi batas", "Voters over the limit"),
}
for _code, (_id, _en) in _WARNING_LABELS.items():
    MESSAGES.setdefault("reason_" + _code, {"id": _id, "en": _en})
