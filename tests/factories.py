"""Rows made through the real services, so every write takes the path production takes."""

import itertools

from matching.models import Candidate, Kind, Vacancy
from matching.services import create_record, encode_records
from tenants.models import Tenant
from tenants.scoping import tenant_scope

_ids = itertools.count(1)


def make_record(tenant: Tenant, kind: Kind, title: str, *, encode: bool = True, **fields: object):
    """A vacancy/candidate of `tenant`; with encode=True its vector is stored now (the worker's service, in-process)."""
    data = {"external_id": fields.pop("external_id", f"X-{next(_ids)}"), "title": title, **fields}
    with tenant_scope(tenant.id):
        record = create_record(tenant=tenant, kind=kind, data=data)
        if encode:
            encode_records(tenant=tenant, kind=kind, record_ids=[record.id])
    return record


def vacancy(tenant: Tenant, title: str, **fields: object) -> Vacancy:
    return make_record(tenant, Kind.VACANCIES, title, **fields)


def candidate(tenant: Tenant, title: str, **fields: object) -> Candidate:
    return make_record(tenant, Kind.CANDIDATES, title, **fields)
