"""Command line: ``riskmap validate``, ``score``, ``print``, ``export``, ``deploy``, ``backtest``, and the database.

The database commands: ``riskmap db``, ``incidents``, ``users``, ``audit`` and ``alerts`` (docs/DATABASE.md).

Exit status: 0 success; 1 ``validate --strict`` found rejected rows, or ``alerts`` fired; 2 the
input cannot be used (the message names the file, the problem and the fix);
3 an internal error (rerun with ``--debug`` for the traceback and report it).
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmap import __version__, i18n
from riskmap._errors import RiskmapInputError
from riskmap._terminal import SafeStream, one_line
from riskmap.config import CATEGORIES, load_config

if TYPE_CHECKING:  # imported where used: `riskmap --help` does not load geopandas
    from riskmap.deploy import DeploymentPlan
    from riskmap.pipeline import Result
    from riskmap.store import Store

_INPUT_HELP = {
    "villages": "village boundaries: Shapefile (.shp or .zip), GeoJSON, GeoPackage, FlatGeobuf, GeoParquet",
    "tps": "polling stations (TPS): CSV, XLSX or point file",
    "incidents": "incidents: riskmap CSV/XLSX/GeoJSON or an ACLED export",
    "posts": "police posts: CSV, XLSX or point file (optional)",
    "candidate_sites": "candidate sites for new posts: CSV, XLSX or point file (optional)",
    "campaign_posts": "campaign posts (posko): TPS near one get the Bawaslu flag dekat_posko (optional)",
}

_AREA_HELP = (
    'only this kecamatan or kab/kota: a name (any case, e.g. "Kota Kupang") or a Kemendagri code with or '
    "without dots (53.71 or 5371; 53.71.01); default: all"
)


def _add_inputs(p: argparse.ArgumentParser) -> None:
    for name, text in _INPUT_HELP.items():
        flag = "--police-posts" if name == "posts" else f"--{name.replace('_', '-')}"
        p.add_argument(flag, dest=name, metavar="PATH", help=text)
    p.add_argument(
        "--columns", metavar="MAP", help="column map: a TOML file, or pairs like tps.lat=Lintang,tps.lon=Bujur"
    )
    p.add_argument("--config", metavar="FILE", help="configuration TOML merged over the defaults")
    p.add_argument("--as-of", metavar="DATE", help="score as of this date (incidents after it are left out)")
    p.add_argument("--lang", choices=i18n.LANGS, default="id", help="language of messages (default: id)")
    p.add_argument("--debug", action="store_true", help="show the traceback of internal errors")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the commands)."""
    parser = argparse.ArgumentParser(
        prog="riskmap",
        description="Election-security risk per stage for villages and polling stations. "
        "With no input options the embedded Kota Kupang demo data (synthetic) is used.",
    )
    parser.add_argument("--version", action="version", version=f"riskmap {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="read and check the input files; report every rejected row")
    _add_inputs(v)
    v.add_argument(
        "--report",
        metavar="FILE",
        help="write the load report: JSON, or a table of the rejected rows and the warnings (column kind) "
        "when FILE ends in .csv or .xlsx (Excel)",
    )
    v.add_argument("--strict", action="store_true", help="exit with status 1 when any row is rejected")
    s = sub.add_parser("score", help="score risk per stage; write villages.geojson, tps.geojson, report.json")
    _add_inputs(s)
    s.add_argument("--out", metavar="DIR", required=True, help="output folder")
    s.add_argument(
        "--format",
        choices=["geojson", "parquet"],
        default="geojson",
        help="layer format: RFC 7946 GeoJSON (default) or GeoParquet (fast, for national data)",
    )
    s.add_argument("--db", metavar="URL", help="also score the verified incidents logged in this database")
    s.add_argument(
        "--include-unverified", action="store_true", help="with --db: also the logged incidents not yet verified"
    )
    stages = ["campaign", "voting", "counting", "recap"]
    pr = sub.add_parser("print", help="print stage maps (and TPS tables, or an atlas) to PDF or PNG")
    _add_inputs(pr)
    pr.add_argument("--stage", choices=[*stages, "all"], default="all", help="stage to print (default: all)")
    pr.add_argument("--area", metavar="CODE_OR_NAME", help=_AREA_HELP)
    pr.add_argument("--paper", choices=["A4", "A3"], default="A4")
    pr.add_argument("--orientation", choices=["landscape", "portrait"], default="landscape")
    pr.add_argument(
        "--atlas",
        action="store_true",
        help="cover and contents, the area's map, then per kab/kota an overview page and one page per kecamatan",
    )
    pr.add_argument(
        "--tables",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add the rawan/sangat rawan TPS table after each map (default: only for one stage)",
    )
    pr.add_argument("--classification", default="TERBATAS", help='line on every page (default "TERBATAS")')
    pr.add_argument("--dpi", type=int, default=150, help="PNG resolution (default 150)")
    pr.add_argument(
        "--posts",
        type=int,
        metavar="P",
        dest="n_posts",
        help="also place and draw P posts (maximal covering) with their response radius",
    )
    pr.add_argument("--radius-km", type=float, help="response radius of the posts, km (default: [posts] radius_km, 2)")
    pr.add_argument(
        "--no-accuracy",
        dest="accuracy",
        action="store_false",
        help="do not run the backtest for the accuracy line on each map (the line then says it was not measured)",
    )
    pr.add_argument(
        "--backtest",
        metavar="DIR/backtest.json",
        help="take the accuracy line from a saved `riskmap backtest` run of the same data and configuration",
    )
    pr.add_argument("--out", metavar="FILE", required=True, help="FILE.pdf (all pages) or FILE.png (one per page)")
    ex = sub.add_parser(
        "export", help="export layers for GIS: GeoJSON, GeoPackage, CSV, Excel (XLSX), zipped shapefile or GeoParquet"
    )
    _add_inputs(ex)
    ex.add_argument("--stage", choices=stages, help="keep only this stage's score columns")
    ex.add_argument("--area", metavar="CODE_OR_NAME", help=_AREA_HELP)
    ex.add_argument("--layer", choices=["villages", "tps", "incidents", "all"], default="all")
    ex.add_argument("--format", choices=["geojson", "gpkg", "csv", "xlsx", "shp", "parquet"], default="geojson")
    ex.add_argument("--out", metavar="PATH", required=True, help="a file for one layer (or a .gpkg), else a folder")
    dp = sub.add_parser("deploy", help="staffing plan for voting or counting: guard groups and personnel per TPS")
    _add_inputs(dp)
    dp.add_argument("--stage", choices=["voting", "counting", "campaign", "recap"], required=True)
    dp.add_argument("--area", metavar="CODE_OR_NAME", help=_AREA_HELP)
    dp.add_argument(
        "--venues",
        metavar="PATH",
        help="recap venues (PPK/KPU offices: nama, jenis kpu|ppk, kecamatan); default: the demo's, "
        "or one per kecamatan at its interior point",
    )
    dp.add_argument("--police", type=float, help="police available (default: as many as the patterns need)")
    dp.add_argument("--linmas", type=float, help="Linmas available (default: as many as the patterns need)")
    dp.add_argument(
        "--posts", type=int, metavar="P", dest="n_posts", help="place P posts maximising risk-weighted TPS coverage"
    )
    dp.add_argument(
        "--set-cover", action="store_true", help="place the fewest posts covering every rawan and sangat rawan TPS"
    )
    dp.add_argument("--radius-km", type=float, help="response radius of a post, km (default: [posts] radius_km, 2)")
    dp.add_argument(
        "--time-limit",
        type=float,
        help="solver time limit for the whole placement, seconds (default: [posts] time_limit_cli_s, 30)",
    )
    dp.add_argument("--out", metavar="DIR", required=True, help="output folder")
    bt = sub.add_parser(
        "backtest",
        help="rolling-origin backtest: do the scores put the next window's incidents where they point? "
        "riskmap against count, decayed count, kernel density and random baselines",
    )
    for name in ("villages", "tps", "incidents"):
        bt.add_argument(f"--{name}", dest=name, metavar="PATH", help=_INPUT_HELP[name])
    bt.add_argument("--columns", metavar="MAP", help="column map (as for the other commands)")
    bt.add_argument("--config", metavar="FILE", help="configuration TOML merged over the defaults ([backtest])")
    bt.add_argument("--cutoffs", metavar="D1,D2,...", help="cutoff dates; each scores with incidents before it")
    bt.add_argument("--from", dest="start", metavar="DATE", help="first cutoff (with --to and --every)")
    bt.add_argument("--to", dest="end", metavar="DATE", help="last cutoff (inclusive)")
    bt.add_argument("--every", metavar="N[DWMY]", help="cutoff spacing, e.g. 12M (default: the window)")
    bt.add_argument("--window", metavar="N[DWMY]", help="test window after each cutoff (default 12M, config)")
    bt.add_argument(
        "--stage", default=None, help="stage(s) to measure, comma-separated, or all (any incident); default: all stages"
    )
    bt.add_argument("--lang", choices=i18n.LANGS, default="id", help="language of messages and chart (default: id)")
    bt.add_argument("--debug", action="store_true", help="show the traceback of internal errors")
    bt.add_argument("--out", metavar="DIR", required=True, help="output folder")
    _add_db_commands(sub)
    return parser


def _db_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        help="database: postgresql://user:password@host/db, sqlite:///file or a file path "
        "(default: $RISKMAP_DB, else the SQLite file under [store] data_dir)",
    )
    p.add_argument("--config", metavar="FILE", help="configuration TOML merged over the defaults")
    p.add_argument("--lang", choices=i18n.LANGS, default="id", help="language of messages (default: id)")
    p.add_argument("--debug", action="store_true", help="show the traceback of internal errors")


