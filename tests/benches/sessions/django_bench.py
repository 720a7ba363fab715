"""Django's file session backend under the benchmark's workloads.

Reads one JSON job from stdin: {"dir", "workload", "n", "data"} and prints
{"us_per_op": float}. Timing is done here, so interpreter start-up and the
Django import are not counted.
"""

import json
import sys
import time

import django
from django.conf import settings

job = json.load(sys.stdin)
settings.configure(
    SECRET_KEY="benchmark-secret-key-benchmark-secret-key-0123456789",
    SESSION_ENGINE="django.contrib.sessions.backends.file",
    SESSION_FILE_PATH=job["dir"],
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.sessions"],
)
django.setup()
from django.contrib.sessions.backends.file import SessionStore  # noqa: E402

data = job["data"]
n = job["n"]


def create():
    s = SessionStore()
    s.update(data)
    s.save()
    return s.session_key


def timed(op, args):
    start = time.perf_counter()
    for a in args:
        op(a)
    return (time.perf_counter() - start) / max(len(args), 1) * 1e6


def save(key):
    s = SessionStore(key)
    s._session_cache = dict(data)
    s.save()


def cycle(key):
    s = SessionStore(key)
    s._session_cache = dict(data)
    s.cycle_key()


workload = job["workload"]
if workload == "create":
    us = timed(lambda _: create(), range(n))
elif workload == "load":
    keys = [create() for _ in range(n)]
    us = timed(lambda k: SessionStore(k).load(), keys)
elif workload == "update-save":
    keys = [create() for _ in range(n)]
    us = timed(save, keys)
elif workload == "cycle-key":
    keys = [create() for _ in range(n)]
    us = timed(cycle, keys)
elif workload == "clear-expired":
    start = time.perf_counter()
    SessionStore.clear_expired()
    us = (time.perf_counter() - start) * 1e6
else:
    raise SystemExit(f"unknown workload {workload}")
print(json.dumps({"us_per_op": us}))
