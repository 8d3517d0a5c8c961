from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("matching", "0004_job"), ("matching", "0005_opis_across_tenants")]
    operations = []
