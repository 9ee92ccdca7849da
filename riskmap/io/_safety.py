r"""Defences applied to every input file before and while GDAL reads it.

Threat model: every file is hostile. GDAL opens a file by its *content*, not
by its name, and some GDAL formats are programs rather than data: a VRT
document (``<OGRVRTDataSource>``) or a GDALG document
(``{"type": "gdal_streamed_alg", ...}``) makes GDAL read any other local file,
or fetch a URL through ``/vsicurl/``. riskmap therefore opens a file only with
the one driver its extension names, enforced in three layers:

1. **Content check before GDAL sees the file** (:func:`check_magic`): the
   first bytes must be those of the format the extension names (GeoJSON: ``{``
   after an optional BOM and no VRT/GDALG marker in the first 64 KiB;
   Shapefile: file code 9994, big-endian; GeoPackage: ``SQLite format 3\\0``;
   FlatGeobuf: ``fgb`` magic; File Geodatabase: its ``a00000001.gdbtable``
   catalogue). Zip members are checked the same way, from their bytes read
   with :mod:`zipfile`.
2. **Driver check after opening** (:func:`check_driver`): the driver GDAL
   reports (``pyogrio.read_info``) must be the allowed one.
3. **Dangerous drivers removed from GDAL** (:func:`disable_redirecting_drivers`):
   the VRT, OGR_VRT and GDALG drivers are deregistered from pyogrio's bundled
   libgdal through ``ctypes`` (``GDALDeregisterDriver``) when this module is
   imported, so even a file that slipped past (1) cannot be opened as VRT or
   GDALG. ``GDAL_SKIP`` was not used: pyogrio registers its drivers when it is
   first imported, often before riskmap is, and the option is read only then.

Names are checked too (:func:`check_name`): no ``/vsi`` prefix, no ``http:``,
``https:`` or ``ftp:`` in a path, layer or zip member name; no zip member with
an absolute path, ``..``, a backslash or NUL (:func:`check_zip`). A
GeoPackage whose layer is an SQL view or a non-rtree virtual table is refused
(:func:`check_gpkg`): a view runs arbitrary SQL (a slow one hung the loader)
and a virtual table can reach other files. GDAL writes no sidecar files
(``GDAL_PAM_ENABLED=NO``: no ``.aux.xml``; GeoPackages are opened
``IMMUTABLE`` so no ``-wal``/``-shm`` appear next to an input).

Resources are bounded by :class:`Limits` (``[limits]`` in the configuration):
input size, a zip's expanded size, member count and per-member compression
ratio (from the zip directory, nothing is inflated to check), feature count
and table row count, all refused *before* reading. Inner zips are never
opened.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import functools
import glob
import mmap
import os
import re
import sqlite3
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pyogrio

from riskmap import i18n
from riskmap._errors import RiskmapInputError

if TYPE_CHECKING:
    from riskmap.config import Config

MB = 1024 * 1024

ALLOWED_DRIVERS: dict[str, str] = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "ESRI Shapefile",
    ".gpkg": "GPKG",
    ".gdb": "OpenFileGDB",
    ".fgb": "FlatGeobuf",
}
"""Extension -> the only GDAL driver a file with it is opened with."""

FORMAT_NAMES: dict[str, str] = {
    "GeoJSON": "GeoJSON",
    "ESRI Shapefile": "Shapefile",
    "GPKG": "GeoPackage",
    "OpenFileGDB": "File Geodatabase",
    "FlatGeobuf": "FlatGeobuf",
}

REDIRECTING_DRIVERS = ("OGR_VRT", "VRT", "GDALG")
"""GDAL drivers whose documents read other files or URLs; deregistered."""

_FORBIDDEN_NAME_PARTS = ("/vsi", "\\vsi", "http:", "https:", "ftp:")
_HEAD = 65536
_REDIRECT_MARKERS = {
    b"gdal_streamed_alg": "GDALG",
    b"<ogrvrtdatasource": "VRT",
    b"<vrtdataset": "VRT",
}
RATIO_MIN_BYTES = MB
"""Members smaller than this (expanded) are not held to the compression ratio limit."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one input file (``[limits]`` in the configuration).

    Attributes
    ----------
    max_file_mb
        Size of the input file on disk, MiB.
    max_zip_expanded_mb
        Sum of the expanded sizes of a zip's members (zip, xlsx, ods), MiB.
    max_zip_ratio
        Expanded / compressed size of one member (members of 1 MiB or more).
    max_zip_members
        Number of members in a zip.
    max_features
        Features in a vector layer.
    max_table_rows
        Lines of a CSV or rows of a workbook.
    max_workbook_mb
        Memory (address space, MiB) the child process parsing a workbook may use.
    max_workbook_seconds
        CPU and wall-clock seconds that process may take.
    max_parquet_mb
        Uncompressed size of a Parquet file's row groups (from its footer), MiB.
    max_vertices
        Coordinates of one feature (counted before it is repaired).
    max_columns
        Attribute columns of a layer or table.
    """

    max_file_mb: float = 2048
    max_zip_expanded_mb: float = 2048
    max_zip_ratio: float = 200
    max_zip_members: int = 20000
    max_features: int = 2_000_000
    max_table_rows: int = 2_000_000
    max_workbook_mb: float = 2048
    max_workbook_seconds: float = 120
    max_parquet_mb: float = 2048
    max_vertices: int = 100_000
    max_columns: int = 1000

    @classmethod
    def from_config(cls, config: Config | None) -> Limits:
        """The limits of a configuration (its ``[limits]`` table); defaults for None."""
        if config is None:
            from riskmap.config import load_config

            config = load_config()
        table: dict[str, Any] = config.data.get("limits", {})
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in table.items() if k in names})


_ACTIVE: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("riskmap_limits", default=None)


def use_limits(config: Config | None) -> None:
    """Make ``config``'s ``[limits]`` the ones the readers apply in this context (thread)."""
    _ACTIVE.set(Limits.from_config(config))


