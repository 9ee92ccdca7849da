"""The load report: every input row is used or rejected with a reason.

A :class:`LayerReport` per input layer counts rows read, used and rejected,
lists each rejected row with a reason code and plain words, and keeps
warnings about rows that were used anyway (repaired polygons, a TPS that lies
in another village than its record names, ...). ``read == used + rejected``
always holds; :meth:`LayerReport.check` enforces it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from riskmap import i18n
from riskmap._terminal import one_line

RowLabels = dict[int, tuple[str, int]]
"""Row id -> (sheet name, row in that sheet), for workbooks read sheet by sheet."""


@dataclass
class RowNote:
    """One rejected row or one warning.

    Attributes
    ----------
    row
        Row as the user sees it: spreadsheet row for CSV/XLSX (header = row 1),
        feature number (from 1) for vector files. ``None`` for a layer-wide note.
    reason
        Stable code, e.g. ``"swapped_coordinates"`` (see :mod:`riskmap.i18n`).
    params
        Values for the message (column, value, suggestion, ...).
    """

    row: int | None
    reason: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "id") -> str:
        """Plain-words description in ``lang``."""
        return i18n.t(self.reason, lang, **self.params)

    def to_dict(self, lang: str = "id", labels: RowLabels | None = None) -> dict[str, Any]:
        """JSON-ready form: ``row``, ``reason``, ``message`` and the parameters.

        With ``labels`` (a workbook read sheet by sheet), ``row`` is the row in
        its sheet and the key ``sheet`` names the sheet.
        """
        note = self
        sheet = None
        if labels is not None and self.row in labels:
            sheet, row = labels[self.row]
            params = dict(self.params)
            if params.get("first_row") in labels:
                first_sheet, first_row = labels[params["first_row"]]
                params["first_row"] = f"{first_row} ({first_sheet})"
            note = RowNote(row, self.reason, params)
        out: dict[str, Any] = {} if sheet is None else {"sheet": sheet}
        out.update(row=note.row, reason=note.reason, message=note.message(lang))
        for key, value in note.params.items():
            out[key] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
        return out


@dataclass
class LayerReport:
    """Accounting for one input layer.

    Attributes
    ----------
    layer
        ``villages``, ``tps``, ``incidents``, ``posts``, ...
    source
        File name read.
    read
        Data rows read from the file.
    used
        Rows that made it into the layer.
    rejected
        Rows left out, each with its reason.
    warnings
        Rows used with a caveat, and layer-wide notes (``row`` is None).
    schema
        The schema recognised (``BIG``, ``GADM``, ``ACLED``, ...).
    row_labels
        For a workbook read sheet by sheet: row id -> (sheet, row in the
        sheet); notes then show the sheet's own row numbers.
    """

    layer: str
    source: str = ""
    read: int = 0
    used: int = 0
    rejected: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    schema: str = ""
    row_labels: RowLabels | None = None

    def reject(self, row: int | None, reason: str, **params: Any) -> None:
        """Record a rejected row."""
        self.rejected.append(RowNote(row, reason, params))

    def warn(self, row: int | None, reason: str, **params: Any) -> None:
        """Record a warning about a row that is still used (or a layer note)."""
        self.warnings.append(RowNote(row, reason, params))

    def reject_frame(self, rows: pd.Series | list[int], reason: str, **params: Any) -> None:
        """Record the same rejection for many rows (params may be per-row Series)."""
        rows = list(rows)
        series = {k: list(v) for k, v in params.items() if isinstance(v, (pd.Series, list))}
        scalars = {k: v for k, v in params.items() if k not in series}
        for i, row in enumerate(rows):
            p = dict(scalars)
            p.update({k: v[i] for k, v in series.items()})
            self.rejected.append(RowNote(int(row), reason, p))

    def warn_frame(self, rows: pd.Series | list[int], reason: str, **params: Any) -> None:
        """Record the same warning for many rows (params may be per-row Series)."""
        before = len(self.rejected)
        self.reject_frame(rows, reason, **params)
        self.warnings.extend(self.rejected[before:])
        del self.rejected[before:]

    def check(self) -> None:
        """Assert the accounting identity ``read == used + len(rejected)``."""
        if self.read != self.used + len(self.rejected):
            raise AssertionError(f"{self.layer}: read {self.read} != used {self.used} + rejected {len(self.rejected)}")

    def reason_counts(self) -> dict[str, int]:
        """Rejections per reason code."""
        return dict(Counter(note.reason for note in self.rejected))

    def to_dict(self, lang: str = "id") -> dict[str, Any]:
        """JSON-ready form (the ``report.json`` entry of this layer)."""
        return {
            "source": self.source,
            "schema": self.schema,
            "read": self.read,
            "used": self.used,
            "rejected": [n.to_dict(lang, self.row_labels) for n in sorted(self.rejected, key=_sort_key)],
            "rejected_by_reason": self.reason_counts(),
            "warnings": [n.to_dict(lang, self.row_labels) for n in sorted(self.warnings, key=_sort_key)],
        }

    def rejected_frame(self, lang: str = "id") -> pd.DataFrame:
        """Rejected rows as a table (layer, file, row, reason, message)."""
        rows = [
            {"layer": self.layer, "file": self.source, **n.to_dict(lang, self.row_labels)}
            for n in sorted(self.rejected, key=_sort_key)
        ]
        return pd.DataFrame(rows, columns=["layer", "file", "row", "reason", "message"] if not rows else None)

    def notes_frame(self, lang: str = "id") -> pd.DataFrame:
        """Rejected rows and warnings as one table (layer, file, kind, row, reason, message, ...).

        ``kind`` is ``rejected`` (the row is left out) or ``warning`` (the row is
        used with a caveat; ``row`` is empty for a note about the whole layer).
        """
        rows = [
            {"layer": self.layer, "file": self.source, "kind": kind, **n.to_dict(lang, self.row_labels)}
            for kind, notes in (("rejected", self.rejected), ("warning", self.warnings))
            for n in sorted(notes, key=_sort_key)
        ]
        return pd.DataFrame(rows, columns=_NOTE_COLUMNS if not rows else None)

    def summary(self, lang: str = "id", where: str | None = None) -> str:
        """One paragraph in plain words: counts and the reasons for rejections.

        ``where`` says where the rows with warnings are listed (the command line
        names its ``--report`` file); by default "the warnings list" of the app.
        """
        lines = [
            i18n.t(
                "report_summary",
                lang,
                layer=i18n.t("layer_" + self.layer, lang),
                source=self.source,
                read=self.read,
                used=self.used,
                rejected=len(self.rejected),
            )
            + (" " + i18n.t("report_schema", lang, schema=self.schema) if self.schema else "")
        ]
        for reason, n in sorted(self.reason_counts().items(), key=lambda kv: -kv[1]):
            lines.append(f"  - {i18n.t('reason_' + reason, lang)}: {n}")
        n_warn = len({w.row for w in self.warnings if w.row is not None})  # rows, not notes: a row may have two
        if n_warn:
            where = where if where is not None else i18n.t("report_warnings_list", lang)
            lines.append("  " + i18n.t("report_warnings", lang, n=n_warn, where=where))
        for note in self.warnings:
            if note.row is None:
                lines.append("  ! " + note.message(lang))
        return "\n".join(one_line(line) for line in lines)  # names with a newline stay on their line


_NOTE_COLUMNS = ["layer", "file", "kind", "row", "reason", "message"]


def _row_text(row: object) -> str:
    """A note's row number as shown ("12"), "" for a note about the whole layer."""
    return "" if row is None or pd.isna(row) else str(int(row))  # type: ignore[call-overload]


