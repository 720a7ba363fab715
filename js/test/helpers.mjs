// Shared by the tests: a real express app with express-session on a
// SessionboxStore over a fresh directory, served on 127.0.0.1, and plain
// HTTP requests to it.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import { SessionboxStore, session } from "sessionbox-express";

export const SECRET = "node-store-test-secret-\u00e9";

/** A fresh temporary directory, removed by `t.after`. */
export function tempDir(t) {
    const dir = mkdtempSync(join(tmpdir(), "sessionbox-express-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
}

/**
 * An express app on a SessionboxStore over a fresh directory, served on
 * 127.0.0.1; `routes(app, store)` adds the handlers. Closed by `t.after`.
 */
export async function serve(t, routes, storeOptions = {}, sessionOptions = {}) {
    const dir = storeOptions.dir ?? tempDir(t);
    const store = new SessionboxStore({ dir, secretKey: SECRET, ...storeOptions });
    const app = express();
    const errors = [];
    app.use(session({ store, ...sessionOptions }));
    routes(app, store);
    app.use((err, _req, res, _next) => {
        if (res.headersSent) {
            // express-session's own save at the end of a response fails
            // after the status went out: all that is left is to end it.
            errors.push(err);
            res.end();
            return;
        }
        res.status(err.status ?? 500).type("text").send(`${err.code ?? ""} ${err.message}`);
    });
    const server = await new Promise((resolve) => {
        const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${server.address().port}`;
    return { store, dir, base, app, errors };
}

/**
 * `GET path` (or `method`) with the cookie header `cookie`; returns the
 * status, the body, the session cookie's value a `Set-Cookie` gave (`""`
 * for a deletion, `undefined` for none) and the raw Set-Cookie lines.
 */
export async function request(base, path, { cookie, method = "GET", body } = {}) {
    const headers = {};
    if (cookie !== undefined) {
        headers.cookie = cookie;
    }
    if (body !== undefined) {
        headers["content-type"] = "application/x-www-form-urlencoded";
    }
    const res = await fetch(base + path, { method, headers, body, redirect: "manual" });
    const setCookies = res.headers.getSetCookie();
    let session;
    for (const line of setCookies) {
        if (line.startsWith("sessionid=")) {
            session = line.slice("sessionid=".length).split(";")[0].replace(/^"(.*)"$/, "$1");
        }
    }
    return { status: res.status, body: await res.text(), session, setCookies };
}

/** The session file's name for `key`. */
export const fileName = (key) => `sessionid${key}`;
