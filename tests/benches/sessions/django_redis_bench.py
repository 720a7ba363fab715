"""Django's cache session backend on Redis under the Redis workload.

Reads one JSON job from stdin: {"url", "n", "data", "update"}; creates n
sessions, loads each once, saves each once with `update` (as the Rust side
does for every store) and prints {"load", "save", "create"} in µs per op.
Timing is done here (time.perf_counter_ns), so interpreter start-up, the
Django import and the first connection are not counted.
"""

import json
import sys
import time

import django
from django.conf import settings

job = json.load(sys.stdin)
settings.configure(
    SECRET_KEY="benchmark-secret-key-benchmark-secret-key-0123456789",
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": job["url"]}},
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.sessions"],
)
django.setup()
from django.contrib.sessions.backends.cache import SessionStore  # noqa: E402

data, update, n = job["data"], job["update"], job["n"]


def create(_):
    s = SessionStore()
    s.update(data)
    s.save()  # no key yet: create(), i.e. a fresh key checked with EXISTS, then SET NX
    return s.session_key


def load(key):
    return SessionStore(key).load()


def save(key):
    s = SessionStore(key)
    s._session_cache = dict(update)
    s.save()  # GET (is it still there?), then SET


def timed(op, args):
    out = []
    start = time.perf_counter_ns()
    for a in args:
        out.append(op(a))
    return (time.perf_counter_ns() - start) / 1e3 / max(len(args), 1), out


# Warm up: the connection pool and the code paths.
for k in [create(None) for _ in range(20)]:
    assert load(k) == data
    save(k)

create_us, keys = timed(create, range(n))
load_us, loaded = timed(load, keys)
assert all(d == data for d in loaded)
save_us, _ = timed(save, keys)
assert load(keys[0]) == update
print(json.dumps({"load": load_us, "save": save_us, "create": create_us}))
