"""Training a new encoder version: pairs from the ontologies (and a tenant's own identical titles), the loop in
matching/ml/train.py, then a registered EncoderVersion with its config, data hashes and validation metrics."""

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from tenants.models import Tenant
from tenants.scoping import tenant_scope

from ..errors import MatchingError
from ..ml.data import Pair, ontology_pairs
from ..ml.encoder import BASE_DIMENSION, BASE_MODEL, resolve_model_path
from ..ml.train import TrainConfig, train
from ..models import EncoderVersion, Job, Kind
from ..reference_data import CROSSWALK_CSV, ESCO_CSV, JOBBERT_VALIDATION_CSV, ONET_TSV
from .encoding import served_encoder
from .versions import prepare_confidence, prepare_global_threshold

JOB_UPDATE_S = 2.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def tenant_title_pairs(*, tenant: Tenant) -> list[Pair]:
    """Rows of one tenant sharing a normalised title: each title paired with another row's description."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with tenant_scope(tenant.id):
        for kind in Kind:
            rows = kind.record_model.objects.filter(tenant=tenant).values_list("title", "description")
            for title, description in rows:
                groups[" ".join(title.lower().split())].append((title, description))
    pairs = []
    for key, rows in groups.items():
        for i, (title, _) in enumerate(rows):
            others = [description for j, (_, description) in enumerate(rows) if j != i and description]
            if others:
                pairs.append(Pair(title, others[0][:500], f"tenant:{tenant.id}:{key}"))
    return pairs


def train_encoder(
    *,
    name: str | None = None,
    config: dict,
    tenants: list[Tenant] = (),
    evaluate_after: bool = True,
    progress: Callable[[Iterator], Iterator] | None = None,
) -> EncoderVersion:
    """Train, save under MODELS_DIR/<name>, register the version and its metrics."""
    shape = (
        "bare"
        if config.get("head", "none") == "none"
        else f"sg{config.get('groups', 4)}x{config.get('group_size', 128)}"
    )
    name = name or f"minilm-{shape}-{timezone.now():%Y%m%d-%H%M%S}"
    if not _NAME.match(name):
        raise MatchingError("an encoder name is letters, digits, '.', '_' and '-'", field="name")
    if EncoderVersion.objects.filter(name=name).exists():
        raise MatchingError(f"encoder version {name!r} already exists", field="name", status=409)
    extra = [pair for tenant in tenants for pair in tenant_title_pairs(tenant=tenant)]
    config = dict(config)
    noise = config.pop("noise", 0.5)  # the data's, not the model's: recorded with the data hashes
    use_crosswalk = config.pop("crosswalk", True)
    pair_set = ontology_pairs(
        esco=ESCO_CSV,
        onet=ONET_TSV,
        crosswalk=CROSSWALK_CSV if use_crosswalk else None,
        seed=config.get("seed", 0),
        noise=noise,
        extra=extra,
    )
    train_config = TrainConfig(base_model=str(resolve_model_path(BASE_MODEL)), **config)
    train_config.extra = {
        "noise": noise,
        "crosswalk": use_crosswalk,
        "merged_by_crosswalk": pair_set.merged_by_crosswalk,
        "related_groups": len(pair_set.related),
        "data_sha256": pair_set.sources,
        "pairs": len(pair_set.pairs),
        "groups": pair_set.groups,
        "dropped_ambiguous_labels": pair_set.dropped_ambiguous,
        "tenant_pairs": len(extra),
        "tenants": [t.slug for t in tenants],
    }
    out_dir = Path(settings.MODELS_DIR) / name
    jobs = _training_jobs(tenants=tenants, name=name)
    try:
        report = train(
            train_config,
            pair_set.pairs,
            out_dir,
            progress=_tracked(jobs, progress),
            guide=lambda texts: served_encoder(BASE_MODEL).encode(texts)[0],  # the frozen base model, int8
            related=pair_set.related,
        )
    except BaseException as exc:  # Ctrl-C included: the dashboards must not show a run that died as running
        _finish_jobs(jobs, Job.Status.FAILED, f"{name}: {type(exc).__name__}: {exc}"[:500])
        raise
    version = EncoderVersion.objects.create(
        name=name,
        dimension=train_config.groups * train_config.group_size if train_config.head != "none" else BASE_DIMENSION,
        artifact_path=str(out_dir),
        has_confidence=train_config.head != "none",
        config={"train": asdict(train_config), "report": asdict(report)},
    )
    # No HNSW index yet: built over the rows once a tenant or the version is large enough to use one
    # (vector_indexes.py).
    prepare_global_threshold(version=version)  # a worker fits it, so the first search after a switch has one
    prepare_confidence(version=version)  # likewise its confidence calibrator
    if evaluate_after:
        version.metrics = validation_metrics(version=version)
        version.save(update_fields=["metrics"])
    mrr = f"; validation MRR {version.metrics['mrr']:.4f}" if version.metrics.get("mrr") is not None else ""
    _finish_jobs(jobs, Job.Status.DONE, f"registered {name}{mrr}; re-index to use it")
    return version


def _training_jobs(*, tenants: list[Tenant], name: str) -> list[Job]:
    """A training Job on the dashboard of every tenant whose rows feed the run (a run on the ontologies alone has
    no tenant to show it to; its command prints the progress)."""
    jobs = []
    for tenant in tenants:
        with tenant_scope(tenant.id):
            jobs.append(
                Job.objects.create(
                    tenant=tenant, kind=Job.Type.TRAINING, status=Job.Status.RUNNING, params={"name": name}
                )
            )
    return jobs


def _tracked(jobs: list[Job], progress: Callable[[Iterator], Iterator] | None) -> Callable[[Iterator], Iterator]:
    """Wraps the loop's steps: the caller's progress (tqdm) plus the jobs' done/total, written every few seconds."""
    phases = iter(["head warm-up", "fine-tune"])

    def wrap(steps: Iterator) -> Iterator:
        total, phase, last = len(steps) if hasattr(steps, "__len__") else 0, next(phases, "training"), 0.0
        for done, step in enumerate(progress(steps) if progress else steps, start=1):
            yield step
            if jobs and (time.monotonic() - last > JOB_UPDATE_S or done == total):
                last = time.monotonic()
                for job in jobs:
                    with tenant_scope(job.tenant_id):
                        Job.objects.filter(pk=job.pk).update(
                            done=done, total=total, message=phase, updated_at=timezone.now()
                        )

    return wrap


def _finish_jobs(jobs: list[Job], status: str, message: str) -> None:
    for job in jobs:
        with tenant_scope(job.tenant_id):
            Job.objects.filter(pk=job.pk).update(
                status=status, message=message, finished_at=timezone.now(), updated_at=timezone.now()
            )


def validation_metrics(*, version: EncoderVersion) -> dict:
    """evaluate's figures on the JobBERT validation titles against every ESCO occupation."""
    import tempfile

    from .evaluation import evaluate, write_eval_sets

    with tempfile.TemporaryDirectory() as folder:
        write_eval_sets(out=Path(folder), esco=ESCO_CSV, jobbert=JOBBERT_VALIDATION_CSV)
        return evaluate(queries=Path(folder) / "Q.csv", corpus=Path(folder) / "C.csv", encoder=version.name)
