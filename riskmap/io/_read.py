"""Read any supported file into a raw frame, keeping the user's row numbers.

Tabular files (CSV, TXT, TSV, XLSX, XLS, ODS; a workbook's sheets with the same
columns are stacked, e.g. one sheet per kecamatan) keep a column numeric when every cell in
it is a number, and as text, exactly as typed, as soon as one cell is not, so
that a bad value can be quoted back to the user. Vector files (Shapefile, zipped
Shapefile, GeoJSON, GeoPackage, File Geodatabase, FlatGeobuf, GeoParquet) are read with pyogrio
and reprojected to EPSG:4326; a file without a CRS is taken as EPSG:4326 only
when its coordinates are plausible for Indonesia.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import mmap
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from riskmap import i18n
from riskmap._errors import RiskmapInputError
from riskmap.io import _workbook
from riskmap.io._columns import norm
from riskmap.io._safety import (
    ALLOWED_DRIVERS,
    FORMAT_NAMES,
    MB,
    Limits,
    active_limits,
    check_archive_file,
    check_driver,
    check_file_size,
    check_geojson_crs,
    check_gpkg,
    check_magic,
    check_name,
    check_path,
    check_prj,
    check_zip,
    gdb_catalogue,
    name_list,
    read_head,
    refuse_limit,
)
from riskmap.io.report import LayerReport, RowLabels

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
TABULAR_SUFFIXES = {".csv", ".txt", ".tsv", *SPREADSHEET_SUFFIXES}
VECTOR_SUFFIXES = {".shp", ".zip", ".geojson", ".json", ".gpkg", ".gdb", ".fgb", ".parquet", ".geoparquet"}

INDONESIA_BOUNDS = (94.0, -11.5, 141.5, 6.5)
"""(min lon, min lat, max lon, max lat) of Indonesia with a margin, EPSG:4326."""

ROW_COLUMN = "_row"
"""Column holding the row number as the user sees it in the file."""


@dataclass
class RawLayer:
    """A file as read, before any schema is applied.

    Attributes
    ----------
    frame
        The rows; a GeoDataFrame in EPSG:4326 for vector files. Column
        ``_row`` holds the user's row numbers.
    path
        The file read.
    is_vector
        True for vector files (geometry present).
    notes
        Layer-wide warnings as (code, params), e.g. an assumed CRS.
    row_labels
        For a workbook whose sheets were stacked: ``_row`` id -> (sheet name,
        row in that sheet). None otherwise (``_row`` is then the user's row).
    coordinate_crs
        For a table: the CRS its coordinate columns are in, when the column
        map names one (e.g. ``EPSG:32751`` for UTM metres).
    rejected
        Rows left out while reading, as (row, reason code, params): a
        truncated or misaligned CSV row. They count as read (see
        :func:`start_report`).
    row_warnings
        Rows read with a caveat, as (row, reason code, params): e.g. a
        character that could not be decoded.
    """

    frame: pd.DataFrame
    path: Path
    is_vector: bool
    notes: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    row_labels: RowLabels | None = None
    coordinate_crs: str | None = None
    rejected: list[tuple[int, str, dict[str, object]]] = field(default_factory=list)
    row_warnings: list[tuple[int, str, dict[str, object]]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """File name shown to users."""
        return self.path.name


def read_layer(
    path: str | Path, *, layer: str | None = None, crs: str | None = None, limits: Limits | None = None
) -> RawLayer:
    """Read a tabular or vector file.

    Every failure is a :class:`RiskmapInputError` (never a traceback): the
    name is checked first (NUL, too long, ``/vsi`` or URL prefixes), then the
    size limits, then the content (see :mod:`riskmap.io._safety`); any error
    GDAL, pandas or calamine raises while reading becomes the file's
    "unreadable" error with the library's words.

    Parameters
    ----------
    path
        File to read.
    layer
        Layer name inside a GeoPackage or a zip with several shapefiles.
    crs
        CRS to assume when the file declares none (e.g. ``"EPSG:32751"``);
        for a table, the CRS of its coordinate columns.
    limits
        Resource limits; by default the ones set with
        :func:`riskmap.io._safety.use_limits`, else the configuration defaults.

    Raises
    ------
    RiskmapInputError
        Missing file, unknown format, unsafe or unreadable content, a limit
        exceeded, missing CRS.
    """
    limits = limits or active_limits()
    path = check_path(path)
    if layer is not None:
        check_name(str(layer), path)
    suffix = path.suffix.lower()
    if suffix not in TABULAR_SUFFIXES and suffix not in VECTOR_SUFFIXES:
        raise RiskmapInputError("unknown_format", file=path, suffix=suffix or "(none)")
    check_file_size(path, limits)
    if crs:
        _check_crs(crs, path)
    if suffix in VECTOR_SUFFIXES:
        try:
            return _read_vector(path, layer=layer, crs=crs, limits=limits)
        except RiskmapInputError:
            raise
        except Exception as exc:  # GDAL, shapely, PROJ: any failure is the file's
            raise RiskmapInputError("vector_unreadable", file=path, detail=_detail(exc, path)) from None
    notes: list[tuple[str, dict[str, object]]] = []
    rejected: list[tuple[int, str, dict[str, object]]] = []
    warned: list[tuple[int, str, dict[str, object]]] = []
    labels = None
    try:
        if suffix in SPREADSHEET_SUFFIXES:
            check_archive_file(path, limits)
            frame, labels = _read_excel(path, notes, limits)
        else:
            raw = path.read_bytes()
            lines = raw.count(b"\n")
            if lines > limits.max_table_rows:
                refuse_limit(path, "table_rows", lines, limits.max_table_rows, "max_table_rows")
            frame = _read_csv(path, raw, rejected, warned)
        if len(frame.columns) - 1 > limits.max_columns:
            refuse_limit(path, "columns", len(frame.columns) - 1, limits.max_columns, "max_columns")
        blank = frame.drop(columns=ROW_COLUMN).isna().all(axis=1)
        frame = frame.loc[~blank].reset_index(drop=True)
    except RiskmapInputError:
        raise
    except Exception as exc:  # pandas, calamine, codecs: any failure is the file's
        code = "excel_unreadable" if suffix in SPREADSHEET_SUFFIXES else "csv_unreadable"
        raise RiskmapInputError(code, file=path, detail=_detail(exc, path)) from None
    if len(frame) > limits.max_table_rows:
        refuse_limit(path, "table_rows", len(frame), limits.max_table_rows, "max_table_rows")
    return RawLayer(
        frame=frame,
        path=path,
        is_vector=False,
        notes=notes,
        row_labels=labels,
        coordinate_crs=crs,
        rejected=rejected,
        row_warnings=warned,
    )


_DELIMITERS = ["\t", ";", "|", ","]  # ties go to the rarer-in-data delimiter


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _header_index(rows: list[list[str]]) -> int:
    """Index of the header row among the first rows of a sheet.

    Government spreadsheets often carry a title and blank rows above the
    header. The header is the first row whose filled cells span most of the
    table's width and are all text.
    """
    filled = [[c for c in (str(v).strip() for v in r) if c and c.lower() not in ("nan", "none")] for r in rows]
    width = max((len(f) for f in filled), default=0)
    for i, cells in enumerate(filled):
        if len(cells) >= max(2, 0.6 * width) and not any(_is_number(c) for c in cells):
            return i
    return 0


def _sniff_delimiter(lines: list[str]) -> str:
    best, best_score = ",", -1.0
    for delim in _DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        counts = [c for c in counts if c > 1]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        score = counts.count(mode) / len(lines) + (0.001 * mode)
        if score > best_score + 0.05:
            best, best_score = delim, score
    return best


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
BAD_CHARACTER = "\ufffd"


def _decode(raw: bytes) -> tuple[str, str, bool]:
    """Decode a text file: (text, encoding, invalid bytes replaced).

    UTF-16 with a BOM (Excel's "Unicode Text"), else UTF-8. A file that is
    UTF-8 but for a few invalid bytes stays UTF-8 with those bytes replaced by
    U+FFFD (the rows are reported); only a file with no valid multi-byte UTF-8
    sequence at all (a real Windows-1252 export) is read as cp1252, then
    latin-1 (which decodes anything).
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16", False
        except UnicodeDecodeError:
            return raw.decode("utf-16", errors="replace"), "utf-16", True
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig", False
    except UnicodeDecodeError:
        pass
    if _UTF8_MULTIBYTE.search(raw):
        return raw.decode("utf-8-sig", errors="replace"), "utf-8-sig", True
    for encoding in ("cp1252", "latin-1"):
        try:
            return raw.decode(encoding), encoding, False
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes anything")  # pragma: no cover


_BINARY_KINDS = {
    b"PK\x03\x04": "ZIP/Excel (.xlsx)",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"%PDF": "PDF",
    b"\xd0\xcf\x11\xe0": "Excel 97-2003 (.xls)",
    b"SQLite format 3": "SQLite/GeoPackage",
    b"PAR1": "Parquet",
    b"\x1f\x8b": "gzip",
}
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))


