"""`SESSION_ENGINE = "sessionbox_django.cache"`: Django's cache session
backend on Redis, with every operation done by the key-value sessionbox
component (`sessionbox_guest_kv.wasm`), whose `kv` import this module serves
from Python with redis-py.

A drop-in for `django.contrib.sessions.backends.cache` over Django's
`RedisCache` (`SESSION_CACHE_ALIAS`, default `"default"`): the same keys
(`<KEY_PREFIX>:<VERSION>:django.contrib.sessions.cache<key>`) and the same
values (the session dict pickled, protocol 5, value format `django-pickle`),
so Django's cache and this engine read each other's sessions. What differs
is sessionbox's (docs/SPEC.md §9): an update is `SET XX`, so a session
deleted meanwhile (a logout) is never brought back; creates are `SET NX`;
sessions have a size limit; pickles are read with an allow-list of plain
values, never run.
"""

import json
import threading

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ImproperlyConfigured
from wasmtime.component import Record, Variant

from . import _component
from ._component import SessionboxError
from .file import SessionStorageError, _dumps, component_settings, raise_for

KEY_PREFIX = "django.contrib.sessions.cache"
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"

_clients = {}
_clients_lock = threading.Lock()


def _redis_config():
    """(url, namespace) of the Redis cache named by SESSION_CACHE_ALIAS."""
    alias = getattr(settings, "SESSION_CACHE_ALIAS", "default")
    config = settings.CACHES.get(alias)
    if config is None or config.get("BACKEND") != REDIS_CACHE:
        raise ImproperlyConfigured(f"sessionbox_django.cache needs CACHES[{alias!r}] to be {REDIS_CACHE}")
    if config.get("KEY_FUNCTION"):
        raise ImproperlyConfigured("sessionbox_django.cache supports only Django's default cache KEY_FUNCTION")
    location = config.get("LOCATION")
    if isinstance(location, (list, tuple)):
        location = location[0]  # Django's RedisCache writes to the first server
    if not location:
        raise ImproperlyConfigured(f"CACHES[{alias!r}] has no LOCATION")
    namespace = f"{config.get('KEY_PREFIX', '')}:{config.get('VERSION', 1)}:"
    return location, namespace


def _client(url):
    import redis  # the package's `redis` extra

    with _clients_lock:
        client = _clients.get(url)
        if client is None or client.pid != _component.process().pid:
            client = redis.Redis.from_url(url)
            client.pid = _component.process().pid
            _clients[url] = client
        return client


class KvHost:
    """The component's `kv` import, served from redis-py: one Redis key per
    call, under `namespace`."""

    def __init__(self, url, namespace):
        self.url = url
        self.namespace = namespace

    def error(self, e):
        # The text names the server's error, never the key.
        import redis

        text = f"redis at {self.url.split('@')[-1]}: {type(e).__name__}"
        if isinstance(e, (redis.AuthenticationError, redis.exceptions.NoPermissionError)):
            return Variant("access-denied", text)
        if isinstance(e, redis.ResponseError) and str(e).startswith("WRONGTYPE"):
            return Variant("wrong-type")
        return Variant("other", text)

    def define(self, linker):
        with linker.root() as root:
            with root.add_instance(_component.KV) as kv:
                kv.add_func("format", lambda _store: "django-pickle")
                kv.add_func("get", self.get)
                kv.add_func("set-if-absent", lambda _s, key, value, ttl: self.set(key, value, ttl, nx=True))
                kv.add_func("set-if-present", lambda _s, key, value, ttl: self.set(key, value, ttl, xx=True))
                kv.add_func("delete", self.delete)
                kv.add_func("exists", self.exists)
                kv.add_func("set-if-equal", self.set_if_equal)
                kv.add_func("set-ttl", self.set_ttl)
                kv.add_func("keys", self.keys)

    def get(self, _store, key, max_len):
        # wasmtime-py 51 cannot return the `err` of this result (its
        # lowering takes any value for `option`'s `none`): failures raise,
        # which traps the call (docs/python.md).
        client = _client(self.url)
        with client.pipeline(transaction=True) as pipe:
            pipe.pttl(self.namespace + key)
            pipe.getrange(self.namespace + key, 0, max_len)
            ttl, value = pipe.execute()
        if ttl == -2:
            return None
        if len(value) > max_len:
            raise SessionStorageError("a stored session is larger than the size limit")
        entry = Record()
        entry.value = bytes(value)
        setattr(entry, "ttl-ms", None if ttl < 0 else ttl)
        return entry

    def set(self, key, value, ttl, **cond):
        try:
            return bool(_client(self.url).set(self.namespace + key, bytes(value), px=ttl, **cond))
        except Exception as e:  # every failure becomes the component's error
            return self.error(e)

    def delete(self, _store, key):
        try:
            return _client(self.url).delete(self.namespace + key) > 0
        except Exception as e:
            return self.error(e)

    def exists(self, _store, key):
        try:
            return _client(self.url).exists(self.namespace + key) > 0
        except Exception as e:
            return self.error(e)

    def set_if_equal(self, _store, key, expected, value, ttl):
        return self._compare_and(key, bytes(expected), lambda pipe, k: pipe.set(k, bytes(value), px=ttl))

    def set_ttl(self, _store, key, expected, ttl):
        return self._compare_and(key, bytes(expected), lambda pipe, k: pipe.pexpire(k, ttl) if ttl is not None else pipe.persist(k))

    def _compare_and(self, key, expected, write):
        """Runs `write` only while the key holds `expected`: WATCH, GET,
        then MULTI/EXEC, which Redis refuses when the key changed meanwhile."""
        import redis

        k = self.namespace + key
        try:
            with _client(self.url).pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(k)
                    if pipe.get(k) != expected:
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    write(pipe, k)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    return False
        except Exception as e:
            return self.error(e)

    def keys(self, _store, prefix, cursor, count):
        """One SCAN page (never KEYS) of the keys under the namespace."""
        import re

        try:
            pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.namespace + prefix) + "*"
            nxt, keys = _client(self.url).scan(cursor=int(cursor or 0), match=pattern, count=max(count, 1))
            cut = len(self.namespace)
            page = Record()
            page.keys = [k[cut:].decode("utf-8", "replace") for k in keys]
            page.cursor = None if int(nxt) == 0 else str(nxt)
            return page
        except Exception as e:
            return self.error(e)


