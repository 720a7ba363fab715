"""The sessionbox component, run through wasmtime-py's component model.

Every call goes to one of the free functions of the component's
`sessionbox:store/sessions` interface, which take the store settings as
their first argument (wit/sessionbox.wit). A wasmtime `Store` is not safe to
share between threads, so each thread keeps its own instance per session
directory (the directory is the instance's first preopen, `.`); the engine
and the compiled component are shared by the threads of a process and made
again after a fork.
"""

import ctypes
import os
import threading
from importlib import resources

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import component as wc
from wasmtime.component._enter import enter_wasm

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


_memo_classes = {}


def _memo_class(cls, names):
    """A subclass of the wasmtime-py type class `cls` whose type queries
    `names` (and `_tagged`, for variants) return what the instance holds."""
    key = (cls, names)
    sub = _memo_classes.get(key)
    if sub is None:
        attrs = {name: property(lambda self, name=name: self.__dict__["_sb_" + name]) for name in names}
        if issubclass(cls, (wc.VariantType, wc.OptionType, wc.ResultType)):
            attrs["_tagged"] = lambda self: self.__dict__["_sb_tagged"]
        sub = _memo_classes[key] = type(cls.__name__, (cls,), attrs)
    return sub


def memoize(ty):
    """Makes the wasmtime-py type `ty` (and the types inside it) answer its
    type queries from values computed once.

    wasmtime-py 51 asks the C API for a record's fields, a variant's cases,
    an option's payload... on every value it lowers or lifts, and works out
    again whether a variant lowers tagged; that is most of a call's time
    (docs/python.md). The answers never change for a given type, so each is
    computed here once and the object's class is swapped for a subclass
    that returns them; the conversions themselves are wasmtime-py's own."""
    if ty is None or "_sb_memo" in ty.__dict__:
        return ty
    values = {}
    if isinstance(ty, wc.RecordType):
        values["fields"] = [(name, memoize(t)) for name, t in ty.fields]
    elif isinstance(ty, wc.VariantType):
        values["cases"] = [(name, memoize(t)) for name, t in ty.cases]
    elif isinstance(ty, wc.OptionType):
        values["payload"] = memoize(ty.payload)
    elif isinstance(ty, wc.ResultType):
        values["ok"] = memoize(ty.ok)
        values["err"] = memoize(ty.err)
    elif isinstance(ty, wc.ListType):
        values["element"] = memoize(ty.element)
    elif isinstance(ty, wc.TupleType):
        values["elements"] = [memoize(t) for t in ty.elements]
    elif isinstance(ty, wc.EnumType):
        values["names"] = ty.names
    if values:
        for name, value in values.items():
            ty.__dict__["_sb_" + name] = value
        ty.__class__ = _memo_class(type(ty), tuple(sorted(values)))
        if isinstance(ty, (wc.VariantType, wc.OptionType, wc.ResultType)):
            ty.__dict__["_sb_tagged"] = super(type(ty), ty)._tagged()
    ty.__dict__["_sb_memo"] = True
    return ty


class FastFunc:
    """A component function with its parameter and result types looked up
    (and memoized) once: `wasmtime.component.Func.__call__`, minus asking
    for the function's type on every call."""

    def __init__(self, func, store):
        self.func = func
        self.ty = func.type(store)
        self.params = [memoize(t) for _, t in self.ty.params]
        self.result = memoize(self.ty.result)

    def __call__(self, store, *params):
        if len(params) != len(self.params):
            raise TypeError(f"wrong number of parameters: given {len(params)}, expected {len(self.params)}")
        param_capi = (ffi.wasmtime_component_val_t * len(params))()
        n = 0
        try:
            for ty, val in zip(self.params, params):
                ty.convert_to_c(store, val, ctypes.pointer(param_capi[n]))
                n += 1
            result_space = result_capi = None
            if self.result is not None:
                result_space = ffi.wasmtime_component_val_t()
                result_capi = ctypes.byref(result_space)

            def run():
                return ffi.wasmtime_component_func_call(ctypes.byref(self.func._func), store._context(), param_capi, n, result_capi, 1 if result_capi is not None else 0)

            enter_wasm(run)
            if result_space is None:
                return None
            return self.result.convert_from_c(result_space)
        finally:
            for i in range(n):
                ffi.wasmtime_component_val_delete(ctypes.byref(param_capi[i]))


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
            self.funcs[fn] = FastFunc(func, self.store)

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
