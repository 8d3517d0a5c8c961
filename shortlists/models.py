from django.conf import settings
from django.db import models

from tenants.scoping import TenantOwned


class ShortlistEntry(TenantOwned):
    """A candidate on a vacancy's shortlist, at one step of the team's pipeline, with the recruiter's note."""

    class Status(models.TextChoices):  # a small fixed pipeline, in the order a candidate moves through it
        SHORTLISTED = "shortlisted", "shortlisted"
        CONTACTED = "contacted", "contacted"
        INTERVIEWING = "interviewing", "interviewing"
        REJECTED = "rejected", "rejected"
        HIRED = "hired", "hired"

    vacancy = models.ForeignKey("matching.Vacancy", on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey("matching.Candidate", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SHORTLISTED)
    note = models.TextField(blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "shortlist entries"
        constraints = [models.UniqueConstraint(fields=["vacancy", "candidate"], name="shortlist_unique_pair")]
        indexes = [models.Index(fields=["tenant", "vacancy", "status"], name="shortlist_by_status")]

    def __str__(self) -> str:
        return f"{self.vacancy_id} / {self.candidate_id}: {self.status}"


class PipelineLabel(TenantOwned):
    """A team's own word for one step of the pipeline; the step's key stays what the API, filters and exports use.
    A step without a row reads its default (ShortlistEntry.Status's label)."""

    status = models.CharField(max_length=16, choices=ShortlistEntry.Status.choices)
    label = models.CharField(max_length=40)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "status"], name="pipelinelabel_one_per_status")]

    def __str__(self) -> str:
        return f"{self.status}: {self.label}"
