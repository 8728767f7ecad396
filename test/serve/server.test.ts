// `fgrpo serve` over real HTTP on 127.0.0.1: answers equal `fgrpo rank`'s for the same requests
// however they were batched; a corpus of bad requests is answered 4xx naming the problem while
// good requests sent alongside still succeed; metrics, health and OpenAPI; SIGTERM drains.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { connect } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openRanker } from "../../src/fgrpo/trainer/ranker.js";
import { startServer, type RankServer } from "../../src/serve/server.js";
import { requestLines, trainTinyCheckpoint } from "./fixture.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const { work, checkpoint } = trainTinyCheckpoint();
const lines = requestLines(40);

/** What `fgrpo rank` answers for `lines`, by id. */
const expected = (() => {
  const input = join(work, "requests.jsonl");
  const output = join(work, "ranked.jsonl");
  writeFileSync(input, lines.map((l) => JSON.stringify(l) + "\n").join(""));
  const r = spawnSync(process.execPath, [CLI, "rank", "--checkpoint", checkpoint, "--input", input, "--output", output], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const ranked = readFileSync(output, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Answer);
  return new Map(ranked.map((a) => [a.id, a]));
})();

interface Answer {
  id: string;
  ranking: string[];
  slate: string[];
  status: string;
  detail: string;
  logprobs: { slate: number | null; rank: number | null };
}

const ranker = openRanker(checkpoint);
const servers: RankServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  ranker.dispose();
});

async function serve(opts: Parameters<typeof startServer>[1]): Promise<RankServer> {
  const s = await startServer(ranker, { host: "127.0.0.1", port: 0, ...opts });
  servers.push(s);
  return s;
}

