"""The dashboard, and the progress of long jobs (imports, re-index, training) that htmx polls while they run."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from ..models import Job
from ..selectors import latest_threshold_fit
from ..services import active_encoder_version, encoded_counts, threshold_for
from .common import tenant_page

RECENT_JOBS = 8


def _progress_context(request: HttpRequest) -> dict:
    counts = encoded_counts(tenant=request.tenant)
    jobs = list(Job.objects.filter(tenant=request.tenant).order_by("-created_at", "-id")[:RECENT_JOBS])
    busy = any(job.status in (Job.Status.QUEUED, Job.Status.RUNNING) for job in jobs) or any(
        c["encoded"] < c["rows"] for c in counts.values()
    )
    return {"counts": counts, "jobs": jobs, "busy": busy}


@tenant_page
def dashboard(request: HttpRequest) -> HttpResponse:
    version = active_encoder_version(tenant=request.tenant)
    context = _progress_context(request) | {
        "encoder": version,
        "threshold": threshold_for(tenant=request.tenant, version=version),
        "fit": latest_threshold_fit(tenant=request.tenant),
    }
    return render(request, "matching/dashboard.html", context)


@tenant_page
def progress_panel(request: HttpRequest) -> HttpResponse:
    return render(request, "matching/_progress.html", _progress_context(request))


@tenant_page
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job, tenant=request.tenant, pk=job_id)
    template = "matching/_job.html" if request.htmx else "matching/job.html"
    return render(request, template, {"job": job, "finished": job.status in (Job.Status.DONE, Job.Status.FAILED)})