def kv_instance(url, namespace):
    """This thread's instance of the key-value component over `url`."""
    instances = _component.thread_state().setdefault("kv", {})
    inst = instances.get((url, namespace))
    if inst is None:
        host = KvHost(url, namespace)
        inst = _component.Instance(_component.KV_COMPONENT, define_imports=host.define)
        instances[(url, namespace)] = inst
    return inst


class SessionStore(SessionBase):
    """Django's cache `SessionStore` on Redis, stored by the sessionbox
    key-value component."""

    cache_key_prefix = KEY_PREFIX

    def __init__(self, session_key=None):
        self._redis = _redis_config()
        super().__init__(session_key)

    @property
    def cache_key(self):
        """The session's cache key, as Django's cache backend names it."""
        return self.cache_key_prefix + self._get_or_create_session_key()

    async def acache_key(self):
        """`cache_key`, as Django's cache backend has it for async code."""
        return self.cache_key_prefix + await self._aget_or_create_session_key()

    def _call(self, fn, *args):
        instance = kv_instance(*self._redis)
        try:
            return instance.call(fn, component_settings(self.key_salt), *args)
        except SessionboxError:
            raise
        except Exception as e:
            # A trap (a failed `get`) leaves the instance unusable: the next
            # call makes a new one.
            _component.thread_state().get("kv", {}).pop(self._redis, None)
            raise SessionStorageError(f"sessionbox: the session store failed: {type(e).__name__}: {e}") from None

    def load(self):
        key = self.session_key
        if key is None:
            return {}
        try:
            loaded = self._call("load", key)
        except SessionboxError as e:
            raise_for(e)
        if loaded.tag == "found":
            return json.loads(getattr(loaded.payload, "data"))
        self._session_key = None
        return {}

    async def aload(self):
        return self.load()

    def create(self):
        data = _dumps(self._get_session(no_load=True))
        try:
            key = self._call("create", data)
        except SessionboxError as e:
            raise_for(e)
        self._session_key = key
        self.modified = True

    async def acreate(self):
        return self.create()

    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        data = _dumps(self._get_session(no_load=must_create))
        try:
            self._call("save", self.session_key, data, must_create)
        except SessionboxError as e:
            raise_for(e)

    async def asave(self, must_create=False):
        return self.save(must_create=must_create)

    def exists(self, session_key):
        if not session_key:
            return False
        try:
            return self._call("exists", session_key)
        except SessionboxError as e:
            if e.kind == "invalid-key":
                return False  # Django's cache backend: no such key
            raise_for(e)

    async def aexists(self, session_key):
        return self.exists(session_key)

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self._call("delete", session_key)
        except SessionboxError as e:
            if e.kind != "invalid-key":  # Django's cache backend: nothing to delete
                raise_for(e)

    async def adelete(self, session_key=None):
        return self.delete(session_key=session_key)

    def cycle_key(self):
        data = self._session
        key = self.session_key
        if not key:
            self.create()
            self._session_cache = data
            return
        try:
            new_key = self._call("cycle-key", key, _dumps(data))
        except SessionboxError as e:
            raise_for(e)
        self._session_key = new_key
        self._session_cache = data
        self.modified = True

    async def acycle_key(self):
        return self.cycle_key()

    @classmethod
    def clear_expired(cls):
        """Nothing to do: Redis expires sessions by their TTL (as Django's
        cache backend)."""

    @classmethod
    async def aclear_expired(cls):
        pass

