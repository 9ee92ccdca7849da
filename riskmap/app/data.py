"""Choosing, uploading, loading and scoring the data, cached on content.

Uploaded files are written to a folder private to the visitor's session
(mode 0700, deleted when the session ends or the server stops) under their
own names, made safe (the loaders' messages name them). Loading is cached on
a hash of the bytes, so the same upload is read only once, by any session,
and a changed file is read again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from riskmap import pipeline
from riskmap.config import load_config

LAYERS = ("villages", "tps", "incidents", "posts", "candidate_sites")
ACCEPT: dict[str, list[str]] = {
    "villages": ["zip", "geojson", "json", "gpkg", "fgb", "parquet"],
    "tps": ["csv", "txt", "xlsx", "xls", "ods", "geojson", "json", "gpkg"],
    "incidents": ["csv", "txt", "xlsx", "xls", "ods", "geojson", "json", "gpkg"],
    "posts": ["csv", "xlsx", "xls", "ods", "geojson", "json", "gpkg"],
    "candidate_sites": ["csv", "xlsx", "xls", "ods", "geojson", "json", "gpkg"],
}
_T = TypeVar("_T")
MAX_NAME_CHARS = 100
"""Longest file name kept for an upload (characters, extension included)."""


class UploadFolder:
    """A private temporary folder (mode 0700) for one session's uploads.

    It is deleted when this object is garbage-collected (the session's state
    is dropped when the session ends) and, at the latest, when the server
    process exits.
    """

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="riskmap-upload-"))
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.path), ignore_errors=True)

    def remove(self) -> None:
        """Delete the folder now."""
        self._remove()


def session_folder() -> Path:
    """Return the upload folder of the current session, created on first use."""
    folder = st.session_state.get("_upload_folder")
    if not isinstance(folder, UploadFolder) or not folder.path.is_dir():
        folder = UploadFolder()
        st.session_state["_upload_folder"] = folder
    return folder.path


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


def safe_name(name: str) -> str:
    """The user's file name as a plain file name in our folder.

    Only the last path component, no control characters (NUL included), no
    path separators, not ``.``/``..``, at most :data:`MAX_NAME_CHARS`
    characters and 200 bytes with the extension kept (the extension picks the
    reader).
    """
    base = re.split(r"[/\\]", name)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip().lstrip(".") or "upload"
    stem, dot, ext = base.rpartition(".")
    if not dot or len(ext) > 12:
        stem, ext = base, ""
    suffix = f".{ext}" if ext else ""
    stem = stem[: MAX_NAME_CHARS - len(suffix)] or "upload"
    while len((stem + suffix).encode("utf-8")) > 200:
        stem = stem[:-1]
    return stem + suffix


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` (mode 0600), never through a link; an equal file is kept."""
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        if not path.is_symlink() and path.is_file() and path.read_bytes() == data:
            return
        path.unlink()  # our private folder: whatever sits there is not this upload
        fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


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


def upload_source(files: dict[str, Any], folder: Path | None = None) -> Source | None:
    """Save uploaded files (Streamlit ``UploadedFile`` per layer) and describe them.

    Files go to ``folder`` (default: this session's private folder, see
    :func:`session_folder`), one subfolder per content hash. Returns None
    until a village file has been uploaded (the other layers are optional).
    """
    if files.get("villages") is None:
        return None
    folder = session_folder() if folder is None else folder
    digest = hashlib.sha256()
    paths: list[tuple[str, str | None]] = []
    for layer in LAYERS:
        up = files.get(layer)
        if up is None:
            paths.append((layer, None))
            continue
        data = up.getvalue()
        h = hashlib.sha256(data).hexdigest()[:16]
        sub = folder / h
        sub.mkdir(mode=0o700, exist_ok=True)
        path = sub / safe_name(str(up.name))
        _write_private(path, data)
        digest.update(f"{layer}:{path.name}:{h};".encode())
        paths.append((layer, str(path)))
    return Source(paths=tuple(paths), key=digest.hexdigest()[:16], demo=False)