def _check_text(raw: bytes, path: Path) -> None:
    """Refuse a "CSV" that is not text: UTF-16 without a byte-order mark, or binary content (a zip, an image).

    Looks at the first 64 KiB: UTF-16 text without a BOM has a NUL in every
    other byte; any other NUL byte, or more than 1 % control characters,
    means the file is not text at all.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    head = raw[:65536]
    if not head:
        return
    nul = head.count(0)
    if nul:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if len(head) >= 4 and max(even, odd) >= 0.4 * (len(head) // 2) and min(even, odd) <= 0.05 * (len(head) // 2):
            raise RiskmapInputError("csv_utf16_no_bom", file=path)
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if nul or controls > 0.01 * len(head):
        kind = next((k for magic, k in _BINARY_KINDS.items() if head.startswith(magic)), None)
        if kind is None:
            raise RiskmapInputError("csv_binary", file=path, suffix=path.suffix.lower())
        raise RiskmapInputError("csv_binary_kind", file=path, kind=kind, suffix=path.suffix.lower())


def _lines(text: str) -> list[str]:
    """Physical lines as the CSV parser splits them (LF, CRLF or CR)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _header_width(names: list[str]) -> int:
    """Fields of a header up to its last named column (Excel pads headers with empty cells)."""
    width = len(names)
    while width > 1 and not str(names[width - 1]).strip():
        width -= 1
    return width


