"""The Streamlit face of riskmap (the only package that imports Streamlit)."""

import re

from riskmap import i18n

_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
"""Every ASCII punctuation character: CommonMark lets a backslash escape each of them."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def tr(key: str, lang: str) -> str:
    """Text of the app in ``lang`` (``app.<key>`` in :mod:`riskmap.i18n`)."""
    return i18n.t("app." + key, lang)


def md_escape(text: object) -> str:
    """User text (names, file names, cell values) made literal for Streamlit's Markdown.

    Every ASCII punctuation character gets a backslash, so no link, image,
    emphasis, HTML, ``:color[...]`` directive, ``$...$`` formula or
    ``:emoji:`` shortcode can form; control characters (line breaks
    included) become one space. The reader sees the text as it was typed.
    """
    value = "" if text is None else str(text)
    return _MD_PUNCTUATION.sub(r"\\\1", _CONTROL.sub(" ", value))
