"""Profile the app under one workload: py-spy samples the real process while wrk drives it.

``python -m bench.profile --configuration sdk_disabled --workload signup --seconds 20``
writes a flame graph (SVG) and prints the functions with the most samples, self and total.
Needs py-spy (the `bench` extra) and, in a container, the ptrace capability.
"""

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.configs import CONFIGURATIONS, WORKLOADS
from bench.fixtures import create_fixtures
from bench.loadgen import run_wrk
from bench.runner import ConfigurationResult, ConfigurationRun, Plan
from bench.services import Collector, Moto


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    return found


def top_functions(collapsed: Path, limit: int = 25) -> str:
    """Self and total samples per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"{samples} samples", "", "self %  function"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in own.most_common(limit)]
    lines += ["", "total %  function"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in total.most_common(limit)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--configuration", choices=list(CONFIGURATIONS), default="sdk_disabled")
    parser.add_argument("--workload", choices=list(WORKLOADS), default="signup")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=Path("bench-profile"))
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="logger-app-profile-"))
    moto, collector = Moto(workdir), Collector(workdir)
    plan = Plan(startups=1)
    try:
        moto.start()
        collector.start()
        moto.reset()
        run = ConfigurationRun(
            CONFIGURATIONS[args.configuration], moto, collector, workdir, plan, print
        )
        if WORKLOADS[args.workload].baseline:
            app = run.start_baseline()
        else:
            app = run.start_app(ConfigurationResult(args.configuration, "", startup_seconds=[]))
        try:
            ids = create_fixtures(app.url, workdir / "ids.txt", 50)
            run_wrk(app.url, args.workload, args.concurrency, 2, "warm", ids)
            stem = args.out / f"{args.configuration}-{args.workload}-c{args.concurrency}"
            collapsed = stem.with_suffix(".txt")
            common = [_py_spy(), "record", "--pid", str(app.pid), "--rate", str(args.rate)]
            common += ["--duration", str(args.seconds), "--gil", "--nonblocking"]
            spies = [
                subprocess.Popen([*common, "--format", "raw", "--output", str(collapsed)]),
            ]
            load = threading.Thread(
                target=run_wrk,
                args=(app.url, args.workload, args.concurrency, args.seconds + 1, "prof", ids),
            )
            load.start()
            for spy in spies:
                spy.wait(timeout=args.seconds + 60)
            load.join()
            subprocess.run(
                [
                    "bash",
                    "-c",
                    f"command -v flamegraph.pl >/dev/null && flamegraph.pl {collapsed}"
                    f" > {stem}.svg || true",
                ],
                check=False,
            )
            report = top_functions(collapsed)
            stem.with_suffix(".top.txt").write_text(report + "\n")
            print(report)
            print(f"\ncollapsed stacks: {collapsed}")
        finally:
            app.stop()
    finally:
        collector.stop()
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
