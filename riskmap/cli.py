"""Command line: ``riskmap validate``, ``score``, ``print``, ``export``, ``deploy`` and ``backtest``.

Exit status: 0 success; 1 ``validate --strict`` found rejected rows; 2 the
input cannot be used (the message names the file, the problem and the fix);
3 an internal error (rerun with ``--debug`` for the traceback and report it).
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from riskmap import __version__, i18n
from riskmap._errors import RiskmapInputError
from riskmap._terminal import SafeStream, one_line
from riskmap.config import CATEGORIES, load_config

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
        "--columns", metavar="MAP", help="column mapping: a TOML file, or pairs like tps.lat=Lintang,tps.lon=Bujur"
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
    stages = ["campaign", "voting", "counting", "recap"]
    pr = sub.add_parser("print", help="print stage maps (and TPS tables, or an atlas) to PDF or PNG")
    _add_inputs(pr)
    pr.add_argument("--stage", choices=[*stages, "all"], default="all", help="stage to print (default: all)")
    pr.add_argument("--area", metavar="CODE_OR_NAME", help=_AREA_HELP)
    pr.add_argument("--paper", choices=["A4", "A3"], default="A4")
    pr.add_argument("--orientation", choices=["landscape", "portrait"], default="landscape")
    pr.add_argument("--atlas", action="store_true", help="cover, overview, then one page per kecamatan (kab/kota)")
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
    pr.add_argument("--radius-km", type=float, default=2.0, help="response radius of the posts, km (default 2)")
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
    dp.add_argument("--radius-km", type=float, default=2.0, help="response radius of a post, km (default 2)")
    dp.add_argument("--time-limit", type=float, default=30.0, help="solver time limit per area, seconds (default 30)")
    dp.add_argument("--out", metavar="DIR", required=True, help="output folder")
    bt = sub.add_parser(
        "backtest",
        help="rolling-origin backtest: do the scores put the next window's incidents where they point? "
        "riskmap against count, decayed count, kernel density and random baselines",
    )
    for name in ("villages", "tps", "incidents"):
        bt.add_argument(f"--{name}", dest=name, metavar="PATH", help=_INPUT_HELP[name])
    bt.add_argument("--columns", metavar="MAP", help="column mapping (as for the other commands)")
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
    return parser


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
    from riskmap import pipeline
    from riskmap.deploy import area_totals, staffing_plan
    from riskmap.export import run_metadata, write_csv, write_geojson, write_json, write_xlsx

    config = load_config(args.config)
    result = pipeline.run(**_inputs(args), columns=args.columns, config=config, as_of=args.as_of)
    area = _area_view(result, args)
    if args.stage in ("campaign", "recap"):
        return _deploy_area(args, result, config, area)
    _need_tps(args, result)
    from riskmap.deploy import propose_reserves
    from riskmap.posts import candidate_sites, place_posts

    tps = result.tps if area is None else area.tps
    if not len(tps):
        raise RiskmapInputError("area_no_tps", area=args.area)
    plan, summary = staffing_plan(tps, args.stage, config, police=args.police, linmas=args.linmas)
    summary["_meta"] = run_metadata(config, result.as_of, args.stage)
    sites = result.layers.candidate_sites
    if sites is not None and len(sites):
        sites = sites.rename(columns={"point_id": "site_id"})[["site_id", "name", "kind", "geometry"]]
    else:
        sites = candidate_sites(result.villages, result.layers.posts)
    surplus = (args.police or 0) - summary["police"]["required"]
    if args.police is not None and surplus >= 1:
        reserves = propose_reserves(tps, sites, args.stage, surplus, config)
        summary["reserves"] = reserves.to_dict("records")
        team = config.data["staffing"]["reserve_team"]
        print(i18n.t("cli_reserves", args.lang, n=len(reserves), team=team))
    chosen = None
    if args.n_posts is not None or args.set_cover:
        posts = place_posts(
            tps,
            sites,
            args.stage,
            radius_m=args.radius_km * 1000,
            p=None if args.set_cover else args.n_posts,
            time_limit=args.time_limit,
        )
        summary["posts"] = posts.summary
        plan = plan.join(posts.tps[["covered", "post", "distance_m"]])
        chosen = posts.sites[posts.sites["chosen"]]
        s = posts.summary
        optimal = i18n.t("cli_optimal_yes" if s["all_proven_optimal"] else "cli_optimal_no", args.lang)
        print(
            i18n.t(
                "cli_posts",
                args.lang,
                chosen=s["posts_chosen"],
                covered=s["tps_covered"],
                total=s["tps_total"],
                share=f"{s['risk_covered_share']:.0%}",
                uncovered=len(s["high_risk_uncovered"]),
                optimal=optimal,
            )
        )
    out = Path(args.out)
    written = [write_geojson(plan, out / "deployment.geojson"), write_json(summary, out / "summary.json")]
    for by, name in (("village_code", "per_village.csv"), ("district", "per_kecamatan.csv")):
        written.append(write_csv(area_totals(plan, by), out / name))  # UTF-8 with BOM, never a formula
    written.append(out / "per_kecamatan.xlsx")
    write_xlsx({"per_kecamatan": area_totals(plan, "district")}, written[-1], meta=summary["_meta"], lang=args.lang)
    if chosen is not None:
        written.append(write_geojson(chosen, out / "posts.geojson"))
    pol, lin = summary["police"], summary["linmas"]
    print(
        i18n.t(
            "cli_staffing",
            args.lang,
            p_req=pol["required"],
            p_asg=pol["assigned"],
            l_req=lin["required"],
            l_asg=lin["assigned"],
            below=summary["tps_below_pattern"],
        )
    )
    for path in written:
        print(f"-> {path}")
    return 0


def _area_view(result: object, args: argparse.Namespace) -> object:
    """The :class:`riskmap.view.View` of ``--area`` for the deploy stage, or None without ``--area``."""
    if not args.area:
        return None
    from riskmap.view import area_filter, make_view

    flt, _ = area_filter(result.villages, args.area)
    return make_view(result, args.stage, flt)


def _deploy_area(args: argparse.Namespace, result: object, config: object, area: object = None) -> int:
    """Campaign patrol priorities, or recap venues (only those of ``area``, a View, when given)."""
    from riskmap import demo
    from riskmap.deploy import patrol_priorities, recap_venues
    from riskmap.export import run_metadata, write_geojson, write_json
    from riskmap.io.points import read_points

    out = Path(args.out)
    meta = run_metadata(config, result.as_of, args.stage)
    if args.stage == "campaign":
        priorities, hotspots = patrol_priorities(result)
        if area is not None:
            codes = set(area.villages["village_code"])
            priorities = priorities[priorities["village_code"].isin(codes)].assign(rank=lambda d: range(1, len(d) + 1))
            hotspots = hotspots[hotspots["village_code"].isin(codes)]
        villages = result.villages.merge(priorities[["village_code", "rank", "hotspots"]], on="village_code")
        written = [
            write_geojson(villages.sort_values("rank"), out / "deployment.geojson"),
            write_geojson(hotspots, out / "hotspots.geojson"),
        ]
        summary = {"stage": "campaign", "patrol_priorities": priorities.head(20).to_dict("records"), "_meta": meta}
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
    else:
        path = args.venues or (demo.ELECTION_OFFICES if result.layers.demo else None)
        venues = None
        if path is not None:
            points, report = read_points(path, "venues", area=result.layers.area, columns=args.columns)
            result.report.add(report)
            venues = points[["name", "kind", "district", "geometry"]]
        table = recap_venues(result, venues, config)
        if area is not None:  # the area's PPK offices, and the KPU office when a whole kab/kota is chosen
            keep = table["district"].astype(str).isin(set(area.villages["district"]))
            if area.filters.regencies and not area.filters.districts:
                keep |= table["kind"].astype(str).str.lower() == "kpu"
            table = table[keep]
        written = [write_geojson(table, out / "deployment.geojson")]
        summary = {
            "stage": "recap",
            "venues": table.drop(columns="geometry").to_dict("records"),
            "police_suggested_total": int(table["police_suggested"].sum()),
            "_meta": meta,
        }
        for r in table.sort_values("risk_recap", ascending=False).itertuples():
            level = i18n.t(str(r.level_recap), args.lang)
            line = i18n.t(
                "cli_venue", args.lang, name=r.name, score=f"{r.risk_recap:.0f}", level=level, police=r.police_suggested
            )
            print(one_line(line))
    written.append(write_json(summary, out / "summary.json"))
    for p in written:
        print(f"-> {p}")
    return 0


def _print(args: argparse.Namespace) -> int:
    from riskmap import pipeline
    from riskmap.printing import PrintOptions, print_maps

    if Path(args.out).suffix.lower() not in (".pdf", ".png"):  # say so before minutes of loading and scoring
        raise RiskmapInputError("print_format", path=str(args.out))
    config = load_config(args.config)
    result = pipeline.run(**_inputs(args), columns=args.columns, config=config, as_of=args.as_of)
    stages = config.stages if args.stage == "all" else [args.stage]
    chosen = None
    if args.n_posts:
        from riskmap.posts import candidate_sites, place_posts

        _need_tps(args, result)

        placed = place_posts(
            result.tps,
            candidate_sites(result.villages, result.layers.posts),
            stages[0],
            radius_m=args.radius_km * 1000,
            p=args.n_posts,
        )
        chosen = placed.sites[placed.sites["chosen"]]
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
        chosen_posts=chosen,
        post_radius_m=args.radius_km * 1000 if chosen is not None else 0.0,
    )
    for path in print_maps(result, args.out, opts):
        print(f"-> {path}")
    return 0


def _print_accuracy(args: argparse.Namespace, result: object, stages: list[str]) -> dict[str, dict]:
    """Stage -> accuracy summary for the printed line: measured now, read from ``--backtest``, or not run."""
    from riskmap import backtest

    if args.backtest:
        from riskmap.view import saved_backtest

        run: object = saved_backtest(args.backtest, result.layers, result.config)
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


def _need_tps(args: argparse.Namespace, result: object) -> None:
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


def _inputs(args: argparse.Namespace) -> dict[str, object]:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(out), SafeStream(err)  # names from files cannot drive the terminal
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
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