def _add_db_commands(sub: argparse._SubParsersAction) -> None:
    """``db``, ``incidents``, ``users``, ``audit``, ``alerts``."""
    db = sub.add_parser("db", help="the database: upgrade the schema, back up, restore")
    dbs = db.add_subparsers(dest="action", required=True)
    _db_options(dbs.add_parser("upgrade", help="create the database or migrate it to the newest schema"))
    b = dbs.add_parser("backup", help="write every table to FILE (JSON lines; restores into SQLite or PostgreSQL)")
    _db_options(b)
    b.add_argument("file", metavar="FILE")
    r = dbs.add_parser("restore", help="load a backup FILE into an empty database")
    _db_options(r)
    r.add_argument("file", metavar="FILE")
    r.add_argument("--force", action="store_true", help="replace the contents of a database that holds data")

    inc = sub.add_parser("incidents", help="the incident log: add, import, export, verify, reject")
    incs = inc.add_subparsers(dest="action", required=True)
    a = incs.add_parser("add", help="log one incident (status unverified)")
    _db_options(a)
    a.add_argument("--lat", required=True, type=float, help="latitude, degrees (EPSG:4326)")
    a.add_argument("--lon", required=True, type=float, help="longitude, degrees (EPSG:4326)")
    a.add_argument("--date", required=True, help="date: 2024-11-27 or 27/11/2024")
    a.add_argument("--time", help="time of day, HH:MM")
    a.add_argument("--type", required=True, help="incident type: taxonomy id or its Indonesian/English name")
    a.add_argument("--severity", default="1", help="1 ringan, 2 sedang, 3 berat (default 1)")
    a.add_argument("--precision", default="exact", choices=["exact", "near", "region"])
    a.add_argument("--description", default="")
    a.add_argument("--source", default="cli")
    a.add_argument("--author", help="who logs it (default: the login name)")
    im = incs.add_parser("import", help="log every usable row of an incident file (any format riskmap reads)")
    _db_options(im)
    im.add_argument("file", metavar="FILE")
    im.add_argument("--columns", metavar="MAP", help="column map (as for the other commands)")
    im.add_argument("--status", default="unverified", choices=["unverified", "verified"])
    im.add_argument("--author", help="who imports (default: the login name)")
    ex = incs.add_parser("export", help="write the logged incidents to a CSV, GeoJSON or XLSX file")
    _db_options(ex)
    ex.add_argument("--status", default="all", help="verified, unverified, rejected, comma-separated, or all")
    ex.add_argument("--out", metavar="FILE", required=True, help="FILE.csv, FILE.geojson or FILE.xlsx")
    ex.add_argument("--author", help="who exports (default: the login name; recorded in the audit log)")
    for action, text in (("verify", "mark incidents verified"), ("reject", "mark incidents rejected")):
        m = incs.add_parser(action, help=text)
        _db_options(m)
        m.add_argument("ids", metavar="ID", nargs="+")
        m.add_argument("--why", default="", help="reason, kept in the incident's history")
        m.add_argument("--author", help="moderator (default: the login name)")

    us = sub.add_parser("users", help="accounts: add, list, disable, passwd")
    uss = us.add_subparsers(dest="action", required=True)
    ua = uss.add_parser("add", help="create an account (the password is asked twice, or read from a file)")
    _db_options(ua)
    ua.add_argument("name", metavar="NAME")
    ua.add_argument("--role", required=True, choices=["viewer", "officer", "planner", "admin"])
    ua.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE")
    _db_options(uss.add_parser("list", help="list the accounts"))
    ud = uss.add_parser("disable", help="refuse every later login of NAME")
    _db_options(ud)
    ud.add_argument("name", metavar="NAME")
    up = uss.add_parser("passwd", help="set a new password for NAME")
    _db_options(up)
    up.add_argument("name", metavar="NAME")
    up.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE")

    au = sub.add_parser("audit", help="show the audit log (logins, uploads, exports, prints, incident changes)")
    _db_options(au)
    au.add_argument("--since", metavar="DATE", help="from this day (UTC)")

    al = sub.add_parser("alerts", help="early warning: incident surges per kecamatan and kab/kota (exit 1 if any)")
    _db_options(al)
    al.add_argument("--incidents", metavar="PATH", help=_INPUT_HELP["incidents"] + " (besides the database's)")
    al.add_argument("--villages", metavar="PATH", help=_INPUT_HELP["villages"] + " (default: the demo's)")
    al.add_argument("--columns", metavar="MAP", help="column map (as for the other commands)")
    al.add_argument("--as-of", metavar="DATE", help="last day of the 7-day window (default: today)")
    al.add_argument("--include-unverified", action="store_true", help="also logged incidents not yet verified")


