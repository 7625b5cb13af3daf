"""gunicorn settings for CKAN on a small machine (2 cores), measured with
``make bench-load`` (docs/operations.md, "Production serving"):

    CKAN_INI=/etc/ckan/default/ckan.ini gunicorn -c python:ckanext.gelsenkirchen.gunicorn_conf \\
        --bind 127.0.0.1:5000 ckanext.gelsenkirchen.wsgi:application

Every setting can be overridden on the command line (``--workers 4``) or
with ``GUNICORN_CMD_ARGS``; ``GUNICORN_WORKERS`` and ``GUNICORN_THREADS``
set the two counts.
"""
from __future__ import annotations

import os

# CKAN renders pages in Python: on 2 cores its throughput is bound by CPU,
# and make bench-load measured the same 19.5-21 requests/s for 2x4, 3x2,
# 3x4 and 5x1 workers x threads. One request per process at a time never
# contends for a process's GIL, so long pages (catalog.ttl) do not slow
# short ones: p95 4.2 s against 5.0-6.0 s at 50 clients. Hence gunicorn's
# 2 x cores + 1 workers with one thread each (~170 MB per worker); nginx in
# front buffers slow clients, so a worker is not held by a download.
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * (os.cpu_count() or 2) + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
worker_class = "gthread"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:5000")
# a request running longer is answered 500 by CKAN's own timeouts first;
# a worker silent for this long is restarted
timeout = 60
graceful_timeout = 30
keepalive = 5
# recycle workers now and then: bounds the memory of long-running processes
max_requests = 2000
max_requests_jitter = 200
# behind nginx on the same machine: trust its X-Forwarded-* headers
forwarded_allow_ips = "127.0.0.1,::1"
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
proc_name = "ckan"
# gunicorn >= 25.1 opens a control socket at one path per user; several
# gunicorns (CKAN, pgsolr) on one machine would take it from each other
control_socket_disable = True