def _sort_key(note: RowNote) -> tuple[int, str]:
    return (note.row if note.row is not None else -1, note.reason)


@dataclass
class LoadReport:
    """Reports of all layers of one run, keyed by layer name."""

    layers: dict[str, LayerReport] = field(default_factory=dict)

    def add(self, report: LayerReport) -> None:
        """Add (or replace) the report of one layer."""
        self.layers[report.layer] = report

    def __getitem__(self, layer: str) -> LayerReport:
        return self.layers[layer]

    def __contains__(self, layer: str) -> bool:
        return layer in self.layers

    def to_dict(self, lang: str = "id") -> dict[str, Any]:
        """JSON-ready form: ``{layer: {read, used, rejected: [...], ...}}``."""
        return {name: rep.to_dict(lang) for name, rep in self.layers.items()}

    def rejected_frame(self, lang: str = "id") -> pd.DataFrame:
        """All rejected rows of all layers as one table."""
        frames = [rep.rejected_frame(lang) for rep in self.layers.values()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def notes_frame(self, lang: str = "id") -> pd.DataFrame:
        """Rejected rows and warnings of all layers as one table (see :meth:`LayerReport.notes_frame`)."""
        frames = [rep.notes_frame(lang) for rep in self.layers.values()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_NOTE_COLUMNS)

    def counts_table(self, lang: str = "id") -> pd.DataFrame:
        """Rows read, used, rejected and with warnings per layer, as a table to show (names in ``lang``)."""
        rows = [
            {
                i18n.t("col.layer", lang): i18n.t("layer_" + name, lang),
                i18n.t("col.file", lang): rep.source,
                i18n.t("col.schema", lang): rep.schema,
                i18n.t("col.read", lang): rep.read,
                i18n.t("col.used", lang): rep.used,
                i18n.t("col.rejected", lang): len(rep.rejected),
                i18n.t("col.warnings", lang): len(rep.warnings),
            }
            for name, rep in self.layers.items()
        ]
        names = ("layer", "file", "schema", "read", "used", "rejected", "warnings")
        columns = [i18n.t(f"col.{c}", lang) for c in names]
        return pd.DataFrame(rows, columns=columns)

    def notes_table(self, lang: str = "id", kind: str | None = None) -> pd.DataFrame:
        """Rejected rows and warnings as a table to show: every header, layer, kind and reason in ``lang``.

        Parameters
        ----------
        kind
            ``rejected`` or ``warning`` for only those notes (the warnings list); None = both.

        Returns
        -------
        DataFrame
            Columns layer, file, kind, row (as text, "" for a note about the whole layer; and sheet for
            workbooks), reason (its short label), message;
            the reason codes stay in :meth:`notes_frame` (for files a program reads).
        """
        frame = self.notes_frame(lang)
        if kind is not None:
            frame = frame[frame["kind"] == kind]
        keep = [c for c in ("layer", "file", "kind", "row", "sheet", "reason", "message") if c in frame]
        out = frame[keep].copy()
        out["layer"] = out["layer"].map(lambda layer: i18n.t("layer_" + str(layer), lang))
        out["kind"] = out["kind"].map(lambda k: i18n.t("note_" + str(k), lang))
        out["reason"] = out["reason"].map(lambda r: i18n.t("reason_" + str(r), lang))
        out["row"] = [_row_text(r) for r in out["row"]]  # text: one type per column (Arrow), "" for a layer note
        return out.rename(columns={c: i18n.t(f"col.{c}", lang) for c in keep}).reset_index(drop=True)

    def summary(self, lang: str = "id", where: str | None = None) -> str:
        """Plain-words summary of every layer (``where``: see :meth:`LayerReport.summary`)."""
        return "\n".join(rep.summary(lang, where) for rep in self.layers.values())
