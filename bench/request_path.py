"""One search request end to end, in process: where its time goes, and requests/s for two code trees side by side.

The request runs through Django's test client: every middleware, DRF's authentication, throttles and serialisers,
real PostgreSQL and Redis (var/bench's embedded servers, tenant `bench-api` as bench/api.py seeds it), and the
connection handling of a real request (closed or kept at its end as DB_CONN_MAX_AGE says). Two request shapes, as
bench/api.py sends them: free text (`{"text": <a vacancy title>, "kind": "candidates"}`) and by vacancy id; k = 10,
a quarter with a country filter. The bodies are cycled in order, so each text is seen once per cycle.

Per shape it prints: p50 and requests/s of sequential requests; per request the SQL statements sent (each, with
its mean time, the RLS set_config included), connections opened, commits, Redis commands (a pipeline or a script
counts once), time in the encoder, and the rest (Python: Django, DRF, our code). --profile adds cProfile's top
functions by own time.

  .venv/bin/python bench/request_path.py [--requests 300] [--profile]
  .venv/bin/python bench/request_path.py --against /tmp/base [--rounds 3]
      /tmp/base: another commit's tree (`git archive feccbe9 | tar -x -C /tmp/base`); both trees run alternately
      in child processes on the same data, and the table shows each and their ratio (one run: the machine is
      shared, so quote ratios).
"""

import argparse
import cProfile
import json
import os
import pstats
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_VAR = ROOT / "var" / "bench"
RESULTS = HERE / "results"
_WATCHED = re.compile(r"rest_framework/(views|serializers|throttling)\.py$")
RATE_LIMITS = {"API_RATE_LIMIT": "1000000/minute", "API_SEARCH_RATE_LIMIT": "1000000/minute"}


class Meter:
    """Counts and times what one request sends, by patching the libraries (psycopg, redis), not our code, so the
    same meter reads any commit's tree."""

    def __init__(self) -> None:
        self.reset()
        self.log_sql = False

    def reset(self) -> None:
        self.n = defaultdict(int)
        self.t = defaultdict(float)
        self.sql: list[tuple[str, float]] = []

    def wrap(self, owner: type, name: str, what: str, *, sql: bool = False) -> None:
        original = getattr(owner, name)
        meter = self

        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                meter.n[what] += 1
                meter.t[what] += elapsed
                if sql and meter.log_sql:
                    meter.sql.append((_shorten(str(args[1])), elapsed))

        setattr(owner, name, timed)


def _shorten(sql: str) -> str:
    sql = re.sub(r"'\[[-0-9., e]+\]'", "'[vector]'", sql)
    sql = re.sub(r"\s+", " ", sql)
    return sql[:160]


def install_meter() -> Meter:
    import psycopg
    import redis.client

    from matching.ml.onnx_encoder import OnnxTextEncoder

    meter = Meter()
    meter.wrap(psycopg.Cursor, "execute", "sql", sql=True)
    meter.wrap(psycopg.Connection, "commit", "commit")
    meter.wrap(psycopg.Connection, "rollback", "rollback")
    meter.wrap(psycopg, "connect", "connect")  # what Django calls: psycopg.connect
    meter.wrap(redis.client.Redis, "execute_command", "redis")  # a pipeline's buffered commands do not go through it
    meter.wrap(redis.client.Pipeline, "execute", "redis")
    meter.wrap(OnnxTextEncoder, "encode", "encode")
    return meter


def child(code: Path, shape: str, requests: int, profile: bool) -> dict:
    """Run in a child process whose sys.path starts at `code`: one shape's figures as JSON."""
    os.environ["JOBMATCH_VAR_DIR"] = str(BENCH_VAR)
    os.environ.setdefault("MODELS_DIR", str(ROOT / "var" / "models"))  # one ONNX build for both trees
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
    os.environ.update(RATE_LIMITS)
    sys.path.insert(0, str(code))
    import django

    django.setup()
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    prepared = json.loads((BENCH_VAR / "logs" / "request-path.json").read_text())
    bodies = [b for b in prepared["bodies"] if ("text" in b) == (shape == "text")]
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {prepared['key']}")
    meter = install_meter()

    def send(body: dict) -> None:
        response = client.post("/api/v1/search/", json.dumps(body), content_type="application/json")
        close_old_connections()  # what a served request does at its end; the test client leaves connections open
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]}")

    for body in bodies[:20]:  # warm: the encoder session, Django's URL and serializer caches
        send(body)
    meter.reset()
    meter.log_sql = True
    with CaptureQueriesContext(connection) as captured:
        send(bodies[0])
    detail = {"sql": meter.sql, "django_queries": len(captured.captured_queries)}
    meter.log_sql = False
    meter.reset()
    latencies = []
    profiler = cProfile.Profile() if profile else None
    wall = time.perf_counter()
    for i in range(requests):
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        send(bodies[i % len(bodies)])
        if profiler:
            profiler.disable()
        latencies.append(time.perf_counter() - start)
    wall = time.perf_counter() - wall
    per = {name: meter.n[name] / requests for name in meter.n}
    ms = {name: 1000 * meter.t[name] / requests for name in meter.t}
    out = {
        "shape": shape,
        "requests": requests,
        "p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "p95_ms": 1000 * float(np.percentile(latencies, 95)),
        "rps": requests / wall,
        "calls": per,
        "ms": ms,
        "python_ms": 1000 * wall / requests - sum(ms.values()),
        **detail,
    }
    if profiler:
        stats = pstats.Stats(profiler)
        rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:25]
        out["profile"] = [
            (f"{Path(f).name}:{line} {fn}", calls / requests, 1000 * own / requests, 1000 * cum / requests)
            for (f, line, fn), (_, calls, own, cum, _) in rows
        ]
        # Cumulative time of the steps a reader looks for: our code, DRF's view and serialisers.
        ours = [(key, value) for key, value in stats.stats.items() if str(code) in key[0] or _WATCHED.search(key[0])]
        out["profile_cumulative"] = [
            (f"{Path(f).parent.name}/{Path(f).name}:{line} {fn}", calls / requests, 1000 * cum / requests)
            for (f, line, fn), (_, calls, _, cum, _) in sorted(ours, key=lambda item: -item[1][3])[:30]
        ]
    return out


