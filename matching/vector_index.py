"""HNSW indexes: one partial index per encoder version and table, on a cast to that version's dimension.

The embedding column has no fixed dimension (versions differ), so the index is on an expression; a query uses it
only when it orders by the same cast and filters on the same encoder_version_id (see services/search.py).
"""

from django.db.backends.base.base import BaseDatabaseWrapper

EMBEDDING_TABLES = ("matching_vacancyembedding", "matching_candidateembedding")
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64  # pgvector's defaults; bench/search.py measures recall against exact search


def index_name(table: str, version_id: int) -> str:
    return f"{table.removeprefix('matching_')}_hnsw_v{version_id}"


def create_vector_indexes(connection: BaseDatabaseWrapper, *, version_id: int, dimension: int) -> None:
    with connection.cursor() as cursor:
        for table in EMBEDDING_TABLES:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {index_name(table, version_id)} ON {table} "
                f"USING hnsw ((vector::vector({int(dimension)})) vector_cosine_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                f"WHERE encoder_version_id = {int(version_id)}"
            )
