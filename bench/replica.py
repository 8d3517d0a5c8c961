"""Search throughput and p95 on the primary alone, then with a real streaming replica serving the searches.

Both servers run on this one machine (the bench's embedded PostgreSQL under var/bench/ and a hot standby of it made
by pg_basebackup), so read the figures as correctness and overhead (the lag check, the routing), not as scale.
A tenant of N rows (demo texts, encoded in this process), then S record searches (vacancy -> candidates, k 10)
from T threads, each mode after a warm-up. The standby is removed at the end (slot dropped, data deleted).
Prints one table and writes JSON. Run: .venv/bin/python bench/replica.py [--rows 2000 --searches 400 --threads 4]
"""

import argparse
import json
import os
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import RESULTS, setup_django  # noqa: E402

setup_django()

from django.db import connections, transaction  # noqa: E402

from jobmatch_site import embedded_replica  # noqa: E402
from jobmatch_site.replica import REPLICA, forget_replica_health  # noqa: E402
from matching.management.demo import demo_rows  # noqa: E402
from matching.models import Kind  # noqa: E402
from matching.services import encode_records, ensure_base_encoder, search  # noqa: E402
from tenants.scoping import tenant_scope  # noqa: E402
from tenants.services import ensure_tenant  # noqa: E402

NAME = "bench-replica"


def seed(rows: int):  # noqa: ANN201
    tenant = ensure_tenant(slug="bench-replica", name="bench-replica", encoder=ensure_base_encoder())
    vacancies, candidates = demo_rows()
    with tenant_scope(tenant.id):
        for kind, source in ((Kind.VACANCIES, vacancies), (Kind.CANDIDATES, candidates)):
            model = kind.record_model
            want = rows * len(source) // (len(vacancies) + len(candidates))
            have = model.objects.filter(tenant=tenant).count()
            with transaction.atomic():
                rows_ = [source[i % len(source)] | {"external_id": f"R-{i}"} for i in range(have, want)]
                new = [model(tenant=tenant, **row) for row in rows_]
                model.objects.bulk_create(new, batch_size=1000)
            ids = list(model.objects.filter(tenant=tenant, embeddings__isnull=True).values_list("pk", flat=True))
            for start in range(0, len(ids), 256):
                encode_records(tenant=tenant, kind=kind, record_ids=ids[start : start + 256])
        queries = list(Kind.VACANCIES.record_model.objects.filter(tenant=tenant).order_by("pk")[:50])
    return tenant, queries


def run(tenant, queries, *, searches: int, threads: int) -> dict:  # noqa: ANN001
    latencies: list[float] = []
    served = {"replica": 0, "default": 0}
    lock = threading.Lock()

    def worker(n: int) -> None:
        counts = {"replica": 0, "default": 0}

        def counting(alias):  # noqa: ANN001, ANN202
            def wrapper(execute, sql, params, many, context):  # noqa: ANN001, ANN202
                counts[alias] += "matching_candidateembedding" in sql
                return execute(sql, params, many, context)

            return wrapper

        mine = []
        with tenant_scope(tenant.id), connections["default"].execute_wrapper(counting("default")):
            replica_wrap = (
                connections[REPLICA].execute_wrapper(counting("replica"))
                if REPLICA in connections.settings
                else nullcontext()
            )
            with replica_wrap:
                for i in range(n):
                    started = time.perf_counter()
                    search(tenant=tenant, target=Kind.CANDIDATES, record=queries[i % len(queries)], k=10)
                    mine.append(time.perf_counter() - started)
        connections.close_all()
        with lock:
            latencies.extend(mine)
            for key in served:
                served[key] += counts[key]

    per_thread = searches // threads
    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(per_thread,)) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "searches": len(latencies),
        "per_s": len(latencies) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "vector_queries_on_replica": served["replica"],
        "vector_queries_on_primary": served["default"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", type=Path, default=RESULTS / "replica.json")
    args = parser.parse_args()
    tenant, queries = seed(args.rows)
    results = {}
    run(tenant, queries, searches=40, threads=args.threads)  # warm-up: the encoder, caches, connections
    results["primary alone"] = run(tenant, queries, searches=args.searches, threads=args.threads)
    try:
        embedded_replica.start_replica(NAME, fresh=True, shared_buffers="256MB")
        primary = connections["default"].settings_dict
        wanted = {"default": primary, REPLICA: {**primary, "HOST": str(embedded_replica.replica_paths(NAME)[1])}}
        connections.settings[REPLICA] = connections.configure_settings(wanted)[REPLICA]
        forget_replica_health()
        run(tenant, queries, searches=40, threads=args.threads)
        results["primary + replica"] = run(tenant, queries, searches=args.searches, threads=args.threads)
    finally:
        connections.close_all()
        embedded_replica.stop_replica(NAME, remove=True)
    print(f"{args.rows} rows, {args.searches} searches (k 10), {args.threads} threads, {os.cpu_count()} CPUs")
    print(f"{'mode':<20} {'searches/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'vector queries replica/primary':>32}")
    for mode, row in results.items():
        print(
            f"{mode:<20} {row['per_s']:>10.1f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
            f"{row['vector_queries_on_replica']:>16}/{row['vector_queries_on_primary']}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"config": vars(args) | {"json": str(args.json)}, "results": results}, indent=2))


if __name__ == "__main__":
    main()
