from django.contrib.postgres.indexes import GinIndex
from django.db import models
from pgvector.django import VectorField

from tenants.scoping import TenantOwned

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


class EncoderVersion(models.Model):
    """A frozen encoder: vectors are only ever compared with vectors of the same version."""

    name = models.CharField(max_length=100, unique=True)
    dimension = models.PositiveIntegerField()
    artifact_path = models.CharField(max_length=500, help_text="model folder; 'wheel:' names a packaged model")
    has_confidence = models.BooleanField(default=False)
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Record(TenantOwned):
    """What vacancies and candidates share: text to encode, and the payload searches filter on."""

    external_id = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, upper case")
    city = models.CharField(max_length=100, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    languages = models.JSONField(default=dict, blank=True, help_text='{"en": "C1", "de": "B2"}')
    custom_fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.external_id}: {self.title}"

    @property
    def text_for_encoding(self) -> str:
        return f"{self.title}. {self.description}" if self.description else self.title


def _record_meta(name: str) -> tuple[list, list]:
    constraints = [models.UniqueConstraint(fields=["tenant", "external_id"], name=f"{name}_unique_external_id")]
    indexes = [
        models.Index(fields=["tenant", "country", "city"], name=f"{name}_location"),
        GinIndex(fields=["custom_fields"], name=f"{name}_custom_fields"),
        GinIndex(fields=["languages"], name=f"{name}_languages"),
    ]
    return constraints, indexes


class Vacancy(Record):
    class Meta(Record.Meta):
        verbose_name_plural = "vacancies"
        constraints, indexes = _record_meta("vacancy")


class Candidate(Record):
    class Meta(Record.Meta):
        constraints, indexes = _record_meta("candidate")


class Embedding(TenantOwned):
    """One record's vector under one encoder version; a re-index adds rows, it never overwrites another version's."""

    encoder_version = models.ForeignKey(EncoderVersion, on_delete=models.PROTECT, related_name="+")
    vector = VectorField()  # no fixed dimension: versions differ; HNSW indexes cast per version (vector_index.py)
    confidence = models.FloatField(null=True, blank=True)
    text_hash = models.CharField(max_length=64)  # of the encoded text: an unchanged text is never re-encoded
    encoded_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class VacancyEmbedding(Embedding):
    record = models.ForeignKey(Vacancy, on_delete=models.CASCADE, related_name="embeddings")

    class Meta(Embedding.Meta):
        constraints = [
            models.UniqueConstraint(fields=["record", "encoder_version"], name="vacancyembedding_unique_version")
        ]


class CandidateEmbedding(Embedding):
    record = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="embeddings")

    class Meta(Embedding.Meta):
        constraints = [
            models.UniqueConstraint(fields=["record", "encoder_version"], name="candidateembedding_unique_version")
        ]


class Kind(models.TextChoices):
    VACANCIES = "vacancies"
    CANDIDATES = "candidates"

    @property
    def record_model(self) -> type[Record]:
        return Vacancy if self is Kind.VACANCIES else Candidate

    @property
    def embedding_model(self) -> type[Embedding]:
        return VacancyEmbedding if self is Kind.VACANCIES else CandidateEmbedding

    @property
    def singular(self) -> str:
        return "vacancy" if self is Kind.VACANCIES else "candidate"

    @property
    def other(self) -> "Kind":
        return Kind.CANDIDATES if self is Kind.VACANCIES else Kind.VACANCIES


class Job(TenantOwned):
    """Long work a recruiter or operator waits on (import, re-index, training), with progress for the UI and API."""

    class Kind(models.TextChoices):
        IMPORT = "import"
        REINDEX = "reindex"
        TRAINING = "training"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "status"], name="job_tenant_status")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(100 * self.done / self.total) if self.total else 0