def active_limits() -> Limits:
    """The limits set by :func:`use_limits`, else the configuration defaults."""
    limits = _ACTIVE.get()
    if limits is None:
        limits = Limits.from_config(None)
        _ACTIVE.set(limits)
    return limits


def refuse_limit(path: Path | str, what: str, value: float, limit: float, key: str) -> None:
    """Raise the ``limit_exceeded`` error: what was measured, the value found, the limit, its config key."""
    raise RiskmapInputError(
        "limit_exceeded", file=path, what=i18n.Term(f"limit_{what}"), value=_fmt(value), limit=_fmt(limit), setting=key
    )


def _fmt(value: float) -> str:
    # no thousands separator: "1,029" reads as 1.029 in Indonesian
    return f"{value:.0f}" if float(value).is_integer() or value >= 100 else f"{value:.3g}"


# -- names -----------------------------------------------------------------


def check_path(path: str | Path) -> Path:
    """The input path, refused when it cannot be a plain local file name.

    Refuses NUL, a name longer than the system allows, and ``/vsi``/URL
    prefixes. Returns the path as a :class:`Path`.
    """
    text = os.fspath(path)
    if "\x00" in text:
        raise RiskmapInputError("file_name_invalid", file=text.replace("\x00", "?"), reason="NUL")
    p = Path(text)
    for part in reversed(p.parts):  # the message names the part of the path that holds the prefix
        check_name(part, part)
    check_name(text, p.name)
    too_long = len(os.fsencode(text)) > 4095 or any(len(os.fsencode(part)) > 255 for part in p.parts)
    if too_long:
        raise RiskmapInputError("file_name_invalid", file=_short(p.name), reason="too_long")
    try:
        exists = p.exists()
    except (OSError, ValueError):
        raise RiskmapInputError("file_name_invalid", file=_short(p.name), reason="os") from None
    if not exists:
        raise RiskmapInputError("file_not_found", file=p)
    return p


def _short(name: str) -> str:
    return name if len(name) <= 60 else name[:40] + "..." + name[-15:]


def name_list(names: list[str], most: int = 10) -> str:
    """Names for a message: the first ``most``, then ``… (+N)`` for the rest (a zip may hold thousands)."""
    shown = ", ".join(_short(str(n)) for n in names[:most])
    return shown if len(names) <= most else f"{shown}, … (+{len(names) - most})"


def check_name(name: str, path: Path | str) -> None:
    """Refuse a path, layer or member name holding ``/vsi``, ``http:``, ``https:`` or ``ftp:``."""
    lower = name.lower()
    for part in _FORBIDDEN_NAME_PARTS:
        if part in lower:
            raise RiskmapInputError("name_forbidden", file=_short(str(path)), name=_short(name), part=part)


# -- zips ------------------------------------------------------------------


