// Compiled (never run) by types.test.mjs: the declarations in src/index.d.ts
// must type a real consumer, and reject wrong use.
import express from "express";
import { SessionboxStore, SessionboxError, session, djangoCookie, auth, component, isSessionKey, type SweepReport } from "sessionbox-express";

const store = new SessionboxStore({ dir: "/tmp/x", secretKey: "s", durability: "file", fallbackKeys: ["old"], cookieAge: 60 });
const app = express();
app.use(session({ store, rolling: false }));
app.use(djangoCookie({ name: "sessionid" }));
const report: SweepReport = store.clearExpired();
const n: number = report.deleted + component.version.length;
const key: string = store.genid({});
if (isSessionKey(key)) {
    store.get(key, (err, sess) => console.log(err, sess?.cookie, n));
}
app.post("/login", async (req, res) => {
    await auth.login(req, { id: "1", passwordHash: "pbkdf2_sha256$1$s$h" }, "secret");
    const id: string | null = await auth.verifiedUserId(req, { id: "1", passwordHash: "x" }, "secret");
    res.send(String(id));
});
const e: unknown = null;
if (e instanceof SessionboxError) {
    const status: number = e.status;
    console.log(e.code, status);
}
// @ts-expect-error durability is one of none | file | full
new SessionboxStore({ dir: "/tmp/x", secretKey: "s", durability: "fast" });
// @ts-expect-error session() sets the secret itself
session({ store, secret: "no" });
// @ts-expect-error dir is required
new SessionboxStore({ secretKey: "s" });
