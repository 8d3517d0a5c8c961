"""Fused record search (issue 20) on a 100k-row table: latency exact vs fused, recall@10 of the HNSW path's
re-scored dense pool against the exact fused ranking, and the lexical channel as sparsevec vs PostgreSQL full text.

Data (demo-like, one tenant, as a large tenant is searched through the graph): every ESCO label (preferred and
alternative) of an occupation with at least 2 description sentences is a record title, repeated until --rows,
copy j with description sentence j of its occupation. Dense vectors: the label's real base-encoder vector plus a
little Gaussian noise per copy (encoding 100k texts would take many CPU-minutes here); lexical vectors: the
product's (ml/lexical.py) over title + sentence. Every record has a bucket 0..9; filter bucket < 1 keeps 10%.
Queries: --queries labels with one typo per word of 4+ letters (bench/lexical_weight.py's typo) and as many
JobBERT validation titles as typed, each encoded for real; its right rows are its occupation's.
Ground truth for recall: the exact fused ranking (ORDER BY the fused expression, no index). The HNSW path is the
product's (services/nearest.py): iterative relaxed-order scan by the dense distance, the pool re-scored by the fused
score in Python. Full text: to_tsvector('english', title || ' ' || description) with a GIN index, the query's
words OR-ed, ranked by ts_rank_cd; sparsevec: ORDER BY lexical <#> q (exact; no sparse index).

Runs in bench/search.py's database `bench_search` on var/bench/'s embedded PostgreSQL; the table and its HNSW
index are kept for later runs of the same --rows.
Usage: .venv/bin/python bench/fused_search.py [--rows 100000] [--queries 40]; prints, writes results/fused_search.json.
"""

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import BENCH_VAR, RESULTS, ROOT  # noqa: E402

os.environ.setdefault("JOBMATCH_VAR_DIR", str(BENCH_VAR))  # before lexical_weight sets Django up: never the app's
from lexical_weight import typo  # noqa: E402
from search import connect  # noqa: E402

