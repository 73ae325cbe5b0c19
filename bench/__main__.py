"""``python -m bench``: run the benchmark, write the results, the chart and the table."""

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.configs import CONFIGURATIONS, WORKLOADS
from bench.machine import describe_machine
from bench.report import write_outputs
from bench.runner import Plan, run

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="each measured run")
    parser.add_argument("--warmup", type=float, default=2.0, help="before each measured run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--configurations", nargs="+", choices=list(CONFIGURATIONS), default=list(CONFIGURATIONS)
    )
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--startups", type=int, default=3, help="timed start-ups per config")
    parser.add_argument(
        "--rounds", type=int, default=2, help="repeat everything; report medians across rounds"
    )
    parser.add_argument("--floor-iterations", type=int, default=300)
    parser.add_argument(
        "--moto-unlocked", action="store_true", help="let moto serve requests concurrently"
    )
    parser.add_argument(
        "--moto-werkzeug", action="store_true", help="moto on werkzeug: no keep-alive"
    )
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the app (repeatable), to try a setting",
    )
    parser.add_argument(
        "--no-probe", action="store_true", help="skip the event-loop probe (health under load)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 s per measurement, no warm-up"
    )
    parser.add_argument(
        "--results", type=Path, default=REPO / "bench" / "results", help="JSON and chart folder"
    )
    parser.add_argument(
        "--no-markdown", action="store_true", help="do not update the table in BENCHMARKS.md"
    )
    parser.add_argument("--keep-workdir", action="store_true", help="keep the processes' logs")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    plan = Plan(
        configurations=tuple(args.configurations),
        workloads=tuple(args.workloads),
        concurrencies=tuple(args.concurrency),
        seconds=2.0 if args.quick else args.seconds,
        warmup_seconds=0.0 if args.quick else args.warmup,
        startups=1 if args.quick else args.startups,
        rounds=1 if args.quick else args.rounds,
        floor_iterations=50 if args.quick else args.floor_iterations,
        moto_locked=not args.moto_unlocked,
        moto_werkzeug=args.moto_werkzeug,
        event_loop_probe=not args.no_probe,
        app_env=tuple(tuple(pair.split("=", 1)) for pair in args.app_env),
    )
    workdir = Path(tempfile.mkdtemp(prefix="logger-app-bench-"))
    try:
        results = run(plan, workdir)
    except BaseException:
        print(f"[bench] failed; the processes' logs are in {workdir}")
        raise
    results["machine"] = describe_machine()
    results["quick"] = args.quick
    date = time.strftime("%Y-%m-%d", time.gmtime())
    args.results.mkdir(parents=True, exist_ok=True)
    json_path = args.results / f"{date}.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    written = write_outputs(
        results,
        chart_path=args.results / f"{date}.png",
        markdown_path=None if args.no_markdown else REPO / "BENCHMARKS.md",
        json_path=json_path,
    )
    for path in [json_path, *written]:
        print(f"[bench] wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    if args.keep_workdir:
        print(f"[bench] logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
