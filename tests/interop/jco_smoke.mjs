// Drives the sessionbox component in Node through jco, with the UNPATCHED
// @bytecodealliance/preview2-shim: the preopen is configured only through the
// shim's own `_setPreopens` API, nothing of the shim is replaced.
//
//   node jco_smoke.mjs <transpiled.js> <session-dir> smoke <settings-json>
//   node jco_smoke.mjs <transpiled.js> <session-dir> calls <settings-json> <calls-json>
//
// <transpiled.js> is the module `jco transpile` wrote; it must sit below the
// npm project that holds jco and the shim, so that it and this script load the
// very same shim module (and so see the same preopens).
// <settings-json> is the WIT `settings` record with camelCase field names.
// <calls-json> is an array of {"fn": "load", "args": [...]} (args after the
// settings).
//
// Every call's outcome is printed in one normalized form, the same the tests
// turn wasmtime's WAVE output into:
//   {"ok": value}         a returned value (null for `result<_, error>`)
//   {"err": {"tag": ..}}  a WIT error (jco throws it as a ComponentError)
//   {"trap": "message"}   anything else the call threw
// Variants keep jco's shape, {"tag": "found", "val": {...}}; records take
// the WAVE output's shape: fields in kebab-case (jco names them in
// camelCase, `expiresAt`), and an s64 or u64 (a BigInt in jco) as an exact
// JSON number, `{"expires-at": {"seconds": 9223372036854775807, ...}}`.
//
// `smoke` runs the whole smoke scenario in ONE component instance (as a Node
// app would use it) and prints {"keys": {...}, "steps": {...}}; `calls` runs
// the given calls in one instance and prints an array of outcomes.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [, , transpiledArg, dirArg, mode, settingsArg, callsArg] = process.argv;
if (!transpiledArg || !dirArg || !mode || !settingsArg) {
    console.error("usage: jco_smoke.mjs <transpiled.js> <session-dir> smoke|calls <settings-json> [<calls-json>]");
    process.exit(2);
}
const transpiled = resolve(transpiledArg);

// Resolve the shim exactly as the transpiled module's own
// `import ... from "@bytecodealliance/preview2-shim/filesystem"` does.
const requireNearTranspiled = createRequire(pathToFileURL(transpiled));
const shimFilesystem = await import(
    pathToFileURL(requireNearTranspiled.resolve("@bytecodealliance/preview2-shim/filesystem")).href
);
if (typeof shimFilesystem._setPreopens !== "function") {
    throw new Error("this preview2-shim has no _setPreopens; the driver needs updating");
}
// The guest uses the first preopen; give it exactly one, the session dir.
shimFilesystem._setPreopens({ ".": resolve(dirArg) });

const { sessions } = await import(pathToFileURL(transpiled).href);

const raw = JSON.parse(settingsArg);
const settings = { ...raw, cookieAge: BigInt(raw.cookieAge) };

function outcome(f) {
    try {
        const value = f();
        return { ok: value === undefined ? null : value };
    } catch (e) {
        if (e && typeof e === "object" && "payload" in e) {
            return { err: e.payload };
        }
        return { trap: String(e && e.stack ? e.stack : e) };
    }
}

// A call's outcome in the normalized form: record fields in kebab-case.
function normalize(v) {
    if (Array.isArray(v)) {
        return v.map(normalize);
    }
    if (v !== null && typeof v === "object") {
        return Object.fromEntries(
            Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), normalize(x)]),
        );
    }
    return v;
}

// JSON.stringify's text, but with BigInts as exact numbers (JSON.stringify
// refuses them, and Node 20 has no JSON.rawJSON).
function toJson(v) {
    if (typeof v === "bigint") {
        return v.toString();
    }
    if (Array.isArray(v)) {
        return "[" + v.map((x) => (x === undefined ? "null" : toJson(x))).join(",") + "]";
    }
    if (v !== null && typeof v === "object") {
        const members = Object.entries(v).filter(([, x]) => x !== undefined);
        return "{" + members.map(([k, x]) => JSON.stringify(k) + ":" + toJson(x)).join(",") + "}";
    }
    return JSON.stringify(v);
}

function call(fn, args) {
    const exported = sessions[fn];
    if (typeof exported !== "function") {
        return { trap: `no export named ${fn}` };
    }
    return normalize(outcome(() => exported(settings, ...args)));
}

function okValue(o, what) {
    if (!("ok" in o)) {
        throw new Error(`${what} failed: ${JSON.stringify(o)}`);
    }
    return o.ok;
}

function smoke() {
    const steps = {};
    const keys = {};
    const step = (label, fn, ...args) => (steps[label] = call(fn, args));

    // create -> load -> save update -> load
    keys.first = okValue(step("create", "create", '{"user":"42"}'), "create");
    step("load_created", "load", keys.first);
    step("save_update", "save", keys.first, '{"user":"42","theme":"dark"}', false);
    step("load_updated", "load", keys.first);
    step("exists_first", "exists", keys.first);
    // cycle-key: the data moves to a new key, the old session is gone
    keys.cycled = okValue(step("cycle_key", "cycleKey", keys.first, '{"user":"42","theme":"dark"}'), "cycle-key");
    step("load_old_after_cycle", "load", keys.first);
    step("load_cycled", "load", keys.cycled);
    // delete, then an update of the deleted session is refused
    step("delete", "delete", keys.cycled);
    step("exists_after_delete", "exists", keys.cycled);
    step("save_deleted", "save", keys.cycled, '{"user":"42"}', false);
    step("load_invalid_key", "load", "NOT-A-KEY");
    // clear-expired: one already expired session, one live one
    keys.expired = okValue(step("create_expired", "create", '{"_session_expiry":"2001-01-01T00:00:00"}'), "create expired");
    keys.live = okValue(step("create_live", "create", '{"live":true}'), "create live");
    step("clear_expired", "clearExpired");
    step("exists_expired_after_clear", "exists", keys.expired);
    step("load_live_after_clear", "load", keys.live);
    return { keys, steps };
}

let result;
if (mode === "smoke") {
    result = smoke();
} else if (mode === "calls") {
    result = JSON.parse(callsArg ?? "[]").map(({ fn, args }) => call(fn, args ?? []));
} else {
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
process.stdout.write(toJson(result) + "\n");
