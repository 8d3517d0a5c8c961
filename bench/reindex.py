"""Re-index throughput through the real Celery path against raw encode throughput of the same encoder and rows.

A tenant of N rows (the demo's vacancy/candidate texts, repeated with new ids, inserted directly so no encode task
is queued) is re-indexed to a new encoder version with the base model's artifact: `start_reindex` -> a real
`celery -A jobmatch_site worker` (one process, warmed up on another tenant first, so its model load is not
counted) -> `reindex_step` batches -> the switch. Raw = `encoder_for(version).encode(texts)` on the same texts in
this process, timed before and after the Celery run (the worker then sits idle). Also the `manage.py reindex`
command, whose wall time includes its own start and model load. Uses var/bench/, never the app's database.
Prints one table and writes JSON. Run: .venv/bin/python bench/reindex.py [--rows 3000]; with
SEARCH_EXACT_MAX_ROWS=1000 in the environment the tenant counts as large, so the timed run includes its HNSW builds.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import BENCH_VAR, RESULTS, ROOT, celery_worker, child_env, children_of, peak_rss_mb, setup_django  # noqa: E402

setup_django()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from matching.index_sql import create_vector_indexes  # noqa: E402
from matching.management.demo import demo_rows  # noqa: E402
from matching.ml.encoder import BASE_MODEL  # noqa: E402
from matching.models import EncoderVersion, Job, Kind  # noqa: E402
from matching.services import ensure_base_encoder  # noqa: E402
from matching.services.encoding import encoder_for  # noqa: E402
from matching.services.reindex import REINDEX_BATCH, start_reindex  # noqa: E402
from matching.tasks import encode_records_task  # noqa: E402
from tenants.scoping import tenant_scope  # noqa: E402
from tenants.services import ensure_tenant  # noqa: E402


def seed(slug: str, rows: int):  # noqa: ANN201
    tenant = ensure_tenant(slug=slug, name=slug, encoder=ensure_base_encoder())
    vacancies, candidates = demo_rows()
    with tenant_scope(tenant.id), transaction.atomic():
        for kind, source in ((Kind.VACANCIES, vacancies), (Kind.CANDIDATES, candidates)):
            model = kind.record_model
            want = rows * len(source) // (len(vacancies) + len(candidates))
            have = model.objects.filter(tenant=tenant).count()
            model.objects.bulk_create(
                [
                    model(tenant=tenant, **(source[i % len(source)] | {"external_id": f"B-{i}"}))
                    for i in range(have, want)
                ],
                batch_size=1000,
            )
    return tenant


def new_version(tag: str, *, index_first: bool = False, lexical_weight: float | None = None) -> EncoderVersion:
    config = {"bench": "reindex"} | ({} if lexical_weight is None else {"lexical_weight": lexical_weight})
    version = EncoderVersion.objects.create(
        name=f"bench-{tag}-{time.time_ns()}", dimension=384, artifact_path=BASE_MODEL, config=config
    )
    if index_first:  # the old way: the graph is kept up to date row by row while the re-index writes
        create_vector_indexes(connection, version_id=version.id, dimension=384)
    return version  # registered as train_encoder does: the re-index builds its HNSW indexes before the switch


def texts_of(tenant) -> list[str]:  # noqa: ANN001
    """In the order re-index steps take them: kind by kind, by pk."""
    with tenant_scope(tenant.id):
        return [
            r.text_for_encoding for kind in Kind for r in kind.record_model.objects.filter(tenant=tenant).order_by("pk")
        ]


def raw_rate(version: EncoderVersion, texts: list[str], chunk: int | None = None) -> float:
    """Rows/s of encode() alone; `chunk`: in calls of that many rows, as re-index steps make them."""
    encoder = encoder_for(version)  # loaded outside the timing, as the warmed-up worker's is
    chunk = chunk or len(texts)
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        encoder.encode(texts[start : start + chunk], batch_size=settings.ENCODE_BATCH_SIZE)
    return len(texts) / (time.perf_counter() - started)


def raw_lexical_ratio(version: EncoderVersion, tenant, rounds: int = 3) -> tuple[float, float]:  # noqa: ANN001
    """(rows/s of encode alone, of encode + the lexical vectors) on the tenant's rows in this process, alternated."""
    from matching.services.lexical import record_lexical

    with tenant_scope(tenant.id):
        rows = [r for kind in Kind for r in kind.record_model.objects.filter(tenant=tenant).order_by("pk")]
    texts, titles, descriptions = (
        [r.text_for_encoding for r in rows],
        [r.title for r in rows],
        [r.description for r in rows],
    )
    encoder = encoder_for(version)
    dense_s = lexical_s = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        encoder.encode(texts, batch_size=settings.ENCODE_BATCH_SIZE)
        dense_s += time.perf_counter() - started
        started = time.perf_counter()
        encoder.encode(texts, batch_size=settings.ENCODE_BATCH_SIZE)
        record_lexical(titles, descriptions)
        lexical_s += time.perf_counter() - started
    return rounds * len(rows) / dense_s, rounds * len(rows) / lexical_s


