"""The search API under a constant arrival rate: the highest rate at which p95 <= 150 ms and errors < 0.1%.

gunicorn as `manage.py serve` starts it (2 workers x 4 threads), on var/bench/'s embedded servers, with the demo
data seeded into tenant `bench-api` (180 vacancies, 360 candidates) and encoded. The per-key rate limits are raised
through the environment (API_RATE_LIMIT / API_SEARCH_RATE_LIMIT = 1000000/minute): at their defaults one key gets
5 searches/s. The load comes from a second process (this script with --load): requests are scheduled at fixed
times (wrk2-style open loop) and latency counts from the scheduled time, so a stalled server cannot hide its
queue. Half the searches are free text (encoded per request), half by vacancy id (stored vector); k = 10; a
quarter of all carry a country filter. The load generator shares the 2 cores with the server.
Prints one table and writes JSON. Run: .venv/bin/python bench/api.py [--rates 5,10,20,...] [--seconds 20]
[--against DIR]: DIR holds another commit's tree (`git archive COMMIT | tar -x -C DIR`), served by a second gunicorn
on the same data; each rate is measured on both trees, alternately, so the two tables come from one run.
"""

import argparse
import http.client
import json
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import BENCH_VAR, RESULTS, ROOT, child, child_env, children_of, peak_rss_mb  # noqa: E402

P95_TARGET_MS, ERROR_TARGET = 150.0, 0.001
RATE_LIMITS = {"API_RATE_LIMIT": "1000000/minute", "API_SEARCH_RATE_LIMIT": "1000000/minute"}


def generate_load(port: int, key: str, rate: float, seconds: float, bodies: list[dict]) -> dict:
    """Open loop: request i is due at start + i / rate; its latency counts from then."""
    latencies, errors = [], []
    lock = threading.Lock()

    def send(due: float, body: dict) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        # A connection per request: a kept-alive one that the server timed out fails on reuse (a client artefact).
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(
                "POST",
                "/api/v1/search/",
                body=json.dumps(body),
                headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            error = None if response.status == 200 else f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as exc:
            error = repr(exc)
        finally:
            conn.close()
        elapsed_ms = (time.perf_counter() - due) * 1000
        with lock:
            latencies.append(elapsed_ms)
            if error:
                errors.append(error)

    total = int(rate * seconds)
    rng = random.Random(0)
    start = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=128) as pool:  # enough in flight that the generator never waits on answers
        for i in range(total):
            pool.submit(send, start + i / rate, rng.choice(bodies))
    wall = time.perf_counter() - start
    values = np.array(latencies)
    return {
        "rate": rate,
        "requests": total,
        "achieved_rate": total / wall,
        "errors": len(errors),
        "error_rate": len(errors) / max(total, 1),
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
        "p99_ms": float(np.percentile(values, 99)),
        "error_sample": errors[:3],
    }


def prepare() -> tuple[str, list[dict]]:
    """Seed and encode tenant bench-api in var/bench; a fresh search key; the request bodies."""
    from benchenv import setup_django

    setup_django()
    from matching.management.demo import seed_demo
    from matching.models import Kind
    from matching.services.encoding import encode_records
    from tenants.scoping import tenant_scope
    from tenants.services import create_api_key

    tenant = seed_demo(slug="bench-api").tenant
    with tenant_scope(tenant.id):
        for kind in Kind:  # here, not by a worker: the benchmark needs them all before it starts
            ids = list(kind.record_model.objects.filter(tenant=tenant).values_list("pk", flat=True))
            for start in range(0, len(ids), 256):
                encode_records(tenant=tenant, kind=kind, record_ids=ids[start : start + 256])
        vacancies = list(Kind.VACANCIES.record_model.objects.filter(tenant=tenant).values_list("pk", "title"))
    _, key = create_api_key(tenant=tenant, name=f"bench {time.time_ns()}", scopes=["search"])
    bodies = []
    for i, (pk, title) in enumerate(vacancies):
        filters = {"country": "DE"} if i % 4 == 0 else {}
        bodies.append({"vacancy_id": pk, "k": 10, "filters": filters})
        bodies.append({"text": title.lower(), "kind": "candidates", "k": 10, "filters": filters})
    return key, bodies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn(port: int, tree: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "jobmatch_site.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--chdir",
        str(tree),
    ]  # as `manage.py serve`