def _backtest(args: argparse.Namespace) -> int:
    from riskmap import backtest, pipeline

    config = load_config(args.config)
    if (
        (args.cutoffs and (args.start or args.end))
        or bool(args.start) != bool(args.end)
        or (args.every and not args.start)
    ):
        raise RiskmapInputError("bt_cutoff_options")
    window = backtest.parse_window(args.window or config.data["backtest"]["window"])
    if args.cutoffs:
        cutoffs = backtest.parse_cutoffs(args.cutoffs, config)
    elif args.start:
        cutoffs = backtest.cutoff_range(args.start, args.end, args.every or window, config)
    else:
        cutoffs = None
    stages = None
    if args.stage and args.stage != "every":
        stages = [s.strip() for s in args.stage.split(",") if s.strip()]
    demo_data = args.villages is None and args.tps is None and args.incidents is None
    layers = pipeline.load(
        args.villages, args.tps, args.incidents, columns=args.columns, config=config, demo_data=demo_data
    )
    print(layers.report.summary(args.lang, i18n.t("report_warnings_cli", args.lang)))
    bt = backtest.Backtest.from_layers(layers, config, cutoffs=cutoffs, window=window, stages=stages).fit()
    print()
    print(bt.verdict(args.lang))
    from riskmap.view import backtest_meta

    meta = backtest_meta(bt, layers)  # with the data's digest: `riskmap print --backtest` checks it
    for path in bt.write(args.out, lang=args.lang, meta=meta):
        print(f"-> {path}")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    """``riskmap deploy``: make the stage's :func:`riskmap.deploy.plan` and write it; only formatting here."""
    from riskmap import deploy, pipeline
    from riskmap.export import run_metadata, write_json
    from riskmap.view import area_filter

    config = load_config(args.config)
    result = pipeline.run(**_inputs(args), columns=args.columns, config=config, as_of=args.as_of)
    filters = area_filter(result.villages, args.area)[0] if args.area else None
    venues = None
    if args.stage == "recap" and args.venues:
        from riskmap.io.points import read_points

        points, report = read_points(
            args.venues, "venues", area=result.layers.area, columns=args.columns, config=result.config
        )
        result.report.add(report)
        venues = points[["name", "kind", "district", "geometry"]]
    if args.stage in ("voting", "counting"):
        _need_tps(args, result)
    placement = None
    if args.n_posts is not None or args.set_cover:
        radius_km = args.radius_km if args.radius_km is not None else float(config.data["posts"]["radius_km"])
        placement = deploy.PlacementRequest(None if args.set_cover else args.n_posts, radius_km * 1000)
    try:
        plan = deploy.plan(
            result,
            args.stage,
            filters=filters,
            available_police=args.police,
            available_linmas=args.linmas,
            placement=placement,
            venues=venues,
            time_limit_s=args.time_limit,
            config=config,
        )
    except RiskmapInputError as exc:
        if exc.code == "deploy_filtered_no_tps":
            raise RiskmapInputError("area_no_tps", area=args.area) from None
        raise
    out = Path(args.out)
    summary = {**plan.summary, "_meta": run_metadata(config, result.as_of, args.stage)}
    if args.stage == "campaign":
        written = _write_campaign(args, result, plan, out)
    elif args.stage == "recap":
        written = _write_recap(args, plan, out)
    else:
        written = _write_staffing(args, plan, summary, out)
    written.insert(1 if args.stage != "campaign" else 2, write_json(summary, out / "summary.json"))
    for path in written:
        print(f"-> {path}")
    return 0


