// The npm version is the component's: package.json, the WIT package
// (`package sessionbox:store@X;`), the built gen/ and what the package
// exports agree, and gen/ holds the component the Rust host embeds.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { component } from "sessionbox-express";

const root = new URL("../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));

test("package.json's version is the WIT package's version", () => {
    const wit = readFileSync(new URL(pkg.sessionbox.wit, root), "utf8");
    const m = wit.match(/^package sessionbox:store@([0-9][^;]*);$/m);
    assert.ok(m, "wit/sessionbox.wit declares package sessionbox:store@<version>");
    assert.equal(pkg.version, m[1]);
    assert.equal(component.version, pkg.version, "the built gen/ says the same");
    assert.equal(component.witPackage, `sessionbox:store@${pkg.version}`);
});

test("gen/ was built from the component the Rust host embeds", () => {
    const wasm = readFileSync(new URL(pkg.sessionbox.component, root));
    assert.equal(component.wasmSha256, createHash("sha256").update(wasm).digest("hex"), "run npm run build");
    const transpiled = readFileSync(new URL("gen/sessionbox.js", root), "utf8");
    assert.ok(transpiled.includes(`'sessionbox:store/sessions@${pkg.version}'`), "the transpiled exports carry the version");
});