function post(url: string, body: string | object, contentType = "application/json"): Promise<Response> {
  return fetch(`${url}/v1/rank`, { method: "POST", headers: { "content-type": contentType }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

function assertSameAnswer(got: Answer, want: Answer): void {
  assert.deepEqual({ ...got, logprobs: null }, { ...want, logprobs: null }, `request ${want.id}`);
  for (const phase of ["slate", "rank"] as const) {
    // Batched products round differently in the last float32 bits; the sums cover ≤ 20 tokens.
    assert.ok(Math.abs(got.logprobs[phase]! - want.logprobs[phase]!) < 1e-4, `${want.id} ${phase}: ${got.logprobs[phase]} vs ${want.logprobs[phase]}`);
  }
}

/** The sum and count of the batch-size histogram. */
async function batchStats(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { sum: read("fgrpo_serve_batch_size_sum"), count: read("fgrpo_serve_batch_size_count") };
}

test("concurrent requests are batched, and each answer equals `fgrpo rank`'s (greedy and seeded sampling, pool sizes, limits)", async () => {
  assert.ok([...expected.values()].some((a) => a.status === "ok" && a.logprobs.slate! < 0));
  const s = await serve({ maxBatch: 8, maxWaitMs: 30 });
  // Twice, in two orders, so each request meets different batch neighbours than in `rank` (one batch of 40).
  for (const order of [lines, [...lines].reverse()]) {
    const answers = await Promise.all(order.map(async (l) => {
      const r = await post(s.url, l);
      assert.equal(r.status, 200);
      return (await r.json()) as Answer;
    }));
    answers.forEach((a, i) => assertSameAnswer(a, expected.get(order[i]!.id as string)!));
  }
  const { sum, count } = await batchStats(s.url);
  assert.equal(sum, 2 * lines.length);
  assert.ok(count < sum, `${count} generation calls for ${sum} requests: concurrent requests must share calls`);
  assert.ok(count >= (2 * lines.length) / 8, "no call holds more than --max-batch requests");
  // One at a time: batches of one, same answers.
  for (const l of lines.slice(0, 5)) assertSameAnswer((await (await post(s.url, l)).json()) as Answer, expected.get(l.id as string)!);
});

test("bad requests get a 4xx whose message names the problem, while good requests sent alongside succeed", async () => {
  const s = await serve({ maxBatch: 4, maxWaitMs: 10, bodyLimit: 8192 });
  const good = lines[0]!;
  const ok = { id: "x", history: ["5345"], candidates: [{ id: "8328" }, { id: "7915" }] };
  const corpus: [body: string | object, status: number, message: RegExp, contentType?: string][] = [
    ["{oops", 400, /malformed JSON/],
    ["", 400, /malformed JSON/],
    ["[1, 2]", 400, /expected a JSON object/],
    ["null", 400, /expected a JSON object/],
    ['"text"', 400, /expected a JSON object/],
    [{ ...ok, extra: 1 }, 400, /field "extra": unknown field/],
    [{ ...ok, candidates: [{ id: "1", score: 3 }] }, 400, /field "candidates\[0\]\.score": unknown field \(expected id, text\)/],
    [{ ...ok, candidates: [{ id: "1" }, { id: "1" }] }, 400, /field "candidates\[1\]\.id": duplicate candidate id "1"/],
    [{ ...ok, candidates: Array.from({ length: 21 }, (_, i) => ({ id: `c${i}` })) }, 400, /field "candidates": 21 candidates; this model was trained on pools of at most 20/],
    [{ ...ok, candidates: [] }, 400, /field "candidates"/],
    [{ ...ok, candidates: "8328" }, 400, /field "candidates"/],
    [{ ...ok, candidates: [{ id: 5 }] }, 400, /field "candidates\[0\]\.id"/],
    [{ ...ok, candidates: [{ id: "" }] }, 400, /field "candidates\[0\]\.id"/],
    [{ ...ok, candidates: [{ id: "a", text: 7 }] }, 400, /field "candidates\[0\]\.text"/],
    [{ ...ok, candidates: [null] }, 400, /field "candidates\[0\]"/],
    [{ ...ok, id: undefined }, 400, /field "id": required/],
    [{ ...ok, id: 12 }, 400, /field "id"/],
    [{ ...ok, history: undefined }, 400, /field "history": required/],
    [{ ...ok, history: "5345" }, 400, /field "history"/],
    [{ ...ok, history: [5345] }, 400, /field "history\[0\]"/],
    [{ ...ok, question: "why?" }, 400, /field "question": unknown field/],
    [{ ...ok, n_max: 0 }, 400, /field "n_max"/],
    [{ ...ok, n_max: 11 }, 400, /field "n_max"/],
    [{ ...ok, k_max: 2.5 }, 400, /field "k_max"/],
    [{ ...ok, n_max: 2, k_max: 3 }, 400, /field "k_max": k_max \(3\) exceeds n_max \(2\)/],
    [{ ...ok, greedy: "no" }, 400, /field "greedy"/],
    [{ ...ok, seed: -1 }, 400, /field "seed"/],
    [{ ...ok, seed: 2 ** 32 }, 400, /field "seed"/],
    [{ ...ok, temperature: 0 }, 400, /field "temperature"/],
    ['{"id":"x","history":[],"candidates":[{"id":"a"}],"__proto__":{"polluted":true}}', 400, /field "__proto__": unknown field/],
    [{ ...ok, history: Array.from({ length: 2000 }, (_, i) => `item-${i}`) }, 413, /larger than the server's limit of 8192 bytes/],
    ["x".repeat(20000), 413, /limit/],
    [JSON.stringify(ok), 415, /Unsupported Media Type/, "text/plain"],
  ];
  const sent = corpus.map(async ([body, status, message, contentType]) => {
    const r = await post(s.url, body, contentType);
    const text = await r.text();
    assert.equal(r.status, status, `${String(body).slice(0, 60)} → ${r.status} ${text}`);
    const json = JSON.parse(text) as { statusCode: number; message: string };
    assert.equal(json.statusCode, status);
    assert.match(json.message, message);
  });
  const goods = Array.from({ length: 12 }, async () => {
    const r = await post(s.url, good);
    assert.equal(r.status, 200);
    assertSameAnswer((await r.json()) as Answer, expected.get(good.id as string)!);
  });
  await Promise.all([...sent, ...goods]);
  const wrongRoute = await fetch(`${s.url}/v1/nothing`);
  assert.equal(wrongRoute.status, 404);
  assert.match(((await wrongRoute.json()) as { message: string }).message, /no route GET \/v1\/nothing/);
  assert.equal((await fetch(`${s.url}/v1/rank`)).status, 404);
  // Still serving.
  assert.equal((await post(s.url, ok)).status, 200);
  // The counters are updated once a response is sent, which can be after the client read it.
  let metrics = "";
  for (let tries = 0; tries < 100 && !/status="200"\} 13\n/.test(metrics); tries++) {
    await new Promise((r) => setTimeout(r, 20));
    metrics = await (await fetch(`${s.url}/metrics`)).text();
  }
  assert.match(metrics, /fgrpo_serve_requests_total\{route="\/v1\/rank",method="POST",status="200"\} 13/);
  assert.match(metrics, /fgrpo_serve_requests_total\{route="\/v1\/rank",method="POST",status="400"\} 30/);
  assert.match(metrics, /fgrpo_serve_requests_total\{route="\/v1\/rank",method="POST",status="413"\} 2/);
});

test("a full queue answers 503 and the server keeps serving", async () => {
  const s = await serve({ maxBatch: 64, maxWaitMs: 1000, maxQueue: 3 });
  const answers = await Promise.all(lines.slice(0, 10).map((l) => post(s.url, l)));
  const codes = answers.map((r) => r.status);
  // The first three wait for the batch (a second); the other seven find the queue full.
  assert.deepEqual(codes.filter((c) => c === 200).length, 3, `codes ${codes.join(",")}`);
  assert.deepEqual(codes.filter((c) => c === 503).length, 7, `codes ${codes.join(",")}`);
  for (const r of answers.filter((a) => a.status === 503)) assert.match(((await r.json()) as { message: string }).message, /busy/);
  assert.equal((await post(s.url, lines[0]!)).status, 200);
});

test("health, metrics and the OpenAPI document", async () => {
  const s = await serve({});
  const health = (await (await fetch(`${s.url}/healthz`)).json()) as Record<string, unknown>;
  assert.deepEqual({ status: health.status, task: health.task, pool_size: health.pool_size, n_max: health.n_max, k_max: health.k_max }, { status: "ok", task: "rec", pool_size: 20, n_max: 10, k_max: 5 });
  const metrics = await fetch(`${s.url}/metrics`);
  assert.match(metrics.headers.get("content-type") ?? "", /text\/plain/);
  const text = await metrics.text();
  for (const name of ["fgrpo_serve_requests_total", "fgrpo_serve_request_duration_seconds", "fgrpo_serve_batch_size", "fgrpo_serve_queue_length"]) assert.match(text, new RegExp(`# TYPE ${name} `));
  const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties: Record<string, { maxItems?: number }>; additionalProperties: boolean }> } };
  assert.equal(doc.openapi, "3.1.0");
  assert.deepEqual(Object.keys(doc.paths).sort(), ["/healthz", "/metrics", "/openapi.json", "/v1/rank"]);
  const req = doc.components.schemas.RankRequest!;
  assert.equal(req.additionalProperties, false);
  assert.equal(req.properties.candidates!.maxItems, 20);
  assert.deepEqual(Object.keys(doc.components.schemas.RankResponse!.properties).sort(), ["detail", "id", "logprobs", "ranking", "slate", "status"]);
});