def _write_campaign(args: argparse.Namespace, result: Result, plan: DeploymentPlan, out: Path) -> list[Path]:
    """Print and write the campaign plan: villages by patrol rank, their incident cells."""
    from riskmap.export import write_geojson

    priorities, hotspots = plan.priorities, plan.hotspots
    assert priorities is not None and hotspots is not None  # a campaign plan has both
    villages = result.villages.merge(priorities[["village_code", "rank", "hotspots"]], on="village_code")
    written = [
        write_geojson(villages.sort_values("rank"), out / "deployment.geojson"),
        write_geojson(hotspots, out / "hotspots.geojson"),
    ]
    for r in priorities.head(10).itertuples():
        line = i18n.t(
            "cli_patrol",
            args.lang,
            rank=f"{r.rank:>3}",
            village=r.village_name,
            district=r.district,
            score=f"{r.risk_campaign:.0f}",
            cells=r.hotspots,
        )
        print(one_line(line))
    return written


def _write_recap(args: argparse.Namespace, plan: DeploymentPlan, out: Path) -> list[Path]:
    """Print and write the recap plan: the venues, riskiest first."""
    from riskmap.export import write_geojson

    venues = plan.venues
    assert venues is not None  # a recap plan has them
    for r in venues.sort_values("risk_recap", ascending=False, kind="stable").itertuples():
        level = i18n.t(str(r.level_recap), args.lang)
        line = i18n.t(
            "cli_venue", args.lang, name=r.name, score=f"{r.risk_recap:.0f}", level=level, police=r.police_suggested
        )
        print(one_line(line))
    return [write_geojson(venues, out / "deployment.geojson")]


