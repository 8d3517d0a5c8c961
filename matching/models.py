from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from pgvector.django import SparseVectorField, VectorField

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
    # On a vacancy: work from anywhere, so its location is no requirement (services/requirements.py). On a
    # candidate it is informational.
    remote = models.BooleanField(default=False)
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
    # A person's name and how to reach them: shown to the team and exported with shortlists; never part of
    # text_for_encoding, never a filter, so matching cannot see them.
    display_name = models.CharField(max_length=200, blank=True)
    contact = models.CharField(max_length=300, blank=True, help_text="e-mail or phone, as the team reaches them")

    class Meta(Record.Meta):
        constraints, indexes = _record_meta("candidate")


class Embedding(TenantOwned):
    """One record's vector under one encoder version; a re-index adds rows, it never overwrites another version's."""

    encoder_version = models.ForeignKey(EncoderVersion, on_delete=models.PROTECT, related_name="+")
    vector = VectorField()  # no fixed dimension: versions differ; HNSW indexes cast per version (index_sql.py)
    confidence = models.FloatField(null=True, blank=True)
    text_hash = models.CharField(max_length=64)  # of the encoded text: an unchanged text is never re-encoded
    encoded_at = models.DateTimeField(auto_now=True)
    # Its top ESCO occupations under this version (services/occupations.py): [{uri, label, isco_group, score}],
    # null until the version's occupation vectors are prepared. The two arrays are what filters match (GIN):
    # every URI of the top ones, and every prefix of their ISCO codes ("2", "22", "222", "2221").
    occupations = models.JSONField(null=True, blank=True)
    occupation_uris = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    isco_codes = ArrayField(models.CharField(max_length=4), default=list, blank=True)
    # The record's character n-gram vector (ml/lexical.py), the search's lexical channel; null on rows stored before
    # it existed until migration 0014 or the next encode fills it (search then scores the row by its dense cosine).
    lexical = SparseVectorField(null=True, blank=True)

    class Meta:
        abstract = True


class VacancyEmbedding(Embedding):
    # Cascades in PostgreSQL too (migration 0008): a vector committed during the delete goes with it.
    record = models.ForeignKey(Vacancy, on_delete=models.CASCADE, related_name="embeddings")

    class Meta(Embedding.Meta):
        constraints = [
            models.UniqueConstraint(fields=["record", "encoder_version"], name="vacancyembedding_unique_version")
        ]
        indexes = [
            GinIndex(fields=["occupation_uris"], name="vacancyemb_occupations"),
            GinIndex(fields=["isco_codes"], name="vacancyemb_isco"),
        ]


class CandidateEmbedding(Embedding):
    # Cascades in PostgreSQL too (migration 0008): a vector committed during the delete goes with it.
    record = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="embeddings")

    class Meta(Embedding.Meta):
        constraints = [
            models.UniqueConstraint(fields=["record", "encoder_version"], name="candidateembedding_unique_version")
        ]
        indexes = [
            GinIndex(fields=["occupation_uris"], name="candidateemb_occupations"),
            GinIndex(fields=["isco_codes"], name="candidateemb_isco"),
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

    class Type(models.TextChoices):  # not `Kind`: that is vacancies/candidates everywhere else
        IMPORT = "import"
        REINDEX = "reindex"
        TRAINING = "training"
        CALIBRATION = "calibration"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Type.choices)
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


class ImportUpload(TenantOwned):
    """An uploaded CSV waiting for its import job: kept in the database so any worker node can read it."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="upload")
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"upload for {self.job}"


class Feedback(TenantOwned):
    """A recruiter's or integration's verdict on one (vacancy, candidate) pair; a second mark replaces the first."""

    class Label(models.TextChoices):
        GOOD = "good"
        BAD = "bad"

    class Source(models.TextChoices):
        API = "api"
        UI = "ui"
        CSV = "csv"

    vacancy = models.ForeignKey(Vacancy, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="+")
    query_kind = models.CharField(
        max_length=16, choices=[("vacancy", "vacancy"), ("candidate", "candidate")], help_text="which side was searched"
    )
    label = models.CharField(max_length=8, choices=Label.choices)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey("tenants.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "feedback"
        constraints = [models.UniqueConstraint(fields=["vacancy", "candidate"], name="feedback_unique_pair")]
        indexes = [models.Index(fields=["tenant", "-marked_at"], name="feedback_recent")]

    def __str__(self) -> str:
        return f"{self.vacancy_id}/{self.candidate_id}: {self.label}"


class CalibrationTarget(models.TextChoices):
    BEST_F1 = "best_f1", "best F1"
    MAX_FALSE_ACCEPT_RATE = "max_far", "maximum false-accept rate"


class CalibrationPolicy(TenantOwned):
    """What a tenant's threshold is fitted to; a tenant without a row gets the default (best F1)."""

    target = models.CharField(max_length=16, choices=CalibrationTarget.choices, default=CalibrationTarget.BEST_F1)
    max_false_accept_rate = models.FloatField(null=True, blank=True, help_text="for target max_far, e.g. 0.05")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "calibration policies"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="calibrationpolicy_one_per_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.get_target_display()}"


