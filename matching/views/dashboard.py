"""The dashboard, and the progress of long jobs (imports, re-index, training) that htmx polls while they run."""

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from shortlists.selectors import status_counts

from ..errors import MatchingError
from ..models import Job, Kind
from ..selectors import created_since, get_job, latest_threshold_fit, recent_jobs
from ..services import active_encoder_version, encoded_counts, lexical_weight, score_mix, threshold_for
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
    new = {kind: created_since(tenant=request.tenant, kind=kind, since=week_ago) for kind in Kind}
    context = _progress_context(request) | {
        "encoder": version,
        "score_mix": score_mix(lexical_weight(version)),
        "threshold": threshold_for(tenant=request.tenant, version=version),
        "fit": latest_threshold_fit(tenant=request.tenant),
        "new_vacancies": new[Kind.VACANCIES],
        "new_candidates": new[Kind.CANDIDATES],
        "shortlist_counts": list(status_counts(tenant=request.tenant).items()),
    }
    return render(request, "matching/dashboard.html", context)


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