def _read_csv(
    path: Path, raw: bytes, rejected: list[tuple[int, str, dict[str, object]]], warned: list[tuple[int, str, dict]]
) -> pd.DataFrame:
    """Read a delimited text file; rows of the wrong width go to ``rejected``, bad characters to ``warned``.

    Only truly empty cells are empty: ``NA``, ``N/A``, ``null``, ``-`` and the
    like are data (a village may be called "NA"). A row with fewer fields than
    the header (a truncated last line) or with more non-empty fields (columns
    shifted) is rejected with its row number, never used half-read. The fast
    path is pandas' C parser; the rows' widths are checked with :mod:`csv`
    only for rows whose last column came out empty, or for the whole file when
    pandas reported a row too long.
    """
    _check_text(raw, path)
    text, used, replaced = _decode(raw)
    if not text or text.isspace():
        raise RiskmapInputError("empty_file", file=path)
    head = text[:65536].splitlines()[:50]
    sep = _sniff_delimiter([line for line in head if line.strip()])
    header = _header_index(list(csv.reader(head[:20], delimiter=sep)))
    # Types are inferred (fast, and a clean numeric column stays numeric);
    # a column with any text in it stays text, exactly as typed.
    options: dict[str, object] = dict(
        sep=sep,
        skipinitialspace=True,
        skip_blank_lines=False,
        skiprows=header,
        low_memory=False,
        index_col=False,
        keep_default_na=False,
        na_values=[""],
        on_bad_lines="warn",
    )
    source = io.StringIO(text) if replaced else io.BytesIO(raw)
    if not replaced:
        options["encoding"] = used
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(source, **options)
    except (pd.errors.ParserError, ValueError) as exc:
        raise RiskmapInputError("csv_unreadable", file=path, detail=_detail(exc, path)) from None
    names = [str(c).strip() for c in frame.columns]
    frame.columns = names
    width = _header_width([("" if c.startswith("Unnamed: ") else c) for c in names])
    first = header + 2  # row numbers as a spreadsheet shows them (blank rows keep their place)
    bad_widths = any(issubclass(w.category, pd.errors.ParserWarning) for w in caught)
    if not bad_widths and len(frame):
        last = frame.iloc[:, width - 1].isna().to_numpy()
        if last.any():
            counts = _line_fields(raw, sep) if used != "utf-16" and not replaced and "\r" not in text else None
            if counts is None:
                counts = np.array([-1 if '"' in line else line.count(sep) + 1 for line in _lines(text)])
            counts = counts[header + 1 :]
            if len(counts) != len(frame):
                bad_widths = True  # quoted line breaks: count records exactly
            else:
                candidates = np.flatnonzero(last)
                n_fields = counts[candidates]
                quoted = candidates[n_fields < 0]
                if len(quoted):  # quotes: csv counts the fields
                    lines = _lines(text)[header + 1 :]
                    n_fields[n_fields < 0] = [_fields(lines[i], sep) for i in quoted]
                few = (n_fields < width).nonzero()[0]
                # blank lines are not rows, whitespace-only ones included (" \t" is a blank line to the user)
                cells = frame.iloc[candidates[few]]
                filled = cells.apply(lambda c: c.notna() & (c.astype(str).str.strip() != "")).any(axis=1).to_numpy()
                frame.iloc[candidates[few][~filled], :] = np.nan
                few = few[filled]
                short = candidates[few].tolist()
                for i, n in zip(short, n_fields[few].tolist(), strict=True):
                    rejected.append((first + i, "truncated_row", {"n": n, "m": width}))
                frame.insert(0, ROW_COLUMN, np.arange(first, first + len(frame)))
                if short:
                    frame = frame.drop(index=short).reset_index(drop=True)
                _warn_bad_characters(frame, replaced, warned)
                return frame
    if bad_widths:
        frame = _read_csv_exact(text, sep, header, names, width, first, rejected)
    else:
        frame.insert(0, ROW_COLUMN, np.arange(first, first + len(frame)))
    _warn_bad_characters(frame, replaced, warned)
    return frame


def _line_fields(raw: bytes, sep: str) -> np.ndarray | None:
    """Fields per physical line (LF-terminated) of a byte-encoded file: delimiters + 1, -1 for lines with quotes.

    Vectorised over the bytes (a national TPS list in ~0.1 s); None when the
    delimiter is not one byte.
    """
    code = sep.encode()
    if len(code) != 1:
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    if len(data) and data[-1] != 10:
        ends = np.append(ends, len(data))
    bounds = np.concatenate(([0], ends))
    per_line = np.diff(np.searchsorted(np.flatnonzero(data == code[0]), bounds))
    quoted = np.diff(np.searchsorted(np.flatnonzero(data == 34), bounds)) > 0
    return np.where(quoted, -1, per_line + 1)


