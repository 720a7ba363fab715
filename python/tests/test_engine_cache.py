"""The cache engine's own tests (sessionbox_django.cache on the Redis server
of settings_redis.py): interop with Django's stock cache backend both ways, a
logout racing a dozen saves (never undone), and a Redis failure reported as
an error, after which the engine works again."""

import threading
import time

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cache import SessionStore as DjangoCacheStore
from django.core.cache import caches
from django.test import SimpleTestCase, override_settings

from sessionbox_django.cache import SessionStore
from sessionbox_django.file import SessionStorageError

SESSION = {"_auth_user_id": "42", "cart": [1, 2, 3], "name": "Zoë", "ratio": 0.5, "nothing": None}


class CacheInteropTests(SimpleTestCase):
    def test_a_session_the_engine_writes_is_read_by_djangos_cache_backend(self):
        s = SessionStore()
        s.update(SESSION)
        s.save()
        self.assertEqual(dict(DjangoCacheStore(s.session_key).items()), SESSION)
        self.assertEqual(caches["default"].get(s.cache_key), SESSION)
        # Its TTL is the session's age, as Django's cache backend sets it.
        client = caches["default"]._cache.get_client(s.cache_key)
        pttl = client.pttl(caches["default"].make_and_validate_key(s.cache_key))
        self.assertTrue(1209590_000 < pttl <= 1209600_000, pttl)

    def test_a_session_djangos_cache_backend_writes_is_read_by_the_engine(self):
        d = DjangoCacheStore()
        d.update(SESSION)
        d.save()
        e = SessionStore(d.session_key)
        self.assertEqual(dict(e.items()), SESSION)
        e["name"] = "Ünïcödé 日本語 🎉"
        e.save()
        self.assertEqual(DjangoCacheStore(d.session_key)["name"], "Ünïcödé 日本語 🎉")
        e.delete()
        self.assertFalse(DjangoCacheStore().exists(d.session_key))


class CacheLogoutRaceTests(SimpleTestCase):
    SAVERS = 12
    ROUNDS = 100

    def test_a_logout_racing_a_dozen_saves_is_never_undone(self):
        undone = refused = 0
        for round_ in range(self.ROUNDS):
            s = SessionStore()
            s.update(SESSION)
            s.save()
            key = s.session_key
            start = threading.Barrier(self.SAVERS + 1)
            deleted = threading.Event()
            refusals = []

            def saver(i):
                start.wait()
                for n in range(1000):
                    mine = SessionStore(key)
                    mine._session_cache = dict(SESSION, saver=i, n=n)
                    try:
                        mine.save()
                    except UpdateError:
                        refusals.append(i)
                        return
                    if deleted.is_set() and n > 2:
                        return  # saves after the logout must have been refused

            threads = [threading.Thread(target=saver, args=(i,)) for i in range(self.SAVERS)]
            for t in threads:
                t.start()
            start.wait()
            time.sleep(0.001 * (round_ % 5))
            SessionStore(key).delete()
            deleted.set()
            for t in threads:
                t.join()
            refused += len(refusals)
            if SessionStore().exists(key):
                undone += 1
                SessionStore(key).delete()
        self.assertEqual(undone, 0, f"{undone} of {self.ROUNDS} logouts undone by a racing save")
        self.assertGreater(refused, self.ROUNDS)


class CacheFailureTests(SimpleTestCase):
    def test_a_redis_failure_is_an_error_and_the_engine_recovers(self):
        dead = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
        with override_settings(CACHES=dead):
            s = SessionStore("a" * 32)
            # A failed `get` traps the component call (docs/python.md)...
            with self.assertRaises(SessionStorageError):
                s.load()
            # ...a failed `set-if-absent` is the component's own `io` error.
            with self.assertRaises(SessionStorageError):
                SessionStore().save()
            with self.assertRaises(SessionStorageError):
                SessionStore("b" * 32).load()
        # The live server still works (for this thread too).
        s = SessionStore()
        s["a"] = 1
        s.save()
        self.assertEqual(SessionStore(s.session_key)["a"], 1)
