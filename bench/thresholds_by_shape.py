"""Per-shape global thresholds (#17) against the old single one, on the same pairs, and what requirements cost.

1. The validation pairs of each query shape (services/global_calibration.shape_pairs: record <-> record, and a
   JobBERT title <-> record): precision / recall / F1 at the old global threshold (the title-vs-label fit) and at
   the shape's own best-F1 fit.
2. The demo's simulated feedback (bench/demo_feedback.py's recruiter: each vacancy's top-k candidates, good when
   generated from the vacancy's own occupation; requirements ignored, as before #17): precision / recall at the
   old threshold and at the record fit.
3. Search latency on the demo tenant: every vacancy's top 10 candidates with requirements filter / rank / ignore,
   p50 / p95 over the 180 searches, ratio to ignore.

Writes to the database settings point at (a tenant of its own, default `demo-shapes`). Prints, writes JSON.
Run: .venv/bin/python bench/thresholds_by_shape.py [--queries N] [--ship]
--ship adds the fits to matching/data/global_calibration/base-minilm-l6-v2.json (its other fields unchanged).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import django
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
django.setup()

from matching.management.demo import seed_demo  # noqa: E402
from matching.models import Kind  # noqa: E402
from matching.services import encode_records, search  # noqa: E402
from matching.services.global_calibration import SHAPES, SHIPPED_DIR, fit_shapes, shape_pairs  # noqa: E402
from tenants.scoping import tenant_scope  # noqa: E402


def at(similarities: np.ndarray, positive: np.ndarray, threshold: float) -> dict:
    accepted = similarities >= threshold
    tp = int((accepted & positive).sum())
    precision = tp / max(int(accepted.sum()), 1)
    recall = tp / max(int(positive.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": round(threshold, 4), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="demo-shapes")
    parser.add_argument("--queries", type=int, default=None, help="subsample each shape's queries")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ship", action="store_true")
    parser.add_argument("--json", type=Path, default=Path("bench/results/thresholds_by_shape.json"))
    args = parser.parse_args()
    started = time.monotonic()
    shipped_path = SHIPPED_DIR / "base-minilm-l6-v2.json"
    shipped = json.loads(shipped_path.read_text())
    old = shipped["threshold"]
    tenant = seed_demo(slug=args.tenant).tenant
    version = tenant.active_encoder
    fits = fit_shapes(version=version, queries=args.queries)
    result: dict = {"encoder": version.name, "old_threshold": round(old, 4), "shapes": {}}
    for shape in SHAPES:
        similarities, positive, _ = shape_pairs(version=version, shape=shape, queries=args.queries)
        result["shapes"][shape] = {
            "pairs": len(positive),
            "old": at(similarities, positive, old),
            "new": at(similarities, positive, fits[shape]["threshold"]),
        }
    with tenant_scope(tenant.id):
        for kind in Kind:
            encode_records(tenant=tenant, kind=kind, record_ids=kind.record_model.objects.values_list("pk", flat=True))
        vacancies = list(Kind.VACANCIES.record_model.objects.order_by("external_id"))
        sims, goods = [], []
        timings: dict[str, list[float]] = {"ignore": [], "filter": [], "rank": []}
        search(tenant=tenant, target=Kind.CANDIDATES, record=vacancies[0], k=args.k)  # warm the encoder
        for vacancy in vacancies:
            for mode in timings:
                t0 = time.perf_counter()
                found = search(tenant=tenant, target=Kind.CANDIDATES, record=vacancy, k=args.k, requirements=mode)
                timings[mode].append(time.perf_counter() - t0)
                if mode == "ignore":
                    for hit in found.matches:
                        sims.append(hit.similarity)
                        goods.append(hit.record.external_id.split("-")[1] == vacancy.external_id.split("-")[1])
    sims, goods = np.array(sims), np.array(goods)
    result["demo_feedback"] = {
        "labels": len(goods),
        "good": int(goods.sum()),
        "old": at(sims, goods, old),
        "new": at(sims, goods, fits["record"]["threshold"]),
    }
    base = np.percentile(timings["ignore"], 95)
    result["search_ms"] = {
        mode: {
            "p50": round(1000 * float(np.percentile(t, 50)), 2),
            "p95": round(1000 * float(np.percentile(t, 95)), 2),
            "p95_vs_ignore": round(float(np.percentile(t, 95) / base), 3),
        }
        for mode, t in timings.items()
    }
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    if args.ship:
        if args.queries is not None:
            raise SystemExit("--ship needs the full fit (no --queries)")
        shipped["by_shape"] = fits
        shipped_path.write_text(json.dumps(shipped, indent=1) + "\n")


if __name__ == "__main__":
    main()
