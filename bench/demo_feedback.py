"""Simulated recruiter feedback on the demo data, then a tenant calibration: what a tenant's own fit and OPIS
look like next to the global threshold. The "recruiter" marks each of a vacancy's top-k candidates good when the
candidate was generated from the vacancy's own ESCO occupation (the demo's ground truth), bad otherwise.

Writes to the database settings point at (a tenant of its own, default `demo-sim`). Prints one table, writes JSON.
Run: .venv/bin/python bench/demo_feedback.py [--k 10]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
django.setup()

from matching.management.demo import seed_demo  # noqa: E402
from matching.models import GlobalCalibration, Kind  # noqa: E402
from matching.services import calibrate_tenant, encode_records, record_feedback, search  # noqa: E402
from tenants.scoping import tenant_scope  # noqa: E402


def occupation(external_id: str) -> str:
    return external_id.split("-")[1]  # V-007-1 and C-007-4 share occupation 007


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="demo-sim")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", type=Path, default=Path("bench/results/demo_feedback.json"))
    args = parser.parse_args()
    started = time.monotonic()
    tenant = seed_demo(slug=args.tenant).tenant
    with tenant_scope(tenant.id):
        for kind in Kind:
            encode_records(tenant=tenant, kind=kind, record_ids=kind.record_model.objects.values_list("pk", flat=True))
        for vacancy in Kind.VACANCIES.record_model.objects.order_by("external_id"):
            for hit in search(tenant=tenant, target=Kind.CANDIDATES, record=vacancy, k=args.k).matches:
                good = occupation(hit.record.external_id) == occupation(vacancy.external_id)
                record_feedback(tenant=tenant, vacancy=vacancy, candidate=hit.record, good=good, source="ui")
        report = calibrate_tenant(tenant=tenant)
    fit = report.fit
    glob = GlobalCalibration.objects.filter(encoder_version=tenant.active_encoder).first()
    result = {
        "tenant": tenant.slug,
        "encoder": tenant.active_encoder.name,
        "labels": fit.n_labels,
        "good": fit.n_good,
        "bad": fit.n_bad,
        "threshold": fit.threshold,
        "precision": fit.precision,
        "recall": fit.recall,
        "f1": fit.f1,
        "opis_occupation_groups": fit.opis_groups,
        "opis_tenants": report.opis_tenants,
        "global_threshold": None if glob is None else glob.threshold,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(
        "  ".join(
            f"{key}={value:.4f}" if isinstance(value, float) else f"{key}={value}" for key, value in result.items()
        )
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
