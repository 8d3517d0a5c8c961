"""HNSW indexes: one partial index per encoder version and table, on a cast to that version's dimension.

The embedding column has no fixed dimension (versions differ), so the index is on an expression; a query uses it
only when it orders by the same cast and filters on the same encoder_version_id (see services/nearest.py).

Only the tables' owner may create indexes, and the app role is not the owner (tenants/rls.py), so after each
migrate the owner installs INDEX_FUNCTION: a SECURITY DEFINER function that builds exactly these indexes from two
integers and nothing else, which the app role may execute when it registers an encoder version.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

EMBEDDING_TABLES = ("matching_vacancyembedding", "matching_candidateembedding")
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64  # pgvector's defaults; bench/search.py measures recall against exact search
# A large tenant's own graph is built with a wider candidate list: on clustered vectors at 1M rows, 64 left some
# filtered queries with recall@10 near 0; 128 took the 500k-row tenant to 0.995+ (bench/search.py, 228 vs 128 s).
TENANT_HNSW_EF_CONSTRUCTION = 128
MAX_DIMENSION = 2000  # pgvector's HNSW limit for vector
INDEX_FUNCTION = "jobmatch_create_vector_indexes"


def index_name(table: str, version_id: int) -> str:
    return f"{table.removeprefix('matching_')}_hnsw_v{version_id}"


_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw ((vector::vector({dimension})) vector_cosine_ops) "
    f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) WHERE encoder_version_id = {{version}}"
)


def index_sql(table: str, version_id: int, dimension: int, *, concurrently: bool = False) -> str:
    name = index_name(table, version_id)
    sql = _INDEX_SQL.format(name=name, table=table, dimension=int(dimension), version=int(version_id))
    return sql.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1) if concurrently else sql


def create_vector_indexes(connection: BaseDatabaseWrapper, *, version_id: int, dimension: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", [f"{INDEX_FUNCTION}(bigint, integer)"])
        if cursor.fetchone()[0]:
            cursor.execute(f"SELECT {INDEX_FUNCTION}(%s, %s)", [int(version_id), int(dimension)])
            return
        for table in EMBEDDING_TABLES:  # the first migrate, as the owner, before the function exists
            cursor.execute(index_sql(table, version_id, dimension))


def install_index_function(connection: BaseDatabaseWrapper, *, grantee: str | None) -> None:
    """(Re)create INDEX_FUNCTION as the connected owner; let `grantee` (the app role) execute it."""
    # The statement index_sql() builds, with its values as format() arguments inside PostgreSQL.
    template = _INDEX_SQL.format(name="%I", table="%I", dimension="%s", version="%s")
    body = f"""
        BEGIN
          IF dimension < 1 OR dimension > {MAX_DIMENSION} THEN
            RAISE EXCEPTION 'dimension % is outside 1..{MAX_DIMENSION}', dimension;
          END IF;
          FOREACH tbl IN ARRAY ARRAY[{", ".join(f"'{t}'" for t in EMBEDDING_TABLES)}] LOOP
            EXECUTE format('{template}', replace(tbl, 'matching_', '') || '_hnsw_v' || version_id, tbl, dimension,
                           version_id);
          END LOOP;
        END"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {INDEX_FUNCTION}(version_id bigint, dimension integer) RETURNS void "
            f"LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$ DECLARE tbl text; {body} $fn$"
        )
        cursor.execute(f"REVOKE ALL ON FUNCTION {INDEX_FUNCTION}(bigint, integer) FROM PUBLIC")
        if grantee:
            quoted = connection.ops.quote_name(grantee)
            cursor.execute(f"GRANT EXECUTE ON FUNCTION {INDEX_FUNCTION}(bigint, integer) TO {quoted}")


def tenant_index_name(table: str, version_id: int, tenant_id: int) -> str:
    return f"{index_name(table, version_id)}_t{int(tenant_id)}"


def tenant_index_sql(table: str, version_id: int, dimension: int, tenant_id: int) -> str:
    """A large tenant's own partial HNSW, built without blocking writes (CONCURRENTLY: outside any transaction,
    so not through INDEX_FUNCTION; the owner builds it). bench/search.py: at 1M rows a tenant holding half of them
    reaches recall@10 0.995+ through its own graph, 0.87-0.95 through the shared one under the same filters."""
    name = tenant_index_name(table, version_id, tenant_id)
    return (
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING hnsw "
        f"((vector::vector({int(dimension)})) vector_cosine_ops) WITH (m = {HNSW_M}, "
        f"ef_construction = {TENANT_HNSW_EF_CONSTRUCTION}) WHERE encoder_version_id = {int(version_id)} "
        f"AND tenant_id = {int(tenant_id)}"
    )
