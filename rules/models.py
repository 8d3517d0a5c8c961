from django.conf import settings
from django.db import models
from pgvector.django import VectorField

from tenants.scoping import TenantOwned


class ExclusionRule(TenantOwned):
    """A query inside anchor A (trigger) leaves out every result inside anchor B (exclude).

    A radius is a cosine-similarity threshold: a vector is inside an anchor when its similarity to the anchor's
    vector is >= the radius. Vectors live in RuleAnchor, one row per encoder version.
    """

    name = models.CharField(max_length=200)
    trigger_text = models.CharField(max_length=500, help_text="anchor A: queries near this text trigger the rule")
    trigger_radius = models.FloatField(help_text="similarity to anchor A at or above which the rule fires")
    exclude_text = models.CharField(max_length=500, help_text="anchor B: results near this text are left out")
    exclude_radius = models.FloatField(help_text="similarity to anchor B at or above which a result is left out")
    active = models.BooleanField(default=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="exclusionrule_unique_name")]
        indexes = [models.Index(fields=["tenant", "active"], name="exclusionrule_active")]

    def __str__(self) -> str:
        return self.name


class RuleAnchor(TenantOwned):
    """A rule's two anchor vectors under one encoder version; a search only reads its active version's anchors."""

    rule = models.ForeignKey(ExclusionRule, on_delete=models.CASCADE, related_name="anchors")
    encoder_version = models.ForeignKey("matching.EncoderVersion", on_delete=models.PROTECT, related_name="+")
    trigger_vector = VectorField()
    exclude_vector = VectorField()
    text_hash = models.CharField(max_length=64)  # of both texts: an edit makes every other version's row stale
    encoded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "encoder_version"], name="ruleanchor_unique_version")]


class RuleChange(TenantOwned):
    """The audit trail: who changed which rule how, written by the services only."""

    class Action(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        ACTIVATED = "activated"
        DEACTIVATED = "deactivated"
        DELETED = "deleted"

    rule = models.ForeignKey(ExclusionRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes")
    rule_name = models.CharField(max_length=200)  # survives the rule's deletion
    action = models.CharField(max_length=16, choices=Action.choices)
    changes = models.JSONField(default=dict, blank=True, help_text='{"field": [old, new]}')
    actor = models.CharField(max_length=200, help_text="user name, or api-key:<prefix>")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["tenant", "-at"], name="rulechange_recent")]

    def __str__(self) -> str:
        return f"{self.rule_name} {self.action} by {self.actor}"