def wait_for(condition, timeout_s: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not finish in time")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=RESULTS / "reindex.json")
    parser.add_argument("--index-first", action="store_true", help="create the version's HNSW before the re-index")
    parser.add_argument("--queues", help="the worker's queues, e.g. encode (a dedicated encode worker); default all")
    args = parser.parse_args()
    tenant = seed("bench-reindex", args.rows)
    command_tenant = seed("bench-reindex-cmd", args.rows)
    warm = seed("bench-warmup", 12)
    texts = texts_of(tenant)
    version = new_version("celery", index_first=args.index_first)
    raw_before = raw_rate(version, texts)
    chunked = raw_rate(version, texts, chunk=REINDEX_BATCH)

    # The lexical channel side by side (issue 20): the same rows re-indexed to a dense-only version (lexical weight
    # 0: no n-gram vectors written) and to one with the default weight, in the same worker, alternating.
    # ABBA order over three pairs, so a load that changes during the run favours neither.
    dense_only = [new_version("dense-only", lexical_weight=0) for _ in range(3)]
    with_lexical = [version, new_version("lexical"), new_version("lexical")]

    def timed_reindex(target: EncoderVersion) -> tuple[Job, float]:
        with tenant_scope(tenant.id):
            with transaction.atomic():
                job = start_reindex(tenant=tenant, version=target)
            started = time.perf_counter()  # the first step is published on commit
            wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.DONE, 3600)
            seconds = time.perf_counter() - started
            job.refresh_from_db()
        tenant.refresh_from_db()
        return job, seconds

    side_by_side = {"dense only": [], "dense + lexical": []}
    with celery_worker(BENCH_VAR / "logs" / "reindex-worker.log", queues=args.queues) as worker_pid:
        with tenant_scope(warm.id):  # the worker loads the encoder here, outside the timed run
            ids = list(Kind.VACANCIES.record_model.objects.filter(tenant=warm).values_list("pk", flat=True))
            encode_records_task.delay(warm.id, Kind.VACANCIES.value, ids, version.id)
            wait_for(lambda: Kind.VACANCIES.embedding_model.objects.filter(encoder_version=version).exists(), 300)
        for pair, (plain, lexical) in enumerate(zip(dense_only, with_lexical, strict=True)):
            runs = (("dense only", plain), ("dense + lexical", lexical))
            for name, target in runs if pair % 2 == 0 else runs[::-1]:
                job, seconds = timed_reindex(target)
                side_by_side[name].append(job.total / seconds)
        celery_s = job.total / side_by_side["dense + lexical"][-1]
        worker_rss = max(peak_rss_mb(pid) for pid in [worker_pid, *children_of(worker_pid)])
    raw_after = raw_rate(version, texts)
    raw_dense, raw_with_lexical = raw_lexical_ratio(version, tenant)

    command_version = new_version("command", index_first=args.index_first)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "reindex", "--tenant", command_tenant.slug, "--encoder", command_version.name],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    command_s = time.perf_counter() - started
    command_rows = int(re.search(r"(\d+) rows encoded", done.stdout).group(1))

    raw = (raw_before + raw_after) / 2
    rows = [
        {"path": "raw encode (this process)", "rows": len(texts), "rows_per_s": raw,
         "detail": f"before {raw_before:.0f}/s, after {raw_after:.0f}/s"},
        {"path": f"raw encode, {REINDEX_BATCH} rows a call", "rows": len(texts), "rows_per_s": chunked,
         "detail": "the steps' chunks, this process"},
        {"path": "Celery start_reindex -> worker", "rows": job.total, "rows_per_s": job.total / celery_s,
         "detail": f"{celery_s:.1f} s, {job.params['step']} steps of {REINDEX_BATCH}"},
        {"path": "raw encode, alternated", "rows": len(texts), "rows_per_s": raw_dense, "detail": "3 rounds"},
        {"path": "raw encode + lexical, alternated", "rows": len(texts), "rows_per_s": raw_with_lexical,
         "detail": f"{100 * raw_with_lexical / raw_dense:.1f}% of encode alone"},
        *({"path": f"Celery, {name}", "rows": job.total, "rows_per_s": sum(rates) / len(rates),
           "detail": "runs " + ", ".join(f"{r:.0f}/s" for r in rates)} for name, rates in side_by_side.items()),
        {"path": "manage.py reindex (incl. start)", "rows": command_rows, "rows_per_s": command_rows / command_s,
         "detail": f"{command_s:.1f} s wall"},
    ]  # fmt: skip
    print(
        f"backend {settings.ENCODER_BACKEND}, encode batch {settings.ENCODE_BATCH_SIZE}, {os.cpu_count()} CPUs; "
        f"SEARCH_EXACT_MAX_ROWS {settings.SEARCH_EXACT_MAX_ROWS} (a tenant past it gets its own HNSW before the "
        f"switch); worker on {args.queues or 'every queue'}, peak RSS {worker_rss:.0f} MB"
    )
    lexical_ratio = sum(side_by_side["dense + lexical"]) / sum(side_by_side["dense only"])
    print(f"re-index with the lexical vectors: {100 * lexical_ratio:.1f}% of the dense-only rate")
    print(f"{'path':<34} {'rows':>6} {'rows/s':>8} {'% of raw':>9}  detail")
    for row in rows:
        row["pct_of_raw"] = 100 * row["rows_per_s"] / raw
        print(
            f"{row['path']:<34} {row['rows']:>6} {row['rows_per_s']:>8.1f} {row['pct_of_raw']:>8.1f}%  {row['detail']}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "config": {
                    "rows": args.rows,
                    "worker_queues": args.queues or "all",
                    "backend": settings.ENCODER_BACKEND,
                    "batch": REINDEX_BATCH,
                    "search_exact_max_rows": settings.SEARCH_EXACT_MAX_ROWS,
                },
                "worker_peak_rss_mb": worker_rss,
                "lexical_over_dense_only": lexical_ratio,
                "rows": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
