/**
 * Every bad input of cases.ts, run through the real `fgrpo` binary (child processes, two at a
 * time): each must exit non-zero with a one-line error that starts with "fgrpo <command>:",
 * names what it blames (the expected substrings), shows no stack trace, and leaves no output or
 * temporary file behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BAD_INPUTS, type BadInput } from "./cases.js";
import { temporaries } from "./temporaries.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const CONCURRENCY = 2;
const TIMEOUT_MS = 60_000;

interface Outcome {
  status: number | null;
  signal: string | null;
  stderr: string;
  dir: string;
}

function sub(s: string, dir: string): string {
  return s.split("$D").join(dir);
}

function runCase(c: BadInput): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-robust-"));
  for (const [path, contents] of Object.entries(c.files ?? {})) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof contents === "string" ? sub(contents, dir) : contents);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...c.args.map((a) => sub(a, dir))], { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: TIMEOUT_MS });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => (stderr += d));
    child.on("close", (status, signal) => resolve({ status, signal, stderr, dir }));
  });
}

async function runAll(cases: readonly BadInput[]): Promise<Outcome[]> {
  const out: Outcome[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      out[i] = await runCase(cases[i]!);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out;
}

test("at least 200 bad inputs, every command covered", () => {
  assert.ok(BAD_INPUTS.length >= 200, `${BAD_INPUTS.length} cases`);
  const commands = new Set(BAD_INPUTS.map((c) => c.args[0]));
  for (const c of ["train", "baseline", "rank", "score", "eval", "generate"]) assert.ok(commands.has(c), c);
  assert.equal(new Set(BAD_INPUTS.map((c) => c.name)).size, BAD_INPUTS.length, "case names are unique");
});

// FGRPO_ROBUST_ONLY=regex runs only the cases whose name matches it (while working on a few).
const only = process.env.FGRPO_ROBUST_ONLY;
const SELECTED = only ? BAD_INPUTS.filter((c) => new RegExp(only).test(c.name)) : BAD_INPUTS;

test("every bad input gets a clear one-line error, no stack trace, nothing left behind", async (t) => {
  const outcomes = await runAll(SELECTED);
  for (let i = 0; i < SELECTED.length; i++) {
    const c = SELECTED[i]!;
    const o = outcomes[i]!;
    await t.test(c.name, () => {
      try {
        const lines = o.stderr.trim().split("\n");
        const last = lines[lines.length - 1]!;
        const shown = `stderr:\n${o.stderr}`;
        assert.equal(o.signal, null, `killed by ${o.signal} (hang or abort); ${shown}`);
        assert.notEqual(o.status, 0, `exit 0; ${shown}`);
        assert.ok(!/^\s+at |node:internal|Error: .*\n\s+at /m.test(o.stderr), `stack trace; ${shown}`);
        assert.ok(last.startsWith(`fgrpo ${c.args[0]}: `), `last line is not "fgrpo ${c.args[0]}: …"; ${shown}`);
        for (const e of c.expect) assert.ok(last.includes(sub(e, o.dir)), `error does not name "${sub(e, o.dir)}"; ${shown}`);
        for (const p of c.noOutput ?? []) assert.ok(!existsSync(join(o.dir, p)), `${p} was written`);
        assert.deepEqual(temporaries(o.dir), [], "temporary files left behind");
      } finally {
        rmSync(o.dir, { recursive: true, force: true });
      }
    });
  }
});
