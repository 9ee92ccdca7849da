"""Column recognition and the user's column map.

Columns are matched on a normalised name (lower case, punctuation to ``_``),
so ``Lintang``, ``LINTANG`` and ``lintang `` all match the alias ``lintang``.
The column names recognised without help are ``[column_aliases]`` of the configuration
(``riskmap/config/column_aliases.toml``). A column map (``--columns``) names the column for a canonical field when
no alias fits; it is a small TOML file::

    [villages]
    village_code = "KODE_DESA"
    village_name = "NAMA"

    [tps]
    lat = "Lintang"
    lon = "Bujur"
    crs = "EPSG:32751"   # for a file without a CRS

or the same as ``layer.field=column`` pairs separated by commas.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmap._errors import RiskmapInputError

ColumnMap = dict[str, dict[str, str]]
"""layer -> canonical field -> the file's column name."""


def norm(name: object) -> str:
    """Normalise a column name or a label for matching."""
    text = str(name).strip().lower()
    text = re.sub(r"[^0-9a-z]+", "_", text)
    return text.strip("_")


def norm_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`norm` for a column of labels."""
    text = as_text(values).str.lower()
    return text.str.replace(r"[^0-9a-z]+", "_", regex=True).str.strip("_")


def text_column(frame: pd.DataFrame, col: str | None) -> pd.Series:
    """A column of ``frame`` as text (see :func:`as_text`); "" everywhere when ``col`` is None."""
    if col is None:
        return pd.Series("", index=frame.index, dtype="str")
    return as_text(frame[col])


def as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped text, "" where empty; whole numbers without ".0".

    Numeric columns (a CSV column of codes or counts read as numbers) come
    back as their usual text: ``5371011001001``, not ``5.371011001001e12``.
    """
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "1", False: "0"}).fillna("").astype("str")
    if pd.api.types.is_integer_dtype(values):
        return values.astype("str")
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == whole.round()).all() and (whole.abs() < 1e15).all():
            return values.astype("Int64").astype("str").fillna("").where(values.notna(), "")
        return values.astype("str").where(values.notna(), "")
    if pd.api.types.is_string_dtype(values) and values.dtype != object:
        return values.fillna("").str.strip()
    cells = values.astype(object).where(values.notna(), "")
    if any(isinstance(v, float) for v in cells):  # spreadsheet numbers among text
        cells = cells.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() and abs(v) < 1e15 else v)
    return cells.astype("str").str.strip()


def to_numbers(values: pd.Series) -> pd.Series:
    """Cells as float64 numbers: NaN where empty, not a number, or not finite.

    Never raises on what a file can hold: ``inf``, ``-inf``, ``1e400`` and a
    400-digit integer (which a reader may hand over as a Python ``int`` too
    large for a float) all become NaN. Text is read as :func:`pandas.to_numeric`
    reads it (decimal point, no thousands separators).
    """
    if pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
    elif pd.api.types.is_numeric_dtype(values):
        numbers = pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=values.index)
    else:
        try:
            numbers = pd.to_numeric(values, errors="coerce")
        except (OverflowError, TypeError, ValueError):  # an int beyond float range among the cells: read it as text
            cells = values.astype(object).map(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
            numbers = pd.to_numeric(cells.astype("str").where(values.notna(), ""), errors="coerce")
    out = numbers.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    out[~np.isfinite(out)] = np.nan
    return pd.Series(out, index=values.index)


def map_unique(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """Apply ``func`` once per distinct value (fast on long, repetitive columns)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [func(u) for u in uniques]
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def find_column(
    columns: Iterable[str],
    aliases: Iterable[str],
    *,
    mapped: str | None = None,
    file: str | None = None,
) -> str | None:
    """Return the first column matching an alias (or the mapped name).

    Parameters
    ----------
    columns
        Column names of the file.
    aliases
        Accepted names, in order of preference.
    mapped
        Column named by the user's column map; it must exist.
    file
        File name, for the error message.
    """
    columns = list(columns)
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(norm(col), col)
    if mapped is not None:
        if mapped in columns:
            return mapped
        if norm(mapped) in by_norm:
            return by_norm[norm(mapped)]
        raise RiskmapInputError("mapped_column_missing", file=file, column=mapped, columns=", ".join(columns[:30]))
    for alias in aliases:
        if norm(alias) in by_norm:
            return by_norm[norm(alias)]
    return None


def load_column_map(spec: str | Path | Mapping[str, Mapping[str, str]] | None) -> ColumnMap:
    """Read a column map from a TOML file, ``layer.field=col`` pairs, or a dict."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {str(k): {str(f): str(c) for f, c in v.items()} for k, v in spec.items()}
    text = str(spec)
    path = Path(text)
    if path.suffix.lower() == ".toml" or path.exists():
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise RiskmapInputError("file_not_found", file=path) from None
        except tomllib.TOMLDecodeError as exc:
            raise RiskmapInputError("config_syntax", file=path, detail=str(exc)) from None
        return load_column_map(data)
    out: ColumnMap = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, column = pair.partition("=")
        layer, dot, field = key.strip().partition(".")
        if not sep or not dot or not column.strip():
            raise RiskmapInputError("column_map_syntax", pair=pair)
        out.setdefault(layer, {})[field.strip()] = column.strip()
    return out