def check_zip(path: Path, zf: zipfile.ZipFile, limits: Limits) -> list[str]:
    """Check a zip's directory (names, member count, sizes, ratios); return its member names.

    Nothing is inflated: sizes come from the zip's directory. A member that
    inflates to more than its directory says makes :mod:`zipfile` fail while
    reading, which the caller reports as unreadable.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_zip_members:
        refuse_limit(path, "zip_members", len(infos), limits.max_zip_members, "max_zip_members")
    total = 0
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name in seen:  # which copy GDAL or Excel reads is undefined: a crafted zip hides one behind the other
            raise RiskmapInputError("zip_duplicate_member", file=path, name=_short(name.replace("\x00", "?")))
        seen.add(name)
        unsafe = (
            "\x00" in name
            or "\\" in name
            or name.startswith("/")
            or (len(name) > 1 and name[1] == ":")
            or ".." in PurePosixPath(name).parts
        )
        if unsafe:
            raise RiskmapInputError("zip_member_unsafe", file=path, name=_short(name.replace("\x00", "?")))
        check_name(name, path)
        total += info.file_size
        if info.file_size >= RATIO_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_zip_ratio:
                refuse_limit(path, "zip_ratio", ratio, limits.max_zip_ratio, "max_zip_ratio")
    if total > limits.max_zip_expanded_mb * MB:
        refuse_limit(path, "zip_expanded_mb", total / MB, limits.max_zip_expanded_mb, "max_zip_expanded_mb")
    return [i.filename for i in infos]


def check_archive_file(path: Path, limits: Limits) -> None:
    """Apply the zip limits to a zip-based workbook (.xlsx, .xlsm, .ods); other files pass."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(path, zf, limits)
    except zipfile.BadZipFile:
        return  # the workbook reader reports it


def check_file_size(path: Path, limits: Limits) -> int:
    """Refuse an input file (or folder's files) above ``max_file_mb``; return its size in bytes."""
    try:
        files = path.rglob("*") if path.is_dir() else [path]
        size = sum(p.stat().st_size for p in files if p.is_file())
    except OSError:
        raise RiskmapInputError("file_name_invalid", file=_short(path.name), reason="os") from None
    if size > limits.max_file_mb * MB:
        refuse_limit(path, "file_mb", size / MB, limits.max_file_mb, "max_file_mb")
    return size


# -- content ---------------------------------------------------------------


def check_magic(head: bytes, driver: str, path: Path | str, member: str | None = None) -> None:
    """Refuse content that is not the format ``driver`` reads.

    Parameters
    ----------
    head
        First bytes of the file (at least 64 KiB when the file is that long).
    driver
        The allowed GDAL driver (see :data:`ALLOWED_DRIVERS`).
    path
        The file (for the message); ``member`` names a zip member.
    """
    where = f"{path}" if member is None else f"{path} ({member})"
    fmt = FORMAT_NAMES[driver]
    lowered = head[:_HEAD].lower()
    for marker, kind in _REDIRECT_MARKERS.items():
        if marker in lowered:
            raise RiskmapInputError("content_redirect", file=where, format=fmt, kind=kind)
    ok = True
    if driver == "GeoJSON":
        text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
        ok = text.lstrip(b" \t\r\n")[:1] == b"{"
    elif driver == "ESRI Shapefile":
        ok = head[:4] == b"\x00\x00\x27\x0a"
    elif driver == "GPKG":
        ok = head[:16] == b"SQLite format 3\x00"
    elif driver == "FlatGeobuf":
        ok = head[:3] == b"fgb" and head[4:7] == b"fgb"
    elif driver == "OpenFileGDB":
        ok = head[:4] == b"\x03\x00\x00\x00"  # a00000001.gdbtable: version 3 header
    if not ok:
        raise RiskmapInputError("content_not_format", file=where, format=fmt)


_CRS_MEMBER = re.compile(rb'"crs"\s*:\s*\{')
_CRS_EXTERNAL = re.compile(rb'"(link|url|href)"|://|nadgrids|geoidgrids|\+init', re.IGNORECASE)
_CRS_LOCAL_URLS = re.compile(rb"https?://www\.opengis\.net/(def/crs|gml/srs)/[A-Za-z0-9_./:#-]*", re.IGNORECASE)


