from django.db import migrations

from matching.ml.encoder import BASE_DIMENSION, BASE_ENCODER_NAME, BASE_MODEL
from matching.index_sql import create_vector_indexes


def register_base_encoder(apps, schema_editor):
    EncoderVersion = apps.get_model("matching", "EncoderVersion")
    version, _ = EncoderVersion.objects.get_or_create(
        name=BASE_ENCODER_NAME,
        defaults={"dimension": BASE_DIMENSION, "artifact_path": BASE_MODEL, "config": {"base": "all-MiniLM-L6-v2"}},
    )
    create_vector_indexes(schema_editor.connection, version_id=version.id, dimension=version.dimension)


class Migration(migrations.Migration):
    dependencies = [("matching", "0002_initial")]
    operations = [migrations.RunPython(register_base_encoder, migrations.RunPython.noop)]
