"""The dashboard, and the progress of long jobs (imports, re-index, training) that htmx polls while they run."""

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from shortlists.selectors import pipeline_labels, status_counts

from ..errors import MatchingError
from ..models import Job, Kind
from ..selectors import created_since, get_job, latest_threshold_fit, recent_jobs
from ..services import active_encoder_version, encoded_counts, lexical_weight, score_mix, threshold_for
from ..services.no_strong_match import NEWEST_VACANCIES, vacancies_without_strong_match
from .common import tenant_page

RECENT_JOBS = 8


def _progress_context(request: HttpRequest) -> dict:
    counts = encoded_counts(tenant=request.tenant)
    jobs = recent_jobs(tenant=request.tenant, limit=RECENT_JOBS)
    busy = any(job.status in (Job.Status.QUEUED, Job.Status.RUNNING) for job in jobs) or any(
        c["encoded"] < c["rows"] for c in counts.values()
    )
    return {"counts": counts, "jobs": jobs, "busy": busy}


@tenant_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """What a recruiter acts on first; the engineering figures (encoder, rows encoded) sit in the admins' panel."""
    version = active_encoder_version(tenant=request.tenant)
    week_ago = timezone.now() - timedelta(days=7)
    labels = pipeline_labels(tenant=request.tenant)
    new = {kind: created_since(tenant=request.tenant, kind=kind, since=week_ago) for kind in Kind}
    context = _progress_context(request) | {
        "encoder": version,
        "score_mix": score_mix(lexical_weight(version)),
        "threshold": threshold_for(tenant=request.tenant, version=version),
        "fit": latest_threshold_fit(tenant=request.tenant),
        "new_vacancies": new[Kind.VACANCIES],
        "new_candidates": new[Kind.CANDIDATES],
        "shortlist_counts": [(s, labels[s], n) for s, n in status_counts(tenant=request.tenant).items()],
        # bounded and cached (see there); None while not cached: the panel then loads itself (no_strong_match_panel)
        "no_strong_match": vacancies_without_strong_match(tenant=request.tenant, search_missing=False),
        "newest_judged": NEWEST_VACANCIES,
    }
    return render(request, "matching/dashboard.html", context)


@tenant_page
def no_strong_match_panel(request: HttpRequest) -> HttpResponse:
    """The "no strong match" panel, judged now where the cache lacks an answer (at most NEWEST_VACANCIES searches)."""
    context = {"no_strong_match": vacancies_without_strong_match(tenant=request.tenant)}
    template = "matching/_no_strong_match.html" if request.htmx else "matching/no_strong_match.html"
    return render(request, template, context | {"newest_judged": NEWEST_VACANCIES})


@tenant_page
def progress_panel(request: HttpRequest) -> HttpResponse:
    return render(request, "matching/_progress.html", _progress_context(request))


@tenant_page
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job = get_job(tenant=request.tenant, job_id=job_id)
    except MatchingError:
        raise Http404("no such job") from None
    template = "matching/_job.html" if request.htmx else "matching/job.html"
    return render(request, template, {"job": job, "finished": job.status in (Job.Status.DONE, Job.Status.FAILED)})
