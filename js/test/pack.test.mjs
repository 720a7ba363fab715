// `npm pack` gives a tarball a fresh project installs (no registry upload
// of this package) and uses: a session written through it is read back by
// this checkout's store.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SessionboxStore } from "sessionbox-express";
import { tempDir } from "./helpers.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const pkg = JSON.parse(execFileSync("node", ["-p", "JSON.stringify(require('./package.json'))"], { cwd: root, encoding: "utf8" }));

test("npm pack's tarball installs into a fresh project and works there", (t) => {
    const tmp = tempDir(t);
    const packed = join(tmp, "packed");
    mkdirSync(packed);
    execFileSync("npm", ["pack", "--pack-destination", packed, "--loglevel=error"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    const [tarball] = readdirSync(packed);
    assert.equal(tarball, `${pkg.name}-${pkg.version}.tgz`);
    const listing = execFileSync("tar", ["-tzf", join(packed, tarball)], { encoding: "utf8" }).split("\n");
    for (const needed of ["package/gen/sessionbox.js", "package/gen/sessionbox.core.wasm", "package/gen/component.json", "package/src/index.d.ts", "package/README.md"]) {
        assert.ok(listing.includes(needed), `${needed} in the tarball`);
    }
    assert.ok(!listing.some((f) => f.includes("node_modules") || f.startsWith("package/test/")), "no node_modules or tests");

    const app = join(tmp, "app");
    mkdirSync(app);
    writeFileSync(
        join(app, "package.json"),
        JSON.stringify({ name: "fresh-app", private: true, type: "module", dependencies: { "sessionbox-express": `file:${join(packed, tarball)}`, "express-session": pkg.devDependencies["express-session"] } }),
    );
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd: app, stdio: ["ignore", "ignore", "inherit"] });
    const sessions = join(tmp, "sessions");
    writeFileSync(
        join(app, "use.mjs"),
        `import { SessionboxStore, component } from "sessionbox-express";
const store = new SessionboxStore({ dir: process.argv[2], secretKey: "pack-secret" });
const req = {};
const key = store.genid(req);
const sess = { user: "from the tarball", cookie: { originalMaxAge: 1209600000 } };
Object.defineProperty(sess, "req", { value: req });
await new Promise((resolve, reject) => store.set(key, sess, (e) => (e ? reject(e) : resolve())));
console.log(JSON.stringify({ key, version: component.version }));
`,
    );
    const out = JSON.parse(execFileSync("node", ["use.mjs", sessions], { cwd: app, encoding: "utf8" }));
    assert.equal(out.version, pkg.version);
    const here = new SessionboxStore({ dir: sessions, secretKey: "pack-secret" });
    assert.equal(here.load(out.key).user, "from the tarball");
});