def _write_staffing(args: argparse.Namespace, plan: DeploymentPlan, summary: dict, out: Path) -> list[Path]:
    """Print and write a voting or counting plan: per TPS, per village / kecamatan / kab/kota, posts."""
    from riskmap.deploy import solver_status
    from riskmap.export import write_csv, write_geojson, write_xlsx

    reserves, per_district, per_regency = plan.reserves, plan.per_district, plan.per_regency
    assert reserves is not None and per_district is not None and per_regency is not None  # a staffing plan's
    if len(reserves):
        print(i18n.t("cli_reserves", args.lang, n=len(reserves), team=int(reserves["police"].iloc[0])))
    if plan.placement is not None:
        s = plan.placement.summary
        print(
            i18n.t(
                "cli_posts",
                args.lang,
                chosen=s["posts_chosen"],
                covered=s["tps_covered"],
                total=s["tps_total"],
                share=f"{s['risk_covered_share']:.0%}",
                uncovered=len(s["high_risk_uncovered"]),
                optimal=solver_status(s, args.lang),
            )
        )
    written = [write_geojson(plan.staffing, out / "deployment.geojson")]
    for table, name in (
        (plan.per_village, "per_village.csv"),
        (per_district, "per_kecamatan.csv"),
        (per_regency, "per_kabkota.csv"),
    ):
        written.append(write_csv(table, out / name))  # UTF-8 with BOM, never a formula
    written.append(out / "per_kecamatan.xlsx")
    sheets = {"per_kecamatan": per_district, "per_kabkota": per_regency}
    write_xlsx(sheets, written[-1], meta=summary["_meta"], lang=args.lang)
    if plan.placement is not None:
        written.append(write_geojson(plan.placed_posts, out / "posts.geojson"))
    pol, lin = plan.summary["police"], plan.summary["linmas"]
    print(
        i18n.t(
            "cli_staffing",
            args.lang,
            p_req=pol["required"],
            p_asg=pol["assigned"],
            l_req=lin["required"],
            l_asg=lin["assigned"],
            below=plan.summary["tps_below_pattern"],
        )
    )
    return written


def _print(args: argparse.Namespace) -> int:
    from riskmap import pipeline
    from riskmap.printing import PrintOptions, print_maps

    if Path(args.out).suffix.lower() not in (".pdf", ".png"):  # say so before minutes of loading and scoring
        raise RiskmapInputError("print_format", path=str(args.out))
    config = load_config(args.config)
    result = pipeline.run(**_inputs(args), columns=args.columns, config=config, as_of=args.as_of)
    stages = config.stages if args.stage == "all" else [args.stage]
    deployment = None
    if args.n_posts:  # the deployment plan (first voting or counting stage printed) with its placed posts
        from riskmap import deploy
        from riskmap.printing import _area_filter

        _need_tps(args, result)
        radius_km = args.radius_km if args.radius_km is not None else float(config.data["posts"]["radius_km"])
        deployment = deploy.plan(
            result,
            next((s for s in stages if s in ("voting", "counting")), "voting"),
            filters=_area_filter(result, args.area)[0] if args.area else None,
            placement=deploy.PlacementRequest(args.n_posts, radius_km * 1000),
        )
    opts = PrintOptions(
        accuracy=_print_accuracy(args, result, stages),
        stages=stages,
        paper=args.paper,
        orientation=args.orientation,
        lang=args.lang,
        classification=args.classification,
        tables=args.tables,
        atlas=args.atlas,
        area=args.area,
        dpi=args.dpi,
        deployment=deployment,
    )
    for path in print_maps(result, args.out, opts):
        print(f"-> {path}")
    return 0


def _print_accuracy(args: argparse.Namespace, result: Result, stages: list[str]) -> dict[str, dict]:
    """Stage -> accuracy summary for the printed line: measured now, read from ``--backtest``, or not run."""
    from riskmap import backtest

    if args.backtest:
        from riskmap.view import saved_backtest

        run: backtest.Backtest | dict[str, Any] | RiskmapInputError | None = saved_backtest(
            args.backtest, result.layers, result.config
        )
    elif not args.accuracy:
        run = None
    else:
        try:  # too few incidents (or a backtest setting that cannot work) is said on the page, not a stop
            run = backtest.Backtest.from_layers(result.layers, result.config, stages=list(stages)).fit()
        except RiskmapInputError as exc:
            run = exc
    return {stage: backtest.accuracy(run, stage) for stage in stages}


