// The store under the real express-session, over a real directory, every
// read and write through the component (jco): sessions, Django's cookie,
// expiry, races, all/length/clear.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SessionboxStore, isSessionKey, newSessionKey } from "sessionbox-express";
import { SECRET, fileName, request, serve, tempDir } from "./helpers.mjs";

const counter = (app) => {
    app.get("/", (req, res) => {
        req.session.counter = (req.session.counter ?? 0) + 1;
        res.type("text").send(String(req.session.counter));
    });
    app.get("/peek", (req, res) => res.type("text").send(JSON.stringify({ counter: req.session.counter ?? null, id: req.sessionID })));
    app.post("/logout", (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.type("text").send("out"))));
};

/** The session data of `key` as another instance of the component reads it (no `cookie`). */
function readBack(dir, key, options = {}) {
    const other = new SessionboxStore({ dir, secretKey: SECRET, ...options });
    const sess = other.load(key);
    if (sess) {
        delete sess.cookie;
    }
    return sess;
}

test("a session is one Django file, named by the raw key the cookie carries", async (t) => {
    const { base, dir } = await serve(t, counter);
    const first = await request(base, "/");
    assert.equal(first.body, "1");
    const key = first.session;
    assert.ok(isSessionKey(key) && key.length === 32, `a Django key in the cookie, not express's s:-signed id: ${first.setCookies}`);
    assert.match(first.setCookies[0], /^sessionid=[a-z0-9]{32}; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    assert.deepEqual(readdirSync(dir), [fileName(key)]);
    const text = await import("node:fs").then((fs) => fs.readFileSync(join(dir, fileName(key)), "utf8"));
    assert.equal(text.split(":").length, 3, "Django's payload:timestamp:signature");
    for (let n = 2; n <= 3; n++) {
        const again = await request(base, "/", { cookie: `sessionid=${key}` });
        assert.equal(again.body, String(n));
    }
    assert.deepEqual(readBack(dir, key), { counter: 3 }, "express's cookie is not stored in the session");
    assert.deepEqual(readdirSync(dir), [fileName(key)], "one file for three visits");
});

test("an unmodified page creates no session (saveUninitialized: false, as Django)", async (t) => {
    const { base, dir } = await serve(t, counter);
    const r = await request(base, "/peek");
    assert.equal(r.session, undefined);
    assert.deepEqual(readdirSync(dir), []);
});

test("cookie values that are no session key are never trusted", async (t) => {
    const { base, dir, store } = await serve(t, counter);
    const key = (await request(base, "/")).session;
    // express-session's own signed form, an upper-case copy, a path, a short value.
    for (const hostile of [`s%3A${key}.abc`, key.toUpperCase(), `../${key}`, "short", `"${key}x"`.replace("x", "!")]) {
        const r = await request(base, "/", { cookie: `sessionid=${hostile}` });
        assert.equal(r.body, "1", `a fresh session for ${hostile}`);
        assert.notEqual(r.session, key);
    }
    // Django's parse_cookie: the last one wins, quotes stripped.
    const r = await request(base, "/", { cookie: `sessionid=zzzzzzzzzz; other=1; sessionid="${key}"` });
    assert.equal(r.body, "2");
    assert.equal(readdirSync(dir).length, 6);
    assert.equal(store.keys().length, 6);
});

test("a key signed with another secret reads as no session (bad signature), and a fallback key reads it", async (t) => {
    const dir = tempDir(t);
    const old = new SessionboxStore({ dir, secretKey: "the-old-secret" });
    const { base } = await serve(t, counter, { dir, fallbackKeys: [] });
    const key = newSessionKey();
    const req = {};
    old.generated.set(req, key);
    old.save(key, sessionLike(req, { counter: 41 }));
    assert.equal((await request(base, "/", { cookie: `sessionid=${key}` })).body, "1", "another secret: a new session");
    const rotated = await serve(t, counter, { dir, fallbackKeys: ["the-old-secret"] });
    const r = await request(rotated.base, "/", { cookie: `sessionid=${key}` });
    assert.equal(r.body, "42", "SECRET_KEY_FALLBACKS reads it");
});

/** An express Session as the store sees it: data, a cookie, a hidden `req`. */
function sessionLike(req, data, cookie = { originalMaxAge: 1_209_600_000 }) {
    const sess = { ...data, cookie };
    Object.defineProperty(sess, "req", { value: req, enumerable: false });
    return sess;
}

test("logout deletes the file and the cookie; no request brings the session back", async (t) => {
    const { base, dir } = await serve(t, counter);
    const key = (await request(base, "/")).session;
    const out = await request(base, "/logout", { cookie: `sessionid=${key}`, method: "POST" });
    assert.equal(out.body, "out");
    assert.equal(out.session, "", `Django's deletion cookie: ${out.setCookies}`);
    assert.match(out.setCookies[0], /^sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=\/; SameSite=Lax$/);
    assert.deepEqual(readdirSync(dir), []);
    const after = await request(base, "/peek", { cookie: `sessionid=${key}` });
    assert.equal(JSON.parse(after.body).counter, null);
    assert.deepEqual(readdirSync(dir), []);
});

test("a logout racing two dozen requests that loaded the session: 0 of 24 saves bring it back", { timeout: 60_000 }, async (t) => {
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    let loaded = 0;
    let allLoaded;
    const everyoneIn = new Promise((resolve) => (allLoaded = resolve));
    const { base, dir, errors } = await serve(t, (app) => {
        counter(app);
        app.get("/slow", async (req, res, next) => {
            const seen = req.session.counter;
            if (++loaded === 24) {
                allLoaded();
            }
            await gate;
            req.session.counter = seen + 100;
            // Saved before answering, so a failed save can still say so.
            req.session.save((err) => (err ? next(err) : res.type("text").send("saved")));
        });
        app.get("/slow-auto", async (req, res) => {
            const seen = req.session.counter;
            if (++loaded === 24) {
                allLoaded();
            }
            await gate;
            req.session.counter = seen + 100;
            res.type("text").send("answered before express-session's save");
        });
    });
    const key = (await request(base, "/")).session;
    const slow = Array.from({ length: 12 }, () => request(base, "/slow", { cookie: `sessionid=${key}` }));
    // The same with express-session's automatic save at the end of the
    // response: its error can no longer change the status, but nothing is
    // recreated either.
    const auto = Array.from({ length: 12 }, () => request(base, "/slow-auto", { cookie: `sessionid=${key}` }));
    await everyoneIn;
    assert.equal((await request(base, "/logout", { cookie: `sessionid=${key}`, method: "POST" })).body, "out");
    assert.deepEqual(readdirSync(dir), []);
    release();
    const results = await Promise.all(slow);
    const statuses = results.map((r) => r.status);
    assert.deepEqual(statuses, Array(12).fill(400), "each save finds its session deleted: Django's SessionInterrupted (400)");
    for (const r of results) {
        assert.match(r.body, /SESSIONBOX_NOT_FOUND/);
        assert.ok(!r.body.includes(key), "no session key in the error");
    }
    const automatic = await Promise.all(auto);
    // express-session hands its error on after ending the response.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(automatic.map((r) => r.status), Array(12).fill(200));
    assert.deepEqual(errors.map((e) => e.code), Array(12).fill("SESSIONBOX_NOT_FOUND"), "each automatic save failed, and said so");
    assert.deepEqual(readdirSync(dir), [], "no save recreated the session");
});

test("the store's save refuses to recreate a deleted session; only the request whose genid made the key creates", (t) => {
    const dir = tempDir(t);
    const store = new SessionboxStore({ dir, secretKey: SECRET });
    const req = {};
    const key = store.genid(req);
    assert.ok(isSessionKey(key) && key.length === 32);
    store.save(key, sessionLike(req, { a: 1 }));
    store.save(key, sessionLike(req, { a: 2 }));
    assert.deepEqual(readBack(dir, key), { a: 2 }, "the second save of that request updates");
    store.destroy(key);
    assert.throws(() => store.save(key, sessionLike(req, { a: 3 })), (e) => e.code === "SESSIONBOX_NOT_FOUND" && e.status === 400 && !e.message.includes(key));
    // A key express-session did not get from this store's genid.
    const stranger = newSessionKey();
    assert.throws(() => store.save(stranger, sessionLike({}, { a: 1 })), (e) => e.code === "SESSIONBOX_NOT_FOUND");
    assert.deepEqual(readdirSync(dir), []);
});

test("expiry: the cookie's maxAge is Django's _session_expiry, and back", async (t) => {
    const { base, dir, store } = await serve(t, (app) => {
        counter(app);
        app.get("/expiry", (req, res, next) => {
            req.session.cookie.maxAge = Number(req.query.seconds) * 1000;
            req.session.save((err) => (err ? next(err) : res.type("text").send("ok")));
        });
        app.get("/age", (req, res) => res.type("text").send(JSON.stringify([req.session.cookie.originalMaxAge, req.session.counter ?? null])));
    });
    const key = (await request(base, "/")).session;
    assert.deepEqual(readBack(dir, key), { counter: 1 }, "the default age writes no _session_expiry");
    const set = await request(base, "/expiry?seconds=300", { cookie: `sessionid=${key}` });
    assert.equal(set.body, "ok");
    assert.deepEqual(readBack(dir, key), { counter: 1, _session_expiry: 300 }, "set_expiry(300), as Django writes it");
    assert.deepEqual(JSON.parse((await request(base, "/age", { cookie: `sessionid=${key}` })).body), [300_000, 1]);
    // An unrelated change keeps the expiry.
    await request(base, "/", { cookie: `sessionid=${key}` });
    assert.deepEqual(readBack(dir, key), { counter: 2, _session_expiry: 300 });

    // Django's set_expiry(120), written by another writer: express reads 120 s.
    const other = new SessionboxStore({ dir, secretKey: SECRET });
    other.handle.save(key, JSON.stringify({ counter: 2, _session_expiry: 120 }), false);
    assert.deepEqual(JSON.parse((await request(base, "/age", { cookie: `sessionid=${key}` })).body), [120_000, 2]);
    // A moment already past (Django's set_expiry(-1)): no session; its file goes.
    other.handle.save(key, JSON.stringify({ counter: 2, _session_expiry: -1 }), false);
    assert.deepEqual(JSON.parse((await request(base, "/age", { cookie: `sessionid=${key}` })).body)[1], null);
    assert.equal(existsSync(join(dir, fileName(key))), false, "the expired file is deleted when read");
    // An ISO datetime (Django's set_expiry(datetime)): found until then.
    const iso = new Date(Date.now() + 3_600_000).toISOString().replace("Z", "+00:00");
    const k2 = store.genid({});
    other.handle.save(k2, JSON.stringify({ x: 1, _session_expiry: iso }), true);
    const [age] = JSON.parse((await request(base, "/age", { cookie: `sessionid=${k2}` })).body);
    assert.ok(age > 3_590_000 && age <= 3_600_000, `about an hour left: ${age}`);
});

test("without _session_expiry a session expires cookieAge after its file's last write", async (t) => {
    const { base, dir } = await serve(t, counter, { cookieAge: 60 });
    const key = (await request(base, "/")).session;
    const path = join(dir, fileName(key));
    const old = new Date(Date.now() - 61_000);
    utimesSync(path, old, old);
    const r = await request(base, "/peek", { cookie: `sessionid=${key}` });
    assert.equal(JSON.parse(r.body).counter, null, "expired");
    assert.equal(existsSync(path), false);
});

test("touch moves an unmodified session's last write without rewriting it; with touch: false nothing is written", async (t) => {
    for (const touch of [true, false]) {
        const { base, dir } = await serve(t, counter, { touch });
        const key = (await request(base, "/")).session;
        const path = join(dir, fileName(key));
        const old = new Date(Date.now() - 30_000);
        utimesSync(path, old, old);
        const bytes = readFileSync(path);
        assert.equal(JSON.parse((await request(base, "/peek", { cookie: `sessionid=${key}` })).body).counter, 1);
        const moved = statSync(path).mtimeMs > old.getTime() + 1000;
        assert.equal(moved, touch, `touch: ${touch}`);
        assert.deepEqual(readFileSync(path), bytes, "touched, not rewritten");
        assert.deepEqual(readBack(dir, key), { counter: 1 });
    }
});

test("touch never brings back a deleted session", (t) => {
    const dir = tempDir(t);
    const store = new SessionboxStore({ dir, secretKey: SECRET });
    const key = newSessionKey();
    let err = "unset";
    store.touch(key, sessionLike({}, {}), (e) => (err = e));
    return new Promise((resolve) =>
        setImmediate(() => {
            assert.equal(err, null);
            assert.deepEqual(readdirSync(dir), []);
            resolve();
        }),
    );
});

test("all, length and clear: the live sessions of the directory, files of others left alone", async (t) => {
    const { base, dir, store } = await serve(t, counter, { cookieAge: 60 });
    const keys = [];
    for (let i = 0; i < 3; i++) {
        keys.push((await request(base, "/")).session);
    }
    writeFileSync(join(dir, "not-a-session.txt"), "left alone");
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(dir, fileName(keys[2])), old, old);
    const all = await new Promise((resolve, reject) => store.all((e, v) => (e ? reject(e) : resolve(v))));
    assert.deepEqual(Object.keys(all).sort(), keys.slice(0, 2).sort());
    assert.equal(all[keys[0]].counter, 1);
    assert.equal(typeof all[keys[0]].cookie.expires, "string");
    assert.equal(await new Promise((resolve, reject) => store.length((e, n) => (e ? reject(e) : resolve(n)))), 2);
    assert.equal(existsSync(join(dir, fileName(keys[2]))), false, "the expired one was deleted on the way");
    await new Promise((resolve, reject) => store.clear((e) => (e ? reject(e) : resolve())));
    assert.deepEqual(readdirSync(dir), ["not-a-session.txt"]);
});

