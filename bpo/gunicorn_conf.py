"""Gunicorn settings for `make demo` and the benchmarks: the production server of OpenBPO."""

import multiprocessing
import os

bind = os.environ.get("OPENBPO_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("OPENBPO_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("OPENBPO_THREADS", 4))
timeout = 60
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("OPENBPO_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
forwarded_allow_ips = os.environ.get("OPENBPO_FORWARDED_ALLOW_IPS", "127.0.0.1")
