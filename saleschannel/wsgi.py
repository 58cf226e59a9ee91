import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleschannel.settings")
application = get_wsgi_application()

# Everything loaded at start-up (modules, URL patterns, templates, translations) lives as long as the process: moved
# out of the collector's sight, a full collection during a request takes 20-30 ms instead of 100-120 ms
# (bench/api_list.py, docs/performance.md).
gc.collect()
gc.freeze()
