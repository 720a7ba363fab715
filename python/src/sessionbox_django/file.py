"""`SESSION_ENGINE = "sessionbox_django.file"`: Django's file session backend
with every storage operation done by the sessionbox component.

A drop-in for `django.contrib.sessions.backends.file`: the same settings
(`SESSION_FILE_PATH`, `SESSION_COOKIE_NAME` as the file prefix,
`SESSION_COOKIE_AGE`, `SECRET_KEY`, `SECRET_KEY_FALLBACKS`) and the same
files, so the two read each other's sessions. What differs is sessionbox's
(docs/SPEC.md §5): a save never brings back a session deleted meanwhile (a
logout), saves are fsynced (`SESSIONBOX_DURABILITY`), sessions have a size
limit (`SESSIONBOX_MAX_SESSION_SIZE`), write errors are raised instead of
swallowed, and `clearsessions` sweeps through the component, over several
ranges of names at once (`SESSIONBOX_SWEEP_WORKERS`).
"""

import json
import logging
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import InvalidSessionKey
from django.core.exceptions import ImproperlyConfigured

from . import _component
from ._component import SessionboxError

try:
    import fcntl
except ImportError:  # not on Windows: no lock there (see `_directory_lock`)
    fcntl = None

logger = logging.getLogger("sessionbox_django")

DURABILITIES = ("none", "file", "full")
#: The component's own default: 1 MiB of JSON.
DEFAULT_MAX_SESSION_SIZE = 1 << 20
JSON_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"


class SessionTooLarge(ValueError):
    """The session's JSON is larger than `SESSIONBOX_MAX_SESSION_SIZE`;
    nothing was written."""


class SessionStorageError(OSError):
    """The component could not read or write the session directory; the
    session file holds its old content or its new one, never a mix."""


def raise_for(error, key=None):
    """Raises the Django exception for a component error."""
    kind, detail = error.kind, error.detail
    if kind == "invalid-key":
        raise InvalidSessionKey("Invalid session key")
    if kind == "already-exists":
        raise CreateError
    if kind == "not-found":
        raise UpdateError
    if kind == "too-large":
        raise SessionTooLarge("the session is larger than SESSIONBOX_MAX_SESSION_SIZE")
    if kind == "invalid-data":
        raise ValueError(f"session data the component refused: {detail}")
    if kind == "invalid-settings":
        raise ImproperlyConfigured(f"sessionbox: {detail}")
    raise SessionStorageError(f"sessionbox: {detail}")


_settings_cache = {}
_settings_lock = threading.Lock()


def component_settings(key_salt):
    """The component's `settings` record from Django's settings (read on
    every call, so `override_settings` applies at once)."""
    durability = getattr(settings, "SESSIONBOX_DURABILITY", "file")
    if durability not in DURABILITIES:
        raise ImproperlyConfigured(f"SESSIONBOX_DURABILITY must be one of {', '.join(DURABILITIES)}, not {durability!r}")
    max_size = getattr(settings, "SESSIONBOX_MAX_SESSION_SIZE", DEFAULT_MAX_SESSION_SIZE)
    if not isinstance(max_size, int) or not 0 < max_size < 1 << 32:
        raise ImproperlyConfigured("SESSIONBOX_MAX_SESSION_SIZE must be a whole number of bytes from 1 to 4294967295")
    age = settings.SESSION_COOKIE_AGE
    if not isinstance(age, int) or age < 0:
        raise ImproperlyConfigured("SESSION_COOKIE_AGE must be a whole number of seconds, 0 or more")
    serializer = settings.SESSION_SERIALIZER
    if serializer != JSON_SERIALIZER:
        raise ImproperlyConfigured(f"sessionbox writes sessions as JSON: SESSION_SERIALIZER must be {JSON_SERIALIZER}")
    fallbacks = tuple(str(k) for k in getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    key = (str(settings.SECRET_KEY), fallbacks, age, settings.SESSION_COOKIE_NAME, key_salt, max_size, durability)
    record = _settings_cache.get(key)
    if record is None:
        record = _component.Settings(*key)
        with _settings_lock:
            if len(_settings_cache) > 64:
                _settings_cache.clear()
            _settings_cache[key] = record
    return record


#: The lock file `_directory_lock` creates in the session directory; no
#: sweep touches it (its name lacks the file prefix, which cannot start
#: with a dot).
LOCK_FILE = ".sessionbox.lock"


def _lock_fds(directory):
    """This thread's descriptors of `directory` and of its lock file (an
    flock belongs to an open file, so each thread and process opens its
    own; a fork starts afresh)."""
    _component.process()
    fds = _component.thread_state().setdefault("locks", {})
    pair = fds.get(directory)
    if pair is None:
        if len(fds) >= 16:
            for old in fds.values():
                for fd in old:
                    os.close(fd)
            fds.clear()
        cloexec = getattr(os, "O_CLOEXEC", 0)
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | cloexec)
        try:
            lock_fd = os.open(os.path.join(directory, LOCK_FILE), os.O_RDWR | os.O_CREAT | cloexec, 0o600)
        except BaseException:
            os.close(dir_fd)
            raise
        pair = fds[directory] = (dir_fd, lock_fd)
    return pair


