"""The sessionbox component, run through wasmtime-py's component model.

Every call goes to one of the free functions of the component's
`sessionbox:store/sessions` interface, which take the store settings as
their first argument (wit/sessionbox.wit). A wasmtime `Store` is not safe to
share between threads, so each thread keeps its own instance per session
directory (the directory is the instance's first preopen, `.`); the engine
and the compiled component are shared by the threads of a process and made
again after a fork.
"""

import os
import threading
from importlib import resources

import wasmtime
from wasmtime import component as wc

from . import __version__

#: The interface whose functions the engines call, at the version this
#: package was built for (the WIT package of the component it ships).
SESSIONS = f"sessionbox:store/sessions@{__version__}"
#: The interface the key-value component imports and the cache engine serves.
KV = f"sessionbox:store/kv@{__version__}"

FILE_COMPONENT = "sessionbox_guest.wasm"
KV_COMPONENT = "sessionbox_guest_kv.wasm"

#: The functions of `sessions` the engines call (the cookie pair: the
#: benchmark's bare call, which touches no storage).
FUNCTIONS = ("create", "load", "save", "exists", "delete", "cycle-key", "clear-expired", "sweep-range", "encode-cookie", "decode-cookie")


class SessionboxError(Exception):
    """An error the component reported; `kind` is its WIT case name."""

    def __init__(self, kind, detail=None):
        self.kind = kind
        self.detail = detail
        super().__init__(kind if detail is None else f"{kind}: {detail}")


class Settings:
    """The `settings` record of the `sessions` interface, as wasmtime-py
    lowers it (its field names have dashes, so they are set as attributes)."""

    def __init__(self, secret_key, fallback_keys, cookie_age, file_prefix, key_salt, max_session_size, durability):
        setattr(self, "secret-key", secret_key)
        setattr(self, "fallback-keys", list(fallback_keys))
        setattr(self, "cookie-age", cookie_age)
        setattr(self, "file-prefix", file_prefix)
        setattr(self, "key-salt", key_salt)
        setattr(self, "max-session-size", max_session_size)
        setattr(self, "durability", durability)


def unwrap(result):
    """The ok value of a WIT `result`, or SessionboxError for its error.

    wasmtime-py gives a result whose two sides lower to different Python
    classes untagged (the ok value itself, or the error `Variant`), and one
    whose sides are both variants as `Variant('ok'|'err', payload)`."""
    if isinstance(result, wc.Variant):
        if result.tag == "ok":
            return result.payload
        error = result.payload if result.tag == "err" else result
        raise SessionboxError(error.tag, error.payload)
    return result


class _Process:
    """What the threads of one process share: engine, components, linkers."""

    def __init__(self):
        self.pid = os.getpid()
        self.engine = wasmtime.Engine()
        self.lock = threading.Lock()
        self.components = {}

    def component(self, name):
        with self.lock:
            if name not in self.components:
                wasm = resources.files(__package__).joinpath(name).read_bytes()
                self.components[name] = wc.Component(self.engine, wasm)
            return self.components[name]


_process = None
_process_lock = threading.Lock()
_local = threading.local()


def process():
    """The per-process engine, made again in a forked child (a wasmtime
    engine must not cross a fork)."""
    global _process
    with _process_lock:
        if _process is None or _process.pid != os.getpid():
            _process = _Process()
            _local.__dict__.clear()
        return _process


class Instance:
    """One instance of a component in its own wasmtime store, with the
    functions of its `sessions` export looked up once."""

    def __init__(self, name, preopen=None, define_imports=None):
        proc = process()
        self.store = wasmtime.Store(proc.engine)
        wasi = wasmtime.WasiConfig()
        if preopen is not None:
            wasi.preopen_dir(preopen, ".")
        self.store.set_wasi(wasi)
        linker = wc.Linker(proc.engine)
        linker.add_wasip2()
        if define_imports is not None:
            define_imports(linker)
        instance = linker.instantiate(self.store, proc.component(name))
        sessions = instance.get_export_index(self.store, SESSIONS)
        if sessions is None:
            raise RuntimeError(f"the component {name} does not export {SESSIONS}")
        self.funcs = {}
        for fn in FUNCTIONS:
            index = instance.get_export_index(self.store, fn, sessions)
            func = instance.get_func(self.store, index) if index is not None else None
            if func is None:
                raise RuntimeError(f"the component {name} has no function {fn} in {SESSIONS}")
            self.funcs[fn] = func

    def call(self, fn, *args):
        """Calls `fn` of `sessions` and returns its ok value (SessionboxError
        for its error; a trap raises wasmtime's own error)."""
        return unwrap(self.funcs[fn](self.store, *args))


def thread_state():
    """This thread's state in this process (a dict), empty after a fork."""
    process()
    return _local.__dict__


def file_instance(directory):
    """This thread's instance of the directory component over `directory`."""
    instances = thread_state().setdefault("file", {})
    inst = instances.get(directory)
    if inst is None:
        if len(instances) >= 16:
            # Settings that change per test (SESSION_FILE_PATH) must not
            # keep a store per directory forever.
            instances.clear()
        inst = Instance(FILE_COMPONENT, preopen=directory)
        instances[directory] = inst
    return inst