def check_geojson_crs(data: bytes | mmap.mmap, path: Path | str, member: str | None = None) -> None:
    """Refuse a GeoJSON whose ``crs`` member is a link (a URL or file GDAL would fetch) or names remote grids.

    The old GeoJSON ``"crs": {"type": "link", "properties": {"href": ...}}``
    makes GDAL fetch the URL while opening the file. Every ``"crs"`` object
    of the whole document is looked at (they may follow the features);
    OGC CRS URLs (``http://www.opengis.net/def/crs/EPSG/0/4326``) are
    resolved locally and allowed.
    """
    where = f"{path}" if member is None else f"{path} ({member})"
    for match in _CRS_MEMBER.finditer(data):
        start = match.end()
        window = _CRS_LOCAL_URLS.sub(b"", bytes(data[start : start + 2048]).split(b"}", 2)[0] + b"}")
        if _CRS_EXTERNAL.search(window):
            raise RiskmapInputError("crs_external", file=where)


def check_prj(text: bytes, path: Path | str) -> None:
    """Refuse a ``.prj`` naming a URL, a grid file or an init file (``+nadgrids=@https://...,@/etc/passwd``)."""
    if _CRS_EXTERNAL.search(_CRS_LOCAL_URLS.sub(b"", text)):
        raise RiskmapInputError("crs_external", file=path)


def read_head(path: Path) -> bytes:
    """The first 64 KiB of a file."""
    with open(path, "rb") as fh:
        return fh.read(_HEAD)


def gdb_catalogue(gdb: Path) -> Path:
    """The catalogue table of a File Geodatabase folder (its content check target)."""
    return gdb / "a00000001.gdbtable"


def check_driver(info_driver: str | None, driver: str, path: Path | str) -> None:
    """Refuse a dataset GDAL opened with another driver than the allowed one."""
    if info_driver != driver:
        raise RiskmapInputError(
            "content_driver", file=path, format=FORMAT_NAMES[driver], driver=str(info_driver or "?")
        )


_RTREE_SQL = re.compile(
    r'create virtual table (?:"(rtree_[^"]+)"|(rtree_\w+)) using rtree\(id, ?minx, ?maxx, ?miny, ?maxy\)', re.IGNORECASE
)


def _sqlite_uri(db: Path) -> str:
    """A read-only, immutable SQLite URI for ``db``; ``#``, ``?``, ``%`` and ``&`` in the name are escaped."""
    return db.resolve().as_uri() + "?mode=ro&immutable=1"


def check_gpkg(db: Path, path: Path | str) -> None:
    """Refuse a GeoPackage holding any SQL object that computes while it is read.

    A GeoPackage is data. Refused: any view (SQLite names ignore case, so a
    view registered as a layer under another spelling is one too), any
    virtual table other than a GeoPackage spatial index
    (``rtree_<table>_<column> USING rtree(id, minx, maxx, miny, maxy)``, the
    statement exactly as GDAL writes it: no comment, no other argument), and any table with a generated column
    (``PRAGMA table_xinfo``: hidden 2 or 3). Triggers run only on writes and
    are allowed. The database is opened with Python's :mod:`sqlite3`
    read-only and immutable (no journal; nothing is written next to the
    input, whatever its name) and no view is evaluated.
    """
    try:
        con = sqlite3.connect(_sqlite_uri(db), uri=True)
    except sqlite3.Error:
        raise RiskmapInputError("content_not_format", file=path, format="GeoPackage") from None
    try:
        master = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        tables: list[str] = []
        for kind, name, sql in sorted(master, key=lambda r: r[0] != "view"):  # a view named first
            text = " ".join(str(sql or "").split())
            if kind == "view":
                raise RiskmapInputError("gpkg_view", file=path, layer=_short(str(name)))
            if kind != "table":
                continue
            if text.lower().startswith("create virtual table"):
                match = _RTREE_SQL.fullmatch(text)
                index = (match.group(1) or match.group(2)).lower() if match else None
                ok = index == str(name).lower()  # an rtree reads only its own shadow tables
                if not ok:
                    raise RiskmapInputError("gpkg_view", file=path, layer=_short(str(name)))
                continue
            tables.append(str(name))
        for name in tables:
            quoted = '"' + name.replace('"', '""') + '"'
            computed = [r for r in con.execute(f"PRAGMA table_xinfo({quoted})").fetchall() if r[-1] in (2, 3)]
            if computed:
                raise RiskmapInputError(
                    "gpkg_computed", file=path, layer=_short(name), column=_short(str(computed[0][1]))
                )
    except sqlite3.Error:
        raise RiskmapInputError("content_not_format", file=path, format="GeoPackage") from None
    finally:
        con.close()


# -- GDAL ------------------------------------------------------------------


