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

# CKAN renders pages in Python, so its throughput follows the number of
# processes (one GIL each); threads overlap the waits on PostgreSQL, the
# search service and Redis. Workers = cores + 1 keeps both cores busy while
# one worker waits; 4 threads each cover the waits (bench-load figures in
# docs/operations.md).
workers = int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 2) + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
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
