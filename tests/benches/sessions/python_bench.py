"""sessionbox_django.file beside Django's file backend, in one Python process.

Reads one JSON job from stdin: {"n", "rounds", "data", "update"} (session
data as JSON objects) and prints one JSON object: per workload, the median
over interleaved rounds (each on fresh directories) of µs per operation for
each engine, and for sessionbox where the time goes, from a separate pass
that times each component call (`counted`, its total): inside wasmtime's
component call (`wasmtime_component_func_call`: the guest and the WASI host
functions it calls) and outside it (wasmtime-py lowering the arguments and
lifting the result, and the engine's own Python). Both engines run at
durability `none`: Django's file backend never fsyncs.
"""

import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import django
from django.conf import settings

job = json.load(sys.stdin)
settings.configure(
    SECRET_KEY="benchmark-secret-key-benchmark-secret-key-0123456789",
    SESSION_FILE_PATH=tempfile.gettempdir(),
    SESSIONBOX_DURABILITY="none",
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.sessions"],
)
django.setup()

import wasmtime._ffi as ffi  # noqa: E402
from django.contrib.sessions.backends.file import SessionStore as DjangoStore  # noqa: E402

from sessionbox_django import _component  # noqa: E402
from sessionbox_django.file import SessionStore as SessionboxStore, component_settings  # noqa: E402

n, rounds, data, update = job["n"], job["rounds"], job["data"], job["update"]
ENGINES = {"django": DjangoStore, "sessionbox": SessionboxStore}

# Time inside wasmtime's component call, summed (only while `counting`).
_call = ffi.wasmtime_component_func_call
in_call = [0.0, 0]
counting = [False]


def counted_call(*args):
    if not counting[0]:
        return _call(*args)
    start = time.perf_counter()
    try:
        return _call(*args)
    finally:
        in_call[0] += time.perf_counter() - start
        in_call[1] += 1


ffi.wasmtime_component_func_call = counted_call


def use_dir(store, directory):
    store._storage_path = directory


def create(store):
    s = store()
    s.update(data)
    s.save()
    return s.session_key


def load(store, key):
    s = store(key)
    s.load()


def save(store, key):
    s = store(key)
    s._session_cache = dict(update)
    s.save()


def delete(store, key):
    store(key).delete()


def run(store, workload, count=False):
    """µs per op of `workload` with `store` on a fresh directory; with
    `count`, the time inside the component calls of the timed ops is summed
    into `in_call`."""
    directory = tempfile.mkdtemp(prefix="pybench-")
    try:
        use_dir(store, directory)
        keys = [create(store) for _ in range(n)] if workload != "create" else [None] * n
        op = {"create": lambda _k: create(store), "load": lambda k: load(store, k), "update-save": lambda k: save(store, k), "delete": lambda k: delete(store, k)}[workload]
        counting[0] = count
        start = time.perf_counter()
        for k in keys:
            op(k)
        elapsed = time.perf_counter() - start
        counting[0] = False
        return elapsed / n * 1e6
    finally:
        shutil.rmtree(directory)


def bare_calls(directory):
    """The component call without the session work: decode-cookie of an
    empty value (touches no storage, does nothing), and of a real cookie
    (the signature check and decoding a load does, without the filesystem);
    µs per call in total and inside the wasmtime call."""
    instance = _component.file_instance(directory)
    record = component_settings("django.contrib.sessions.SessionStore")
    cookie = instance.call("encode-cookie", record, json.dumps(data, separators=(",", ":")))
    out = {}
    for name, value in (("bare call", ""), ("decode-cookie ~200 B", cookie)):
        m = n * 2
        in_call[0], in_call[1] = 0.0, 0
        counting[0] = True
        start = time.perf_counter()
        for _ in range(m):
            instance.call("decode-cookie", record, value)
        total = (time.perf_counter() - start) / m * 1e6
        counting[0] = False
        out[name] = {"total": total, "in_call": in_call[0] / m * 1e6}
    return out


# Warm-up: compiles the component (once per process) and fills the caches.
for store in ENGINES.values():
    for workload in ("create", "load"):
        run(store, workload)

results = {}
for workload in ("create", "load", "update-save", "delete"):
    per = {"django": [], "sessionbox": [], "counted": [], "in_call": [], "calls": []}
    for r in range(rounds):
        for name in (("django", "sessionbox") if r % 2 == 0 else ("sessionbox", "django")):
            per[name].append(run(ENGINES[name], workload))
        # The same workload again, counting the time inside the calls.
        in_call[0], in_call[1] = 0.0, 0
        per["counted"].append(run(SessionboxStore, workload, count=True))
        per["in_call"].append(in_call[0] / n * 1e6)
        per["calls"].append(in_call[1] / n)
    results[workload] = {k: statistics.median(v) for k, v in per.items()}

scratch = tempfile.mkdtemp(prefix="pybench-")
try:
    bare = bare_calls(scratch)
finally:
    shutil.rmtree(scratch)

import wasmtime  # noqa: E402
from importlib.metadata import version  # noqa: E402

print(json.dumps({
    "rows": results,
    "bare": bare,
    "python": sys.version.split()[0],
    "django": django.get_version(),
    "wasmtime_py": version("wasmtime"),
    "cpus": os.cpu_count(),
}))