@functools.cache
def _libgdal() -> ctypes.CDLL | None:
    here = os.path.dirname(pyogrio.__file__)
    found = sorted(glob.glob(os.path.join(here, "..", "pyogrio.libs", "libgdal*.so*")))
    if not found:
        return None
    lib = ctypes.CDLL(found[0])
    lib.GDALGetDriverByName.restype = ctypes.c_void_p
    lib.GDALGetDriverByName.argtypes = [ctypes.c_char_p]
    lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    lib.GDALDeregisterDriver.restype = None
    lib.VSICalloc.restype = ctypes.c_void_p
    lib.VSICalloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    lib.OSRSetPROJEnableNetwork.argtypes = [ctypes.c_int]
    lib.OSRSetPROJEnableNetwork.restype = None
    lib.CPLHTTPSetFetchCallback.argtypes = [_HTTP_CALLBACK_TYPE, ctypes.c_void_p]
    lib.CPLHTTPSetFetchCallback.restype = ctypes.c_int
    return lib


_NO_NETWORK_OPTIONS = {
    # every curl request of GDAL (/vsicurl/, WFS, CRS URLs...) goes to a proxy that does not exist
    "GDAL_HTTP_PROXY": "http://127.0.0.1:9",
    "GDAL_HTTPS_PROXY": "http://127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".riskmap-no-network",
    "PROJ_NETWORK": "OFF",
}

_HTTP_CALLBACK_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_void_p,  # CPLHTTPResult *
    ctypes.c_char_p,  # URL
    ctypes.c_void_p,  # options
    ctypes.c_void_p,  # progress function
    ctypes.c_void_p,  # progress argument
    ctypes.c_void_p,  # write function
    ctypes.c_void_p,  # write argument
    ctypes.c_void_p,  # user data
)
_HTTP_REFUSED: list[str] = []
"""URLs GDAL tried to fetch with CPLHTTPFetch since import (none were fetched)."""


def _refuse_http(url: bytes | None, *_args: object) -> int:
    # A CPLHTTPResult {int nStatus; char *pszContentType; char *pszErrBuf; ...}, zeroed, nStatus = 1:
    # GDAL reads it as a failed request and frees it with CPLFree.
    _HTTP_REFUSED.append((url or b"").decode("utf-8", "replace"))
    lib = _libgdal()
    if lib is None:  # pragma: no cover - the callback is installed only when libgdal was found
        return 0
    result = lib.VSICalloc(1, 256)
    if result:
        ctypes.c_int.from_address(result).value = 1
    return int(result or 0)


_HTTP_CALLBACK = _HTTP_CALLBACK_TYPE(_refuse_http)


def disable_network() -> bool:
    """Make GDAL and PROJ unable to reach the network from this process; True when the fetch hook is installed.

    Three layers: every ``CPLHTTPFetch`` (CRS links in GeoJSON, ``importFromUrl``,
    WMS/WFS...) is answered by a callback that fetches nothing and reports a
    failure (``CPLHTTPSetFetchCallback``); curl requests that bypass it
    (``/vsicurl/``) go to a dead proxy and no file extension is allowed; PROJ
    network access (remote grids, ``+nadgrids=@https://...``) is switched
    off in GDAL's bundled PROJ (``OSRSetPROJEnableNetwork``), in pyproj and
    through ``PROJ_NETWORK=OFF``.
    """
    os.environ["PROJ_NETWORK"] = "OFF"
    pyogrio.set_gdal_config_options(_NO_NETWORK_OPTIONS)
    with contextlib.suppress(Exception):
        import pyproj.network

        pyproj.network.set_network_enabled(False)
    lib = _libgdal()
    if lib is None:
        return False
    lib.OSRSetPROJEnableNetwork(0)
    return bool(lib.CPLHTTPSetFetchCallback(_HTTP_CALLBACK, None))


def disable_redirecting_drivers() -> list[str]:
    """Deregister VRT, OGR_VRT and GDALG from pyogrio's libgdal; return the drivers still present.

    Also sets ``GDAL_PAM_ENABLED=NO`` (no ``.aux.xml`` sidecars). Safe to call
    more than once. The returned list is empty when the defence works (see
    the tests).
    """
    pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": "NO"})
    lib = _libgdal()
    if lib is not None:
        for name in REDIRECTING_DRIVERS:
            handle = lib.GDALGetDriverByName(name.encode())
            if handle:
                lib.GDALDeregisterDriver(handle)
    return [name for name in REDIRECTING_DRIVERS if name in pyogrio.list_drivers()]


disable_redirecting_drivers()
disable_network()
