"""The talent map: the team's vectors in two dimensions, coloured by occupation group."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import Kind
from ..services.talent_map import GROUP_NAMES, talent_map
from .common import tenant_page


@tenant_page
def talent_map_page(request: HttpRequest) -> HttpResponse:
    kind = Kind(request.GET.get("kind")) if request.GET.get("kind") in Kind.values else Kind.CANDIDATES
    points = talent_map(tenant=request.tenant, kind=kind)
    present = sorted({p.group for p in points or []})
    legend = [{"group": g, "name": GROUP_NAMES.get(g, g), "n": sum(p.group == g for p in points)} for g in present]
    firsts, seen = set(), set()
    for p in points or []:  # one tab stop per group; arrow keys walk the group's dots (app.js)
        if p.group not in seen:
            seen.add(p.group)
            firsts.add(p.record_id)
    context = {"kind": kind, "points": points, "legend": legend, "kinds": Kind, "firsts": firsts}
    return render(request, "matching/talent_map.html", context | {"encoder": request.tenant.active_encoder})
