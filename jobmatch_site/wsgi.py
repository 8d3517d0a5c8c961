import os

from django.core.wsgi import get_wsgi_application

from jobmatch_site.middleware import Utf8OnlyWsgi

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
application = Utf8OnlyWsgi(get_wsgi_application())

from matching.services.encoding import forbid_encoder_builds  # noqa: E402 (needs the app registry loaded)

forbid_encoder_builds()  # requests never build an ONNX export: `serve` and the workers do, before they are needed
