/**
 * Collectives over c10d's Gloo backend with 2 ranks on 127.0.0.1 (separate processes), and the
 * failure paths: a peer that exits or hangs makes the other throw an error naming it, not abort.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { availableBackends } from "../../src/torch/distributed.js";
import { freePort, runRanks, type Exit } from "./helpers.js";

/** Without Gloo's headers at build time (libgloo-dev) the addon has no backend to test. */
const skip = availableBackends().includes("gloo") ? false : "the addon was built without Gloo (install libgloo-dev and rebuild)";

const worker = fileURLToPath(new URL("./collectives-worker.js", import.meta.url));

function results(exits: Exit[]): Record<string, unknown>[] {
  return exits.map((e) => {
    const line = e.stdout.trim().split("\n").pop() ?? "";
    assert.ok(line.startsWith("{"), `rank ${e.rank} printed no result (code ${e.code}, signal ${e.signal}): ${e.stderr.slice(-2000)}`);
    return JSON.parse(line) as Record<string, unknown>;
  });
}

test("allReduce (sum, avg, max), broadcast, allGather, barrier and their async forms over 2 Gloo ranks", { skip }, async () => {
  const exits = await runRanks(2, await freePort(), [worker]);
  const [r0, r1] = results(exits);
  for (const r of [r0!, r1!]) {
    assert.deepEqual(r.sum, [3, 6, 9]);
    assert.deepEqual(r.avg, [0.5, 5]);
    assert.deepEqual(r.max, [1, 0]);
    assert.deepEqual(r.broadcast, [101, 201]);
    assert.deepEqual(r.gather, [[0, 0], [1, 1]]);
    assert.deepEqual(r.asyncSum, [3]);
    assert.deepEqual(r.asyncGather, [0, 1]);
  }
  for (const e of exits) assert.equal(e.code, 0, e.stderr);
});

test("a rank that exits mid-run makes its peer's next collective throw an error naming it", { skip }, async () => {
  const exits = await runRanks(2, await freePort(), [worker], { FGRPO_TEST_SCENARIO: "die" });
  assert.equal(exits[1]!.code, 3);
  const r0 = results([exits[0]!])[0]!;
  assert.equal(exits[0]!.code, 1, "rank 0 exits through its error handler, not by a signal");
  assert.match(String(r0.error), /allReduce #2 failed on rank 0\/2: rank 1 never reached it/);
  assert.deepEqual(r0.lagging, [1]);
});

test("when rank 0, which hosts the store, exits, its peer's error says so", { skip }, async () => {
  const exits = await runRanks(2, await freePort(), [worker], { FGRPO_TEST_SCENARIO: "die0" });
  assert.equal(exits[0]!.code, 3);
  const r1 = results([exits[1]!])[0]!;
  assert.equal(exits[1]!.code, 1);
  assert.match(String(r1.error), /failed on rank 1\/2: rank 0, which hosts the store at 127\.0\.0\.1:\d+, is unreachable|failed on rank 1\/2: rank 0 never reached it/);
});

test("a rank that hangs makes its peer throw once the group's timeout has passed", { skip }, async () => {
  const children: import("node:child_process").ChildProcess[] = [];
  const exits = await runRanks(2, await freePort(), [worker], { FGRPO_TEST_SCENARIO: "hang", FGRPO_TEST_TIMEOUT_MS: "3000" }, (rank, child) => {
    children[rank] = child;
    // The hanging rank is ended once its peer has given up.
    if (rank === 0) child.on("exit", () => children[1]?.kill("SIGKILL"));
  });
  const r0 = results([exits[0]!])[0]!;
  assert.equal(exits[0]!.code, 1);
  assert.match(String(r0.error), /allReduce #2 failed on rank 0\/2: rank 1 never reached it/);
});