test("SIGTERM: the server stops taking requests, answers the ones in flight, and exits 0", async () => {
  // A long max wait keeps the requests queued when the signal arrives.
  const child = spawn(process.execPath, [CLI, "serve", "--checkpoint", checkpoint, "--port", "0", "--max-wait-ms", "1500", "--max-batch", "64"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on("exit", () => reject(new Error(`server exited: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const inFlight = lines.slice(0, 6).map((l) => post(url, l));
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (/^fgrpo_serve_queue_length 6$/m.test(text)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 200));
  // New requests are refused (the listener is closed) or answered 503, never queued.
  const late = await post(url, lines[7]!).then((r) => r.status, () => "refused");
  assert.ok(late === "refused" || late === 503, `a request after SIGTERM got ${late}`);
  const answers = await Promise.all(inFlight);
  for (const [i, r] of answers.entries()) {
    assert.equal(r.status, 200);
    assertSameAnswer((await r.json()) as Answer, expected.get(lines[i]!.id as string)!);
  }
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /SIGTERM: no new requests; draining/);
});

test("unconstrained decoding: answers equal `fgrpo rank --unconstrained`'s, invalid ones included", async () => {
  const input = join(work, "few.jsonl");
  const output = join(work, "few-ranked.jsonl");
  const few = lines.slice(0, 12);
  writeFileSync(input, few.map((l) => JSON.stringify(l) + "\n").join(""));
  const r = spawnSync(process.execPath, [CLI, "rank", "--checkpoint", checkpoint, "--input", input, "--output", output, "--unconstrained"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const want = readFileSync(output, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Answer);
  assert.ok(want.some((a) => a.status !== "ok"), "the tiny model writes invalid completions without the automaton");
  const free = openRanker(checkpoint, { constrained: false });
  const s = await startServer(free, { host: "127.0.0.1", port: 0, maxBatch: 5, maxWaitMs: 30 });
  try {
    const got = await Promise.all(few.map(async (l) => (await (await post(s.url, l)).json()) as Answer));
    got.forEach((a, i) => {
      assert.deepEqual({ ...a, logprobs: null }, { ...want[i]!, logprobs: null });
      for (const phase of ["slate", "rank"] as const) {
        const [x, y] = [a.logprobs[phase], want[i]!.logprobs[phase]];
        assert.ok(x === y || (x !== null && y !== null && Math.abs(x - y) < 1e-4), `${a.id} ${phase}: ${x} vs ${y}`);
      }
    });
  } finally {
    await s.close();
    free.dispose();
  }
});

test("serve's flags and startup errors are one-line messages with exit codes 2 (usage) and 1 (input)", async () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, "serve", ...args], { encoding: "utf8" });
  const help = cli("--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: fgrpo serve --checkpoint DIR/);
  for (const [args, pattern] of [[[], /--checkpoint is required/], [["--checkpoint", checkpoint, "--max-batch", "0"], /--max-batch must be at least 1/], [["--checkpoint", checkpoint, "--port", "70000"], /--port must be at most 65535/], [["--checkpoint", checkpoint, "--max-wait-ms", "soon"], /--max-wait-ms must be a number/]] as const) {
    const r = cli(...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, pattern);
  }
  const missing = cli("--checkpoint", join(work, "nowhere"));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nowhere: no such checkpoint folder/);
  const taken = await serve({});
  const port = new URL(taken.url).port;
  const busy = cli("--checkpoint", checkpoint, "--port", port);
  assert.equal(busy.status, 1, busy.stderr);
  assert.match(busy.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  assert.doesNotMatch(busy.stderr, /\n\s+at /, "no stack trace");
});

test("clients that abort while queued, or that do not speak HTTP, do not disturb the server", async () => {
  const s = await serve({ maxBatch: 16, maxWaitMs: 1000 });
  const { port } = new URL(s.url);
  // Garbage on a raw socket: a 400 and a closed connection.
  const garbage = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => socket.end("NOT HTTP AT ALL\r\n\r\n"));
    let text = "";
    socket.on("data", (d) => (text += d.toString()));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
  assert.match(garbage, /^HTTP\/1\.1 400/);
  // Requests whose clients give up while they wait in the queue; others queued with them succeed.
  const aborted = lines.slice(0, 4).map((l) => {
    const controller = new AbortController();
    const sent = fetch(`${s.url}/v1/rank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(l), signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    return sent.then(() => "answered", () => "aborted");
  });
  const kept = lines.slice(4, 8).map((l) => post(s.url, l));
  assert.deepEqual(await Promise.all(aborted), ["aborted", "aborted", "aborted", "aborted"]);
  for (const [i, r] of (await Promise.all(kept)).entries()) {
    assert.equal(r.status, 200);
    assertSameAnswer((await r.json()) as Answer, expected.get(lines[4 + i]!.id as string)!);
  }
  assert.equal((await post(s.url, lines[9]!)).status, 200);
});
