"""The Streamlit face of riskmap (the only package that imports Streamlit)."""

from riskmap import i18n


def tr(key: str, lang: str) -> str:
    """Text of the app in ``lang`` (``app.<key>`` in :mod:`riskmap.i18n`)."""
    return i18n.t("app." + key, lang)
