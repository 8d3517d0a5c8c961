import os

from django.core.wsgi import get_wsgi_application

from jobmatch_site.middleware import Utf8OnlyWsgi

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
application = Utf8OnlyWsgi(get_wsgi_application())
