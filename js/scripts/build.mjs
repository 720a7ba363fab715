// Builds gen/: the sessionbox component (host/component/sessionbox_guest.wasm,
// the file the Rust host embeds) transpiled by jco for synchronous, custom
// instantiation (one instance per session directory), and gen/component.json
// saying which component and which WIT package version it is.
//
// Refuses to build when this package's version is not the WIT package's
// (`package sessionbox:store@X.Y.Z;` in wit/sessionbox.wit): the npm version
// is the component's version.
//
//   node scripts/build.mjs [--force]  (npm run build; npm pack runs it too)
//
// Without --force it does nothing when gen/ already holds this component.
//
// SESSIONBOX_COMPONENT overrides the component's path.

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const witPath = resolve(root, pkg.sessionbox.wit);
const wasmPath = resolve(root, process.env.SESSIONBOX_COMPONENT || pkg.sessionbox.component);

/** The version of WIT package `name` declared in `witText`. */
export function witVersion(witText, name) {
    const m = witText.match(/^\s*package\s+([a-z0-9-]+:[a-z0-9-]+)@([0-9]+\.[0-9]+\.[0-9]+[^;\s]*)\s*;/m);
    if (!m || m[1] !== name) {
        throw new Error(`no "package ${name}@<version>;" line in the WIT`);
    }
    return m[2];
}

const version = witVersion(readFileSync(witPath, "utf8"), pkg.sessionbox.witPackage);
if (version !== pkg.version) {
    console.error(`package.json says ${pkg.version} but ${witPath} declares ${pkg.sessionbox.witPackage}@${version}: set "version" to ${version}`);
    process.exit(1);
}
if (!existsSync(wasmPath)) {
    console.error(`no component at ${wasmPath} (build it with scripts/build-component in the repository)`);
    process.exit(1);
}
const wasm = readFileSync(wasmPath);
const wasmSha256 = createHash("sha256").update(wasm).digest("hex");
const gen = join(root, "gen");
// Up to date: nothing to do (tests read gen/ while `npm pack` runs this).
if (!process.argv.includes("--force")) {
    try {
        const built = JSON.parse(readFileSync(join(gen, "component.json"), "utf8"));
        if (built.version === version && built.wasmSha256 === wasmSha256 && existsSync(join(gen, "sessionbox.js"))) {
            process.exit(0);
        }
    } catch {
        // not built yet
    }
}
const jco = join(root, "node_modules", ".bin", "jco");
const partial = join(root, "gen.partial");
rmSync(partial, { recursive: true, force: true });
mkdirSync(partial, { recursive: true });
execFileSync(
    jco,
    ["transpile", wasmPath, "-o", partial, "--name", "sessionbox", "--instantiation", "sync", "--quiet", "--no-typescript"],
    { stdio: "inherit" },
);
writeFileSync(
    join(partial, "component.json"),
    JSON.stringify(
        {
            witPackage: `${pkg.sessionbox.witPackage}@${version}`,
            version,
            wasmSha256,
            wasmBytes: wasm.length,
        },
        null,
        2,
    ) + "\n",
);
rmSync(gen, { recursive: true, force: true });
renameSync(partial, gen);
console.error(`sessionbox-express: gen/ holds ${pkg.sessionbox.witPackage}@${version} (${wasm.length} bytes of component)`);
