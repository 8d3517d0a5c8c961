"""Free-text search, the talent map and the calibration page."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..errors import MatchingError
from ..forms import FilterForm, FreeTextForm
from ..models import GlobalCalibration, Kind
from ..selectors import label_counts, latest_threshold_fit
from ..services import MIN_LABELS_PER_CLASS, active_encoder_version, search, threshold_for
from ..services.free_text import parse_free_text
from ..services.talent_map import GROUP_NAMES, talent_map
from .common import tenant_page

SEARCH_K = 20
CHART = {"width": 640, "height": 260, "pad": 36}


@tenant_page
def free_text_search(request: HttpRequest) -> HttpResponse:
    form, filter_form = FreeTextForm(request.GET or None), FilterForm(request.GET)
    context = {"form": form, "filter_form": filter_form, "result": None, "parsed": None, "error": None}
    explicit = filter_form.search_filters()
    if not form.is_valid() or explicit is None:
        return render(request, "matching/search.html", context)
    kind = Kind(form.cleaned_data["kind"])
    parsed = parse_free_text(tenant=request.tenant, kind=kind, query=form.cleaned_data["q"])
    try:
        result = search(
            tenant=request.tenant, target=kind, text=parsed.text, filters=parsed.filters_with(explicit), k=SEARCH_K
        )
    except MatchingError as exc:
        context["error"] = exc.message
    else:
        context["result"] = result
    context |= {"parsed": parsed, "kind": kind}
    return render(request, "matching/search.html", context)


@tenant_page
def talent_map_page(request: HttpRequest) -> HttpResponse:
    kind = Kind(request.GET.get("kind")) if request.GET.get("kind") in Kind.values else Kind.CANDIDATES
    points = talent_map(tenant=request.tenant, kind=kind)
    present = sorted({p.group for p in points or []})
    legend = [{"group": g, "name": GROUP_NAMES.get(g, g), "n": sum(p.group == g for p in points)} for g in present]
    context = {"kind": kind, "points": points, "legend": legend, "kinds": Kind}
    return render(request, "matching/talent_map.html", context | {"encoder": request.tenant.active_encoder})


@tenant_page
def calibration_page(request: HttpRequest) -> HttpResponse:
    version = active_encoder_version(tenant=request.tenant)
    fit = latest_threshold_fit(tenant=request.tenant)
    global_fit = GlobalCalibration.objects.filter(encoder_version=version).first()
    n_good, n_bad = label_counts(tenant=request.tenant)
    threshold = threshold_for(tenant=request.tenant, version=version)
    shown = fit if threshold is not None and threshold.source == "tenant" else global_fit
    context = {
        "encoder": version,
        "threshold": threshold,
        "fit": fit,
        "global_fit": global_fit,
        "shown": shown,
        "n_good": n_good,
        "n_bad": n_bad,
        "needed": MIN_LABELS_PER_CLASS,
        "chart": _curve_chart(shown.curve if shown else [], threshold.value if threshold else None),
        "can_refit": request.tenant_role == "admin",
    }
    return render(request, "matching/calibration.html", context)


def _curve_chart(curve: list[dict], threshold: float | None) -> dict | None:
    """SVG polylines of F1 (the utility the fit maximises), precision and recall against the threshold."""
    points = sorted((p for p in curve if p.get("threshold") is not None), key=lambda p: p["threshold"])
    if len(points) < 2:
        return None
    w, h, pad = CHART["width"], CHART["height"], CHART["pad"]
    lo, hi = points[0]["threshold"], points[-1]["threshold"]
    span = max(hi - lo, 1e-9)

    def x(t: float) -> float:
        return round(pad + (t - lo) / span * (w - 2 * pad), 1)

    def y(v: float) -> float:
        return round(h - pad - v * (h - 2 * pad), 1)

    lines = {
        name: " ".join(f"{x(p['threshold'])},{y(p[name])}" for p in points if p.get(name) is not None)
        for name in ("f1", "precision", "recall")
    }
    ticks = [{"x": x(lo + span * i / 4), "label": f"{lo + span * i / 4:.2f}"} for i in range(5)]
    marker = x(threshold) if threshold is not None and lo <= threshold <= hi else None
    return CHART | {"lines": lines, "ticks": ticks, "marker": marker, "y0": y(0), "y1": y(1), "right": w - pad}


@require_POST
@tenant_page
def calibration_refit(request: HttpRequest) -> HttpResponse:
    if request.tenant_role != "admin":
        messages.error(request, "Only a team admin can refit the threshold.")
        return redirect("calibration")
    from ..tasks import calibrate_tenant_task

    calibrate_tenant_task.delay(request.tenant.id)
    messages.info(request, "Refit queued; reload in a few seconds.")
    return redirect("calibration")