def _fields(line: str, sep: str) -> int:
    return len(next(csv.reader([line], delimiter=sep, skipinitialspace=True), []))


def _read_csv_exact(
    text: str,
    sep: str,
    header: int,
    names: list[str],
    width: int,
    first: int,
    rejected: list[tuple[int, str, dict[str, object]]],
) -> pd.DataFrame:
    """Slow path: every record split by :mod:`csv`; rows of the wrong width rejected.

    A row longer than the header is kept only when its extra fields are empty
    (trailing delimiters). Columns whose filled cells are all numbers become
    numeric, as pandas would infer them.
    """
    body = "\n".join(_lines(text)[header:])
    records = csv.reader(io.StringIO(body), delimiter=sep, skipinitialspace=True)
    next(records, None)  # the header
    n = len(names)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for i, rec in enumerate(records):
        row = first + i
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            rows.append([""] * n)  # blank line: dropped later as blank
            numbers.append(row)
            continue
        if len(rec) < width:
            rejected.append((row, "truncated_row", {"n": len(rec), "m": width}))
            continue
        if len(rec) > n and any(c.strip() for c in rec[n:]):
            rejected.append((row, "misaligned_row", {"n": len(rec), "m": width}))
            continue
        rows.append((rec + [""] * n)[:n])
        numbers.append(row)
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    frame = frame.where(frame != "")
    for col in names:
        values = frame[col]
        if values.notna().any():
            with contextlib.suppress(ValueError, TypeError):
                frame[col] = pd.to_numeric(values)
    frame.insert(0, ROW_COLUMN, np.asarray(numbers, dtype=np.int64))
    return frame


def _warn_bad_characters(frame: pd.DataFrame, replaced: bool, warned: list[tuple[int, str, dict]]) -> None:
    """Warn about every row holding a character that could not be decoded (U+FFFD)."""
    if not replaced:
        return
    hit = np.zeros(len(frame), dtype=bool)
    where: dict[int, str] = {}
    for col in frame.columns:
        if col == ROW_COLUMN or pd.api.types.is_numeric_dtype(frame[col]):
            continue
        cells = frame[col]
        found = cells.astype(str).str.contains(BAD_CHARACTER, regex=False).to_numpy() & cells.notna().to_numpy()
        for i in np.flatnonzero(found & ~hit):
            where[int(i)] = col
        hit |= found
    rows = frame[ROW_COLUMN].to_numpy()
    for i in np.flatnonzero(hit):
        warned.append((int(rows[i]), "bad_character", {"column": where[int(i)]}))


_INTERNAL_ERRORS = (IndexError, KeyError, AttributeError, TypeError, AssertionError, ZeroDivisionError, RecursionError)


def _detail(exc: BaseException, path: Path | None = None) -> str:
    """An exception's text, short enough for a message, with no server path in it.

    Every folder is removed from paths the library quotes (SECURITY.md: the
    server's paths are not shown): the input's full path becomes its file
    name, any other absolute path its last part. A Python-internal error
    (``IndexError``...) says only that the file's structure is damaged.
    """
    if isinstance(exc, _INTERNAL_ERRORS):
        return i18n.Term("detail_damaged")
    text = " ".join(str(exc).split())
    if not text:
        text = type(exc).__name__
    text = _scrub_paths(text, path)
    return text if len(text) <= 200 else text[:200] + "..."


_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])(?:/vsi\w+)?(?:/[^/\s'\"`,;:()]+)+/([^/\s'\"`,;()]+)")


def _scrub_paths(text: str, path: Path | None) -> str:
    """``text`` with the input's full path replaced by its name and other absolute paths by their last part."""
    if path is not None:
        for full in sorted({str(path), str(path.resolve()), str(path.absolute())}, key=len, reverse=True):
            text = text.replace(full, path.name)
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), text)