test("clearExpired sweeps in the component", (t) => {
    const dir = tempDir(t);
    const store = new SessionboxStore({ dir, secretKey: SECRET });
    store.handle.save(store.genid({}), JSON.stringify({ _session_expiry: "2001-01-01T00:00:00" }), true);
    store.handle.save(store.genid({}), JSON.stringify({ live: true }), true);
    assert.deepEqual(store.clearExpired(), { scanned: 2, deleted: 1, skipped: 0 });
    assert.equal(readdirSync(dir).length, 1);
});

test("stores over two directories in one process never mix", async (t) => {
    const a = await serve(t, counter);
    const b = await serve(t, counter);
    const key = (await request(a.base, "/")).session;
    assert.equal((await request(b.base, "/", { cookie: `sessionid=${key}` })).body, "1", "b has no such session");
    assert.equal((await request(a.base, "/", { cookie: `sessionid=${key}` })).body, "2");
    assert.equal(readdirSync(a.dir).length, 1);
    assert.equal(readdirSync(b.dir).length, 1);
});

test("the component's limits come through as errors with codes, never a whole key", async (t) => {
    const { base, dir } = await serve(
        t,
        (app) =>
            app.get("/big", (req, res, next) => {
                req.session.blob = "x".repeat(200);
                req.session.save((err) => (err ? next(err) : res.type("text").send("big")));
            }),
        { maxSessionSize: 64 },
    );
    const r = await request(base, "/big");
    assert.equal(r.status, 500);
    assert.match(r.body, /SESSIONBOX_TOO_LARGE/);
    assert.deepEqual(readdirSync(dir), []);
    assert.throws(() => new SessionboxStore({ dir, secretKey: SECRET, filePrefix: "../x" }), (e) => e.code === "SESSIONBOX_INVALID_SETTINGS");
    assert.throws(() => new SessionboxStore({ dir }), TypeError);
});
