"""The lexical channel (issue 20): a sparse character n-gram vector beside each dense one, filled for stored rows."""

import numpy as np
import pgvector.django.sparsevec
from django.db import migrations

BATCH = 2000


def fill_lexical(apps, schema_editor) -> None:
    # The app's own encoder over the shipped IDF: the same vectors encoding stores (ml/ and the data file only).
    from matching.ml.lexical import HASH_DIM, LexicalEncoder
    from matching.services.lexical import LEXICAL_IDF

    with np.load(LEXICAL_IDF) as arrays:
        encoder = LexicalEncoder.from_arrays(dict(arrays))
    for name in ("VacancyEmbedding", "CandidateEmbedding"):
        model = apps.get_model("matching", name)
        last = 0
        while True:
            rows = list(
                model.objects.filter(lexical__isnull=True, pk__gt=last)
                .order_by("pk")
                .values_list("pk", "record__title", "record__description")[:BATCH]
            )
            if not rows:
                break
            vectors = encoder.encode([r[1] for r in rows], [r[2] for r in rows])
            with schema_editor.connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {model._meta.db_table} SET lexical = %s::sparsevec WHERE id = %s",
                    [(_text(v, HASH_DIM), r[0]) for r, v in zip(rows, vectors, strict=True)],
                )
            last = rows[-1][0]


BASE_LEXICAL_WEIGHT = 0.4  # services/lexical.DEFAULT_LEXICAL_WEIGHT when this was written (bench/lexical_weight.py)


def store_base_weight(apps, schema_editor) -> None:
    """The base encoder's lexical weight in its config, and its shipped global fit refitted on the fused score."""
    import json

    from matching.ml.encoder import BASE_ENCODER_NAME
    from matching.reference_data import GLOBAL_CALIBRATION_DIR

    EncoderVersion = apps.get_model("matching", "EncoderVersion")
    GlobalCalibration = apps.get_model("matching", "GlobalCalibration")
    version = EncoderVersion.objects.filter(name=BASE_ENCODER_NAME).first()
    if version is None:
        return
    if "lexical_weight" not in version.config:
        version.config = version.config | {"lexical_weight": BASE_LEXICAL_WEIGHT}
        version.save(update_fields=["config"])
    shipped = json.loads((GLOBAL_CALIBRATION_DIR / f"{BASE_ENCODER_NAME}.json").read_text())
    stored = GlobalCalibration.objects.filter(encoder_version=version).first()
    if stored is None or stored.config.get("score") == shipped["config"].get("score"):
        return  # none stored yet (the shipped one is loaded when needed), or already the fused fit
    if not str(stored.config.get("source", "")).startswith("shipped"):
        return  # fitted on this install (calibrate --global): refit it there to move it to the fused score
    for name in ("n_labels", "n_good", "threshold", "precision", "recall", "f1", "false_accept_rate", "curve",
                 "opis_groups", "by_shape"):  # fmt: skip
        setattr(stored, name, shipped[name] if name != "by_shape" else shipped.get("by_shape", {}))
    stored.config = shipped["config"] | {"source": stored.config["source"]}
    stored.save()


def _text(row, dim: int) -> str:
    pairs = ",".join(f"{int(i) + 1}:{float(v):.7g}" for i, v in zip(row.indices, row.values, strict=True))
    return f"{{{pairs}}}/{dim}"


class Migration(migrations.Migration):
    dependencies = [("matching", "0013_occupations"), ("matching", "0003_base_encoder")]

    operations = [
        migrations.AddField(
            model_name="candidateembedding",
            name="lexical",
            field=pgvector.django.sparsevec.SparseVectorField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="vacancyembedding",
            name="lexical",
            field=pgvector.django.sparsevec.SparseVectorField(blank=True, null=True),
        ),
        migrations.RunPython(fill_lexical, migrations.RunPython.noop),
        migrations.RunPython(store_base_weight, migrations.RunPython.noop),
    ]
