"""Drive Django's own session backends for the sessionbox interop tests.

usage: python django_sessions.py < REQUESTS

The one driver of Django's session code in the tests (tests/all/support/
django.rs starts it). stdin is JSON, one value per line. The first line
configures Django:

    {"engine": "file", "secret_key": S, "fallback_keys": [..],
     "cookie_name": "sessionid", "cookie_age": 1209600, ...}

and, per engine (SESSION_ENGINE is django.contrib.sessions.backends.<engine>):

    file    "dir": D                          SESSION_FILE_PATH
    cache   "cache": {"url": U, "key_prefix": P, "version": V}
                                              CACHES["default"], Django's
                                              RedisCache (needs redis-py)
    db      "database": {"sqlite": PATH} or {"postgres": {"host", "port",
            "name", "user", "password"}}      DATABASES["default"] (PostgreSQL
                                              needs psycopg); "migrate": true
                                              runs Django's migrate first
    cached_db   "database" as for db, "cache" as for cache
    signed_cookies                            (nothing: the key is the
                                              cookie's value, which create,
                                              save and cycle_key return)

Every further line is one op object, or a list of them; each op prints one
JSON result line, flushed at once, so a test can run a whole batch in one
process or interleave Django's steps with its own (importing Django is slow;
this process is started once per test).

Every op may carry:
  "store_class": NAME  the store is a subclass of Django's file SessionStore
                       with that class name, so its key_salt is
                       "django.contrib.sessions.NAME" (Django derives key_salt
                       from the class's __qualname__). Default: Django's
                       SessionStore itself.
  "settings": {...}    Django settings overridden for this op only
                       (django.test.utils.override_settings), e.g.
                       {"SECRET_KEY": .., "SECRET_KEY_FALLBACKS": [..],
                        "SESSION_FILE_PATH": .., "SESSION_COOKIE_NAME": ..}.

Ops and their results (besides "ok": true; a Python exception gives
{"ok": false, "error": "<Type>: <message>"} and the next op still runs):

    info                                  -> django_version, key_salt,
                                             python_version, recursion_limit
    create      [data], [expiry]          -> key       (session[k] = v for each
                                                        key, then create())
    load        key, [text_only], [expected]
                                          -> data, data_json, key_after,
                                             [differences from EXPECTED]
    row         key                       -> row: {expire_date, session_data}
                                             or null (the db engine's row,
                                             expired or not)
    save        key, [data], [replace], [expiry], [must_create]
                                          -> key       (loads, replace clears,
                                                        session[k] = v, save())
    set_expiry  key, expiry               -> key, stored (set_expiry + save)
    expiry      key                       -> age, date, browser_close
    cycle_key   key, [save]               -> key, old_key (with save: then
                                                        save(), as login() and
                                                        the middleware do)
    flush       key                       -> key       (what logout() does)
    exists      key                       -> exists
    delete      key                       -> -
    clear_expired                         -> -         (SessionStore.clear_expired)
    decode      text, [text_only]         -> data, data_json
    encode      data, [size_only]         -> text      (or, with size_only, only
                                                        size: len(text), the
                                                        size of the file)
    payload     text                      -> json, compressed (the signed JSON
                                             inside a stored session, unpacked
                                             as django.core.signing does; the
                                             signature is not checked)
    clearsessions                         -> -         (the management command)

For the cache engine (where a value is a pickle, not JSON text):

    create  ..., [expected], [special], [exotic, marker]
                                          -> key, [expiry_age] (EXPECTED or
                                             SPECIAL below, or an object JSON
                                             cannot hold, in "value";
                                             expiry_age with with_expiry_age)
    state   key, [expected], [special]    -> present (the cache holds the key),
                                             exists, data (JSON, or repr() of
                                             what JSON cannot hold),
                                             expiry_age (when present),
                                             differences (from EXPECTED or
                                             SPECIAL)
    same_as text, which                   -> differences (the JSON text against
                                             EXPECTED or SPECIAL)
    raw_pickle key, protocol              -> key (EXPECTED pickled with that
                                             protocol, straight into Redis
                                             under the session's cache key)

An expiry is an int or float (seconds), null (set_expiry(None)),
{"timedelta": seconds}, or {"datetime": ISO} (a datetime from fromisoformat,
naive or aware as written).

Data is printed with json.dumps(separators=(",", ":")), exactly as Django's
JSONSerializer writes it, so numbers and strings keep Python's own form;
"data_json" repeats it as a string for byte-exact comparisons; with
"text_only": true, "data" is left out (for data nested deeper than the test's
own JSON parser takes, or too big to be worth sending twice). Every result
carries "corrupted": whether Django logged "Session data corrupted" on
django.security.SuspiciousSession during the op.

Nesting: this script's own JSON reading and writing (the request lines, the
printed results, "data_json") runs with a raised recursion limit, Django's
code never does: every op runs under Python's default limit, so a test
measuring how deep Django reads or writes measures Django, not this script.
"""

