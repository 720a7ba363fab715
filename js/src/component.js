// The sessionbox component (gen/, made by scripts/build.mjs with `jco
// transpile --instantiation sync`), one instance per session directory.
//
// Each instance gets its own preopen through the shim's sandboxed
// `WASIShim` (`sandbox.preopens`): the guest stores sessions in its first
// preopened directory, so stores over different directories in one process
// never share a descriptor, and the process-wide preopens of the shim
// (`_setPreopens`) are left alone. The guest sees no environment variables
// and no arguments.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { WASIShim } from "@bytecodealliance/preview2-shim/instantiation";
import { instantiate } from "../gen/sessionbox.js";

const GEN = new URL("../gen/", import.meta.url);

/** The compiled core modules, shared by every instance in the process. */
const modules = new Map();

function coreModule(name) {
    let module = modules.get(name);
    if (!module) {
        module = new WebAssembly.Module(readFileSync(new URL(name, GEN)));
        modules.set(name, module);
    }
    return module;
}

/** What gen/component.json says of the built component. */
export const componentInfo = JSON.parse(readFileSync(new URL("component.json", GEN), "utf8"));

/**
 * A fresh instance of the component whose only preopen is `dir` (as `.`);
 * returns its `sessions` export.
 */
export function instantiateOn(dir) {
    const shim = new WASIShim({ sandbox: { preopens: { ".": resolve(dir) }, env: {}, args: ["sessionbox"] } });
    return instantiate(coreModule, shim.getImportObject()).sessions;
}
