"""Paths of the embedded demo data (Kota Kupang; SYNTHETIC geometry and incidents).

See ``data/README.md`` for what is real and what is invented.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
VILLAGES = DATA_DIR / "geo" / "kota_kupang_kelurahan.geojson"
TPS = DATA_DIR / "geo" / "kota_kupang_tps.csv"
POSTS = DATA_DIR / "geo" / "kota_kupang_pos_polisi.geojson"
ELECTION_OFFICES = DATA_DIR / "geo" / "kota_kupang_kantor_pemilu.geojson"
INCIDENTS = DATA_DIR / "incidents" / "kota_kupang_insiden.csv"
