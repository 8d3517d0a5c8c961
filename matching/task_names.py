"""The names matching/ queues its worker tasks by (jobmatch_site.queue); matching/tasks.py registers each under
its name here, so a service never imports the task module."""

ENCODE_RECORDS = "matching.tasks.encode_records_task"
REINDEX_STEP = "matching.tasks.reindex_step_task"
CALIBRATE_GLOBAL = "matching.tasks.calibrate_global_task"
FIT_CONFIDENCE = "matching.tasks.fit_confidence_task"
CALIBRATE_TENANT = "matching.tasks.calibrate_tenant_task"
IMPORT_CSV = "matching.tasks.import_csv_task"
PREPARE_TALENT_MAP = "matching.tasks.prepare_talent_map_task"
PREPARE_ENCODER = "matching.tasks.prepare_encoder_task"
PREPARE_OCCUPATIONS = "matching.tasks.prepare_occupations_task"