def _export(args: argparse.Namespace) -> int:
    from riskmap import pipeline
    from riskmap.export import export_layers

    config = load_config(args.config)
    result = pipeline.run(**_inputs(args), columns=args.columns, config=config, as_of=args.as_of)
    written = export_layers(
        result, args.out, layer=args.layer, fmt=args.format, stage=args.stage, lang=args.lang, area=args.area
    )
    for path in written:
        print(f"-> {path}")
    return 0


def _need_tps(args: argparse.Namespace, result: Result) -> None:
    """Stop with a clear message when a command needs TPS and there are none left."""
    if result.tps is not None and len(result.tps):
        return
    report = result.report.layers.get("tps")
    if report is None:
        raise RiskmapInputError("deploy_needs_tps")
    reasons = report.reason_counts().items()
    raise RiskmapInputError(
        "no_tps_left",
        file=report.source or args.tps,
        reasons="; ".join(f"{i18n.t('reason_' + r, 'id')} ({n})" for r, n in reasons) or "-",
        reasons_en="; ".join(f"{i18n.t('reason_' + r, 'en')} ({n})" for r, n in reasons) or "-",
    )


_NUMBER_OPTIONS = {  # option -> (attribute, smallest, largest), both inclusive
    "--radius-km": ("radius_km", 0.01, 100.0),
    "--posts": ("n_posts", 1, 100_000),
    "--police": ("police", 0, 10_000_000),
    "--linmas": ("linmas", 0, 10_000_000),
    "--dpi": ("dpi", 50, 600),
    "--time-limit": ("time_limit", 0.1, 86_400.0),
}


def _check_numbers(args: argparse.Namespace) -> None:
    """Refuse numeric options that are not finite or lie outside their sensible range (nan, inf, -3 posts)."""
    for option, (name, low, high) in _NUMBER_OPTIONS.items():
        value = getattr(args, name, None)
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            raise RiskmapInputError("bad_number_option", option=option, value=f"{value:g}", low=low, high=high)


def _inputs(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in _INPUT_HELP}


def _validate(args: argparse.Namespace) -> int:
    from riskmap import pipeline
    from riskmap.export import run_metadata, write_bytes, write_json, write_xlsx
    from riskmap.view import csv_bytes

    config = load_config(args.config)
    as_of = pipeline.parse_as_of(args.as_of, config)
    layers = pipeline.load(**_inputs(args), columns=args.columns, config=config, as_of=as_of)
    where = i18n.t("report_warnings_file", args.lang, path=args.report) if args.report else None
    print(layers.report.summary(args.lang, where or i18n.t("report_warnings_cli", args.lang)))
    if args.report and str(args.report).lower().endswith(".csv"):  # rejected rows and warnings, column "kind"
        write_bytes(csv_bytes(layers.report.notes_frame(args.lang)), args.report)
    elif args.report and str(args.report).lower().endswith(".xlsx"):
        meta = run_metadata(config, as_of)
        sheets = {i18n.t("xlsx_sheet_notes", args.lang): layers.report.notes_frame(args.lang)}
        write_xlsx(sheets, args.report, meta=meta, lang=args.lang)
    elif args.report:
        data = layers.report.to_dict(args.lang)
        data["_meta"] = run_metadata(config, as_of)
        write_json(data, args.report)
    if args.report:
        print(f"-> {args.report}")
    rejected = sum(len(r.rejected) for r in layers.report.layers.values())
    return 1 if (args.strict and rejected) else 0


def _score(args: argparse.Namespace) -> int:
    from riskmap import pipeline
    from riskmap.export import write_score_outputs

    config = load_config(args.config)
    if args.db:
        from riskmap.store import Store, merge_into_layers

        as_of = pipeline.parse_as_of(args.as_of, config)
        layers = pipeline.load(**_inputs(args), columns=args.columns, config=config, as_of=as_of)
        with Store.open(args.db, config=config) as store:
            layers = merge_into_layers(layers, store, include_unverified=args.include_unverified, config=config)
            store.audit(_who(None), "score", {"include_unverified": bool(args.include_unverified)})
            url = store.url
        result = pipeline.score(layers, config, as_of)
        used = layers.report["logged_incidents"].used
        statuses = "verified" + (", unverified" if args.include_unverified else "")
        print(i18n.t("cli_score_db", args.lang, url=url, n=used, statuses=statuses))
    else:
        result = pipeline.run(**_inputs(args), columns=args.columns, config=config, as_of=args.as_of)
    listed = i18n.t("report_warnings_file", args.lang, path=Path(args.out) / "report.json")  # written below
    print(result.report.summary(args.lang, listed))
    print()
    lang = args.lang
    header = i18n.t("layer_villages", lang)
    print(i18n.t("cli_as_of", lang, layer=header, as_of=result.as_of.isoformat() if result.as_of else "-"))
    for stage in config.stages:
        counts = result.villages[f"level_{stage}"].value_counts()
        line = ", ".join(f"{i18n.t(c, lang)} {int(counts.get(c, 0))}" for c in CATEGORIES)
        extra = ""
        if result.tps is not None:
            tc = result.tps[f"level_{stage}"].value_counts()
            extra = " | TPS: " + ", ".join(f"{i18n.t(c, lang)} {int(tc.get(c, 0))}" for c in CATEGORIES)
        print(f"  {config.stage_label(stage, lang)}: {line}{extra}")
    written = write_score_outputs(result, args.out, lang=lang, fmt=args.format)
    for path in written.values():
        print(f"-> {path}")
    return 0


