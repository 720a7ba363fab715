// Per-operation cost of express-session stores in one Node process: the
// sessionbox store (the component through jco; durability `none`, Django's,
// and `file`, an fsync before the rename) beside session-file-store (JSON
// files written by write-file-atomic, which fsyncs before its rename) and
// express-session's MemoryStore; and where the sessionbox store's time
// goes (a bare component call, the component's load and save alone, the
// same file syscalls from Node directly).
//
//   node bench/bench.mjs '<~200 B session JSON>' '<its update>' [--ops N] [--rounds R]
//
// Prints one JSON object: {"rows": [{op, sessionbox_none, sessionbox_file,
// file_store, memory}], "bounds": {...}} in µs per operation, each the median
// of R rounds, the variants interleaved round by round on fresh
// directories. tests/benches/sessions/node.rs runs it and writes the table.

import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, fsyncSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { Session } from "node:inspector";
import { join } from "node:path";
import expressSession from "express-session";
import fileStoreFactory from "session-file-store";
import { SessionboxStore, newSessionKey } from "sessionbox-express";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
    const at = args.indexOf(name);
    return at < 0 ? fallback : Number(args[at + 1]);
};
const [json, updateJson] = args;
if (!json || !updateJson) {
    console.error("usage: bench.mjs <session-json> <update-json> [--ops N] [--rounds R]");
    process.exit(2);
}
const OPS = flag("--ops", 1000);
const ROUNDS = flag("--rounds", 5);
const SECRET = "bench-secret-0123456789";
const FileStore = fileStoreFactory(expressSession);
const MemoryStore = expressSession.MemoryStore;

const data = JSON.parse(json);
const update = JSON.parse(updateJson);
const cookie = () => ({ originalMaxAge: 1_209_600_000, expires: new Date(Date.now() + 1_209_600_000).toISOString(), httpOnly: true, path: "/", sameSite: "lax" });

/** An express Session as a store sees it: data, a cookie, and the hidden `req` its genid saw. */
function sessionOf(d, req) {
    const s = { ...d, cookie: cookie() };
    Object.defineProperty(s, "req", { value: req, enumerable: false });
    return s;
}

const cb = (f) => new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The stores, each opened on a fresh directory. */
const VARIANTS = {
    sessionbox_none: (dir) => new SessionboxStore({ dir, secretKey: SECRET, durability: "none" }),
    sessionbox_file: (dir) => new SessionboxStore({ dir, secretKey: SECRET, durability: "file" }),
    file_store: (dir) => new FileStore({ path: dir, ttl: 1_209_600, retries: 0, reapInterval: -1, logFn: () => {} }),
    memory: () => new MemoryStore(),
};

/** A new id and its session as each store's caller makes them (sessionbox: its genid, so the save creates). */
function fresh(store) {
    const req = {};
    const id = store instanceof SessionboxStore ? store.genid(req) : newSessionKey();
    return { id, req };
}

/** µs per op of `op` on a fresh store of `variant`, over n sessions. */
async function timeOp(variant, op, n) {
    const dir = mkdtempSync(join(tmpdir(), "sessionbox-node-bench-"));
    try {
        const store = VARIANTS[variant](dir);
        const ids = [];
        if (op !== "create") {
            for (let i = 0; i < n; i++) {
                const { id, req } = fresh(store);
                await cb((k) => store.set(id, sessionOf(data, req), k));
                ids.push(id);
            }
        }
        let start;
        if (op === "create") {
            const made = Array.from({ length: n }, () => fresh(store));
            start = performance.now();
            for (const { id, req } of made) {
                await cb((k) => store.set(id, sessionOf(data, req), k));
            }
        } else if (op === "load") {
            start = performance.now();
            for (const id of ids) {
                const s = await cb((k) => store.get(id, k));
                if (!s) throw new Error(`${variant} lost a session`);
            }
        } else if (op === "update") {
            start = performance.now();
            for (const id of ids) {
                await cb((k) => store.set(id, sessionOf(update, {}), k));
            }
        } else if (op === "touch") {
            start = performance.now();
            for (const id of ids) {
                await cb((k) => store.touch(id, sessionOf(data, {}), k));
            }
        } else if (op === "destroy") {
            start = performance.now();
            for (const id of ids) {
                await cb((k) => store.destroy(id, k));
            }
        }
        return ((performance.now() - start) * 1000) / n;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** µs per call of `f`, n calls. */
function perCall(n, f) {
    const start = performance.now();
    for (let i = 0; i < n; i++) f(i);
    return ((performance.now() - start) * 1000) / n;
}

/**
 * The fraction of the CPU profile of `f` spent in the shim's synchronous
 * calls to its I/O worker (synckit's wait, the message posting around it).
 */
async function workerShare(f) {
    const session = new Session();
    session.connect();
    const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: 100 });
    await post("Profiler.start");
    f();
    const { profile } = await post("Profiler.stop");
    session.disconnect();
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    let worker = 0;
    let total = 0;
    profile.samples.forEach((id, i) => {
        const dt = profile.timeDeltas[i] ?? 0;
        const { functionName, url } = byId.get(id).callFrame;
        if (functionName === "(idle)" || functionName === "(program)") {
            return;
        }
        total += dt;
        if ((functionName === "syncFn" && url.includes("synckit")) || functionName === "postMessage" || functionName === "receiveMessageOnPort") {
            worker += dt;
        }
    });
    return total > 0 ? worker / total : 0;
}

