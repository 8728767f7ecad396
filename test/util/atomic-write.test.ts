import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../src/util/atomic-write.js";

test("writeFileAtomic writes files of 2 GiB and more (one write call cannot), leaving no temporary file", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-atomic-"));
  try {
    const size = 2 ** 31 + 8; // a float32 checkpoint of a 0.6B model is 2.4 GB
    const bytes = new Uint8Array(size);
    bytes[size - 1] = 7;
    const file = join(dir, "big.bin");
    writeFileAtomic(file, bytes);
    assert.equal(statSync(file).size, size);
    assert.deepEqual(readdirSync(dir), ["big.bin"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