def _measure(port: int, key: str, rate: float, seconds: float, bodies: list[dict]) -> dict:
    job_file = BENCH_VAR / "logs" / f"api-load-{port}.json"
    job_file.write_text(json.dumps({"port": port, "key": key, "rate": rate, "seconds": seconds, "bodies": bodies}))
    done = subprocess.run([sys.executable, __file__, "--load", str(job_file)], capture_output=True, text=True,
                          check=True)  # fmt: skip
    job_file.unlink()
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["meets"] = row["p95_ms"] <= P95_TARGET_MS and row["error_rate"] < ERROR_TARGET
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="5,10,20,30,40,50,60,80,100")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--json", type=Path, default=RESULTS / "api.json")
    parser.add_argument(
        "--against",
        type=Path,
        help="another commit's tree (git archive COMMIT | tar -x -C DIR): its gunicorn serves the same data beside "
        "this tree's, and each rate is measured on both, alternately, in this one run",
    )
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as the load generator, JSON in/out
    args = parser.parse_args()
    if args.load:
        job = json.loads(Path(args.load).read_text())
        print(json.dumps(generate_load(**job)))
        return
    key, bodies = prepare()
    import os

    from django.conf import settings

    trees = {"this": ROOT} | ({"against": args.against.resolve()} if args.against else {})
    # One ONNX export for both trees (a served process never builds one), the same var/bench data.
    env = child_env(**RATE_LIMITS, MODELS_DIR=str(settings.MODELS_DIR))
    results: dict[str, list[dict]] = {name: [] for name in trees}
    warm, web_rss, done = {}, {}, set()
    with ExitStack() as stack:
        ports, masters = {}, {}
        for name, tree in trees.items():
            ports[name] = free_port()
            log = BENCH_VAR / "logs" / f"api-gunicorn-{name}.log"
            masters[name] = stack.enter_context(
                child(_gunicorn(ports[name], tree), ready="Booting worker", log=log, env=env)
            )
        time.sleep(2)
        for name in trees:
            warm[name] = generate_load(ports[name], key, rate=4, seconds=10, bodies=bodies)  # loads both encoders
            if warm[name]["errors"]:
                raise RuntimeError(f"warm-up of {name} failed: {warm[name]['error_sample']}; see var/bench/logs")
        for i, rate in enumerate(float(r) for r in args.rates.split(",")):
            order = list(trees) if i % 2 == 0 else list(reversed(trees))  # neither tree always goes first
            for name in order:
                if name in done:
                    continue
                row = _measure(ports[name], key, rate, args.seconds, bodies)
                results[name].append(row)
                print(f"  {name:>7} {rate:>6.0f}/s: p95 {row['p95_ms']:.0f} ms, errors {row['errors']}", flush=True)
                if row["p95_ms"] > 4 * P95_TARGET_MS:  # far past the knee: higher rates only queue longer
                    done.add(name)
            if done == set(trees):
                break
        for name, master in masters.items():
            web_rss[name] = {pid: peak_rss_mb(pid) for pid in [master, *children_of(master)]}
    limit = RATE_LIMITS["API_SEARCH_RATE_LIMIT"]
    print(
        f"backend {settings.ENCODER_BACKEND}, gunicorn 2 workers x 4 threads per tree, {os.cpu_count()} CPUs, "
        f"{args.seconds:.0f} s per rate, rate limits raised via env ({limit})"
    )
    passing = {}
    for name, tree in trees.items():
        print(f"{name} ({tree}):")
        print(
            f"{'rate/s':>7} {'achieved':>9} {'requests':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>7} ok"
        )
        for row in results[name]:
            print(
                f"{row['rate']:>7.0f} {row['achieved_rate']:>9.1f} {row['requests']:>9} {row['p50_ms']:>7.1f} "
                f"{row['p95_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['errors']:>7}  {'yes' if row['meets'] else 'no'}"
            )
        passing[name] = max((row["rate"] for row in results[name] if row["meets"]), default=0)
        print(f"highest rate with p95 <= {P95_TARGET_MS:.0f} ms and errors < 0.1%: {passing[name]:.0f}/s")
        rss = ", ".join(
            f"{'master' if pid == masters[name] else 'worker'} {mb:.0f}" for pid, mb in web_rss[name].items()
        )
        print(f"peak RSS (MB): {rss}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "config": {
                    "seconds": args.seconds,
                    "backend": settings.ENCODER_BACKEND,
                    "limits": RATE_LIMITS,
                    "trees": {name: str(tree) for name, tree in trees.items()},
                },
                "highest_passing_rate": passing["this"],
                "highest_passing_rate_by_tree": passing,
                "web_peak_rss_mb": {name: list(rss.values()) for name, rss in web_rss.items()},
                "warm_up": warm,
                "rows": results["this"],
                "rows_by_tree": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