/** Where the sessionbox store's time goes, on one directory, durability none. */
async function bounds(n) {
    const dir = mkdtempSync(join(tmpdir(), "sessionbox-node-bench-"));
    try {
        const store = new SessionboxStore({ dir, secretKey: SECRET, durability: "none" });
        const h = store.handle;
        const keys = Array.from({ length: n }, () => {
            const k = newSessionKey();
            h.save(k, json, true);
            return k;
        });
        const text = readFileSync(join(dir, `sessionid${keys[0]}`), "utf8");
        return {
            // A call that reaches the guest and returns at once: an empty
            // signed-cookie value is `missing`, no storage, no crypto.
            bare_call: median([1, 2, 3].map(() => perCall(n, () => h.decodeCookie("")))),
            // Signing and encoding only (no storage): Django's signed-cookie form of the session.
            encode_only: median([1, 2, 3].map(() => perCall(n, () => h.encodeCookie(json)))),
            component_load: median([1, 2, 3].map(() => perCall(n, (i) => h.load(keys[i])))),
            store_load: median([1, 2, 3].map(() => perCall(n, (i) => store.load(keys[i])))),
            component_update: median([1, 2, 3].map(() => perCall(n, (i) => h.save(keys[i], updateJson, false)))),
            // The same file work done from Node directly.
            node_read: median([1, 2, 3].map(() => perCall(n, (i) => readFileSync(join(dir, `sessionid${keys[i]}`), "utf8")))),
            node_replace: median(
                [1, 2, 3].map(() =>
                    perCall(n, (i) => {
                        const tmp = join(dir, `.tmp${i}`);
                        writeFileSync(tmp, text);
                        renameSync(tmp, join(dir, `sessionid${keys[i]}`));
                    }),
                ),
            ),
            node_replace_fsync: median(
                [1].map(() =>
                    perCall(Math.min(n, 200), (i) => {
                        const tmp = join(dir, `.tmp${i}`);
                        const fd = openSync(tmp, "w");
                        writeFileSync(fd, text);
                        fsyncSync(fd);
                        closeSync(fd);
                        renameSync(tmp, join(dir, `sessionid${keys[i]}`));
                    }),
                ),
            ),
            file_bytes: text.length,
            // The share of a component load spent waiting on the shim's
            // I/O worker thread (its file streams are served there,
            // synchronously, through Atomics.wait), from a CPU profile.
            load_worker_share: await workerShare(() => perCall(n, (i) => h.load(keys[i]))),
            update_worker_share: await workerShare(() => perCall(n, (i) => h.save(keys[i], updateJson, false))),
        };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

const OPS_LIST = ["create", "load", "update", "touch", "destroy"];
const rows = [];
for (const op of OPS_LIST) {
    const times = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []]));
    // Loads are the cheapest: more rounds for a steadier median.
    const rounds = op === "load" ? ROUNDS * 2 : ROUNDS;
    for (let r = 0; r < rounds; r++) {
        for (const v of Object.keys(VARIANTS)) {
            // Writes that fsync are slow: fewer of them.
            const n = v === "sessionbox_file" || v === "file_store" ? Math.max(20, Math.floor(OPS / 5)) : OPS;
            times[v].push(await timeOp(v, op, n));
        }
    }
    const row = { op, ...Object.fromEntries(Object.entries(times).map(([v, xs]) => [v, median(xs)])) };
    console.error(JSON.stringify(row));
    rows.push(row);
}
const b = await bounds(OPS);
console.error(JSON.stringify(b));
process.stdout.write(JSON.stringify({ rows, bounds: b, ops: OPS, rounds: ROUNDS, node: process.version, json_bytes: json.length }) + "\n");