def _parse_workbook(path: Path, limits: Limits) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook, cells as read (``header=None``), parsed by calamine in a limited child process.

    See :mod:`riskmap.io._workbook`: the child's address space is capped at
    ``max_workbook_mb`` MiB, its CPU time and wall-clock time at
    ``max_workbook_seconds``; a workbook that needs more (or makes calamine
    abort) is refused with a message saying to save it as CSV. Costs about
    0.6 s per workbook (starting Python and pandas).
    """
    script = Path(__file__).with_name("_workbook.py")
    seconds = limits.max_workbook_seconds
    with tempfile.TemporaryDirectory(prefix="riskmap-xl-") as workdir:
        target = Path(workdir) / "sheets.pickle"
        args = [sys.executable, "-I", str(script), str(path.resolve()), str(target), str(limits.max_workbook_mb)]
        try:
            done = subprocess.run(
                [*args, str(seconds)], capture_output=True, timeout=seconds + 5, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            refuse_limit(path, "workbook_seconds", seconds, seconds, "max_workbook_seconds")
        if done.returncode == 0:
            with open(target, "rb") as fh:
                return pickle.load(fh)  # written by our own child process just now
        if done.returncode == _workbook.EXIT_UNREADABLE:
            detail = done.stderr.decode("utf-8", "replace").strip()
            if "cannot detect file format" in detail.lower():
                raise RiskmapInputError("excel_not_workbook", file=path, suffix=path.suffix.lower())
            raise RiskmapInputError("excel_unreadable", file=path, detail=_detail(RuntimeError(detail), path))
        if done.returncode == -signal.SIGXCPU:
            refuse_limit(path, "workbook_seconds", seconds, seconds, "max_workbook_seconds")
        if done.returncode == _workbook.EXIT_MEMORY or done.returncode < 0:
            # MemoryError, or a native allocation failure under RLIMIT_AS (Rust aborts: SIGABRT)
            raise RiskmapInputError("workbook_memory", file=path, limit=f"{limits.max_workbook_mb:.0f}")
        # the child itself failed (e.g. it could not start): the last line it wrote
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit {done.returncode}"]
        raise RiskmapInputError("excel_unreadable", file=path, detail=_detail(RuntimeError(lines[-1]), path))


def _read_excel(
    path: Path, notes: list[tuple[str, dict[str, object]]], limits: Limits | None = None
) -> tuple[pd.DataFrame, RowLabels | None]:
    """Read a workbook: every sheet with the columns that hold the most rows, stacked.

    Offices often keep one sheet per kecamatan, beside a cover, a recap or
    notes. Sheets with other columns are left out with a layer note naming
    them; sheets with no rows are passed over. Returns the
    rows and, when several sheets were stacked, the row labels
    (``_row`` id -> (sheet, Excel row)).
    """
    sheets = _parse_workbook(path, limits or active_limits())
    tables_read = [(str(name), _sheet_table(sheet)) for name, sheet in sheets.items()]
    found = [(name, table) for name, table in tables_read if table is not None and len(table)]
    if not found:
        raise RiskmapInputError("empty_file", file=path)
    # the data are the sheets sharing the columns that hold the most rows (not a cover or recap sheet)
    key = {name: tuple(sorted(norm(c) for c in table.columns)) for name, table in found}
    rows_by_key: dict[tuple[str, ...], int] = {}
    for name, table in found:
        rows_by_key[key[name]] = rows_by_key.get(key[name], 0) + len(table)
    best = max(rows_by_key, key=lambda k: rows_by_key[k])  # ties: the first sheet's columns
    first, reference = next((name, table) for name, table in found if key[name] == best)
    by_norm = {norm(c): c for c in reference.columns}
    tables: list[tuple[str, pd.DataFrame]] = []
    for name, table in found:
        if key[name] != best:
            columns = ", ".join(str(c) for c in table.columns if c != ROW_COLUMN)
            notes.append(("sheet_skipped", {"sheet": name, "rows": len(table), "first": first, "columns": columns}))
            continue
        # same columns, perhaps in another order or case: the reference sheet's names
        table = table.rename(columns={c: by_norm[norm(c)] for c in table.columns})
        tables.append((name, table[list(reference.columns)]))
    if len(tables) == 1:
        return tables[0][1], None
    notes.append(("sheets_stacked", {"n": len(tables), "names": name_list([name for name, _ in tables])}))
    frame = pd.concat([t for _, t in tables], ignore_index=True)
    sheet_rows = frame[ROW_COLUMN].to_numpy()
    sheet_names = np.repeat([name for name, _ in tables], [len(t) for _, t in tables])
    frame[ROW_COLUMN] = np.arange(1, len(frame) + 1)
    labels = {i + 1: (str(sheet_names[i]), int(sheet_rows[i])) for i in range(len(frame))}
    return frame, labels


def _sheet_table(sheet: pd.DataFrame) -> pd.DataFrame | None:
    """One sheet as a table under its detected header row; None for a sheet with no data."""
    sheet = sheet.dropna(how="all", axis=1)
    if not len(sheet.columns) or not sheet.notna().any(axis=None):
        return None
    top = sheet.head(20).astype(object).where(sheet.head(20).notna(), "").to_numpy().tolist()
    header = _header_index(top)
    names = [
        str(c).strip() if str(c).strip() not in ("", "nan") else f"kolom_{i + 1}"
        for i, c in enumerate(sheet.iloc[header])
    ]
    frame = sheet.iloc[header + 1 :].copy()
    frame.columns = names
    frame = frame.astype(object).where(frame.notna() & (frame.astype(str).apply(lambda c: c.str.strip()) != ""))
    # header=None: index 0 is Excel row 1
    frame.insert(0, ROW_COLUMN, frame.index.to_numpy() + 1)
    return frame.reset_index(drop=True)


def start_report(layer: str, raw: RawLayer, schema: str = "") -> LayerReport:
    """A layer's report for a file as read: its notes, rows read and row labels."""
    report = LayerReport(layer, source=raw.name, schema=schema, row_labels=raw.row_labels)
    for code, params in raw.notes:
        report.warn(None, code, **params)
    for row, code, params in raw.rejected:
        report.reject(row, code, **params)
    for row, code, params in raw.row_warnings:
        report.warn(row, code, **params)
    # rows rejected while reading count as read; the reader adds the rest of the frame to used or rejected
    report.read = len(raw.frame) + len(raw.rejected)
    return report


