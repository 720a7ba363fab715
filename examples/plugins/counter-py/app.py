"""A plugin of the example plugin host, in Python: a visit counter on
sessions it imports (`sessionbox:store/bound-sessions`). It has no
filesystem, no secret and no settings; the host decides where its sessions
live. The same commands as the Rust version (`../counter`):

- `visit [KEY]`: counts a visit in session KEY (a new session when KEY is
  absent or names no live session); prints `KEY N`.
- `show KEY`: the session's data, or what `load` found instead
  (`missing`, `expired`, `bad-signature`, `corrupt`).
- `login KEY USER`: records USER as logged in and moves the session to a
  new key (Django's session-fixation defence); prints the new key.
- `logout KEY`: deletes the session; prints `true` or `false`.

Build (see README.md), from the repository root:
componentize-py -d examples/plugins/wit -w example:plugin/session-plugin
componentize app -p examples/plugins/counter-py --stub-wasi -o counter_py.wasm
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import bound_sessions as sessions
from wit_world.imports.bound_sessions import (
    Error_AlreadyExists,
    Error_InvalidData,
    Error_InvalidKey,
    Error_InvalidSettings,
    Error_Io,
    Error_NotFound,
    Error_TooLarge,
    Loaded_BadSignature,
    Loaded_Corrupt,
    Loaded_Expired,
    Loaded_Found,
    Loaded_Missing,
)


class WitWorld(wit_world.WitWorld):
    def run(self, args):
        """Runs the command `args`; raising `Err(text)` returns `err`."""
        try:
            return _command(list(args))
        except Err as e:
            if isinstance(e.value, str):
                raise
            raise Err(_why(e.value))


def _command(args):
    match args:
        case ["visit"]:
            return _visit(None)
        case ["visit", key]:
            return _visit(key)
        case ["show", key]:
            loaded = sessions.load(key)
            if isinstance(loaded, Loaded_Found):
                return loaded.value.data
            return _case(loaded)
        case ["login", key, user]:
            data = _found_data(key)
            if data is None:
                data = {}
            data["_auth_user_id"] = user
            text = _dumps(data)
            if sessions.exists(key):
                return sessions.cycle_key(key, text)
            return sessions.create(text)
        case ["logout", key]:
            return "true" if sessions.delete(key) else "false"
        case [name, *_]:
            raise Err(f"unknown command: {name}")
        case []:
            raise Err("no command")


def _visit(key):
    """Counts one visit; returns the session's key and the count."""
    if key is not None:
        data = _found_data(key)
        if data is not None:
            n = data.get("n", 0)
            # As the Rust version: a count that is no whole number counts as 0.
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                n = 0
            n += 1
            data["n"] = n
            sessions.save(key, _dumps(data), False)
            return f"{key} {n}"
    key = sessions.create(_dumps({"n": 1}))
    return f"{key} 1"


def _found_data(key):
    """The live session's data as a dict, `None` when there is none."""
    loaded = sessions.load(key)
    if not isinstance(loaded, Loaded_Found):
        return None
    try:
        data = json.loads(loaded.value.data)
    except ValueError as e:
        raise Err(f"session data is not JSON: {e}")
    if not isinstance(data, dict):
        raise Err("session data is not a JSON object")
    return data


def _dumps(data):
    """Python's compact JSON, the form the store itself writes."""
    return json.dumps(data, separators=(",", ":"))


def _case(loaded):
    """The WIT name of a `loaded` case that is not `found`."""
    if isinstance(loaded, Loaded_Missing):
        return "missing"
    if isinstance(loaded, Loaded_Expired):
        return "expired"
    if isinstance(loaded, Loaded_BadSignature):
        return "bad-signature"
    if isinstance(loaded, Loaded_Corrupt):
        return "corrupt"
    return "found"


def _why(error):
    """A store `error` as one readable line, named by its WIT case."""
    if isinstance(error, Error_InvalidKey):
        return "invalid-key"
    if isinstance(error, Error_AlreadyExists):
        return "already-exists"
    if isinstance(error, Error_NotFound):
        return "not-found"
    if isinstance(error, Error_TooLarge):
        return "too-large"
    if isinstance(error, Error_InvalidData):
        return f"invalid-data: {error.value}"
    if isinstance(error, Error_InvalidSettings):
        return f"invalid-settings: {error.value}"
    if isinstance(error, Error_Io):
        return f"io: {error.value}"
    return repr(error)
