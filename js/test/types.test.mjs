// src/index.d.ts types a real consumer (test/types/consumer.ts, with
// express's and express-session's own types) under `tsc --strict`, and
// rejects the wrong uses marked there with @ts-expect-error.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

test("the declarations type a consumer under tsc --strict", () => {
    const r = spawnSync("node", ["node_modules/typescript/bin/tsc", "-p", "test/types/tsconfig.json"], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
});