@contextmanager
def _directory_lock(directory, exclusive):
    """A lock over the session directory: shared for an update, exclusive
    for a delete.

    The component over plain WASI (which wasmtime-py gives it) checks that
    the session still exists and then renames the new file over it; a
    delete landing between the two would be undone (Trac #37249). The
    sessionbox Rust host closes that window with a rename that replaces
    only an existing entry; here every thread and process using this engine
    takes this lock, so a delete waits for the updates in flight and the
    updates after it find the session gone. Updates hold the lock file
    shared; a delete holds it exclusive, and first takes the directory's own
    flock, which every update passes through on its way in, so a stream of
    updates cannot starve a logout. (Not on Windows, which has no flock.)"""
    if fcntl is None:
        yield
        return
    dir_fd, lock_fd = _lock_fds(directory)
    fcntl.flock(dir_fd, fcntl.LOCK_EX)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    except BaseException:
        fcntl.flock(dir_fd, fcntl.LOCK_UN)
        raise
    if not exclusive:
        fcntl.flock(dir_fd, fcntl.LOCK_UN)
    try:
        yield
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        if exclusive:
            fcntl.flock(dir_fd, fcntl.LOCK_UN)


def _dumps(data):
    # What Django's JSONSerializer writes (the component re-checks it).
    return json.dumps(data, separators=(",", ":"))


