"""Benchmark harness: starts the server as a user would (`python -m server serve` in a fresh data
dir, on the embedded default or on a throwaway PostgreSQL database and Redis prefix), starts a bare
Sanic JSON app as the baseline, drives each scenario and the baseline with the same load generator
and connection count, and prints a table.

    .venv/bin/python -m bench.harness health me [--connections 50] [--duration 10] [--pg] [--redis]
    .venv/bin/python -m bench.harness --list

See bench/README.md for the scenario API."""
from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import pkgutil
import sys
import time
from pathlib import Path
from types import ModuleType

from bench.core import BenchContext, Stack, StackOptions, default_client
from bench.loadgen import MAX_CONNECTIONS, MAX_DURATION, Figures, Req, run_asyncio, run_wrk

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCENARIO_PKG = "bench.scenarios"


def list_scenarios() -> dict[str, str]:
    import bench.scenarios as pkg

    out = {}
    for m in pkgutil.iter_modules(pkg.__path__):
        if m.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{SCENARIO_PKG}.{m.name}")
        out[m.name] = (inspect.getdoc(mod) or "").splitlines()[0] if inspect.getdoc(mod) else ""
    return out


def load_scenario(name: str) -> ModuleType:
    try:
        mod = importlib.import_module(f"{SCENARIO_PKG}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{SCENARIO_PKG}.{name}":
            raise SystemExit(f"unknown scenario {name!r}; known: {', '.join(list_scenarios())}") from None
        raise
    if not hasattr(mod, "requests") and not hasattr(mod, "run"):
        raise SystemExit(f"scenario {name!r} defines neither requests(ctx) nor run(ctx)")
    return mod


async def _maybe_await(value):
    return await value if inspect.isawaitable(value) else value


class Baselines:
    """The bare Sanic figures per (client, connections), measured once per run, lazily."""

    def __init__(self, stack: Stack, duration: float, warmup: float, once: bool):
        self.stack, self.duration, self.warmup, self.once = stack, duration, warmup, once
        self.cache: dict[tuple[str, int], Figures] = {}

    async def get(self, client: str, connections: int) -> Figures:
        key = (client, connections)
        # On a shared machine the load changes minute to minute: by default the baseline is measured
        # again right after each scenario, so the ratio compares like with like.
        if key not in self.cache or not self.once:
            reqs = [Req("GET", "/")]
            if self.warmup > 0:
                await run_asyncio(self.stack.bare_url, reqs, connections=min(8, connections),
                                  duration=self.warmup, name="warmup")
            if client == "wrk":
                fig = await run_wrk(self.stack.bare_url, reqs, connections=connections,
                                    duration=self.duration, name="bare sanic")
            else:
                fig = await run_asyncio(self.stack.bare_url, reqs, connections=connections,
                                        duration=self.duration, name="bare sanic")
            self.cache[key] = fig
        return self.cache[key]


async def _paired(name: str, reqs: list[Req], ctx: BenchContext, baselines: "Baselines | None",
                  repeat: int) -> Figures:
    """Measure the scenario `repeat` times, each followed by the baseline, and keep the run with the
    median ratio: on a shared machine one pair can land in a burst of someone else's load."""
    runs = []
    for _ in range(repeat):
        fig = await ctx.load(reqs, name=name)
        if baselines is not None:
            fig.baseline = await baselines.get(fig.client, fig.connections)
        runs.append(fig)
    if len(runs) == 1:
        return runs[0]
    ranked = sorted(runs, key=lambda f: (f.ratio if f.ratio is not None else f.rps))
    chosen = ranked[len(ranked) // 2]
    chosen.extra["runs"] = ", ".join(
        f"{f.rps:,.0f} req/s" + (f" ({f.ratio * 100:.0f}%)" if f.ratio is not None else "") for f in runs)
    return chosen


async def run_scenario(name: str, mod: ModuleType, ctx: BenchContext, warmup: float,
                       baselines: "Baselines | None" = None, repeat: int = 1) -> list[Figures]:
    timeout = float(getattr(mod, "SETUP_TIMEOUT", 600))
    if hasattr(mod, "setup"):
        t0 = time.perf_counter()
        await asyncio.wait_for(_maybe_await(mod.setup(ctx)), timeout)
        ctx.log(f"{name}: setup took {time.perf_counter() - t0:.1f}s")
    try:
        if hasattr(mod, "run"):
            result = await _maybe_await(mod.run(ctx))
            figures = list(result) if isinstance(result, (list, tuple)) else [result]
        else:
            reqs = list(await _maybe_await(mod.requests(ctx)))
            await ctx.warmup(reqs, warmup)
            figures = [await _paired(name, reqs, ctx, baselines, repeat)]
        if hasattr(mod, "verify"):
            checks = await _maybe_await(mod.verify(ctx))
            if checks:
                figures[-1].extra.update(checks)
    finally:
        if hasattr(mod, "teardown"):
            await _maybe_await(mod.teardown(ctx))
    for f in figures:
        f.name = f.name or name
    return figures


def _fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def print_table(rows: list[Figures], header: str) -> None:
    cols = ["scenario", "client", "conns", "secs", "requests", "req/s", "p50 ms", "p99 ms", "non-2xx",
            "errors", "bare req/s", "bare p50", "bare p99", "ratio"]
    table = []
    for f in rows:
        b = f.baseline
        table.append([f.name, f.client, str(f.connections), _fmt(f.duration), f"{f.requests:,}",
                      _fmt(f.rps), _fmt(f.p50_ms, 2), _fmt(f.p99_ms, 2), str(f.non2xx), str(f.errors),
                      _fmt(b.rps if b else None), _fmt(b.p50_ms if b else None, 2),
                      _fmt(b.p99_ms if b else None, 2),
                      "-" if f.ratio is None else f"{f.ratio * 100:.0f}%"])
    widths = [max(len(c), *(len(r[i]) for r in table)) if table else len(c) for i, c in enumerate(cols)]
    print(header)
    print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths))))
    print("  ".join("-" * w for w in widths))
    for r in table:
        print("  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    for f in rows:
        extra = {k: v for k, v in f.extra.items() if k != "responses"}
        if f.statuses or extra:
            parts = []
            if f.statuses:
                parts.append("statuses " + ", ".join(f"{k}: {v}" for k, v in f.statuses.items()))
            parts += [f"{k}: {v:.2f}" if isinstance(v, float) else f"{k}: {v}" for k, v in extra.items()]
            print(f"  {f.name}: " + "; ".join(parts))
    sys.stdout.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenarios", nargs="*", help="scenario names (bench/scenarios/<name>.py)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("-c", "--connections", type=int, help="concurrent connections (default: the "
                   "scenario's CONNECTIONS, else 50)")
    p.add_argument("-d", "--duration", type=float, default=10.0, help="seconds per measurement (10)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each measurement")
    p.add_argument("--repeat", type=int, default=1, help="measure scenario + baseline this many times "
                   "(1..5) and keep the pair with the median ratio (requests() scenarios)")
    p.add_argument("--pg", action="store_true", help="a throwaway PostgreSQL database (see --pg-url)")
    p.add_argument("--redis", action="store_true", help="the local Redis with a unique key prefix")
    p.add_argument("--pg-url", default=None, help="admin URL of the PostgreSQL server "
                   "(default postgres://postgres@127.0.0.1:5432/postgres)")
    p.add_argument("--redis-url", default=None, help="default redis://127.0.0.1:6379/0")
    p.add_argument("--workers", type=int, default=1, help="Sanic workers for server and baseline (1)")
    p.add_argument("--worker", choices=["auto", "inline", "separate", "none"], default="auto",
                   help="the arq worker: auto = separate process with --redis, inline otherwise")
    p.add_argument("--client", choices=["auto", "wrk", "asyncio"], default="auto",
                   help="load generator (auto: wrk when installed)")
    p.add_argument("--no-baseline", action="store_true", help="skip the bare Sanic measurement")
    p.add_argument("--baseline", choices=["each", "once"], default="each",
                   help="measure the baseline after each scenario (default) or once per connection count")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="a scenario option (repeatable), read with ctx.option(KEY)")
    p.add_argument("--env", action="append", default=[], metavar="KAZUO_X=VALUE",
                   help="an extra setting for the server under test (repeatable)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON here "
                   "(default bench/results/<time>.json)")
    p.add_argument("--keep", action="store_true", help="keep the temp data dir and server logs")
    p.add_argument("--pin", action="store_true", help="Linux, one worker: the server and the bare app on "
                   "the first CPU, the load generator on the others (the buyers' phones are not on the "
                   "server's machine); the arq worker, PostgreSQL and Redis are left to the scheduler")
    args = p.parse_args(argv)
    if not args.list and not args.scenarios:
        p.error("name at least one scenario (or --list)")
    if args.connections is not None and not 1 <= args.connections <= MAX_CONNECTIONS:
        p.error(f"--connections must be 1..{MAX_CONNECTIONS}")
    if not 0 < args.duration <= MAX_DURATION:
        p.error(f"--duration must be in (0, {MAX_DURATION:.0f}]")
    if not 1 <= args.repeat <= 5:
        p.error("--repeat must be 1..5")
    if not 1 <= args.workers <= 8:
        p.error("--workers must be 1..8")
    if args.workers > 1 and not (args.pg and args.redis):
        p.error("--workers > 1 needs --pg --redis (the embedded default runs one worker)")
    for kv in args.opt + args.env:
        if "=" not in kv:
            p.error(f"expected KEY=VALUE, got {kv!r}")
    if any(not kv.startswith("KAZUO_") for kv in args.env):
        p.error("--env takes KAZUO_* settings only")
    return args