DIM, K, EF_SEARCH = 384, 10, 400  # SEARCH_HNSW_EF_SEARCH's default
POOLS = (10, 40, 100, 200, 400)  # the product's pool for k = 10: max(4 x 10, 100) = 100


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40, help="misspelt labels, and as many JobBERT titles")
    parser.add_argument("--json", type=Path, default=RESULTS / "fused_search.json")
    parser.add_argument("--sparse-index", action="store_true", help="also build a sparse HNSW over lexical")
    parser.add_argument("--only-sparse", action="store_true", help="measure only the dense + sparse pools")
    args = parser.parse_args()
    conn = connect("1GB", "1GB")
    from django.conf import settings

    from matching.ml.encoder import BASE_MODEL, load_encoder
    from matching.ml.lexical import HASH_DIM
    from matching.reference_data import JOBBERT_VALIDATION_CSV, esco_occupations, validation_titles
    from matching.services.global_calibration import _sentences
    from matching.services.lexical import DEFAULT_LEXICAL_WEIGHT, record_lexical, sparsevec_text, text_lexical

    w = DEFAULT_LEXICAL_WEIGHT
    rng = np.random.default_rng(0)
    occupations = [o for o in esco_occupations() if len(_sentences(o.description)) >= 2]
    labels = [(label, i) for i, o in enumerate(occupations) for label in [o.label, *o.alt_labels]]
    encoder = load_encoder(BASE_MODEL, backend=settings.ENCODER_BACKEND, cache_dir=settings.ENCODER_CACHE_DIR)
    cache = ROOT / "var" / "experiments" / "cache" / "fused_search_labels.npy"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, encoder.encode([label for label, _ in labels], batch_size=256)[0])
    label_vectors = np.load(cache)
    table = f"fused_{args.rows}"
    facts = {"rows": args.rows, "labels": len(labels), "lexical_weight": w}
    owner = np.array([labels[j % len(labels)][1] for j in range(args.rows)])
    if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]:
        started = time.perf_counter()
        conn.execute(
            f"CREATE TABLE {table} (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, encoder_version_id bigint "
            "NOT NULL, bucket int NOT NULL, title text, description text, vector vector NOT NULL, lexical sparsevec)"
        )
        with conn.cursor().copy(
            f"COPY {table} (id, tenant_id, encoder_version_id, bucket, title, description, vector, lexical) FROM STDIN"
        ) as copy:
            for start in range(0, args.rows, 5000):
                ids = range(start, min(start + 5000, args.rows))
                titles = [labels[j % len(labels)][0] for j in ids]
                sentences = [_sentences(occupations[owner[j]].description)[(j // len(labels)) % 2] for j in ids]
                vectors = label_vectors[[j % len(labels) for j in ids]]
                vectors = vectors + rng.normal(0, 0.15 / np.sqrt(DIM), vectors.shape).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                lexical = record_lexical(titles, sentences)
                for j, title, sentence, vector, lex in zip(ids, titles, sentences, vectors, lexical, strict=True):
                    vector_text = "[" + ",".join(f"{x:.6f}" for x in vector) + "]"
                    copy.write_row((j + 1, 1, 1, j % 10, title, sentence, vector_text, sparsevec_text(lex)))
        facts["copy_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        conn.execute(
            f"CREATE INDEX {table}_hnsw ON {table} USING hnsw ((vector::vector({DIM})) vector_cosine_ops) "
            "WITH (m = 16, ef_construction = 64) WHERE encoder_version_id = 1"
        )
        facts["hnsw_build_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        conn.execute(f"ALTER TABLE {table} ADD COLUMN tsv tsvector")
        conn.execute(f"UPDATE {table} SET tsv = to_tsvector('english', title || ' ' || description)")
        conn.execute(f"CREATE INDEX {table}_tsv ON {table} USING gin (tsv)")
        facts["fulltext_build_s"] = round(time.perf_counter() - started, 1)
        conn.execute(f"CREATE INDEX ON {table} (tenant_id, bucket)")
        conn.execute(f"VACUUM ANALYZE {table}")
    facts["table_mb"] = round(conn.execute("SELECT pg_total_relation_size(%s)", [table]).fetchone()[0] / 2**20)
    facts["lexical_bytes_per_row"] = round(
        conn.execute(f"SELECT avg(pg_column_size(lexical)) FROM {table}").fetchone()[0]
    )

    if args.sparse_index:  # the follow-up's second candidate source (bench/README.md)
        started = time.perf_counter()
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_lex ON {table} USING hnsw ((lexical::sparsevec({HASH_DIM})) "
            "sparsevec_ip_ops) WITH (m = 16, ef_construction = 64) WHERE encoder_version_id = 1"
        )
        facts["sparse_hnsw_build_s"] = round(time.perf_counter() - started, 1)
    sparse_graph = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{table}_lex"]).fetchone()[0]

    picked = rng.choice(len(labels), size=args.queries, replace=False)
    esco_index = {o.uri: i for i, o in enumerate(occupations)}
    jobbert = [(t, esco_index[u]) for t, u in validation_titles(JOBBERT_VALIDATION_CSV) if u in esco_index]
    jobbert = [jobbert[i] for i in rng.choice(len(jobbert), size=args.queries, replace=False)]
    query_sets = {
        "misspelt": [(typo(labels[i][0], rng), labels[i][1]) for i in picked],
        "as typed": jobbert,
    }
    filters = {"none": 10, "10%": 1}  # bucket < value
    dense_sql = f"(e.vector::vector({DIM}) <=> %(q)s::vector({DIM}))"
    exact_dense_sql = "(e.vector <=> %(q)s::vector)"
    lexical_sql = "coalesce(-(e.lexical <#> %(l)s::sparsevec), 1 - {dense})"
    fused = f"1 - ((1 - {w}) * (1 - {{dense}}) + {w} * {lexical_sql})"
    where = f"FROM {table} e WHERE e.tenant_id = 1 AND e.encoder_version_id = 1 AND e.bucket < %(b)s"
    sqls = {
        "exact dense": f"SELECT id, {exact_dense_sql} AS d {where} ORDER BY d LIMIT {K}",
        "exact fused": f"SELECT id, {fused.format(dense=exact_dense_sql)} AS d {where} ORDER BY d LIMIT {K}",
        "hnsw dense": f"SELECT id, {dense_sql} AS d {where} ORDER BY d LIMIT %(n)s",
        "hnsw fused": f"SELECT id, {fused.format(dense=dense_sql)} AS f {where} ORDER BY {dense_sql} LIMIT %(n)s",
        "hnsw sparse": f"SELECT id, {fused.format(dense=dense_sql)} AS f {where} "
        f"ORDER BY e.lexical::sparsevec({HASH_DIM}) <#> %(l)s::sparsevec({HASH_DIM}) LIMIT %(n)s",
        "sparsevec only": f"SELECT id, e.lexical <#> %(l)s::sparsevec AS d {where} ORDER BY d LIMIT {K}",
        "full text only": f"SELECT id, ts_rank_cd(e.tsv, to_tsquery('english', %(t)s)) AS r {where} "
        f"AND e.tsv @@ to_tsquery('english', %(t)s) ORDER BY r DESC LIMIT {K}",
    }

    def run(name: str, params: dict, pool: int = K) -> tuple[list[int], float]:
        started = time.perf_counter()
        with conn.transaction():
            if name.startswith("hnsw"):
                conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                conn.execute(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}")
            rows = conn.execute(sqls[name], params | {"n": pool}).fetchall()
        if name != "full text only":  # ranked by distance: relaxed order, or the pool, re-sorted
            rows = sorted(rows, key=lambda r: r[1])[:K]
        ids = [r[0] for r in rows]
        return ids, (time.perf_counter() - started) * 1000

    report = {}
    for set_name, queries in query_sets.items():
        texts = [q for q, _ in queries]
        vectors = encoder.encode(texts)[0]
        for filter_name, bucket in filters.items():
            out = {name: {"ms": [], "right@10": []} for name in ("exact dense", "exact fused", "hnsw dense",
                   "sparsevec only", "full text only")}  # fmt: skip
            out |= {f"hnsw fused pool {p}": {"ms": [], "right@10": [], "recall@10": []} for p in POOLS}
            if sparse_graph:
                out |= {f"hnsw fused + sparse pool {p}": {"ms": [], "right@10": [], "recall@10": []} for p in (40, 100)}
            if args.only_sparse:
                out = {name: v for name, v in out.items() if "+ sparse" in name}
            for (text, target), vector in zip(queries, vectors, strict=True):
                words = [w_ for w_ in re.findall(r"[a-z]+", text.lower()) if len(w_) > 1]
                params = {"q": "[" + ",".join(f"{x:.6f}" for x in vector) + "]", "b": bucket,
                          "l": sparsevec_text(text_lexical(text)), "t": " | ".join(words) or "x"}  # fmt: skip
                truth, _ = run("exact fused", params)
                for name in out:
                    if name.startswith("hnsw fused + sparse"):  # both graphs' pools, re-ranked together
                        started = time.perf_counter()
                        pool = int(name.rsplit(" ", 1)[1])
                        merged = {}
                        for source in ("hnsw fused", "hnsw sparse"):
                            with conn.transaction():
                                conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                                conn.execute(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}")
                                merged |= dict(conn.execute(sqls[source], params | {"n": pool}).fetchall())
                        ids = sorted(merged, key=merged.get)[:K]
                        ms = (time.perf_counter() - started) * 1000
                        out[name]["recall@10"].append(len(set(ids) & set(truth)) / K)
                    elif name.startswith("hnsw fused"):
                        ids, ms = run("hnsw fused", params, pool=int(name.rsplit(" ", 1)[1]))
                        out[name]["recall@10"].append(len(set(ids) & set(truth)) / K)
                    else:
                        ids, ms = run(name, params)
                    out[name]["ms"].append(ms)
                    out[name]["right@10"].append(float(np.mean([owner[i - 1] == target for i in ids])) if ids else 0.0)
            report[f"{set_name}, filter {filter_name}"] = {
                name: {"p50_ms": percentile(v["ms"], 50), "p95_ms": percentile(v["ms"], 95),
                       "right_rows_in_top10": round(float(np.mean(v["right@10"])), 3)}
                | ({"recall@10_vs_exact_fused": round(float(np.mean(v["recall@10"])), 3)} if "recall@10" in v else {})
                for name, v in out.items()
            }  # fmt: skip
    result = {"facts": facts, "results": report, "ef_search": EF_SEARCH, "queries_per_set": args.queries}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(facts))
    for key, rows in report.items():
        print(f"\n{key}")
        for name, v in rows.items():
            print(f"  {name:24s} " + "  ".join(f"{k}={x}" for k, x in v.items()))


if __name__ == "__main__":
    main()