class SessionStore(SessionBase):
    """Django's file `SessionStore`, stored by the sessionbox component."""

    def __init__(self, session_key=None):
        self.storage_path = self._get_storage_path()
        self.file_prefix = settings.SESSION_COOKIE_NAME
        super().__init__(session_key)

    @classmethod
    def _get_storage_path(cls):
        """`SESSION_FILE_PATH` (else the temporary directory), checked once
        per class as Django does; a missing directory whose parent exists is
        created, mode 0700."""
        try:
            return cls._storage_path
        except AttributeError:
            storage_path = os.fspath(getattr(settings, "SESSION_FILE_PATH", None) or tempfile.gettempdir())
            if not os.path.isdir(storage_path):
                parent = os.path.dirname(os.path.abspath(storage_path))
                if os.path.isdir(parent):
                    try:
                        os.mkdir(storage_path, 0o700)
                    except FileExistsError:
                        pass
                if not os.path.isdir(storage_path):
                    raise ImproperlyConfigured(
                        f"The session storage path {storage_path!r} doesn't exist. Please set your"
                        " SESSION_FILE_PATH setting to an existing directory in which"
                        " Django can store session data."
                    )
            cls._storage_path = os.path.abspath(storage_path)
            return cls._storage_path

    @classmethod
    def _key_salt_of(cls):
        # SessionBase.key_salt, for the classmethod sweep.
        return "django.contrib.sessions." + cls.__qualname__

    def _call(self, fn, *args):
        instance = _component.file_instance(self.storage_path)
        return instance.call(fn, component_settings(self.key_salt), *args)

    def _key_to_file(self, session_key=None):
        """The file of `session_key` (as Django's file backend names it)."""
        if session_key is None:
            session_key = self._get_or_create_session_key()
        if not set(session_key).issubset(VALID_KEY_CHARS):
            raise InvalidSessionKey("Invalid characters in session key")
        return os.path.join(self.storage_path, self.file_prefix + session_key)

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
        if loaded.tag == "bad-signature":
            # As Django's decode() logs it.
            logging.getLogger("django.security.SuspiciousSession").warning("Session data corrupted")
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
            if must_create:
                self._call("save", self.session_key, data, True)
            else:
                with _directory_lock(self.storage_path, exclusive=False):
                    self._call("save", self.session_key, data, False)
        except SessionboxError as e:
            raise_for(e)

    async def asave(self, must_create=False):
        return self.save(must_create=must_create)

    def exists(self, session_key):
        if session_key is None:
            return False
        try:
            return self._call("exists", session_key)
        except SessionboxError as e:
            raise_for(e)

    async def aexists(self, session_key):
        return self.exists(session_key)

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            with _directory_lock(self.storage_path, exclusive=True):
                self._call("delete", session_key)
        except SessionboxError as e:
            raise_for(e)

    async def adelete(self, session_key=None):
        return self.delete(session_key=session_key)

    def cycle_key(self):
        """The component's `cycle-key`: the data under a new key, then the
        old session deleted (Django's login does this)."""
        data = self._session
        key = self.session_key
        if not key:
            self.create()
            self._session_cache = data
            return
        try:
            with _directory_lock(self.storage_path, exclusive=True):
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
        """Django's `clearsessions`: the component's sweep, over
        `SESSIONBOX_SWEEP_WORKERS` ranges of names at once (one instance
        per thread; wasmtime runs them in parallel, the GIL released), cut
        at the file prefix plus one key character. Returns the summed
        report: {"scanned", "deleted", "skipped", "ranges"}."""
        directory = cls._get_storage_path()
        record = component_settings(cls._key_salt_of())
        prefix = settings.SESSION_COOKIE_NAME
        workers = getattr(settings, "SESSIONBOX_SWEEP_WORKERS", None) or min(os.cpu_count() or 1, 8)
        if not isinstance(workers, int) or not 1 <= workers <= 36:
            raise ImproperlyConfigured("SESSIONBOX_SWEEP_WORKERS must be a whole number from 1 to 36")
        alphabet = sorted(VALID_KEY_CHARS)
        cuts = [prefix + alphabet[i * len(alphabet) // workers] for i in range(1, workers)]
        ranges = list(zip([None, *cuts], [*cuts, None]))

        def sweep(bounds):
            cursor, upto = bounds
            instance = _component.file_instance(directory)
            totals = [0, 0, 0]
            while True:
                try:
                    batch = instance.call("sweep-range", record, cursor, upto, None)
                except SessionboxError as e:
                    raise_for(e)
                report = batch.report
                totals[0] += report.scanned
                totals[1] += report.deleted
                totals[2] += report.skipped
                cursor = batch.cursor
                if cursor is None:
                    return totals

        if len(ranges) == 1:
            results = [sweep(ranges[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="sessionbox-sweep") as pool:
                results = list(pool.map(sweep, ranges))
        scanned, deleted, skipped = (sum(r[i] for r in results) for i in range(3))
        logger.info("clearsessions: %d scanned, %d deleted, %d skipped, over %d ranges", scanned, deleted, skipped, len(ranges))
        return {"scanned": scanned, "deleted": deleted, "skipped": skipped, "ranges": len(ranges)}

    @classmethod
    async def aclear_expired(cls):
        cls.clear_expired()
