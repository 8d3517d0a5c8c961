from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .services import encoded_counts


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    counts = encoded_counts(tenant=request.tenant) if request.tenant else {}
    return render(request, "matching/dashboard.html", {"counts": counts})