@dataclass
class _Source:
    """What GDAL is given: the path string, the layer, the one allowed driver."""

    source: str
    layer: str | None
    driver: str
    siblings: list[str] = field(default_factory=list)
    member: str | None = None
    prj: bool = False
    """A shapefile with a .prj beside it (GDAL may still find no CRS in it)."""


def _vector_source(path: Path, layer: str | None, limits: Limits, workdir: Path) -> _Source:
    """The checked source for a vector file; zips are opened through /vsizip/.

    A zip may hold one map file, a File Geodatabase folder, or several
    shapefiles (GADM's levels 0-4, HDX's adm0-adm4): then the village level
    is picked by name (see :func:`_village_layer`). The zip's directory is
    checked first (names, limits, see :func:`riskmap.io._safety.check_zip`),
    then the chosen member's first bytes; a GeoPackage member is extracted
    to ``workdir`` so that its tables can be checked with :mod:`sqlite3`.
    Inner zips are never opened.
    """
    suffix = path.suffix.lower()
    if suffix != ".zip":
        driver = ALLOWED_DRIVERS[suffix]
        if suffix == ".gdb":
            catalogue = gdb_catalogue(path)
            if not path.is_dir() or not catalogue.is_file():
                raise RiskmapInputError("content_not_format", file=path, format=FORMAT_NAMES[driver])
            check_magic(read_head(catalogue), driver, path)
        else:
            if path.is_dir():
                raise RiskmapInputError("content_not_format", file=path, format=FORMAT_NAMES[driver])
            check_magic(read_head(path), driver, path)
            if driver == "GPKG":
                check_gpkg(path, path)
            elif driver == "GeoJSON":
                _check_geojson_file(path)
            elif driver == "ESRI Shapefile":
                prjs = _sidecars(path, ".prj")
                for prj in prjs:
                    check_prj(prj.read_bytes()[: 1 << 20], path)
                return _Source(str(path.resolve()), layer, driver, prj=bool(prjs))
        return _Source(_gdal_path(str(path.resolve()), driver), layer, driver)
    try:
        with zipfile.ZipFile(path) as zf:
            names = check_zip(path, zf, limits)
            return _zip_member(path, zf, names, layer, workdir)
    except zipfile.BadZipFile:
        raise RiskmapInputError("zip_unreadable", file=path) from None


def _zip_member(path: Path, zf: zipfile.ZipFile, all_names: list[str], layer: str | None, workdir: Path) -> _Source:
    """The member of a checked zip to read, its first bytes checked (see :func:`_vector_source`)."""
    names = [n for n in all_names if not n.startswith("__MACOSX")]
    gdbs = sorted({n[: n.lower().index(".gdb/") + 4] for n in names if ".gdb/" in n.lower()})
    base = f"/vsizip/{path.resolve()}"
    if len(gdbs) == 1:
        catalogue = f"{gdbs[0]}/a00000001.gdbtable"
        if catalogue not in names:
            raise RiskmapInputError("content_not_format", file=path, format="File Geodatabase")
        with zf.open(catalogue) as fh:
            check_magic(fh.read(65536), "OpenFileGDB", path, member=gdbs[0])
        return _Source(f"{base}/{gdbs[0]}", layer, "OpenFileGDB")
    inner = [n for n in names if Path(n).suffix.lower() in ALLOWED_DRIVERS and not n.endswith("/")]
    shapefiles = [n for n in inner if n.lower().endswith(".shp")]
    candidates = shapefiles or inner
    if layer:
        candidates = [n for n in candidates if Path(n).stem == layer] or candidates
    if not candidates:
        raise RiskmapInputError("zip_no_layer", file=path, names=name_list(names))
    stems = [Path(n).stem for n in candidates]
    siblings: list[str] = []
    member = candidates[0]
    if len(candidates) > 1:
        chosen = _village_layer(stems)
        if chosen is None:
            raise RiskmapInputError("zip_many_layers", file=path, names=name_list(stems))
        member, siblings = candidates[stems.index(chosen)], stems
    driver = ALLOWED_DRIVERS[Path(member).suffix.lower()]
    with zf.open(member) as fh:
        check_magic(fh.read(65536), driver, path, member=member)
    prj = False
    if driver == "GeoJSON":
        _check_geojson_member(path, zf, member)
    elif driver == "ESRI Shapefile":
        stem = member[: -len(Path(member).suffix)]
        for name in all_names:
            if name.lower() == f"{stem}.prj".lower():
                prj = True
                with zf.open(name) as fh:
                    check_prj(fh.read(1 << 20), path)
    if driver == "GPKG":  # sqlite3 needs a real file: a private copy, checked, then read
        target = workdir / "layer.gpkg"
        with zf.open(member) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        check_gpkg(target, path)
        return _Source(str(target), layer, driver, siblings, member)
    return _Source(_gdal_path(f"{base}/{member}", driver), None, driver, siblings, member, prj)


