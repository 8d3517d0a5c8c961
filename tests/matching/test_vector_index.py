"""Encoder versions registered at run time get their HNSW indexes, though the app role owns no table."""

import pytest
from django.db import DatabaseError, connection, transaction

from matching.models import EncoderVersion
from matching.vector_index import create_vector_indexes, index_name

pytestmark = pytest.mark.django_db


def _indexes_of(version_id: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s ORDER BY 1", [f"%_hnsw_v{version_id}"])
        return [name for (name,) in cursor.fetchall()]


def test_the_app_role_creates_a_new_versions_hnsw_indexes_through_the_owners_function():
    version = EncoderVersion.objects.create(name="tuned-1", dimension=256, artifact_path="/nowhere")
    create_vector_indexes(connection, version_id=version.id, dimension=256)
    assert _indexes_of(version.id) == sorted(
        index_name(table, version.id) for table in ("matching_candidateembedding", "matching_vacancyembedding")
    )


def test_the_app_role_cannot_create_other_indexes_itself():
    with pytest.raises(DatabaseError, match="must be owner"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE INDEX planted ON matching_vacancy (title)")


def test_the_index_function_refuses_a_dimension_hnsw_cannot_index():
    with pytest.raises(DatabaseError, match="outside"), transaction.atomic():
        create_vector_indexes(connection, version_id=99, dimension=5000)