# The cache key is the content key alone (``_paths`` is not hashed): the same files
# uploaded in another session, to another private folder, are not read again.
@st.cache_resource(show_spinner=False, max_entries=8)
def _load(key: str, _paths: tuple[tuple[str, str | None], ...]) -> pipeline.Layers:
    files: dict[str, Any] = dict(_paths)  # layer name -> path: the keyword arguments of pipeline.load
    return pipeline.load(**files, demo_data=False, config=load_config())


def _scored(layers: pipeline.Layers, overrides_json: str, as_of: str) -> pipeline.Result:
    """Score ``layers`` with the what-if overrides (JSON) as of an ISO date ("" = every incident)."""
    whatif = json.loads(overrides_json) if overrides_json else None
    day = dt.date.fromisoformat(as_of) if as_of else None
    config = load_config(overrides=whatif)
    return pipeline.score(pipeline.until(layers, day), config, day, whatif=whatif)


@st.cache_resource(show_spinner=False, max_entries=16)
def _score(key: str, _paths: tuple[tuple[str, str | None], ...], overrides_json: str, as_of: str) -> pipeline.Result:
    return _scored(_load(key, _paths), overrides_json, as_of)


_GEOMETRY: dict[str, Future[Any]] = {}
_GEOMETRY_LOCK = threading.Lock()
_GEOMETRY_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskmap-geometry")
_MAX_GEOMETRY = 8


def _geometry_of(key: str, villages: Any) -> Future[Any]:
    """The screen geometry of ``villages`` (the layers of content ``key``), made once in a worker thread.

    Started as soon as the villages are read, so it is made while they are scored and the page lays out
    its report and tables (GEOS lets go of the interpreter): 0.25-0.3 s of the first map at 3,400
    villages, no longer waited for. Only the map waits for it.
    """
    from riskmap.mapping import display_geometry

    with _GEOMETRY_LOCK:
        made = _GEOMETRY.get(key)
        if made is None:
            while len(_GEOMETRY) >= _MAX_GEOMETRY:
                _GEOMETRY.pop(next(iter(_GEOMETRY)))
            made = _GEOMETRY[key] = _GEOMETRY_POOL.submit(display_geometry, villages)
        return made


def _display_geometry(key: str, _paths: tuple[tuple[str, str | None], ...]) -> Any:
    made = _geometry_of(key, _load(key, _paths).villages)
    try:
        return made.result()
    except Exception:  # not kept: the next run tries again
        with _GEOMETRY_LOCK:
            if _GEOMETRY.get(key) is made:
                del _GEOMETRY[key]
        raise


def score_layers(
    source: Source,
    overrides: dict[str, Any],
    *,
    as_of: dt.date | None = None,
    store: Any = None,
    include_unverified: bool = False,
) -> pipeline.Result:
    """Score the cached layers with what-if overrides as of a day (cached per content, configuration and day).

    ``overrides`` (the sidebar's what-if changes) are recorded as :attr:`riskmap.pipeline.Result.whatif`;
    ``as_of``: only incidents up to that day count, later ones are reported (:func:`riskmap.pipeline.until`);
    None = every incident. With a ``store``, its logged incidents (verified; also unverified with
    ``include_unverified``) are merged with the file's (:func:`riskmap.store.merge_into_layers`), and the
    cache is keyed by :func:`log_token` too: the next load after a change scores again.
    """
    ov = json.dumps(overrides, sort_keys=True) if overrides else ""
    day = as_of.isoformat() if as_of else ""
    _geometry_of(source.key, _load(source.key, source.paths).villages)  # made while the villages are scored
    if store is None:
        return _score(source.key, source.paths, ov, day)
    token = log_token(store, include_unverified)
    return _score_merged(source.key, source.paths, ov, day, token, store)


def display_geometry(source: Source, villages: Any = None) -> Any:
    """Screen geometry of ``villages`` (a frame of the source's villages, e.g. a view's; all when None), cached.

    Made in a worker thread once per content (:func:`_geometry_of`); this waits for it.
    """
    geoms = _display_geometry(source.key, source.paths)
    return geoms if villages is None else geoms[villages.index.to_numpy()]


