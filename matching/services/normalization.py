"""Occupation normalisation as a product capability (issue 20): a text's or a record's top ESCO occupations.
A request never computes the ESCO vectors: before a worker has prepared them it is refused with 503 "being
prepared", and a worker is asked to prepare them (services/occupations.py)."""

from dataclasses import dataclass

import numpy as np

from tenants.models import Tenant
from tenants.scoping import tenant_scope

from ..errors import MatchingError
from ..ml.occupations import OccupationIndex
from ..models import EncoderVersion, Kind, Record
from .encoding import active_encoder_version, encoder_for, queue_encoding, text_hash
from .occupations import (
    MAX_K,
    OccupationHit,
    occupation_index,
    prepare_occupation_vectors,
    rank_occupations,
    request_occupation_vectors,
)
from .records import MAX_DESCRIPTION_CHARS
from .versions import ensure_base_encoder, ensure_default_encoder


@dataclass(frozen=True)
class Normalized:
    encoder: str
    results: list[OccupationHit]


def _ready_index(version: EncoderVersion) -> OccupationIndex:
    index = occupation_index(version)
    if index is None:
        request_occupation_vectors(version)
        raise MatchingError(
            f"the ESCO occupations of encoder {version.name} are being prepared; try again in a minute", status=503
        )
    return index


def _check_k(k: object) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise MatchingError(f"k must be between 1 and {MAX_K}", field="k")
    return k


def normalize_text(*, version: EncoderVersion, text: str, k: int = 5) -> Normalized:
    """A text's top k ESCO occupations under an encoder version (a job title works best)."""
    k = _check_k(k)
    if not isinstance(text, str) or "\x00" in text:
        raise MatchingError("text must be a string without NUL characters", field="text")
    text = text.strip()
    if not text or len(text) > MAX_DESCRIPTION_CHARS:
        raise MatchingError(f"text must be 1 to {MAX_DESCRIPTION_CHARS} characters", field="text")
    index = _ready_index(version)
    vectors, _ = encoder_for(version).encode([text])
    hits = rank_occupations(version=version, index=index, vectors=vectors, texts=[text], k=k)[0]
    return Normalized(version.name, hits)


def normalize_record(*, tenant: Tenant, record: Record, k: int = 5) -> Normalized:
    """A vacancy's or candidate's top k occupations: its stored vector (title + description), its title lexically."""
    k = _check_k(k)
    if record.tenant_id != tenant.id:
        raise MatchingError("not found", status=404)  # same answer as an id that never existed
    version = active_encoder_version(tenant=tenant)
    index = _ready_index(version)
    kind = Kind.VACANCIES if record._meta.model is Kind.VACANCIES.record_model else Kind.CANDIDATES
    stored = (
        kind.embedding_model.objects.filter(
            tenant=tenant, encoder_version=version, record=record, text_hash=text_hash(record.text_for_encoding)
        )
        .values_list("vector", flat=True)
        .first()
    )
    if stored is not None:
        vector = np.asarray(stored, dtype=np.float32)[None, :]
    else:  # not encoded yet: a request never waits on the worker
        vector, _ = encoder_for(version).encode([record.text_for_encoding])
    hits = rank_occupations(version=version, index=index, vectors=vector, texts=[record.title], k=k)[0]
    return Normalized(version.name, hits)


def occupations(*, tenant: Tenant, kind: Kind, record: Record) -> list[OccupationHit]:
    """A record's stored top occupations under the tenant's encoder ([] until they are computed): what pages, lists,
    the API and search explanations show."""
    version = active_encoder_version(tenant=tenant)
    stored = (
        kind.embedding_model.objects.filter(tenant=tenant, encoder_version=version, record=record)
        .values_list("occupations", flat=True)
        .first()
    )
    return [OccupationHit(**hit) for hit in stored or []]


def fill_record_occupations(*, version: EncoderVersion) -> int:
    """Queue every row encoded with `version` before its occupation vectors existed (a tenant serving it, or one
    re-indexing into it): the encode task sees its text unchanged and only fills its occupations. Returns how many
    rows were queued."""
    queued = 0
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant.id):
            for kind in Kind:
                ids = list(
                    kind.embedding_model.objects.filter(
                        tenant=tenant, encoder_version=version, occupations__isnull=True
                    )
                    .order_by("record_id")
                    .values_list("record_id", flat=True)
                )
                queue_encoding(tenant_id=tenant.id, kind=kind, record_ids=ids, version_id=version.id)
                queued += len(ids)
    return queued


def encoder_version_named(name: str | None) -> EncoderVersion:
    """--encoder of the normaliser's commands: base, a registered version's name, or (None) the default encoder."""
    if name is None:
        return ensure_default_encoder()
    if name == "base":
        return ensure_base_encoder()
    if (version := EncoderVersion.objects.filter(name=name).first()) is None:
        raise MatchingError(f"unknown encoder {name!r} (use base or a registered version)", field="encoder")
    return version


def prepare_for_command(*, version: EncoderVersion, progress: object) -> None:
    """A command (not a request) may prepare the version's occupation vectors itself, with a progress bar."""
    if occupation_index(version) is None:
        prepare_occupation_vectors(version=version, encoder=encoder_for(version), progress=progress)


def stored_occupations(*, record: Record) -> list[dict] | None:
    """The record's stored top occupations under its tenant's active encoder, as stored; None until computed."""
    kind = Kind.VACANCIES if record._meta.model is Kind.VACANCIES.record_model else Kind.CANDIDATES
    return (
        kind.embedding_model.objects.filter(
            tenant_id=record.tenant_id, encoder_version_id=record.tenant.active_encoder_id, record=record
        )
        .values_list("occupations", flat=True)
        .first()
    )
