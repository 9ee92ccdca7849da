#!/usr/bin/env bash
# Refresh the map's front-end assets in static/vendor/ from the npm registry.
# They are committed, so the app needs neither npm nor internet at run time;
# run this only to change a version. Streamlit serves static/ at /app/static/.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
packages=(leaflet@1.9.4 leaflet.markercluster@1.5.3 leaflet.heat@0.2.0 leaflet.fullscreen@3.0.0 leaflet-measure@3.1.0)
for spec in "${packages[@]}"; do
    name=${spec%@*}
    (cd "$tmp" && npm pack "$spec" --silent >/dev/null && mkdir -p "$name" && tar xzf "${name}"-*.tgz -C "$name")
done
rm -rf "$dest" && mkdir -p "$dest"
cp -r "$tmp/leaflet/package/dist/leaflet.js" "$tmp/leaflet/package/dist/leaflet.css" "$tmp/leaflet/package/dist/images" "$dest/"
mkdir -p "$dest/markercluster" "$dest/heat" "$dest/fullscreen" "$dest/measure"
cp "$tmp/leaflet.markercluster/package/dist/"{leaflet.markercluster.js,MarkerCluster.css,MarkerCluster.Default.css} "$dest/markercluster/"
cp "$tmp/leaflet.heat/package/dist/leaflet-heat.js" "$dest/heat/"
cp "$tmp/leaflet.fullscreen/package/"{Control.FullScreen.js,Control.FullScreen.css,icon-fullscreen.svg} "$dest/fullscreen/"
cp -r "$tmp/leaflet-measure/package/dist/"{leaflet-measure.js,leaflet-measure.css,assets} "$dest/measure/"
for spec in "${packages[@]}"; do echo "$spec"; done > "$dest/VERSIONS.txt"
for spec in "${packages[@]}"; do
    name=${spec%@*}
    cp "$tmp/$name/package/LICENSE"* "$dest/LICENSE.$name" 2>/dev/null || true
done
echo "vendored into $dest:"; du -sh "$dest"
# one bundle of the scripts, in load order (riskmap.mapping.script_bundle; tests/test_mapping.py checks it)
python3 - <<'PY'
from pathlib import Path

from riskmap.mapping import script_bundle

d = Path("static/vendor")
(d / "riskmap-map.js").write_text(script_bundle(d))
PY