def prepare() -> None:
    sys.path.insert(0, str(HERE))
    from api import prepare as prepare_api  # noqa: PLC0415 (bench/api.py seeds and encodes tenant bench-api)

    key, bodies = prepare_api()
    (BENCH_VAR / "logs").mkdir(parents=True, exist_ok=True)
    (BENCH_VAR / "logs" / "request-path.json").write_text(json.dumps({"key": key, "bodies": bodies}))


def run_child(code: Path, shape: str, requests: int, profile: bool) -> dict:
    command = [sys.executable, __file__, "--child", str(code), "--shape", shape, "--requests", str(requests)]
    done = subprocess.run(command + (["--profile"] if profile else []), capture_output=True, text=True, cwd=code)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(row: dict) -> None:
    calls, ms = row["calls"], row["ms"]
    print(
        f"  {row['shape']:>6}: p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, {row['rps']:.1f} requests/s; "
        f"per request: {calls.get('sql', 0):.1f} SQL statements {ms.get('sql', 0):.1f} ms, "
        f"{calls.get('connect', 0):.1f} connects {ms.get('connect', 0):.1f} ms, "
        f"{calls.get('commit', 0):.1f} commits {ms.get('commit', 0):.1f} ms, "
        f"{calls.get('redis', 0):.1f} Redis {ms.get('redis', 0):.1f} ms, "
        f"{calls.get('encode', 0):.1f} encodes {ms.get('encode', 0):.1f} ms, Python {row['python_ms']:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--against", type=Path, help="another tree, measured alternately with this one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-prepare", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS / "request_path.json")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.shape, args.requests, args.profile)))
        return
    if args.prepare:
        prepare()
        return
    if not args.skip_prepare:
        subprocess.run([sys.executable, __file__, "--prepare"], check=True, cwd=ROOT)  # its own Django process
    trees = {"this": ROOT} | ({"against": args.against.resolve()} if args.against else {})
    rows: dict[str, list[dict]] = defaultdict(list)
    for round_ in range(args.rounds if args.against else 1):
        for shape in ("text", "record"):
            for name, code in trees.items() if round_ % 2 == 0 else reversed(trees.items()):
                row = run_child(code, shape, args.requests, args.profile and round_ == 0)
                rows[f"{name} {shape}"].append(row)
                print(f"round {round_ + 1}, {name} ({code}):")
                show(row)
    first = {key: value[0] for key, value in rows.items()}
    for key, row in first.items():
        print(f"\n{key}: the SQL of one request ({row['django_queries']} through Django's cursor)")
        for sql, seconds in row["sql"]:
            print(f"  {1000 * seconds:6.2f} ms  {sql}")
        for name, calls, own, cum in row.get("profile", []):
            print(f"  {calls:6.1f} calls {own:6.2f} ms own {cum:6.2f} ms cum  {name}")
        for name, calls, cum in row.get("profile_cumulative", []):
            print(f"  {calls:6.1f} calls {cum:6.2f} ms cum  {name}")
    if args.against:
        print(f"\nmedian of {args.rounds} rounds, {os.cpu_count()} CPUs shared with others (ratios, not absolutes):")
        print(f"{'shape':>7} {'tree':>8} {'p50 ms':>7} {'req/s':>6} {'SQL':>5} {'Redis':>5} {'encodes':>7}")
        for shape in ("text", "record"):
            medians = {}
            for name in trees:
                runs = rows[f"{name} {shape}"]
                medians[name] = {m: float(np.median([r[m] for r in runs])) for m in ("p50_ms", "rps")}
                calls = runs[0]["calls"]
                print(
                    f"{shape:>7} {name:>8} {medians[name]['p50_ms']:>7.1f} {medians[name]['rps']:>6.1f} "
                    f"{calls.get('sql', 0):>5.1f} {calls.get('redis', 0):>5.1f} {calls.get('encode', 0):>7.1f}"
                )
            ratio = medians["this"]["rps"] / medians["against"]["rps"]
            p50 = medians["this"]["p50_ms"] / medians["against"]["p50_ms"]
            print(f"{shape:>7} {'ratio':>8} {p50:>7.2f}x {ratio:>5.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"trees": {k: str(v) for k, v in trees.items()},
                                                           "rows": rows}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