import datetime
import json
import logging
import platform
import sys
import zlib

# Enough for the deepest data the tests send through this script (a few
# thousand levels); Django's ops run under the default limit (see above).
HARNESS_RECURSION_LIMIT = 20000


def harness(fn, *args, **kwargs):
    """Runs the script's own (de)serialization with the raised limit."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, HARNESS_RECURSION_LIMIT))
    try:
        return fn(*args, **kwargs)
    finally:
        sys.setrecursionlimit(limit)


def main():
    cfg = json.loads(sys.stdin.readline())

    from django.conf import settings

    engine = cfg.get("engine", "file")
    by_engine = {}
    if engine == "file":
        by_engine["SESSION_FILE_PATH"] = cfg["dir"]
    if engine in ("cache", "cached_db"):
        cache = cfg["cache"]
        by_engine["CACHES"] = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": cache["url"],
                "KEY_PREFIX": cache.get("key_prefix", ""),
                "VERSION": cache.get("version", 1),
            }
        }
    if engine in ("db", "cached_db"):
        database = cfg["database"]
        if "sqlite" in database:
            by_engine["DATABASES"] = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database["sqlite"]}}
        else:
            pg = database["postgres"]
            by_engine["DATABASES"] = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "HOST": pg["host"],
                    "PORT": pg["port"],
                    "NAME": pg["name"],
                    "USER": pg["user"],
                    "PASSWORD": pg["password"],
                }
            }
    if engine not in ("file", "cache", "db", "cached_db", "signed_cookies"):
        raise SystemExit("unknown engine %r" % (engine,))
    settings.configure(
        SECRET_KEY=cfg["secret_key"],
        SECRET_KEY_FALLBACKS=cfg.get("fallback_keys", []),
        SESSION_ENGINE="django.contrib.sessions.backends." + engine,
        SESSION_COOKIE_NAME=cfg.get("cookie_name", "sessionid"),
        SESSION_COOKIE_AGE=cfg.get("cookie_age", 1209600),
        SESSION_SERIALIZER="django.contrib.sessions.serializers.JSONSerializer",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.sessions"],
        LOGGING_CONFIG=None,
        **by_engine,
    )
    import django

    django.setup()

    import importlib

    SessionStore = importlib.import_module("django.contrib.sessions.backends." + engine).SessionStore
    from django.test.utils import override_settings
    from pickle_cases import EXPECTED, SPECIAL, differences, exotic, jsonable

    if cfg.get("migrate"):
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    class Recorder(logging.Handler):
        """Keeps Django's security warnings ("Session data corrupted")."""

        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    recorder = Recorder()
    security = logging.getLogger("django.security.SuspiciousSession")
    security.addHandler(recorder)
    security.propagate = False

    classes = {"SessionStore": SessionStore}

    def store_class(op):
        name = op.get("store_class") or "SessionStore"
        if name not in classes:
            # As if written `class NAME(SessionStore): pass` at module level.
            classes[name] = type(name, (SessionStore,), {"__qualname__": name, "__module__": __name__})
        return classes[name]

    def forget_storage_paths():
        # The file backend caches SESSION_FILE_PATH on the class.
        for cls in classes.values():
            if "_storage_path" in vars(cls):
                delattr(cls, "_storage_path")

    def expiry_value(spec):
        if isinstance(spec, dict):
            if "timedelta" in spec:
                return datetime.timedelta(seconds=spec["timedelta"])
            if "datetime" in spec:
                return datetime.datetime.fromisoformat(spec["datetime"])
            raise ValueError("unknown expiry %r" % (spec,))
        return spec

    def data_fields(data, op):
        text = harness(json.dumps, data, separators=(",", ":"))
        return {"data_json": text} if op.get("text_only") else {"data": data, "data_json": text}

    def fill(s, op):
        if op.get("replace"):
            s.clear()
        for k, v in op.get("data", {}).items():
            s[k] = v
        if "expiry" in op:
            s.set_expiry(expiry_value(op["expiry"]))

    def run(op):
        kind = op["op"]
        cls = store_class(op)
        if kind == "info":
            return {
                "django_version": django.get_version(),
                "key_salt": cls().key_salt,
                "python_version": platform.python_version(),
                "recursion_limit": sys.getrecursionlimit(),
            }
        if kind == "create":
            s = cls()
            if op.get("expected"):
                s.update(EXPECTED)
            if op.get("special"):
                s.update(SPECIAL)
            fill(s, op)
            if "exotic" in op:
                s["value"] = exotic(op["exotic"], op.get("marker"))
            s.create()
            if engine == "signed_cookies":
                # Its create only marks the session modified; the key (the
                # cookie's value) is made by save.
                s.save()
            out = {"key": s.session_key}
            if op.get("with_expiry_age"):
                out["expiry_age"] = s.get_expiry_age()
            return out
        if kind == "load":
            s = cls(op["key"])
            data = s.load()
            out = dict(data_fields(data, op), key_after=s.session_key)
            if op.get("expected"):
                out["differences"] = differences(data, EXPECTED)
            return out
        if kind == "row":
            # The db engine's row for key, as the ORM reads it.
            from django.contrib.sessions.models import Session

            row = Session.objects.filter(session_key=op["key"]).first()
            if row is None:
                return {"row": None}
            return {"row": {"expire_date": row.expire_date.isoformat(), "session_data": row.session_data}}
        if kind == "save":
            s = cls(op["key"])
            fill(s, op)
            s.save(must_create=op.get("must_create", False))
            return {"key": s.session_key}
        if kind == "set_expiry":
            s = cls(op["key"])
            s.set_expiry(expiry_value(op["expiry"]))
            s.save()
            return {"key": s.session_key, "stored": s.get("_session_expiry")}
        if kind == "expiry":
            s = cls(op["key"])
            return {
                "age": s.get_expiry_age(),
                "date": s.get_expiry_date().isoformat(),
                "browser_close": s.get_expire_at_browser_close(),
            }
        if kind == "cycle_key":
            s = cls(op["key"])
            s.cycle_key()
            if op.get("save"):
                s.save()
            return {"key": s.session_key, "old_key": op["key"]}
        if kind == "flush":
            s = cls(op["key"])
            s.flush()
            return {"key": s.session_key}
        if kind == "clearsessions":
            from django.core.management import call_command

            call_command("clearsessions")
            return {}
        if kind == "state":
            from django.core.cache import caches
            from django.contrib.sessions.backends.cache import KEY_PREFIX

            key = op["key"]
            s = cls(key)
            present = caches["default"].has_key(KEY_PREFIX + key)
            data = s.load()
            out = {"present": present, "exists": cls().exists(key), "data": jsonable(data)}
            if present:
                s._session_cache = data
                out["expiry_age"] = s.get_expiry_age()
            if op.get("expected"):
                out["differences"] = differences(data, EXPECTED)
            if op.get("special"):
                out["differences"] = differences(data, SPECIAL)
            return out
        if kind == "same_as":
            which = {"expected": EXPECTED, "special": SPECIAL}[op["which"]]
            return {"differences": differences(json.loads(op["text"]), which)}
        if kind == "raw_pickle":
            import pickle

            import redis
            from django.core.cache import caches
            from django.contrib.sessions.backends.cache import KEY_PREFIX

            client = redis.Redis.from_url(cfg["cache"]["url"])
            name = caches["default"].make_key(KEY_PREFIX + op["key"])
            client.set(name, pickle.dumps(EXPECTED, protocol=op["protocol"]), ex=600)
            return {"key": op["key"]}
        if kind == "exists":
            return {"exists": cls().exists(op["key"])}
        if kind == "delete":
            cls().delete(op["key"])
            return {}
        if kind == "clear_expired":
            cls.clear_expired()
            return {}
        if kind == "decode":
            return data_fields(cls().decode(op["text"]), op)
        if kind == "encode":
            text = cls().encode(op["data"])
            return {"size": len(text)} if op.get("size_only") else {"text": text}
        if kind == "payload":
            from django.core import signing

            payload = op["text"].rsplit(":", 2)[0]
            compressed = payload.startswith(".")
            raw = signing.b64_decode(payload.lstrip(".").encode())
            if compressed:
                raw = zlib.decompress(raw)
            return {"json": raw.decode("latin-1"), "compressed": compressed}
        raise ValueError("unknown op %r" % (kind,))

    def run_one(op):
        recorder.messages.clear()
        try:
            with override_settings(**op.get("settings", {})):
                forget_storage_paths()
                try:
                    result = {"ok": True}
                    result.update(run(op))
                finally:
                    forget_storage_paths()
        except Exception as e:  # reported to the test, which decides
            result = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        result["corrupted"] = any("Session data corrupted" in m for m in recorder.messages)
        print(harness(json.dumps, result, separators=(",", ":")), flush=True)

    for line in sys.stdin:
        if not line.strip():
            continue
        request = harness(json.loads, line)
        for op in request if isinstance(request, list) else [request]:
            run_one(op)


if __name__ == "__main__":
    main()