def _check_geojson_file(path: Path) -> None:
    """Look at every ``crs`` object of a GeoJSON file (mapped, not read into memory)."""
    if path.stat().st_size == 0:
        return
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        check_geojson_crs(data, path)


def _check_geojson_member(path: Path, zf: zipfile.ZipFile, member: str) -> None:
    """Look at every ``crs`` object of a zipped GeoJSON, streamed in 1 MiB chunks that overlap by 4 KiB."""
    tail = b""
    with zf.open(member) as fh:
        while chunk := fh.read(1 << 20):
            check_geojson_crs(tail + chunk, path, member)
            tail = chunk[-4096:]


def _sidecars(path: Path, suffix: str) -> list[Path]:
    """Files beside ``path`` with its stem and ``suffix`` in any case (``desa.PRJ``)."""
    want = (path.stem + suffix).lower()
    return [p for p in path.parent.iterdir() if p.name.lower() == want and p.is_file()]


def _gdal_path(source: str, driver: str) -> str:
    """The path given to GDAL: GeoJSON is prefixed ``GeoJSON:`` so that GDAL tries no other driver."""
    return f"GeoJSON:{source}" if driver == "GeoJSON" else source


def _read_vector(path: Path, *, layer: str | None, crs: str | None, limits: Limits | None = None) -> RawLayer:
    """Read a vector file with the one driver its extension allows, in EPSG:4326.

    Checks before reading (see :mod:`riskmap.io._safety`): content, driver
    and feature count (GeoJSON, opened with GDAL's ``GeoJSON:`` prefix so
    that no other driver can take it, is counted while read: at most the
    limit + 1 features). A local (engineering) CRS is refused: it cannot be
    placed on the map.
    """
    limits = limits or active_limits()
    notes: list[tuple[str, dict[str, object]]] = []
    has_prj = False
    if path.suffix.lower() in {".parquet", ".geoparquet"}:
        frame = _read_parquet(path, limits)
    else:
        with tempfile.TemporaryDirectory(prefix="riskmap-") as workdir:
            frame, has_prj = _read_gdal(path, layer, limits, Path(workdir), notes)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise RiskmapInputError("vector_no_geometry", file=path)
    frame = frame.reset_index(drop=True)
    if frame.geometry.has_z.any():  # BIG layers often carry a Z coordinate: plans are 2D
        flat = gpd.GeoSeries(shapely.force_2d(frame.geometry.to_numpy()), index=frame.index, crs=frame.crs)
        frame = frame.set_geometry(flat)
    frame.insert(0, ROW_COLUMN, np.arange(1, len(frame) + 1))
    if frame.crs is None:
        if crs:
            frame = frame.set_crs(crs)
        else:
            bounds = frame.geometry.dropna().total_bounds if frame.geometry.notna().any() else None
            if bounds is None or not _plausible_lonlat(bounds):
                example = "" if bounds is None else f"{bounds[0]:.6g}, {bounds[1]:.6g}"
                raise RiskmapInputError("prj_unreadable" if has_prj else "no_crs", file=path, example=example)
            frame = frame.set_crs(4326)
            notes.append(("prj_unreadable_assumed" if has_prj else "crs_assumed", {}))
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        if not (frame.crs.is_geographic or frame.crs.is_projected):
            raise RiskmapInputError("crs_local", file=path, crs=_short_crs(frame.crs))
        notes.append(("crs_reprojected", {"crs": _short_crs(frame.crs)}))
        try:
            frame = frame.to_crs(4326)
        except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError):
            raise RiskmapInputError("crs_local", file=path, crs=_short_crs(frame.crs)) from None
    return RawLayer(frame=frame, path=path, is_vector=True, notes=notes)


