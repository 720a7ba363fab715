"""Session data for the cache engine's tests (django_sessions.py imports it):
what pickle encodes in every way a Python dict of plain types can take, what
only Python's JSON can hold, objects that are not plain data, and a
type-exact comparison. The Rust side's copy of EXPECTED is
tests/all/support/django.rs `expected_json`.
"""

import datetime
import json
import math
import os

_shared = ["same", 1]
# Every plain type, with the encodings pickle picks for each: short and long
# str, ints of 1, 2 and 4 bytes and LONG1, floats, batches of more than
# 1000 list items and dict items, and a list referred to twice (a memo get).
EXPECTED = {
    "name": "Zoë Ünïcödé 日本語 🎉👩‍💻",
    "empty": "",
    "escapes": "quote \" backslash \\ newline \n tab \t nul \x00 del \x7f",
    "long": "ab" * 200 + "é",
    "n": 42,
    "zero": 0,
    "word": 65535,
    "neg": -7,
    "i32": 2147483647,
    "i32_over": 2147483648,
    "neg_i32_under": -2147483649,
    "i64max": 9223372036854775807,
    "big": 2**100,
    "neg_big": -(2**70),
    "pi": 3.141592653589793,
    "three": 3.0,
    "tiny": 1e-300,
    "huge": 1.7976931348623157e308,
    "neg_half": -0.5,
    "neg_zero": -0.0,
    "yes": True,
    "no": False,
    "nothing": None,
    "empty_list": [],
    "empty_dict": {},
    "list": [1, "two", 3.5, [None, True, False], {"k": "v"}],
    "nested": {"a": {"b": [{"c": "ü", "d": [[[]]]}]}, "": 0, "🔑": "emoji key"},
    "many": list(range(2500)),
    "many_keys": {f"k{i}": i for i in range(1200)},
    "shared_a": _shared,
    "shared_b": _shared,
    "records": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    "_auth_user_id": "42",
}


# What JSON text can hold only in Python's json (NaN, infinities) or with
# escapes (a lone surrogate), and so Rust strings cannot.
SPECIAL = {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "lone": "\ud800x", "pair": "\U0001f389"}


def differences(a, b, path="$"):
    """Where a and b differ, types included (True is not 1, 3.0 is not 3)."""
    if type(a) is not type(b):
        return [f"{path}: {a!r} ({type(a).__name__}) vs {b!r} ({type(b).__name__})"]
    if isinstance(a, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))!r} on one side only"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}[{k!r}]")]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float):
        same = (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
        return [] if same else [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


class Evil:
    """Pickles as a call of os.system: unpickling it runs the command."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def exotic(name, marker=None):
    return {
        "datetime": lambda: datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        "date": lambda: datetime.date(2024, 1, 2),
        "set": lambda: {"a", "b"},
        "frozenset": lambda: frozenset([1]),
        "tuple": lambda: (1, "two"),
        "bytes": lambda: b"\x00\x01",
        "int_key": lambda: {1: "one"},
        "complex": lambda: 1j,
        "evil": lambda: Evil(marker),
        "cycle": lambda: (lambda l: (l.append(l), l)[1])([]),
        "laughs": lambda: __import__("functools").reduce(lambda acc, _: [acc] * 10, range(9), ["lol"]),
    }[name]()


def jsonable(data):
    try:
        return json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError):
        return repr(data)
