"""`evaluate`: an encoder (or the lexical baseline) scored on labelled queries against a corpus of ids."""

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MatchingError
from ..ml.confidence import top_pools
from ..ml.encoder import BASE_ENCODER_NAME, BASE_MODEL
from ..ml.evaluation import Corpus, build_corpus, evaluate_scores, id_scores
from ..models import EncoderVersion
from ..reference_data import esco_titles
from .confidence import served_calibrator
from .encoding import encoder_for, served_encoder
from .normalization import encoder_version_named, prepare_for_command
from .occupations import occupation_index, occupation_scores, reference, weights_for

BASE, LEXICAL = "base", "lexical"


@dataclass(frozen=True)
class EvalSet:
    queries: list[str]
    targets: np.ndarray  # index into corpus.ids
    corpus: Corpus
    skipped: int  # queries whose target id is not in the corpus


def _read_csv(path: Path, columns: tuple[str, ...], field: str) -> list[dict[str, str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise MatchingError(f"cannot read {path}: {exc.strerror}", field=field) from None
    except UnicodeDecodeError:
        raise MatchingError(f"{path} is not UTF-8", field=field) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if missing := [c for c in columns if c not in (reader.fieldnames or [])]:
        raise MatchingError(f"{path} has no {missing[0]!r} column (needs {', '.join(columns)})", field=field)
    try:
        return [row for row in reader if all((row.get(c) or "").strip() for c in columns)]
    except csv.Error as exc:
        raise MatchingError(f"{path}: malformed CSV at line {reader.line_num}: {exc}", field=field) from None


def load_eval_set(*, queries: Path, corpus: Path) -> EvalSet:
    corpus_rows = [(row["id"].strip(), row["text"].strip()) for row in _read_csv(corpus, ("id", "text"), "corpus")]
    if not corpus_rows:
        raise MatchingError(f"{corpus} has no rows", field="corpus")
    built = build_corpus(corpus_rows)
    index = {value: i for i, value in enumerate(built.ids)}
    rows = _read_csv(queries, ("query", "target_id"), "queries")
    kept = [row for row in rows if row["target_id"].strip() in index]
    if not kept:
        raise MatchingError(f"no query in {queries} has a target_id found in {corpus}", field="queries")
    return EvalSet(
        queries=[row["query"].strip() for row in kept],
        targets=np.array([index[row["target_id"].strip()] for row in kept]),
        corpus=built,
        skipped=len(rows) - len(kept),
    )


def _lexical_scores(eval_set: EvalSet) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True, sublinear_tf=True)
    rows = vectorizer.fit_transform(eval_set.corpus.texts)
    starts = np.r_[0, np.flatnonzero(np.diff(eval_set.corpus.row_id)) + 1]
    out = np.empty((len(eval_set.queries), len(eval_set.corpus.ids)), dtype=np.float32)
    for begin in range(0, len(eval_set.queries), 512):
        sims = (vectorizer.transform(eval_set.queries[begin : begin + 512]) @ rows.T).toarray()
        out[begin : begin + 512] = np.maximum.reduceat(sims, starts, axis=1)
    return out


def resolve_encoder(name: str | None) -> tuple[str, str | None]:
    """(display name, artifact) for --encoder: base, lexical (no artifact), a version name; default the newest."""
    if name == LEXICAL:
        return LEXICAL, None
    if name == BASE:
        return BASE, BASE_MODEL
    versions = EncoderVersion.objects.order_by("-created_at", "-id")
    version = versions.filter(name=name).first() if name else versions.first()
    if version is None:
        raise MatchingError(f"unknown encoder {name!r} (use base, lexical or a registered version)", field="encoder")
    return version.name, version.artifact_path


def evaluate(*, queries: Path, corpus: Path, encoder: str | None = None, batch_size: int = 256) -> dict:
    """The metrics `evaluate` prints and writes; see matching/ml/metrics.py for ties, OPIS and AUROC."""
    started = time.monotonic()
    eval_set = load_eval_set(queries=queries, corpus=corpus)
    name, artifact = resolve_encoder(encoder)
    confidence, backend = None, None
    if artifact is None:
        scores = _lexical_scores(eval_set)
    else:
        model = served_encoder(artifact)  # what searches use, so the figures hold for the product
        backend = model.backend
        query_vectors, _ = model.encode(eval_set.queries, batch_size=batch_size)
        row_vectors, _ = model.encode(eval_set.corpus.texts, batch_size=batch_size)
        scores = id_scores(query_vectors, row_vectors, eval_set.corpus)
        calibrator = served_calibrator(name=BASE_ENCODER_NAME if name == BASE else name, artifact=artifact)
        if calibrator is not None:  # the top hit's confidence, as search reports it (among ids)
            confidence = calibrator.predict(top_pools(scores, pool=calibrator.pool)[0])[:, 0]
    result = evaluate_scores(scores, eval_set.targets, eval_set.queries, eval_set.corpus, hit_confidence=confidence)
    return result | {
        "encoder": name,
        "backend": backend,
        "seconds": round(time.monotonic() - started, 1),
        "skipped_queries": eval_set.skipped,
        "corpus_ids": len(eval_set.corpus.ids),
    }


def evaluate_normalizer(
    *, queries: Path, corpus: Path, encoder: str | None = None, batch_size: int = 256, progress: object = None
) -> dict:
    """`evaluate --normalizer`: the occupation normaliser as the product serves it (services/occupations.py, the
    version's stored ESCO vectors, prepared here first if missing) on the same sets and keys as evaluate(); C.csv's
    ids are the occupations it ranks (its texts are not used: the normaliser has its own labels and descriptions)."""
    started = time.monotonic()
    eval_set = load_eval_set(queries=queries, corpus=corpus)
    version = encoder_version_named(encoder)
    prepare_for_command(version=version, progress=progress)
    index = occupation_index(version)
    position = {o.uri: i for i, o in enumerate(reference()[0])}
    if unknown := [uri for uri in eval_set.corpus.ids if uri not in position]:
        raise MatchingError(
            f"{corpus}: id {unknown[0]!r} is not an ESCO occupation the normaliser knows", field="corpus"
        )
    model = encoder_for(version)
    query_vectors, _ = model.encode(eval_set.queries, batch_size=batch_size)
    columns = np.array([position[uri] for uri in eval_set.corpus.ids])
    scores = np.empty((len(eval_set.queries), len(columns)), dtype=np.float32)
    for begin in range(0, len(eval_set.queries), 1024):
        part = slice(begin, begin + 1024)
        chunk = occupation_scores(
            version=version, index=index, vectors=query_vectors[part], texts=eval_set.queries[part]
        )
        scores[part] = chunk[:, columns]
    result = evaluate_scores(scores, eval_set.targets, eval_set.queries, eval_set.corpus)
    return result | {
        "encoder": encoder or version.name,
        "backend": model.backend,
        "normalizer": True,
        "weights": weights_for(version).__dict__,
        "seconds": round(time.monotonic() - started, 1),
        "skipped_queries": eval_set.skipped,
        "corpus_ids": len(eval_set.corpus.ids),
    }


def write_eval_sets(*, out: Path, esco: Path, jobbert: Path, preferred_only: bool = False) -> int:
    """C.csv (ESCO ids with preferred + alternative labels as rows) and Q.csv (JobBERT titles -> ESCO URI) under
    `out`; returns the number of corpus ids. Hidden labels are search aids, not names: left out."""
    for path in (esco, jobbert):
        if not path.is_file():
            raise MatchingError(f"no such file: {path}", field="file")
    titles, _ = esco_titles(esco, hidden=False)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "C.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for uri, labels in titles.items():
            writer.writerows([uri, label] for label in (labels[:1] if preferred_only else labels))
    with jobbert.open(newline="", encoding="utf-8") as source, (out / "Q.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query", "target_id"])
        writer.writerows([row["vacancyTitle"], row["conceptUri"]] for row in csv.DictReader(source))
    return len(titles)
