"""The Streamlit face of riskmap (the only package that imports Streamlit)."""

import re

from riskmap import i18n

_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
"""Every ASCII punctuation character: CommonMark lets a backslash escape each of them."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

_WORD_JOINER = "\u2060"
"""Invisible; placed after ``:`` and ``@`` and inside ``www.``, it stops what works on text, not syntax:
GFM's autolinks (``http://``, ``www.``, e-mail addresses) and ``:emoji:`` shortcodes."""

_TEXT_TRIGGERS = re.compile(r"(\\[:@])|(?i:(www)(?=\\\.))")


def tr(key: str, lang: str) -> str:
    """Text of the app in ``lang`` (``app.<key>`` in :mod:`riskmap.i18n`)."""
    return i18n.t("app." + key, lang)


def md_escape(text: object) -> str:
    """User text (names, file names, cell values) made literal for Streamlit's Markdown.

    Every ASCII punctuation character gets a backslash, so no link, image,
    emphasis, HTML, ``:color[...]`` directive or ``$...$`` formula can
    form; control characters (line breaks
    included) become one space. Autolinks and emoji shortcodes, which act on
    text after the escapes are read, are stopped by an invisible word joiner
    (U+2060) after ``:`` and ``@`` and between ``www`` and ``.``. The reader
    sees the text as it was typed.
    """
    value = "" if text is None else str(text)
    escaped = _MD_PUNCTUATION.sub(r"\\\1", _CONTROL.sub(" ", value))
    return _TEXT_TRIGGERS.sub(lambda m: (m.group(1) or m.group(2)) + _WORD_JOINER, escaped)
