// An express app sharing one login with Django (and the sessionbox Rust
// demo) over one session directory: the same pages, with the same element
// ids, as examples/demo (the axum app) and the Django test site.
//
//   SESSIONBOX_DIR=/path/to/sessions SECRET_KEY=... PORT=3000 \
//   SESSIONBOX_USERS='[{"id":"1","username":"alice","password_hash":"pbkdf2_sha256$..."}]' \
//   node examples/app.mjs
//
// SESSIONBOX_USERS holds Django's `auth_user` rows as far as a login needs
// them (id, username, the stored password hash). SESSION_EXPIRE_AT_BROWSER_CLOSE=1
// gives browser-session cookies, as Django's setting does.
//
// Routes: / (visit counter), /login, /logout (POST logs out), /session,
// /set?key=K&value=V, /expiry?seconds=N (Django's set_expiry), /healthz.

import express from "express";
import { SessionboxStore, session, auth } from "sessionbox-express";

const env = (name, fallback) => {
    const v = process.env[name];
    if (v === undefined || v === "") {
        if (fallback === undefined) {
            console.error(`examples/app.mjs needs the environment variable ${name}`);
            process.exit(2);
        }
        return fallback;
    }
    return v;
};

const secretKey = env("SECRET_KEY");
const users = JSON.parse(env("SESSIONBOX_USERS", "[]")).map((u) => ({ id: String(u.id), username: u.username, passwordHash: u.password_hash }));
const store = new SessionboxStore({
    dir: env("SESSIONBOX_DIR"),
    secretKey,
    expireAtBrowserClose: ["1", "true", "yes"].includes(env("SESSION_EXPIRE_AT_BROWSER_CLOSE", "0").toLowerCase()),
});
// A login costs what a user's hash costs even for an unknown name.
const dummyHash = `pbkdf2_sha256$${users.map((u) => Number(u.passwordHash.split("$")[1]) || 0).reduce((a, b) => Math.max(a, b), 1_000_000)}$unknownuser$`;

const app = express();
app.disable("x-powered-by");
app.use(express.urlencoded({ extended: false }));
app.get("/healthz", (_req, res) => res.type("text").send("ok"));
app.use(session({ store }));

const escape = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const page = (title, body) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body>` +
    `<nav><a href="/">counter</a> · <a href="/session">session</a> · <a href="/login">log in</a> · <a href="/logout">log out</a></nav>` +
    `<h1>${escape(title)}</h1>${body}</body></html>`;

async function currentUser(req) {
    const id = auth.userId(req);
    const user = users.find((u) => u.id === id);
    if (!user) {
        return null;
    }
    return (await auth.verifiedUserId(req, user, secretKey)) === null ? null : user;
}
const userLine = (user) => `<p>User: <span id="user">${escape(user ? user.username : "anonymous")}</span></p>`;

app.get("/", async (req, res, next) => {
    try {
        req.session.counter = (req.session.counter ?? 0) + 1;
        const user = await currentUser(req);
        res.send(page("sessionbox express", `<p>Visits: <span id="count">${req.session?.counter ?? 1}</span></p>${userLine(user)}`));
    } catch (e) {
        next(e);
    }
});

app.get("/login", (_req, res) =>
    res.send(
        page(
            "Log in",
            `<form method="post" action="/login"><label>User name <input id="username" name="username"></label>` +
                `<label>Password <input id="password" name="password" type="password"></label>` +
                `<button id="submit" type="submit">Log in</button></form>`,
        ),
    ),
);

app.post("/login", async (req, res, next) => {
    try {
        const user = users.find((u) => u.username === req.body.username);
        const ok = auth.checkPassword(String(req.body.password ?? ""), user ? user.passwordHash : dummyHash) && user !== undefined;
        if (!ok) {
            res.status(401).send(page("Log in", `<p id="error">Wrong user name or password.</p>`));
            return;
        }
        await auth.login(req, user, secretKey);
        req.session.save((err) => (err ? next(err) : res.redirect(303, "/session")));
    } catch (e) {
        next(e);
    }
});

app.get("/logout", (_req, res) =>
    res.send(page("Log out", `<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>`)),
);

app.post("/logout", async (req, res, next) => {
    try {
        await auth.logout(req);
        res.send(page("Logged out", userLine(null)));
    } catch (e) {
        next(e);
    }
});

app.get("/session", async (req, res, next) => {
    try {
        const user = await currentUser(req);
        const data = req.session ? Object.fromEntries(Object.entries(req.session).filter(([k]) => k !== "cookie")) : {};
        const age = req.session?.cookie?.originalMaxAge;
        res.send(
            page(
                "Session",
                `${userLine(user)}<p>Key: <code id="key">${escape(req.session ? req.sessionID : "")}</code></p>` +
                    `<pre id="session">${escape(JSON.stringify(data, null, 2))}</pre>` +
                    `<p>Expires in <span id="expiry-age">${age === null || age === undefined ? store.cookieAge : Math.round(age / 1000)}</span> s.</p>`,
            ),
        );
    } catch (e) {
        next(e);
    }
});

app.get("/set", (req, res) => {
    const { key, value } = req.query;
    if (typeof key !== "string" || typeof value !== "string" || key === "") {
        res.status(400).send(page("Set", `<p id="error">Give key and value.</p>`));
        return;
    }
    req.session[key] = value;
    res.send(page("Set", `<p id="ok">${escape(key)} = ${escape(value)}</p>`));
});

app.get("/expiry", (req, res, next) => {
    const seconds = Number.parseInt(String(req.query.seconds ?? "0"), 10) || 0;
    // Django's set_expiry(N): 0 is a browser-session cookie. express-session
    // saves a session whose cookie alone changed only when asked to.
    req.session.cookie.maxAge = seconds === 0 ? null : seconds * 1000;
    req.session.save((err) => (err ? next(err) : res.send(page("Expiry", `<p id="ok">expires in ${seconds} s</p>`))));
});

app.use((err, _req, res, _next) => {
    const status = err.status ?? 500;
    if (status >= 500) {
        console.error(err);
    }
    res.status(status).send(page("Error", `<p id="error">${escape(err.message)}</p>`));
});

const port = Number(env("PORT", "3000"));
const server = app.listen(port, "127.0.0.1", () => console.log(`sessionbox-express example on http://127.0.0.1:${port}/ (sessions in ${store.dir})`));
server.on("error", (e) => {
    console.error(`listening on 127.0.0.1:${port}: ${e.message}`);
    process.exit(1);
});