def _read_parquet(path: Path, limits: Limits) -> gpd.GeoDataFrame:
    """Read a GeoParquet file after checking its footer: row count and uncompressed size within the limits.

    The footer (``pyarrow.parquet.read_metadata``) gives the rows and each
    row group's uncompressed size without reading any data: 120 KB of
    Parquet can expand to 3 GB of identical rows.
    """
    import pyarrow
    import pyarrow.parquet as pq

    if read_head(path)[:4] != b"PAR1":
        raise RiskmapInputError("content_not_format", file=path, format="GeoParquet")
    try:
        meta = pq.read_metadata(path)
    except (pyarrow.ArrowException, OSError):
        raise RiskmapInputError("content_not_format", file=path, format="GeoParquet") from None
    if meta.num_rows > limits.max_features:
        refuse_limit(path, "features", meta.num_rows, limits.max_features, "max_features")
    if meta.num_columns > limits.max_columns:
        refuse_limit(path, "columns", meta.num_columns, limits.max_columns, "max_columns")
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if size > limits.max_parquet_mb * MB:
        refuse_limit(path, "parquet_mb", size / MB, limits.max_parquet_mb, "max_parquet_mb")
    try:
        frame = gpd.read_parquet(path)
    except ValueError as exc:
        if "geometry" in str(exc).lower() or "geo metadata" in str(exc).lower():
            raise RiskmapInputError("vector_no_geometry", file=path) from None
        raise
    if len(frame) > limits.max_features:
        refuse_limit(path, "features", len(frame), limits.max_features, "max_features")
    return frame


def _short_crs(crs: pyproj.CRS) -> str:
    name = crs.name or crs.to_string()
    return name if len(name) <= 80 else name[:80] + "..."


def _read_gdal(
    path: Path, layer: str | None, limits: Limits, workdir: Path, notes: list[tuple[str, dict[str, object]]]
) -> tuple[gpd.GeoDataFrame, bool]:
    """Open a checked source with its one driver, refusing another driver or too many features.

    Returns the features and whether a shapefile came with a ``.prj``.
    """
    src = _vector_source(path, layer, limits, workdir)
    if src.siblings:
        notes.append(("layer_chosen", {"layer": Path(src.member or src.source).stem, "names": name_list(src.siblings)}))
    layer = src.layer
    # only GeoPackages and geodatabases hold several layers: other files are not opened twice
    if layer is None and src.driver in {"GPKG", "OpenFileGDB"}:
        layer = _pick_layer(path, src.source, notes)
    options: dict[str, object] = {"IMMUTABLE": "YES"} if src.driver == "GPKG" else {}
    max_features = None
    if src.driver == "GeoJSON":  # the prefix restricts GDAL to the GeoJSON driver; counted while read
        max_features = limits.max_features + 1
    else:
        info = pyogrio.read_info(src.source, layer=layer, **options)
        check_driver(info.get("driver"), src.driver, path)
        count = int(info.get("features") or 0)
        if count > limits.max_features:
            refuse_limit(path, "features", count, limits.max_features, "max_features")
        n_fields = len(info.get("fields", ()))
        if n_fields > limits.max_columns:
            refuse_limit(path, "columns", n_fields, limits.max_columns, "max_columns")
    frame = gpd.read_file(src.source, layer=layer, engine="pyogrio", max_features=max_features, **options)
    if len(frame) > limits.max_features:
        refuse_limit(path, "features", len(frame), limits.max_features, "max_features")
    if len(frame.columns) - 1 > limits.max_columns:  # GeoJSON: counted once read (a second parse would cost more)
        refuse_limit(path, "columns", len(frame.columns) - 1, limits.max_columns, "max_columns")
    return frame, src.prj


def _pick_layer(path: Path, source: str, notes: list[tuple[str, dict[str, object]]]) -> str | None:
    """The layer to read from a multi-layer source (GeoPackage, File Geodatabase); None when there is one."""
    listed = pyogrio.list_layers(source)
    for name in listed[:, 0]:
        check_name(str(name), path)
    if len(listed) <= 1:
        return None
    names = [str(n) for n in listed[:, 0]]
    layer = _village_layer(names)
    if layer is None:  # one polygon layer among lines and points (BIG's *_AR beside *_LN, *_PT)
        polygons = [str(n) for n, kind in listed if kind and "polygon" in str(kind).lower()]
        layer = polygons[0] if len(polygons) == 1 else None
    if layer is None:
        raise RiskmapInputError("gpkg_many_layers", file=path, names=name_list(names))
    notes.append(("layer_chosen", {"layer": layer, "names": name_list(names)}))
    return layer


_VILLAGE_LAYER = re.compile(r"(adm_?4(?!\d)|_4$|desa|kelurahan|village)", re.IGNORECASE)  # not "gadm41"


def _village_layer(names: list[str]) -> str | None:
    """The one layer among several that holds villages.

    GADM's ``ADM_ADM_4`` or ``gadm41_IDN_4``, HDX's ``..._adm4_...``, "batas_desa"...
    """
    hits = [n for n in names if _VILLAGE_LAYER.search(n)]
    return hits[0] if len(hits) == 1 else None


def _check_crs(crs: str, path: Path) -> None:
    """Refuse a CRS that PROJ does not know, with the value quoted."""
    try:
        pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise RiskmapInputError("unknown_crs", file=path, crs=crs) from None


def _plausible_lonlat(bounds: np.ndarray) -> bool:
    """True when bounds (minx, miny, maxx, maxy) lie within Indonesia's box."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    lo_x, lo_y, hi_x, hi_y = INDONESIA_BOUNDS
    return lo_x <= minx and maxx <= hi_x and lo_y <= miny and maxy <= hi_y