class RequirementPolicy(TenantOwned):
    """How a tenant's searches treat a vacancy's requirements (services/requirements.py); a tenant without a row
    gets the defaults."""

    rank_penalty = models.FloatField(
        default=0.1, help_text="subtracted from a hit's score per unmet requirement in requirements=rank"
    )
    radius_km = models.FloatField(default=50.0, help_text="a place this close counts as the vacancy's location")
    custom_fields = models.JSONField(
        default=list, blank=True, help_text='custom field names a vacancy\'s value is required for, e.g. ["licence"]'
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "requirement policies"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="requirementpolicy_one_per_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant}: penalty {self.rank_penalty}, {self.radius_km:g} km"


class ThresholdFit(TenantOwned):
    """One fit of a tenant's threshold on its labelled pairs; the newest sufficient one for the active encoder
    is the tenant's threshold. Kept for history: date, label counts, precision/recall, the utility curve, OPIS."""

    encoder_version = models.ForeignKey(EncoderVersion, on_delete=models.PROTECT, related_name="+")
    fitted_at = models.DateTimeField(auto_now_add=True)
    target = models.CharField(max_length=16, choices=CalibrationTarget.choices)
    max_false_accept_rate = models.FloatField(null=True, blank=True)
    n_labels = models.PositiveIntegerField()
    n_good = models.PositiveIntegerField()
    n_bad = models.PositiveIntegerField()
    sufficient = models.BooleanField(help_text="enough labels of each kind to replace the global threshold")
    threshold = models.FloatField()
    precision = models.FloatField()
    recall = models.FloatField()
    f1 = models.FloatField()
    false_accept_rate = models.FloatField()
    curve = models.JSONField(default=list, help_text="[{threshold, precision, recall, f1, far}]")
    opis_groups = models.FloatField(null=True, blank=True, help_text="OPIS across occupation groups of this tenant")
    labels_through = models.DateTimeField(null=True, blank=True, help_text="newest feedback mark included")

    class Meta:
        indexes = [models.Index(fields=["tenant", "encoder_version", "-fitted_at"], name="thresholdfit_latest")]

    def __str__(self) -> str:
        return f"{self.threshold:.3f} ({self.n_labels} labels, {self.fitted_at:%Y-%m-%d %H:%M})"


class GlobalCalibration(models.Model):
    """The fallback threshold of one encoder version, fitted on the JobBERT validation titles against ESCO labels.

    Not tenant-owned: it comes from shipped data, never from a tenant's rows.
    """

    encoder_version = models.OneToOneField(EncoderVersion, on_delete=models.CASCADE, related_name="global_calibration")
    fitted_at = models.DateTimeField(auto_now=True)
    n_labels = models.PositiveIntegerField()
    n_good = models.PositiveIntegerField()
    threshold = models.FloatField()
    precision = models.FloatField()
    recall = models.FloatField()
    f1 = models.FloatField()
    false_accept_rate = models.FloatField()
    curve = models.JSONField(default=list)
    opis_groups = models.FloatField(null=True, blank=True, help_text="OPIS across ISCO major groups")
    # An operator figure over every tenant's labelled pairs: kept here, not on a tenant's fit, so that no tenant
    # reads a number computed from other tenants' data.
    opis_tenants = models.FloatField(null=True, blank=True, help_text="OPIS across tenants (each tenant a class)")
    opis_tenants_at = models.DateTimeField(null=True, blank=True)
    config = models.JSONField(default=dict, help_text="sample size, negatives, seed, seconds")
    # The fields above are the fit for free-text queries (a title against an occupation's label); a record query
    # compares title + description with title + description and scores higher, so it has its own fit here:
    # {"record": {"threshold", "precision", "recall", "f1", "false_accept_rate", "n_labels", "n_good", "config"}}.
    by_shape = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.encoder_version}: {self.threshold:.3f}"


class OccupationVectors(models.Model):
    """One ESCO occupation's vectors under one encoder version, prepared by a worker (services/occupations.py).

    Not tenant-owned: it comes from shipped data, never from a tenant's rows. The label vectors travel as one
    float32 blob (rows in reference_data's label order): they are read whole, never searched in SQL.
    """

    encoder_version = models.ForeignKey(EncoderVersion, on_delete=models.CASCADE, related_name="+")
    uri = models.CharField(max_length=200)
    centroid = VectorField()  # unit-length mean of its label vectors
    description = VectorField()
    labels = models.BinaryField()
    label_count = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "occupation vectors"
        constraints = [
            models.UniqueConstraint(fields=["encoder_version", "uri"], name="occupationvectors_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.uri} ({self.encoder_version_id})"