def _who(author: str | None) -> str:
    """The user a command acts as: ``--author``, else the login name."""
    if author:
        return author
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without /etc/passwd entry)
        return "cli"


def _open_store(args: argparse.Namespace) -> Store:
    from riskmap.store import Store

    return Store.open(args.db, config=load_config(args.config))


def _db(args: argparse.Namespace) -> int:
    store = _open_store(args)  # opening migrates: "upgrade" is opening
    with store:
        if args.action == "upgrade":
            print(i18n.t("cli_db_upgraded", args.lang, url=store.url, revision=store.revision()))
        elif args.action == "backup":
            counts = store.backup(args.file)
            store.audit(_who(None), "backup", {"file": Path(args.file).name, **counts})
            print(i18n.t("cli_db_backup", args.lang, path=args.file, counts=_counts(counts)))
        else:
            counts = store.restore(args.file, force=args.force)
            store.audit(_who(None), "restore", {"file": Path(args.file).name, **counts})
            print(i18n.t("cli_db_restored", args.lang, url=store.url, counts=_counts(counts)))
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())


def _incidents(args: argparse.Namespace) -> int:
    store = _open_store(args)
    with store:
        author = _who(args.author)
        if args.action == "add":
            incident_id = store.add_incident(
                date=args.date,
                time=args.time,
                lat=args.lat,
                lon=args.lon,
                type=args.type,
                severity=args.severity,
                precision=args.precision,
                description=args.description,
                source=args.source,
                author=author,
                via="cli",
            )
            print(i18n.t("cli_incident_added", args.lang, incident_id=incident_id))
        elif args.action == "import":
            return _incidents_import(args, store, author)
        elif args.action == "export":
            return _incidents_export(args, store, author)
        else:
            status = "verified" if args.action == "verify" else "rejected"
            store.set_status(args.ids, status, author=author, why=args.why)
            print(i18n.t("cli_incidents_moderated", args.lang, n=len(args.ids), status=status))
    return 0


def _incidents_import(args: argparse.Namespace, store: Store, author: str) -> int:
    from riskmap.io.incidents import read_incidents

    config = store.config
    frame, report = read_incidents(args.file, columns=args.columns, config=config)
    known = set(store.incidents(status=None, include_deleted=True)["incident_id"])
    rows = []
    for r in frame.to_dict("records"):
        given = "" if str(r["incident_id"]).startswith("row-") else str(r["incident_id"])  # no id in the file: new
        if given and given in known:
            report.reject(int(r["_row"]), "already_logged", incident_id=given)
            report.used -= 1
            continue
        known.add(given)
        rows.append(
            {
                "incident_id": given,
                "date": r["date"].date(),
                "type": r["type"],
                "severity": int(r["severity"]),
                "lat": float(r["lat"]),
                "lon": float(r["lon"]),
                "precision": r["precision"],
                "description": r["description"],
                "source": r["source"],
                "status": args.status,
            }
        )
    report.check()
    ids = store.add_incidents(rows, author=author, via="import")
    store.audit(author, "upload", {"file": Path(args.file).name, "logged": len(ids), "read": report.read})
    print(report.summary(args.lang, i18n.t("report_warnings_cli", args.lang)))
    for note in report.rejected:
        print(one_line(f"  {i18n.t('row', args.lang)} {note.row}: {note.message(args.lang)}"))
    print(i18n.t("cli_incidents_imported", args.lang, n=len(ids), file=Path(args.file).name))
    return 0


