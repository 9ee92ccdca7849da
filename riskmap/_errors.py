"""Errors a user can act on.

The core raises :class:`RiskmapInputError` for every problem caused by the
input (a file, a row, a column, a setting). Each face renders it its own way:
the command line prints it and exits with status 2, the app shows an alert.
Messages come from the translation table in :mod:`riskmap.i18n`, so the same
error reads in Indonesian or English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskmap import i18n
from riskmap._terminal import one_line


class RiskmapInputError(Exception):
    """A problem with the user's input, with what to do about it.

    Parameters
    ----------
    code
        Key of the message in :data:`riskmap.i18n.MESSAGES` (for example
        ``"no_crs"``); the matching ``"<code>_fix"`` key, if present, says how to
        fix it.
    file
        The file concerned, if any.
    row
        The row concerned (as the user sees it in the file), if any.
    **params
        Values inserted into the message.
    """

    def __init__(
        self,
        code: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        **params: Any,
    ) -> None:
        self.code = code
        self.file = str(file) if file is not None else None
        self.row = row
        if params.get("columns") == "":  # "Columns found: ." reads as a bug: say there are none
            params["columns"] = i18n.Term("no_columns_found")
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "id") -> str:
        r"""Return the whole message (where, what, how to fix) in ``lang``, on one line.

        The file's name (never its folder) and the values quoted from the file
        are shown with :func:`riskmap._terminal.one_line`: a newline in a name
        reads as ``\n`` and cannot break the message.
        """
        parts: list[str] = []
        if self.file:
            where = Path(self.file).name  # SECURITY.md: the server's folders are never shown
            if self.row is not None:
                where += ", " + i18n.t("row", lang) + f" {self.row}"
            parts.append(where + ":")
        parts.append(i18n.t(self.code, lang, **self.params))
        fix_key = self.code + "_fix"
        if fix_key in i18n.MESSAGES:
            parts.append(i18n.t(fix_key, lang, **self.params))
        return one_line(" ".join(parts))
