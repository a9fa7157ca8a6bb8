"""Run the performance benchmarks and print one line per figure, with its target.

    PYTHONPATH=. .venv/bin/python bench/run.py                 # all of them
    PYTHONPATH=. .venv/bin/python bench/run.py bare_spiff      # one (or several) by name
    PYTHONPATH=. .venv/bin/python bench/run.py completion queue

Benchmarks: bare_spiff (no database), completion (PostgreSQL database smartland_bench),
queue (PostgreSQL database smartland_bench_queue, 200k cases / 50k open tasks), submissions
(online submissions per second through gunicorn, database smartland_bench_web), certificates
(certificate PDFs and Word notices per second, and a batch of 1,000 certificates through the background
renderer, database smartland_bench_certs), archive (packages of 20 files / 10 MB filed per minute and
the fixity audit's MB/s from the local store, database smartland_bench_archive). The figures are
also written to bench/results/last-run.json (not tracked). See bench/README.md.
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, Python puts bench/ first on sys.path, where bench/queue.py would shadow the
    # standard library's queue module: put the repo root there instead (makes `bench` and `app` importable).
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import importlib
import json
import logging
import os
import time
import warnings

BENCHMARKS = ("bare_spiff", "completion", "queue", "submissions", "certificates", "archive")


def _fmt(v, unit: str) -> str:
    if v is None:
        return "-"
    if unit in ("rows", "statements", "n"):
        return f"{v:,.0f}"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}" if abs(v) < 1000 else f"{v:,.0f}"


def print_figures(figures: dict, out=None) -> None:
    out = out or sys.stdout
    width = max([len(n) for n in figures] + [20])
    print(f"{'figure':<{width}}  {'median':>10}  {'p95':>10}  {'n':>6}  {'unit':<10}  target", file=out)
    for name, f in figures.items():
        verdict = "" if f.get("ok") is None else ("  OK" if f["ok"] else "  OVER TARGET")
        print(f"{name:<{width}}  {_fmt(f['median'], f['unit']):>10}  {_fmt(f['p95'], f['unit']):>10}  "
              f"{f['n']:>6}  {f['unit']:<10}  {f.get('target', '')}{verdict}", file=out)
    out.flush()


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def _summary(results: dict) -> list[tuple[str, dict]]:
    """The headline figures: each issue target once."""
    rows = []
    bare = results.get("bare_spiff", {})
    for name in ("bare_spiff.step (load_state+complete+engine+dump_state)",
                 "bare_spiff.stock_step (deserialize_json+complete+engine+serialize_json)"):
        if name in bare:
            rows.append((name, bare[name]))
    comp = results.get("completion", {})
    for name in ("completion both steps (complete_task+commit)", "completion ratio median / bare_spiff step median",
                 "completion ratio median / interleaved bare step median"):
        if name in comp:
            rows.append((name, comp[name]))
    queue = results.get("queue", {})
    candidates = [(n, f) for n, f in queue.items() if f.get("target", "").startswith("p95")]
    if candidates:
        n, f = max(candidates, key=lambda nf: nf[1]["p95"])
        rows.append((f"queue worst page/count query p95: {n.removeprefix('queue.').strip()}", f))
    for name, f in results.get("submissions", {}).items():
        if name.startswith("submissions best rate"):
            rows.append((name, f))
    for name, f in results.get("certificates", {}).items():
        if name.startswith(("certificate signed", "render+sign+store")):
            rows.append((name, f))
    return rows


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    results: dict[str, dict] = {}
    shared: dict = {}
    started = time.perf_counter()
    print(f"start: {_load()} (other work on the machine inflates every figure)", flush=True)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        t0 = time.perf_counter()
        print(f"\n== {name} ==", flush=True)
        if name == "completion" and "bare_step_median" in shared:
            figures = module.main(bare_step_median=shared["bare_step_median"])
        else:
            figures = module.main()
        if name == "bare_spiff":
            shared["bare_step_median"] = figures["bare_spiff.step (load_state+complete+engine+dump_state)"]["median"]
        results[name] = figures
        print_figures(figures)
        print(f"({name}: {time.perf_counter() - t0:.1f} s; {_load()})", flush=True)
    print("\n== summary ==")
    print_figures(dict(_summary(results)))
    failed = [n for figs in results.values() for n, f in figs.items() if f.get("ok") is False]
    if failed:
        print("\nover target: " + "; ".join(n.strip() for n in failed))
    print(f"\ntotal {time.perf_counter() - started:.1f} s; {_load()}")
    out = Path(__file__).resolve().parent / "results" / "last-run.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"benchmarks": names, "load_average": os.getloadavg(), "figures": results},
                              ensure_ascii=False, indent=1))
    print(f"figures written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
