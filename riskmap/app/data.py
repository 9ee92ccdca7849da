"""Choosing, uploading, loading and scoring the data, cached on content.

Uploaded files are written to a private temporary folder under their own
names (the loaders' messages name them) and keyed by a hash of their bytes,
so the same upload is read only once and a changed file is read again.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from riskmap import pipeline
from riskmap.config import load_config

LAYERS = ("villages", "tps", "incidents", "posts")
ACCEPT: dict[str, list[str]] = {
    "villages": ["zip", "geojson", "json", "gpkg", "fgb", "parquet"],
    "tps": ["csv", "txt", "xlsx", "xls", "ods", "geojson", "json", "gpkg"],
    "incidents": ["csv", "txt", "xlsx", "xls", "ods", "geojson", "json", "gpkg"],
    "posts": ["csv", "xlsx", "xls", "ods", "geojson", "json", "gpkg"],
}
_UPLOAD_DIR = Path(tempfile.gettempdir()) / "riskmap-uploads"


@dataclass(frozen=True)
class Source:
    """Paths of the layers to load, and a key that changes when their content does."""

    paths: tuple[tuple[str, str | None], ...]
    key: str
    demo: bool

    def as_kwargs(self) -> dict[str, str | None]:
        """Keyword arguments for :func:`riskmap.pipeline.load`."""
        return dict(self.paths)


def demo_source() -> Source:
    """The embedded demo (all four layers)."""
    from riskmap import demo

    paths = (
        ("villages", str(demo.VILLAGES)),
        ("tps", str(demo.TPS)),
        ("incidents", str(demo.INCIDENTS)),
        ("posts", str(demo.POSTS)),
    )
    return Source(paths=paths, key="demo", demo=True)


def upload_source(files: dict[str, Any]) -> Source | None:
    """Save uploaded files (Streamlit ``UploadedFile`` per layer) and describe them.

    Returns None until a village file has been uploaded (the other layers are
    optional).
    """
    if files.get("villages") is None:
        return None
    digest = hashlib.sha256()
    paths = []
    for layer in LAYERS:
        up = files.get(layer)
        if up is None:
            paths.append((layer, None))
            continue
        data = up.getvalue()
        h = hashlib.sha256(data).hexdigest()[:16]
        folder = _UPLOAD_DIR / h
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(up.name).name
        if not path.exists():
            path.write_bytes(data)
        digest.update(f"{layer}:{up.name}:{h};".encode())
        paths.append((layer, str(path)))
    return Source(paths=tuple(paths), key=digest.hexdigest()[:16], demo=False)


@st.cache_resource(show_spinner=False, max_entries=8)
def _load(key: str, paths: tuple[tuple[str, str | None], ...]) -> pipeline.Layers:
    return pipeline.load(**dict(paths), demo_data=False, config=load_config())


@st.cache_resource(show_spinner=False, max_entries=16)
def _score(key: str, paths: tuple[tuple[str, str | None], ...], overrides_json: str) -> pipeline.Result:
    config = load_config(overrides=json.loads(overrides_json) if overrides_json else None)
    return pipeline.score(_load(key, paths), config)


@st.cache_resource(show_spinner=False, max_entries=8)
def _display_geometry(key: str, paths: tuple[tuple[str, str | None], ...]) -> Any:
    from riskmap.mapping import display_geometry

    return display_geometry(_load(key, paths).villages)


def score_layers(source: Source, overrides: dict[str, Any]) -> pipeline.Result:
    """Score the cached layers with what-if overrides (cached per content and configuration)."""
    return _score(source.key, source.paths, json.dumps(overrides, sort_keys=True) if overrides else "")


def display_geometry(source: Source) -> Any:
    """Screen geometry of all villages (aligned with the villages' index), cached."""
    return _display_geometry(source.key, source.paths)
