import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# What is loaded by now (Django, the apps, pandas and pyarrow: ~125,000 objects) lives as
# long as the process. Frozen, it is left out of the garbage collector's full sweeps, which
# otherwise scan it all (~80 ms) every few requests that allocate many objects (a diff of
# two history versions reads ~18,000 spans). The benchmarks' children do the same
# (benchmarks/_common.py), to time what this process does.
gc.freeze()
