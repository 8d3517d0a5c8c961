"""The calibration page: the threshold in use, where it comes from, its curve, and (for admins) a refit."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..selectors import calibration_state, label_counts
from ..services import request_refit
from .common import tenant_page

CHART = {"width": 640, "height": 260, "pad": 36}
SAID = 0.8  # the plain sentence explains the stated chance nearest 80%...
SOLID_BIN = 20  # ...among bins of at least this many validation searches (any populated bin if none is that big)


@tenant_page
def calibration_page(request: HttpRequest) -> HttpResponse:
    state = calibration_state(tenant=request.tenant)
    n_good, n_bad = label_counts(tenant=request.tenant)
    threshold = state.threshold
    shown = state.fit if threshold is not None and threshold.source == "tenant" else state.global_fit
    context = {
        "encoder": state.version,
        "threshold": threshold,
        "fit": state.fit,
        "global_fit": state.global_fit,
        "refit": state.refit,
        "shown": shown,
        "n_good": n_good,
        "n_bad": n_bad,
        "needed": state.min_labels_per_class,
        "chart": _curve_chart(shown.curve if shown else [], threshold.value if threshold else None),
        "can_refit": request.tenant_role == "admin",
        "good_missing": max(0, state.min_labels_per_class - n_good),
        "bad_missing": max(0, state.min_labels_per_class - n_bad),
        "reliability": _reliability((state.version.config or {}).get("confidence") if state.version else None),
    }
    if shown is not None:  # "of 10" is how a recruiter reads recall and the false-accept rate
        context |= {"keeps_good": round(shown.recall * 10), "lets_bad": round(shown.false_accept_rate * 10)}
    return render(request, "matching/calibration.html", context)


def _reliability(payload: dict | None) -> dict:
    """The served confidence's reliability from the version's stored calibrator (config["confidence"]): its held-out
    bins as percentages, the bin the plain sentence speaks for, and the held-out ECE in percentage points."""
    if not payload:
        return {"calibrated": False}
    bins = [
        {
            "lo": _pct(b["lo"]),
            "hi": _pct(b["hi"]),
            "predicted": _pct(b["predicted"]),
            "observed": _pct(b["observed"]),
            "n": b["n"],
            "raw": b["predicted"],
        }
        for b in payload.get("reliability") or []
        if b.get("n")
    ]
    pool = [b for b in bins if b["n"] >= SOLID_BIN] or bins
    said = min(pool, key=lambda b: (abs(b["raw"] - SAID), -b["n"])) if pool else None
    ece = ((payload.get("metrics") or {}).get("held_out") or {}).get("ece")
    return {
        "calibrated": True,
        "bins": bins,
        "said": said,
        "ece_points": round(ece * 100, 1) if ece is not None else None,
        "n": sum(b["n"] for b in bins),
    }


def _pct(value: float) -> int:
    return round(value * 100)


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
    request_refit(tenant=request.tenant)
    n_good, n_bad, needed = (
        *label_counts(tenant=request.tenant),
        calibration_state(tenant=request.tenant).min_labels_per_class,
    )
    if n_good < needed or n_bad < needed:
        messages.info(
            request,
            f"Refit queued, but it will change nothing yet: your team has {n_good} good and {n_bad} bad marks, and "
            f"its own line needs at least {needed} of each. Until then the general line stays in use.",
        )
    else:
        messages.info(request, "Refit queued: its state shows below, and the threshold changes once it is done.")
    return redirect("calibration")