@st.cache_resource(show_spinner=False, max_entries=8)
def _regency_geometry(key: str, _paths: tuple[tuple[str, str | None], ...]) -> Any:
    from riskmap.mapping import regency_geometry

    config = load_config()
    tolerance = float(config.data["display"]["overview_tolerance_m"])
    return regency_geometry(_load(key, _paths).villages, _display_geometry(key, _paths), tolerance)


def regency_geometry(source: Source) -> Any:
    """Kab/kota outlines of the overview map (:func:`riskmap.mapping.regency_geometry`), cached."""
    return _regency_geometry(source.key, source.paths)


_PER_RESULT: dict[int, dict[str, dict[tuple[Any, ...], Any]]] = {}
"""What the page made of a scoring result, per kind and key (by the result's id; dropped with the result)."""
MAX_PAYLOADS_PER_RESULT = 8
"""Stage-map payloads kept per result (2-3 MB each at province size)."""


def per_result(result: pipeline.Result, kind: str, key: tuple[Any, ...], make: Callable[[], _T], limit: int) -> _T:
    """``make()`` once per scoring result, ``kind`` and ``key``; at most ``limit`` entries per kind, oldest dropped.

    Results are cached on the data's content and the settings (:func:`score_layers`), so a rerun of the page (a
    stage switch reruns all of it) finds what it made before for the same result; it goes with the result.
    """
    slots = _PER_RESULT.get(id(result))
    if slots is None:
        slots = _PER_RESULT[id(result)] = {}
        weakref.finalize(result, _PER_RESULT.pop, id(result), None)
    slot = slots.setdefault(kind, {})
    if key not in slot:
        while len(slot) >= limit:
            slot.pop(next(iter(slot)))
        slot[key] = make()
    return slot[key]


def map_payload(result: pipeline.Result, view: Any, geoms: Any, lang: str, regions: Any = None) -> str:
    """The stage map's payload (:func:`riskmap.mapping.stage_payload`) of ``view``, cached per result.

    It holds every stage, so a stage switch finds it ready: the key is the
    view's filters and the language (and the stage only when a category
    filter makes the view depend on it). Kept as long as ``result`` (itself
    cached on the data's content and the settings) lives. With ``regions``
    (kab/kota outlines), the overview's payload (:func:`riskmap.mapping.overview_payload`).
    """
    from riskmap.mapping import overview_payload, stage_payload

    def make() -> str:
        if regions is not None:
            return overview_payload(view, result.config, regions, lang=lang)
        weights = result.model.incident_weights_
        weights = weights if weights is not None and len(weights) else None
        return stage_payload(view, result.config, geoms=geoms, lang=lang, incident_weights=weights)

    key = (view.filters, view.stage if view.filters.levels else "", lang, regions is not None)
    return per_result(result, "map", key, make, MAX_PAYLOADS_PER_RESULT)


@st.cache_resource(show_spinner=False, max_entries=8)
def _backtest(
    key: str, _paths: tuple[tuple[str, str | None], ...], overrides_json: str, stages: tuple[str, ...]
) -> Any:
    from riskmap import backtest
    from riskmap._errors import RiskmapInputError

    config = load_config(overrides=json.loads(overrides_json) if overrides_json else None)
    try:
        return backtest.Backtest.from_layers(_load(key, _paths), config, stages=list(stages)).fit()
    except RiskmapInputError as exc:  # too few incidents (or a setting that cannot work): kept to be said
        return exc


def backtest_stages(stage: str) -> tuple[str, ...]:
    """Stages the app's backtest measures for the selected stage: every incident, then the stage's."""
    from riskmap.backtest import ALL

    return (ALL, stage)


def backtest_layers(source: Source, overrides: dict[str, Any], stage: str) -> Any:
    """Backtest of the loaded layers (default cutoffs) for ``all`` and ``stage``, cached per content and settings.

    Returns the fitted :class:`riskmap.backtest.Backtest`, or the
    :class:`riskmap._errors.RiskmapInputError` saying why it cannot be
    measured (mostly too few incidents: :data:`riskmap.backtest.NOT_MEASURABLE`).
    """
    ov = json.dumps(overrides, sort_keys=True) if overrides else ""
    return _backtest(source.key, source.paths, ov, backtest_stages(stage))


