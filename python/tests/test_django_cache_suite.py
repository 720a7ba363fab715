"""Django's own cache session tests, unmodified, pointed at the cache engine
(`sessionbox_django.cache`, the key-value component with its `kv` import
served by redis-py) on the Redis server of settings_redis.py.

EXCLUDED lists the Django tests that cannot pass because the engine
deliberately differs, each with the reason; tests/all/django_engine.rs
asserts that exactly these are skipped.
"""

import unittest

from sessions_tests import tests as django_tests

from sessionbox_django.cache import SessionStore

#: Django tests that the engine fails on purpose: name -> reason.
EXCLUDED = {
    "test_non_default_cache": "it points SESSION_CACHE_ALIAS at a LocMemCache; the engine keeps sessions only in "
    "a Redis cache (RedisCache), whose server serves the component's kv import",
}


class SessionboxCacheSessionTests(django_tests.CacheSessionTests):
    backend = SessionStore


for _name, _reason in EXCLUDED.items():
    setattr(SessionboxCacheSessionTests, _name, unittest.skip(f"sessionbox differs on purpose: {_reason}")(getattr(django_tests.CacheSessionTests, _name)))