def _incidents_export(args: argparse.Namespace, store: Store, author: str) -> int:
    from riskmap.export import run_metadata, write_csv, write_geojson, write_xlsx
    from riskmap.io.points import to_points
    from riskmap.store.store import STATUSES

    suffix = Path(args.out).suffix.lower()
    if suffix not in (".csv", ".geojson", ".xlsx"):
        raise RiskmapInputError("cli_export_format", path=Path(args.out).name)
    wanted = None if args.status.strip().lower() == "all" else [s.strip().lower() for s in args.status.split(",")]
    for s in wanted or []:
        if s not in STATUSES:
            from riskmap.store import StoreError

            raise StoreError("store_bad_choice", field="--status", value=s, known=", ".join((*STATUSES, "all")))
    table = store.incidents(status=wanted)
    table = table.assign(logged_at=table["logged_at"].astype(str)).drop(columns=["deleted"])
    if suffix == ".csv":
        write_csv(table, args.out)
    elif suffix == ".geojson":
        write_geojson(to_points(table), args.out)
    else:
        write_xlsx({"incidents": table}, args.out, meta=run_metadata(store.config, None), lang=args.lang)
    store.audit(author, "export", {"file": Path(args.out).name, "n": len(table), "status": args.status})
    print(i18n.t("cli_incidents_exported", args.lang, n=len(table)))
    print(f"-> {args.out}")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    from riskmap.store import StoreError

    if args.password_file:
        try:
            text = Path(args.password_file).read_text(encoding="utf-8").splitlines()
        except OSError:
            raise StoreError("store_password_file", file=args.password_file) from None
        if not text or not text[0]:
            raise StoreError("store_password_file", file=args.password_file)
        return text[0]
    import getpass

    if not sys.stdin.isatty():
        raise StoreError("store_no_terminal")
    first = getpass.getpass(i18n.t("store_password_prompt", args.lang, name=args.name))
    if getpass.getpass(i18n.t("store_password_again", args.lang)) != first:
        raise StoreError("store_password_mismatch")
    return first


def _users(args: argparse.Namespace) -> int:
    store = _open_store(args)
    with store:
        who = _who(None)
        if args.action == "add":
            password = _read_password(args)
            user = store.add_user(args.name, password, args.role)
            store.audit(who, "user_add", {"name": user.name, "role": user.role.value})
            print(i18n.t("cli_user_added", args.lang, name=user.name, role=user.role.value))
        elif args.action == "list":
            off = i18n.t("cli_user_disabled_flag", args.lang)
            for user in store.users():
                print(one_line(f"{user.name}  {user.role.value}" + (f"  {off}" if user.disabled else "")))
        elif args.action == "disable":
            store.disable_user(args.name)
            store.audit(who, "user_disable", {"name": args.name})
            print(i18n.t("cli_user_disabled", args.lang, name=args.name))
        else:
            store.set_password(args.name, _read_password(args))
            store.audit(who, "user_password", {"name": args.name})
            print(i18n.t("cli_user_password", args.lang, name=args.name))
    return 0


def _audit(args: argparse.Namespace) -> int:
    store = _open_store(args)
    with store:
        log = store.audit_log(since=args.since)
    if not len(log):
        print(i18n.t("cli_audit_empty", args.lang))
    for r in log.itertuples():
        print(one_line(f"{r.at.isoformat(timespec='seconds')}  {r.user}  {r.action}  {r.detail}"))
    return 0


def _alerts(args: argparse.Namespace) -> int:
    import datetime as dt

    from riskmap import alerts, pipeline
    from riskmap.store import Store, merge_into_layers

    config = load_config(args.config)
    as_of = pipeline.parse_as_of(args.as_of, config) or dt.date.today()
    layers = pipeline.load(  # no --villages: the demo's
        args.villages, None, args.incidents, columns=args.columns, config=config, as_of=as_of, demo_data=False
    )
    with Store.open(args.db, config=config) as store:
        layers = merge_into_layers(layers, store, include_unverified=args.include_unverified, config=config)
    found = alerts.surges(layers.incidents, layers.villages, as_of=as_of, config=config)
    for line in alerts.describe(found, as_of, args.lang):
        print(one_line(line))
    return 1 if len(found) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(out), SafeStream(err)  # names from files cannot drive the terminal
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """The parser, built once per process (scripts call :func:`main` many times)."""
    return build_parser()


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        if not args.debug:  # library warnings are for developers: the user reads the load report
            warnings.simplefilter("ignore")
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        commands = {
            "validate": _validate,
            "score": _score,
            "print": _print,
            "export": _export,
            "deploy": _deploy,
            "backtest": _backtest,
            "db": _db,
            "incidents": _incidents,
            "users": _users,
            "audit": _audit,
            "alerts": _alerts,
        }
        _check_numbers(args)
        return commands[args.command](args)
    except RiskmapInputError as exc:
        print(i18n.t("cli_error", args.lang, message=exc.message(args.lang)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an internal error: short message unless --debug
        if args.debug:
            raise
        print(i18n.t("cli_internal_error", args.lang, name=type(exc).__name__, exc=exc), file=sys.stderr)
        return 3


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