def layers_of(source: Source) -> pipeline.Layers:
    """The cached loaded layers of ``source``."""
    return _load(source.key, source.paths)


# -- the incident log in the database (issue 11) -----------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=4)
def _store(url: str | None) -> Any:
    from riskmap.store import Store

    return Store.open(url)


def open_store(lang: str = "id") -> tuple[Any, str | None]:
    """The database of the incident log and the accounts (``RISKMAP_DB``, else the configured SQLite file).

    Returns ``(store, None)``, or ``(None, reason)`` when it cannot be
    opened (the reason in plain words in ``lang``; details in the server log).
    """
    import logging

    from riskmap.app import tr

    try:
        return _store(os.environ.get("RISKMAP_DB") or None), None
    except Exception as exc:  # a StoreError (with its i18n message) or a driver error
        logging.getLogger(__name__).exception("the incident database cannot be opened")
        message = getattr(exc, "message", None)
        return None, message(lang) if callable(message) else tr("server_log", lang)


LOG_STATUSES: dict[bool, tuple[str, ...]] = {False: ("verified",), True: ("verified", "unverified")}
"""Statuses of logged incidents that enter the scores, without and with the "unverified" switch."""


def log_token(store: Any, include_unverified: bool) -> str:
    """A key that changes whenever a logged incident is added, edited, deleted or moderated.

    Incident versions are append-only, so :meth:`riskmap.store.Store.last_change`
    (their number and latest time: one indexed query, about 3 ms, read at
    every run of the page) changes with every change: the next load shows new
    incidents without a restart, and unchanged data is not scored again.
    """
    return f"{'u' if include_unverified else 'v'}:{store.url}:{store.last_change()}"


@st.cache_resource(show_spinner=False, max_entries=16)
def _merged_layers(key: str, _paths: tuple[tuple[str, str | None], ...], token: str, _store: Any) -> pipeline.Layers:
    from dataclasses import replace

    from riskmap.io.report import LoadReport
    from riskmap.store import merge_into_layers

    layers = _load(key, _paths)  # shared by every session: merged into a copy
    copied = replace(layers, report=LoadReport(dict(layers.report.layers)))
    return merge_into_layers(copied, _store, include_unverified=token.startswith("u"), config=load_config())


@st.cache_resource(show_spinner=False, max_entries=16)
def _score_merged(
    key: str, _paths: tuple[tuple[str, str | None], ...], overrides_json: str, as_of: str, token: str, _store: Any
) -> pipeline.Result:
    return _scored(_merged_layers(key, _paths, token, _store), overrides_json, as_of)


@st.cache_resource(show_spinner=False, max_entries=16)
def _alerts(key: str, token: str, as_of: str, _result: pipeline.Result) -> tuple[Any, Any]:
    from riskmap._errors import RiskmapInputError
    from riskmap.alerts import surges

    inc = _result.layers.incidents
    if inc is None or not len(inc):
        return None, None
    try:
        return surges(inc, _result.villages, as_of=dt.date.fromisoformat(as_of), config=_result.config), None
    except RiskmapInputError as exc:  # kept to be said in the page's language
        return None, exc


def alerts_of(
    source: Source,
    overrides: dict[str, Any],
    store: Any,
    include_unverified: bool,
    result: pipeline.Result,
    lang: str = "id",
) -> tuple[Any, str | None]:
    """Early-warning surges (:func:`riskmap.alerts.surges`) on the incidents of ``result`` as of its date.

    Returns ``(alerts, None)`` or ``(None, reason)``, the reason in ``lang``; cached like the scores.
    """
    from riskmap.app import tr

    token = log_token(store, include_unverified) if store is not None else "-"
    as_of = result.as_of if isinstance(result.as_of, dt.date) else dt.date.today()
    ov = json.dumps(overrides, sort_keys=True) if overrides else ""
    try:
        alerts, error = _alerts(f"{source.key}:{ov}:{include_unverified}", token, as_of.isoformat(), result)
    except Exception:  # the map stands without its alerts; the details go to the server log
        import logging

        logging.getLogger(__name__).exception("alerts failed")
        return None, tr("server_log", lang)
    return alerts, error.message(lang) if error is not None else None