async def main_async(args: argparse.Namespace) -> int:
    # `timeout` and process managers stop us with SIGTERM, whose default action skips every finally:
    # cancel the run instead, so the servers stop, the database is dropped and the keys deleted.
    import signal

    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, main_task.cancel)
    mods = {name: load_scenario(name) for name in args.scenarios}
    client = default_client(args.client)
    extra_env: dict[str, str] = {}
    seed_demo = False
    for mod in mods.values():
        extra_env.update(getattr(mod, "SERVER_ENV", {}))
        seed_demo = seed_demo or bool(getattr(mod, "DEMO_DATA", False))
        needs = set(getattr(mod, "REQUIRES", ()))
        if ("pg" in needs and not args.pg) or ("redis" in needs and not args.redis):
            raise SystemExit(f"scenario {mod.__name__.rsplit('.', 1)[1]} needs "
                             + " ".join(f"--{n}" for n in sorted(needs)))
    extra_env.update(dict(kv.split("=", 1) for kv in args.env))
    opts = StackOptions(pg=args.pg, redis=args.redis, workers=args.workers, worker=args.worker,
                        seed_demo=seed_demo, env=extra_env, keep=args.keep, pin=args.pin)
    if args.pg_url:
        opts.pg_url = args.pg_url
    if args.redis_url:
        opts.redis_url = args.redis_url
    stack = Stack(opts)
    rows: list[Figures] = []
    try:
        print(f"starting the server ({stack.backend}, {args.workers} worker(s), arq worker "
              f"{stack.worker_mode}) and the bare Sanic baseline...", file=sys.stderr, flush=True)
        await stack.start()
        baselines = Baselines(stack, args.duration, args.warmup, once=args.baseline == "once")
        options = dict(kv.split("=", 1) for kv in args.opt)
        for name, mod in mods.items():
            conns = args.connections or int(getattr(mod, "CONNECTIONS", 50))
            ctx = BenchContext(stack, connections=conns, duration=args.duration, client=client,
                               options=options)
            try:
                print(f"scenario {name}: {conns} connections, {args.duration:g}s, {client}",
                      file=sys.stderr, flush=True)
                figures = await run_scenario(name, mod, ctx, args.warmup,
                                             None if args.no_baseline else baselines, args.repeat)
            finally:
                await ctx.aclose()
            if not args.no_baseline:
                for f in figures:  # run(ctx) scenarios: the baseline follows their measurement
                    if f.baseline is None:
                        f.baseline = await baselines.get(f.client, f.connections)
            rows.extend(figures)
            if stack.server is not None and not stack.server.alive():
                raise RuntimeError("the server died during the run:\n" + stack.server.tail())
    finally:
        await stack.stop()

    import platform

    header = (f"\n喀左特色馆 bench — {stack.backend}, {args.workers} Sanic worker(s), "
              f"{stack.cpus} CPU(s){' (server and bare app pinned to one)' if args.pin else ''}, "
              f"{platform.python_version()}, "
              f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    print_table(rows, header)
    if client == "wrk":
        print("  (wrk counts only status >= 400 as non-2xx; ratio = req/s over the bare Sanic req/s)")
    out = Path(args.json) if args.json else RESULTS_DIR / time.strftime("%Y%m%dT%H%M%S.json", time.gmtime())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"backend": stack.backend, "workers": args.workers, "pinned": args.pin, "client": client,
                               "rows": [f.as_dict() for f in rows]}, ensure_ascii=False, indent=1))
    print(f"  figures written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, doc in list_scenarios().items():
            print(f"{name:20} {doc}")
        return 0
    try:
        import uvloop
    except ImportError:
        uvloop = None
    try:
        return (uvloop.run if uvloop else asyncio.run)(main_async(args))
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted; the servers were stopped and the throwaway data removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
