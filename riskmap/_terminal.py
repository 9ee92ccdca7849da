r"""Text written to a terminal: names from files cannot drive it.

A village name or a cell quoted in a message may hold terminal control
sequences (``ESC ]`` to retitle the window or forge a hyperlink, ``ESC [2J`` to
clear the screen, a carriage return to overwrite the line above). The command
line writes through :class:`SafeStream`, which shows every control character
other than newline and tab as a visible escape (``\\x1b``). Names put into a
message go through :func:`one_line` first, which escapes newline and tab too:
the program's own line breaks stay, a file named ``new\\nline.csv`` cannot
start a line of its own.
"""

from __future__ import annotations

import re
from typing import TextIO

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls except tab and newline, line separators, bidirectional overrides."""


def visible(text: str) -> str:
    r"""``text`` with control characters shown as ``\\xNN`` / ``\\uNNNN`` escapes."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


_LINE_BREAKS = re.compile(r"[\t\n]")


def one_line(text: str) -> str:
    r"""``text`` as one line: :func:`visible`, and newline and tab shown as ``\n`` and ``\t`` too."""
    return visible(_LINE_BREAKS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text))


class SafeStream:
    """A text stream that writes :func:`visible` text to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` with its control characters made visible."""
        return self._stream.write(visible(text))

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)
