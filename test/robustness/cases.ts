/**
 * The bad inputs of the robustness suite, as a table: each case names a command line, the files
 * it is given (written into a fresh folder; `$D` in arguments and file contents is that folder),
 * and a substring its one-line error must contain (the file, and the line or field, it blames).
 */
export interface BadInput {
  name: string;
  args: string[];
  /** Files to create: path relative to the case folder → contents (Buffer for bytes). */
  files?: Record<string, string | Buffer>;
  /** Substrings the error must contain. */
  expect: string[];
  /** Paths (relative to the case folder) that must not exist afterwards. */
  noOutput?: string[];
}

const cases: BadInput[] = [];
const add = (c: BadInput) => cases.push(c);

// ---------------------------------------------------------------- score: run and gold files
const GOOD_GOLD = '{"id": "q1", "relevant": {"d1": 1}}\n';
const GOOD_RUN = '{"id": "q1", "ranking": ["d1", "d2"]}\n';
const badRunLines: [string, string, string][] = [
  ["jsonl-syntax", '{"id": "q1", "ranking": [\n', "run.jsonl:1"],
  ["jsonl-not-object", "[1, 2]\n", "run.jsonl:1"],
  ["jsonl-missing-id", '{"ranking": ["d1"]}\n', "run.jsonl:1"],
  ["jsonl-ranking-number", '{"id": "q1", "ranking": 5}\n', "run.jsonl:1"],
  ["jsonl-ranking-objects", '{"id": "q1", "ranking": [{"a": 1}]}\n', "run.jsonl:1"],
  ["jsonl-duplicate-id", GOOD_RUN + GOOD_RUN, "run.jsonl:2"],
  ["jsonl-second-line-bad", GOOD_RUN + '{"id": "q2", "ranking": "x"}\n', "run.jsonl:2"],
  ["jsonl-slate-string", '{"id": "q1", "ranking": ["d1"], "slate": "d1"}\n', "run.jsonl:1"],
  ["jsonl-id-null", '{"id": null, "ranking": ["d1"]}\n', "run.jsonl:1"],
  ["jsonl-id-object", '{"id": {}, "ranking": ["d1"]}\n', "run.jsonl:1"],
  ["jsonl-trailing-garbage", GOOD_RUN + "not json\n", "run.jsonl:2"],
  ["jsonl-ranking-nested", '{"id": "q1", "ranking": [["d1"]]}\n', "run.jsonl:1"],
];
for (const [name, text, where] of badRunLines) {
  add({ name: `score run ${name}`, args: ["score", "--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl"], files: { "run.jsonl": text, "gold.jsonl": GOOD_GOLD }, expect: [where] });
}
const badTrecRun: [string, string, string][] = [
  ["trec-columns", "q1 Q0 d1 1\n", "run.trec:1"],
  ["trec-rank-word", "q1 Q0 d1 one 2.0 tag\n", "run.trec:1"],
  ["trec-score-word", "q1 Q0 d1 1 high tag\n", "run.trec:1"],
  ["trec-second-line", "q1 Q0 d1 1 2.0 tag\nq1 Q0 d2\n", "run.trec:2"],
  ["trec-seven-columns", "q1 Q0 d1 1 2.0 tag extra\n", "run.trec:1"],
];
for (const [name, text, where] of badTrecRun) {
  add({ name: `score run ${name}`, args: ["score", "--run", "$D/run.trec", "--gold", "$D/gold.jsonl"], files: { "run.trec": text, "gold.jsonl": GOOD_GOLD }, expect: [where] });
}
const badGold: [string, string, string, string][] = [
  ["gold-jsonl-syntax", "gold.jsonl", '{"id": "q1", \n', "gold.jsonl:1"],
  ["gold-relevant-missing", "gold.jsonl", '{"id": "q1"}\n', "gold.jsonl:1"],
  ["gold-relevant-string", "gold.jsonl", '{"id": "q1", "relevant": "d1"}\n', "gold.jsonl:1"],
  ["gold-grade-string", "gold.jsonl", '{"id": "q1", "relevant": {"d1": "high"}}\n', "gold.jsonl:1"],
  ["gold-relevant-null", "gold.jsonl", '{"id": "q1", "relevant": null}\n', "gold.jsonl:1"],
  ["gold-duplicate-id", "gold.jsonl", GOOD_GOLD + GOOD_GOLD, "gold.jsonl:2"],
  ["gold-id-missing", "gold.jsonl", '{"relevant": {"d1": 1}}\n', "gold.jsonl:1"],
  ["gold-empty", "gold.jsonl", "", "gold.jsonl"],
  ["gold-blank-lines", "gold.jsonl", "\n\n\n", "gold.jsonl"],
  ["qrels-columns", "qrels.txt", "q1 0 d1\n", "qrels.txt:1"],
  ["qrels-rel-word", "qrels.txt", "q1 0 d1 yes\n", "qrels.txt:1"],
  ["qrels-rel-fraction", "qrels.txt", "q1 0 d1 0.5\n", "qrels.txt:1"],
  ["qrels-conflict", "qrels.txt", "q1 0 d1 1\nq1 0 d1 2\n", "qrels.txt:2"],
  ["qrels-five-columns", "qrels.txt", "q1 0 d1 1 x\n", "qrels.txt:1"],
];
for (const [name, file, text, where] of badGold) {
  add({ name: `score ${name}`, args: ["score", "--run", "$D/run.jsonl", "--gold", `$D/${file}`], files: { "run.jsonl": GOOD_RUN, [file]: text }, expect: [where] });
}
const scoreFlags: [string, string[], string][] = [
  ["missing run file", ["--run", "$D/none.jsonl", "--gold", "$D/gold.jsonl"], "none.jsonl"],
  ["missing gold file", ["--run", "$D/run.jsonl", "--gold", "$D/none.jsonl"], "none.jsonl"],
  ["run is a folder", ["--run", "$D", "--gold", "$D/gold.jsonl"], "$D"],
  ["bootstrap huge", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--bootstrap", "100000000"], "--bootstrap"],
  ["bootstrap negative", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--bootstrap", "-1"], "--bootstrap"],
  ["bootstrap word", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--bootstrap", "many"], "--bootstrap"],
  ["bootstrap fraction", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--bootstrap", "1.5"], "--bootstrap"],
  ["seed word", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--seed", "x"], "--seed"],
  ["metrics unknown", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--metrics", "foo@3"], "--metrics"],
  ["metrics empty", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--metrics", ","], "--metrics"],
  ["metrics cutoff zero", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--metrics", "ndcg@0"], "--metrics"],
  ["metrics cutoff word", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--metrics", "ndcg@x"], "--metrics"],
  ["slate_recall without slates", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--metrics", "slate_recall"], "run.jsonl"],
  ["no --run", ["--gold", "$D/gold.jsonl"], "--run"],
  ["unknown flag", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "--frobnicate"], "frobnicate"],
  ["stray positional", ["--run", "$D/run.jsonl", "--gold", "$D/gold.jsonl", "extra"], "extra"],
];
for (const [name, args, where] of scoreFlags) {
  add({ name: `score ${name}`, args: ["score", ...args], files: { "run.jsonl": GOOD_RUN, "gold.jsonl": GOOD_GOLD }, expect: [where] });
}

// ---------------------------------------------------------------- baseline: data files
const recbole = (test: string, valid = "user_id:token\titem_id_list:token_seq\titem_id:token\nu1\t1 2\t3\n") => ({ "rb/X.test.inter": test, "rb/X.valid.inter": valid });
const badRecbole: [string, string, string][] = [
  ["recbole no header", "u1\t1 2\t3\n", "X.test.inter"],
  ["recbole missing column", "user_id:token\titem_id:token\nu1\t3\n", "X.test.inter"],
  ["recbole short row", "user_id:token\titem_id_list:token_seq\titem_id:token\nu1\t1 2\n", "X.test.inter:2"],
  ["recbole empty target", "user_id:token\titem_id_list:token_seq\titem_id:token\nu1\t1 2\t\n", "X.test.inter:2"],
  ["recbole header only", "user_id:token\titem_id_list:token_seq\titem_id:token\n", "rb/X."],
  ["recbole empty file", "", "X.test.inter"],
  ["recbole binary", "\u0000\u0001\u0002\n", "X.test.inter"],
];
for (const [name, test, where] of badRecbole) {
  add({ name: `baseline ${name}`, args: ["baseline", "--task", "rec", "--method", "popularity", "--data", "$D/rb", "--pool-size", "3"], files: recbole(test), expect: [where] });
}
// Latin-1 ids: decoded leniently, "café" and "cafè" would both become "caf\uFFFD" (two items merged).
const latin1 = Buffer.from("user_id:token\titem_id_list:token_seq\titem_id:token\nu1\tcaf\xe9 caf\xe8\tr\xe9sum\xe9\n", "latin1");
add({ name: "baseline recbole latin-1 ids", args: ["baseline", "--task", "rec", "--method", "popularity", "--data", "$D/rb", "--pool-size", "2"], files: { "rb/X.test.inter": latin1, "rb/X.valid.inter": latin1 }, expect: ["rb/X.", ".inter:2", "UTF-8"] });
add({ name: "score run latin-1 ids", args: ["score", "--run", "$D/run.trec", "--gold", "$D/gold.jsonl"], files: { "run.trec": Buffer.from("q1 Q0 caf\xe9 1 2.0 t\n", "latin1"), "gold.jsonl": GOOD_GOLD }, expect: ["run.trec:1", "UTF-8"] });
const badSequences: [string, string, string][] = [
  ["sequences empty", "", "seq.txt"],
  ["sequences only users", "1\n2\n3\n", "seq.txt"],
  ["sequences one item each", "1 5\n2 6\n", "seq.txt"],
  ["sequences blank", "\n\n", "seq.txt"],
];
for (const [name, text, where] of badSequences) {
  add({ name: `baseline ${name}`, args: ["baseline", "--task", "rec", "--method", "popularity", "--data", "$D/seq.txt", "--format", "sequences"], files: { "seq.txt": text }, expect: [where] });
}
const badRecJsonl: [string, string, string][] = [
  ["rec jsonl syntax", '{"user": "x", "items": [\n', "rec.jsonl:1"],
  ["rec jsonl items string", '{"user": "x", "items": "abc"}\n', "rec.jsonl:1"],
  ["rec jsonl no items", '{"user": "x"}\n', "rec.jsonl:1"],
  ["rec jsonl array line", "[1,2,3]\n", "rec.jsonl:1"],
  ["rec jsonl items objects", '{"user": "x", "items": [{}, {}]}\n', "rec.jsonl:1"],
  ["rec jsonl empty", "", "rec.jsonl"],
];
for (const [name, text, where] of badRecJsonl) {
  add({ name: `baseline ${name}`, args: ["baseline", "--task", "rec", "--method", "popularity", "--data", "$D/rec.jsonl", "--format", "jsonl"], files: { "rec.jsonl": text }, expect: [where] });
}
const badMovielens: [string, string, string][] = [
  ["movielens bad rating", "1\t10\tfive\t881250949\n", "u.data:1"],
  ["movielens short line", "1\t10\n", "u.data:1"],
  ["movielens empty", "", "u.data"],
];
for (const [name, text, where] of badMovielens) {
  add({ name: `baseline ${name}`, args: ["baseline", "--task", "rec", "--method", "popularity", "--data", "$D/u.data", "--format", "movielens"], files: { "u.data": text }, expect: [where] });
}
const badQa: [string, string, string, string][] = [
  ["qa jsonl syntax", "qa.jsonl", '{"_id": "q1", \n', "qa.jsonl:1"],
  ["qa no question", "qa.jsonl", '{"_id": "q1", "supporting_facts": [], "context": []}\n', "qa.jsonl:1"],
  ["qa context string", "qa.jsonl", '{"_id": "q1", "question": "Q?", "supporting_facts": [["A", 0]], "context": "A"}\n', "qa.jsonl:1"],
  ["qa facts string", "qa.jsonl", '{"_id": "q1", "question": "Q?", "supporting_facts": "A", "context": [["A", ["a."]]]}\n', "qa.jsonl:1"],
  ["qa json not array", "qa.json", '"hello"', "qa.json"],
  ["qa json syntax", "qa.json", "[{", "qa.json"],
  ["qa empty", "qa.jsonl", "", "qa.jsonl"],
];
for (const [name, file, text, where] of badQa) {
  add({ name: `baseline ${name}`, args: ["baseline", "--task", "qa", "--method", "bm25", "--data", `$D/${file}`], files: { [file]: text }, expect: [where] });
}
const baselineFlags: [string, string[], string][] = [
  ["min-rating word", ["--task", "rec", "--method", "popularity", "--min-rating", "abc"], "--min-rating"],
  ["pool-size zero", ["--task", "rec", "--method", "popularity", "--pool-size", "0"], "pool"],
  ["pool-size word", ["--task", "rec", "--method", "popularity", "--pool-size", "x"], "--pool-size"],
  ["limit word", ["--task", "rec", "--method", "popularity", "--limit", "x"], "--limit"],
  ["seed word", ["--task", "rec", "--method", "popularity", "--seed", "x"], "--seed"],
  ["unknown method", ["--task", "rec", "--method", "magic"], "magic"],
  ["unknown task", ["--task", "chess", "--method", "random"], "chess"],
  ["split bad", ["--task", "rec", "--method", "random", "--split", "train2"], "train2"],
  ["negatives bad", ["--task", "rec", "--method", "random", "--negatives", "bogus"], "--negatives"],
  ["format bad", ["--task", "rec", "--method", "random", "--format", "csv"], "csv"],
  ["missing data path", ["--task", "rec", "--method", "random", "--data", "$D/none"], "none"],
  ["distractors bad", ["--task", "qa", "--method", "bm25", "--distractors", "magic"], "magic"],
  ["max-words word", ["--task", "qa", "--method", "bm25", "--max-words", "x"], "--max-words"],
  ["write-run is a folder", ["--task", "rec", "--method", "random", "--limit", "5", "--write-run", "$D"], "$D"],
  ["qa method on rec", ["--task", "rec", "--method", "bm25"], "bm25"],
];
for (const [name, args, where] of baselineFlags) add({ name: `baseline ${name}`, args: ["baseline", ...args], expect: [where] });
const sequences = Array.from({ length: 40 }, (_, u) => `${u} ${Array.from({ length: 6 }, (_, j) => ((u * 7 + j * 13) % 59) + 1).join(" ")}`).join("\n") + "\n";
add({ name: "baseline retriever without candidate lists", args: ["baseline", "--task", "rec", "--method", "retriever", "--data", "$D/seq.txt", "--pool-size", "5"], files: { "seq.txt": sequences }, expect: ["seq.txt", "candidate"] });

// Data that loads but leaves no usable user or question: the error names the file and counts why
// each record was dropped, per reason, with the first line of each (issue 14: "the test split is
// empty" said neither).
const shortUsers = Array.from({ length: 12 }, (_, u) => `${u + 1} ${u + 100}`).join("\n") + "\n";
const unusableRec: [string, string[], Record<string, string>, string[]][] = [
  ["sequences all users too short", ["--data", "$D/x.txt", "--format", "sequences", "--pool-size", "5"], { "x.txt": shortUsers }, ["x.txt", "0 usable users of 12 records", "12 with fewer than 3 items"]],
  ["sequences all lines malformed (skip-bad)", ["--data", "$D/x.txt", "--format", "sequences", "--skip-bad"], { "x.txt": "a\nb\n\nc\n" }, ["x.txt", "0 usable users of 3 records", "3 malformed", "first at $D/x.txt:1"]],
  ["sequences short and malformed (skip-bad)", ["--data", "$D/x.txt", "--format", "sequences", "--skip-bad", "--pool-size", "2"], { "x.txt": "1 2\nb\n3 4 5\n" }, ["x.txt", "0 usable users of 3 records", "2 with fewer than 3 items", "1 malformed", "first at $D/x.txt:2"]],
  ["sequences blank lines only", ["--data", "$D/x.txt", "--format", "sequences"], { "x.txt": "\n \n\t\n" }, ["x.txt", "no users", "no records"]],
  ["jsonl all users too short", ["--data", "$D/r.jsonl", "--pool-size", "2"], { "r.jsonl": '{"user": "a", "items": ["1", "2"]}\n{"user": "b", "items": ["3"]}\n' }, ["r.jsonl", "0 usable users of 2 records", "2 with fewer than 3 items"]],
  ["jsonl all lines malformed (skip-bad)", ["--data", "$D/r.jsonl", "--skip-bad"], { "r.jsonl": '{"user": "a"}\n{"user": "b", "items": 5}\n' }, ["r.jsonl", "0 usable users of 2 records", "malformed", "first at $D/r.jsonl:1"]],
  ["movielens all users too short", ["--data", "$D/u.data", "--format", "movielens", "--pool-size", "2"], { "u.data": "1\t10\t5\t1\n1\t11\t5\t2\n2\t12\t4\t3\n" }, ["u.data", "0 usable users of 3 records (2 users read)", "2 with fewer than 3 items"]],
  ["movielens all ratings below min-rating", ["--data", "$D/u.data", "--format", "movielens", "--min-rating", "5"], { "u.data": "1\t10\t1\t1\n1\t11\t2\t2\n" }, ["u.data"]],
];
for (const [name, args, files, expect] of unusableRec) add({ name: `baseline rec ${name}`, args: ["baseline", "--task", "rec", "--method", "popularity", ...args], files, expect });
const unusableQa: [string, string, string[]][] = [
  ["all questions incomplete", '{"_id": "q1", "question": "Q?", "supporting_facts": [["A", 0]], "context": [["B", ["b."]]]}\n{"_id": "q2", "question": "R?", "supporting_facts": [["C", 0]], "context": [["B", ["b."]]]}\n', ["qa.jsonl", "0 usable questions of 2 records", "2 with a supporting paragraph missing"]],
  ["all records malformed (skip-bad)", '{"_id": "q1"}\n{"x": 1}\n', ["qa.jsonl", "0 usable questions of 2 records", "1 malformed", "first at $D/qa.jsonl:2"]],
  ["blank lines only", "\n\n", ["qa.jsonl", "no questions"]],
];
for (const [name, text, expect] of unusableQa) add({ name: `baseline qa ${name}`, args: ["baseline", "--task", "qa", "--method", "bm25", "--data", "$D/qa.jsonl", "--skip-bad"], files: { "qa.jsonl": text }, expect });
add({ name: "train rec data all users too short", args: ["train", "--set", "task.data=$D/x.txt", "--set", "task.pool_size=10", "--set", "output_dir=$D/run", "--quiet"], files: { "x.txt": Array.from({ length: 30 }, (_, u) => `u${u} ${u * 2 + 1} ${u * 2 + 2}`).join("\n") + "\n" }, expect: ["x.txt", "0 usable users of 30 records", "30 with fewer than 3 items"], noOutput: ["run/config.json"] });

// A task pointed at the other task's data: the error says what the file is and which task reads it.
const HOTPOT = '{"_id": "q1", "question": "Q?", "answer": "a", "supporting_facts": [["A", 0]], "context": [["A", ["a."]], ["B", ["b."]]]}\n';
const wrongTask: [string, string[], Record<string, string>, string[]][] = [
  ["qa on a sequence file", ["--task", "qa", "--method", "bm25", "--data", "$D/seq.txt"], { "seq.txt": sequences }, ["seq.txt", "recommendation sequence file", "not QA data", "task to rec"]],
  ["qa on a RecBole folder", ["--task", "qa", "--method", "bm25", "--data", "$D/rb"], recbole("user_id:token\titem_id_list:token_seq\titem_id:token\nu1\t1 2\t3\n"), ["$D/rb", ".inter", "task to rec"]],
  ["qa on a RecBole file", ["--task", "qa", "--method", "bm25", "--data", "$D/rb/X.test.inter"], recbole("user_id:token\titem_id_list:token_seq\titem_id:token\nu1\t1 2\t3\n"), ["X.test.inter", "RecBole", "not QA data", "task to rec"]],
  ["qa on rec JSONL", ["--task", "qa", "--method", "bm25", "--data", "$D/r.jsonl"], { "r.jsonl": '{"user": "a", "items": ["1", "2", "3"]}\n' }, ["r.jsonl", "recommendation JSONL", "task to rec"]],
  ["qa on MovieLens", ["--task", "qa", "--method", "bm25", "--data", "$D/u.data"], { "u.data": "1\t10\t5\t881250949\n" }, ["u.data", "MovieLens", "task to rec"]],
  ["rec on HotpotQA JSONL", ["--task", "rec", "--method", "popularity", "--data", "$D/hotpot.jsonl"], { "hotpot.jsonl": HOTPOT }, ["hotpot.jsonl", "QA data", "not recommendation data", "task to qa"]],
  ["rec on a HotpotQA folder", ["--task", "rec", "--method", "popularity", "--data", "$D/hp"], { "hp/dev.jsonl": HOTPOT }, ["dev.jsonl", "QA data", "task to qa"]],
  ["rec on a HotpotQA JSON array", ["--task", "rec", "--method", "popularity", "--data", "$D/dev.json"], { "dev.json": `[${HOTPOT.trim()}]` }, ["dev.json", "QA data", "task to qa"]],
];
for (const [name, args, files, expect] of wrongTask) add({ name: `baseline ${name}`, args: ["baseline", ...args], files, expect });
add({ name: "train qa task on rec data", args: ["train", "--set", "task.task=qa", "--set", "task.data=$D/seq.txt", "--set", "output_dir=$D/run", "--quiet"], files: { "seq.txt": sequences }, expect: ["seq.txt", "not QA data", "task to rec"], noOutput: ["run/config.json"] });
add({ name: "train rec task on qa data", args: ["train", "--set", "task.data=$D/hotpot.jsonl", "--set", "output_dir=$D/run", "--quiet"], files: { "hotpot.jsonl": HOTPOT }, expect: ["hotpot.jsonl", "not recommendation data", "task to qa"], noOutput: ["run/config.json"] });

// ---------------------------------------------------------------- train: configs
const configCases: [string, string, string[]][] = [
  ["config syntax", '{"rl": {', ["cfg.json"]],
  ["config not object", "[1]", ["cfg.json"]],
  ["config null", "null", ["cfg.json"]],
  ["unknown top field", '{"nonsense": 1}', ["cfg.json", "nonsense"]],
  ["unknown rl field", '{"rl": {"foo": 1}}', ["cfg.json", "rl"]],
  ["rl.method bad", '{"rl": {"method": "ppo"}}', ["cfg.json", "rl.method"]],
  ["rl.learning_rate negative", '{"rl": {"learning_rate": -1}}', ["cfg.json", "rl.learning_rate"]],
  ["rl.learning_rate string", '{"rl": {"learning_rate": "fast"}}', ["cfg.json", "rl.learning_rate"]],
  ["rl.num_generations 1", '{"rl": {"num_generations": 1}}', ["cfg.json", "rl.num_generations"]],
  ["rl.prompts_per_step 0", '{"rl": {"prompts_per_step": 0}}', ["cfg.json", "rl.prompts_per_step"]],
  ["rl.prompts_per_step fraction", '{"rl": {"prompts_per_step": 2.5}}', ["cfg.json", "rl.prompts_per_step"]],
  ["rl.temperature 0", '{"rl": {"temperature": 0}}', ["cfg.json", "rl.temperature"]],
  ["rl.epsilon 2", '{"rl": {"epsilon": 2}}', ["cfg.json", "rl.epsilon"]],
  ["rl.warmup > max", '{"rl": {"max_steps": 5, "warmup_steps": 50}}', ["cfg.json", "rl.warmup_steps"]],
  ["rl.adam_beta1 1", '{"rl": {"adam_beta1": 1}}', ["cfg.json", "rl.adam_beta1"]],
  ["rl.top_p 2", '{"rl": {"top_p": 2}}', ["cfg.json", "rl.top_p"]],
  ["sft.batch_size 0", '{"sft": {"batch_size": 0}}', ["cfg.json", "sft.batch_size"]],
  ["sft.filler bad", '{"sft": {"filler": "magic"}}', ["cfg.json", "sft.filler"]],
  ["task.task bad", '{"task": {"task": "chess"}}', ["cfg.json", "task.task"]],
  ["task.pool_size 0", '{"task": {"pool_size": 0}}', ["cfg.json", "task.pool_size"]],
  ["task.data number", '{"task": {"data": 5}}', ["cfg.json", "task.data"]],
  ["task.negatives bad", '{"task": {"negatives": "magic"}}', ["cfg.json", "task.negatives"]],
  ["layout.k_max 0", '{"layout": {"k_max": 0}}', ["cfg.json", "layout.k_max"]],
  ["model.hidden_size string", '{"model": {"hidden_size": "big"}}', ["cfg.json", "model.hidden_size"]],
  ["model.num_layers negative", '{"model": {"num_layers": -2}}', ["cfg.json", "model.num_layers"]],
  ["seed string", '{"seed": "zero"}', ["cfg.json", "seed"]],
  ["deep nesting", "[".repeat(100000) + "]".repeat(100000), ["cfg.json", "nested"]],
  ["output_dir number", '{"output_dir": 5}', ["cfg.json", "output_dir"]],
  ["rl.max_completion_length too short", '{"rl": {"max_completion_length": 3}}', ["cfg.json", "rl.max_completion_length"]],
];
for (const [name, text, expect] of configCases) {
  add({ name: `train ${name}`, args: ["train", "--config", "$D/cfg.json", "--print-config"], files: { "cfg.json": text }, expect });
}
const setCases: [string, string, string][] = [
  ["--set __proto__", "__proto__.x=1", "__proto__"],
  ["--set constructor", "constructor.prototype.x=1", "constructor"],
  ["--set no equals", "rl.method", "rl.method"],
  ["--set unknown key", "rl.nope=3", "rl"],
  ["--set bad value", "rl.num_generations=abc", "rl.num_generations"],
  ["--set empty key", "=3", "=3"],
  ["--set empty segment", "rl..method=grpo", "rl..method"],
];
for (const [name, set, where] of setCases) add({ name: `train ${name}`, args: ["train", "--set", set, "--print-config"], expect: [where] });
const outputDirCases: [string, Record<string, string>, string, string][] = [
  ["output_dir is a file", { "afile": "x" }, "$D/afile", "output_dir"],
  ["output_dir under a file", { "afile": "x" }, "$D/afile/run", "output_dir"],
  ["output_dir in procfs", {}, "/proc/fgrpo-run", "output_dir"],
  ["output_dir in sysfs", {}, "/sys/fgrpo-run", "output_dir"],
];
for (const [name, files, dir, where] of outputDirCases) {
  add({ name: `train ${name}`, args: ["train", "--set", `output_dir=${dir}`, "--set", "sft.max_steps=1", "--set", "sft.warmup_steps=0", "--set", "rl.max_steps=0", "--quiet"], files, expect: [where] });
}
// A diverging update is stopped at the step that made it, naming the learning-rate field, before
// any checkpoint (or the final model) can hold the broken weights. Every training method.
const tiny = ["--set", "output_dir=$D/run", "--set", "task.eval_examples=8", "--quiet"];
add({ name: "train sft learning_rate 1e30", args: ["train", ...tiny, "--set", "sft.max_steps=2", "--set", "sft.warmup_steps=0", "--set", "sft.save_every=1", "--set", "sft.learning_rate=1e30", "--set", "rl.max_steps=0"], expect: ["sft.learning_rate", "sft step 1", "1.00e+30"], noOutput: ["run/sft/checkpoints/step-000001", "run/final"] });
add({ name: "train sft learning_rate infinite", args: ["train", ...tiny, "--set", "sft.max_steps=2", "--set", "sft.warmup_steps=0", "--set", "sft.learning_rate=1e400", "--set", "rl.max_steps=0"], expect: ["sft.learning_rate", "sft step 1", "NaN"], noOutput: ["run/sft/checkpoints/step-000001", "run/final"] });
for (const method of ["fgrpo", "grpo", "gspo", "gspo_token"]) {
  add({
    name: `train rl ${method} learning_rate 1e30`,
    args: ["train", ...tiny, "--set", "sft.max_steps=0", "--set", `rl.method=${method}`, "--set", "rl.max_steps=2", "--set", "rl.warmup_steps=0", "--set", "rl.save_every=1", "--set", "rl.prompts_per_step=2", "--set", "rl.num_generations=2", "--set", "rl.learning_rate=1e30"],
    expect: ["rl.learning_rate", "rl step 1", "1.00e+30"], noOutput: ["run/rl/checkpoints/step-000001", "run/final"],
  });
}
add({
  name: "compare decoupled-rl learning_rate 1e30",
  args: ["compare", "--config", "$D/cfg.json", "--methods", "decoupled-rl", "--seeds", "1", "--output", "$D/out"],
  files: { "cfg.json": JSON.stringify({ sft: { max_steps: 1, warmup_steps: 0 }, rl: { max_steps: 2, warmup_steps: 0, learning_rate: 1e30, prompts_per_step: 2, num_generations: 2 }, task: { eval_examples: 8 } }) },
  expect: ["rl.learning_rate", "selector-rl step 1", "1.00e+30"], noOutput: ["out/comparison.json"],
});
add({ name: "train resume with a different config", args: ["train", "--set", "output_dir=$D/run", "--set", "sft.max_steps=1", "--set", "sft.warmup_steps=0", "--set", "rl.max_steps=0", "--quiet"], files: { "run/config.json": '{"seed": 5}' }, expect: ["run/config.json", "different config"] });
add({ name: "baseline catalog smaller than the pool", args: ["baseline", "--task", "rec", "--method", "popularity", "--data", "$D/seq.txt", "--format", "sequences"], files: { "seq.txt": "1 a b c\n2 a b d\n3 b c d\n" }, expect: ["seq.txt", "4 distinct item(s)", "fewer than the pool size 20"] });
add({ name: "train missing config file", args: ["train", "--config", "$D/none.json"], expect: ["none.json"] });
add({ name: "train config is a folder", args: ["train", "--config", "$D"], expect: ["$D"] });
add({ name: "train unknown flag", args: ["train", "--bogus"], expect: ["bogus"] });

// ---------------------------------------------------------------- checkpoints: rank, eval, generate
const TRAIN_CONFIG = JSON.stringify({ task: { task: "rec" }, rl: {} });
const REQUEST = '{"id": "r1", "history": ["1", "2"], "candidates": [{"id": "3"}, {"id": "4"}]}\n';
const badCheckpoints: [string, Record<string, string | Buffer>, string][] = [
  ["config.json syntax", { "ck/config.json": "{bad", "ck/vocab.json": "{}" }, "config.json"],
  ["config.json number", { "ck/config.json": "42", "ck/vocab.json": "{}" }, "config.json"],
  ["config.json deep", { "ck/config.json": "[".repeat(50000) + "]".repeat(50000) }, "config.json"],
  ["no config.json", { "ck/vocab.json": "{}" }, "ck"],
  ["vocab.json syntax", { "ck/config.json": '{"model_type": "llama"}', "ck/vocab.json": "{bad" }, "vocab.json"],
  ["vocab.json short", { "ck/config.json": '{"model_type": "llama"}', "ck/vocab.json": '{"type": "fgrpo-task-vocab", "tokens": []}' }, "vocab.json"],
  ["vocab.json null", { "ck/config.json": '{"model_type": "llama"}', "ck/vocab.json": "null" }, "vocab.json"],
];
for (const [name, files, where] of badCheckpoints) {
  // generate reads no vocab.json; rank and eval read vocab.json before config.json, so they blame a file of the folder.
  if (!name.startsWith("vocab")) add({ name: `generate checkpoint ${name}`, args: ["generate", "--checkpoint", "$D/ck", "--max-new-tokens", "3"], files, expect: [where] });
  add({ name: `rank checkpoint ${name}`, args: ["rank", "--checkpoint", "$D/ck", "--config", "$D/train.json", "--input", "$D/req.jsonl", "--output", "$D/out.jsonl"], files: { ...files, "train.json": TRAIN_CONFIG, "req.jsonl": REQUEST }, expect: ["$D/ck"], noOutput: ["out.jsonl"] });
  add({ name: `eval checkpoint ${name}`, args: ["eval", "--checkpoint", "$D/ck", "--config", "$D/train.json", "--split", "test"], files: { ...files, "train.json": TRAIN_CONFIG }, expect: ["$D/ck"] });
}
const HF_CONFIG = JSON.stringify({ model_type: "llama", vocab_size: 8, hidden_size: 4, num_hidden_layers: 1, num_attention_heads: 1, num_key_value_heads: 1, intermediate_size: 8, max_position_embeddings: 16, rms_norm_eps: 1e-5 });
const header = (json: string) => {
  const h = Buffer.from(json, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h]);
};
/** A valid safetensors file for HF_CONFIG's parameters (tied embeddings), every value `fill` (zeros by default). */
function tinyWeights(fill = 0): Buffer {
  const shapes: [string, number[]][] = [
    ["model.embed_tokens.weight", [8, 4]], ["model.norm.weight", [4]],
    ...["q", "k", "v", "o"].map((p): [string, number[]] => [`model.layers.0.self_attn.${p}_proj.weight`, [4, 4]]),
    ["model.layers.0.mlp.gate_proj.weight", [8, 4]], ["model.layers.0.mlp.up_proj.weight", [8, 4]], ["model.layers.0.mlp.down_proj.weight", [4, 8]],
    ["model.layers.0.input_layernorm.weight", [4]], ["model.layers.0.post_attention_layernorm.weight", [4]],
  ];
  let offset = 0;
  const entries: Record<string, unknown> = {};
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    entries[name] = { dtype: "F32", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const data = Buffer.alloc(offset);
  for (let i = 0; i < offset; i += 4) data.writeFloatLE(fill, i);
  return Buffer.concat([header(JSON.stringify(entries)), data]);
}
const TIED_CONFIG = JSON.stringify({ ...JSON.parse(HF_CONFIG), tie_word_embeddings: true, bos_token_id: 1 });

const badWeights: [string, Record<string, string | Buffer>, string][] = [
  ["safetensors header null", { "ck/model.safetensors": header("null") }, "model.safetensors"],
  ["safetensors header number", { "ck/model.safetensors": header("12") }, "model.safetensors"],
  ["safetensors header array", { "ck/model.safetensors": header("[]") }, "model.safetensors"],
  ["safetensors header syntax", { "ck/model.safetensors": header("{bad") }, "model.safetensors"],
  ["safetensors too short", { "ck/model.safetensors": Buffer.from([1, 2, 3]) }, "model.safetensors"],
  ["safetensors length past end", { "ck/model.safetensors": Buffer.concat([Buffer.from([255, 255, 255, 0, 0, 0, 0, 0]), Buffer.from("{}")]) }, "model.safetensors"],
  ["safetensors offsets out of range", { "ck/model.safetensors": header('{"model.embed_tokens.weight": {"dtype": "F32", "shape": [8, 4], "data_offsets": [0, 128]}}') }, "model.safetensors"],
  ["safetensors bad dtype", { "ck/model.safetensors": header('{"model.embed_tokens.weight": {"dtype": "Q4", "shape": [8, 4], "data_offsets": [0, 0]}}') }, "model.safetensors"],
  ["index shard outside", { "ck/model.safetensors.index.json": '{"weight_map": {"model.embed_tokens.weight": "../../../../etc/passwd"}}' }, "model.safetensors.index.json"],
  ["index shard absolute", { "ck/model.safetensors.index.json": '{"weight_map": {"model.embed_tokens.weight": "/etc/passwd"}}' }, "model.safetensors.index.json"],
  ["index shard number", { "ck/model.safetensors.index.json": '{"weight_map": {"model.embed_tokens.weight": 5}}' }, "model.safetensors.index.json"],
  ["index no weight_map", { "ck/model.safetensors.index.json": "{}" }, "model.safetensors.index.json"],
  ["index syntax", { "ck/model.safetensors.index.json": "{" }, "model.safetensors.index.json"],
  ["index missing shard", { "ck/model.safetensors.index.json": '{"weight_map": {"model.embed_tokens.weight": "part-1.safetensors"}}' }, "part-1.safetensors"],
  ["no weights", {}, "ck"],
];
for (const [name, files, where] of badWeights) {
  add({ name: `generate ${name}`, args: ["generate", "--checkpoint", "$D/ck", "--max-new-tokens", "3"], files: { "ck/config.json": HF_CONFIG, ...files }, expect: [where] });
}
add({ name: "generate run folder as checkpoint", args: ["generate", "--checkpoint", "$D/run", "--max-new-tokens", "3"], files: { "run/config.json": JSON.stringify({ task: { task: "rec" }, rl: {}, sft: {} }) }, expect: ["run", "final"] });
add({ name: "generate llama2c truncated", args: ["generate", "--checkpoint", "$D/m.bin", "--max-new-tokens", "3"], files: { "m.bin": Buffer.from([1, 2, 3, 4]) }, expect: ["m.bin"] });
add({ name: "generate llama2c garbage header", args: ["generate", "--checkpoint", "$D/m.bin", "--max-new-tokens", "3"], files: { "m.bin": Buffer.alloc(64, 255) }, expect: ["m.bin"] });
add({ name: "generate tokenizer garbage", args: ["generate", "--checkpoint", "$D/ck", "--tokenizer", "$D/tok.json", "--max-new-tokens", "3"], files: { "ck/config.json": TIED_CONFIG, "ck/model.safetensors": tinyWeights(), "tok.json": "{bad" }, expect: ["tok.json"] });
add({ name: "generate tokenizer_config garbage", args: ["generate", "--checkpoint", "$D/ck", "--tokenizer", "$D/t/tokenizer.json", "--max-new-tokens", "3"], files: { "ck/config.json": TIED_CONFIG, "ck/model.safetensors": tinyWeights(), "t/tokenizer.json": '{"model": {"type": "BPE", "vocab": {}, "merges": []}}', "t/tokenizer_config.json": "{bad" }, expect: ["tokenizer_config.json"] });
add({ name: "generate max-new-tokens past max_position_embeddings", args: ["generate", "--checkpoint", "$D/ck", "--max-new-tokens", "100"], files: { "ck/config.json": TIED_CONFIG, "ck/model.safetensors": tinyWeights() }, expect: ["--max-new-tokens", "max_position_embeddings"] });
add({ name: "generate NaN weights", args: ["generate", "--checkpoint", "$D/ck", "--max-new-tokens", "3"], files: { "ck/config.json": TIED_CONFIG, "ck/model.safetensors": tinyWeights(NaN) }, expect: ["$D/ck", "NaN", "not finite"] });
const generateFlags: [string, string[], string][] = [
  ["max-new-tokens word", ["--max-new-tokens", "many"], "--max-new-tokens"],
  ["max-new-tokens zero", ["--max-new-tokens", "0"], "--max-new-tokens"],
  ["max-new-tokens negative", ["--max-new-tokens", "-5"], "--max-new-tokens"],
  ["max-new-tokens missing", [], "--max-new-tokens"],
  ["temperature zero", ["--max-new-tokens", "2", "--temperature", "0"], "--temperature"],
  ["temperature word", ["--max-new-tokens", "2", "--temperature", "hot"], "--temperature"],
  ["top-p 2", ["--max-new-tokens", "2", "--top-p", "2"], "--top-p"],
  ["top-p zero", ["--max-new-tokens", "2", "--top-p", "0"], "--top-p"],
  ["top-k negative", ["--max-new-tokens", "2", "--top-k", "-1"], "--top-k"],
  ["top-k fraction", ["--max-new-tokens", "2", "--top-k", "1.5"], "--top-k"],
  ["seed word", ["--max-new-tokens", "2", "--seed", "x"], "--seed"],
  ["greedy with temperature", ["--max-new-tokens", "2", "--greedy", "--temperature", "2"], "--greedy"],
  ["missing checkpoint path", ["--max-new-tokens", "2", "--checkpoint", "$D/none"], "none"],
];
for (const [name, args, where] of generateFlags) {
  const withCheckpoint = args.includes("--checkpoint") ? args : ["--checkpoint", "$D/ck", ...args];
  add({ name: `generate ${name}`, args: ["generate", ...withCheckpoint], files: { "ck/config.json": HF_CONFIG }, expect: [where] });
}
// rank: request files and output paths (the checkpoint folder is checked first, so give a config)
const badRequests: [string, string, string][] = [
  ["requests syntax", '{"id": "r1", \n', "req.jsonl:1"],
  ["requests not object", "[1]\n", "req.jsonl:1"],
  ["requests no candidates", '{"id": "r1", "history": ["1"]}\n', "req.jsonl:1"],
  ["requests candidates string", '{"id": "r1", "history": ["1"], "candidates": "2"}\n', "req.jsonl:1"],
  ["requests candidate ids numbers", '{"id": "r1", "history": ["1"], "candidates": ["2", "3"]}\n', "req.jsonl:1"],
  ["requests history numbers", '{"id": "r1", "history": [1], "candidates": [{"id": "2"}]}\n', "req.jsonl:1"],
  ["requests empty", "", "req.jsonl"],
  ["requests duplicate id", REQUEST + REQUEST, "req.jsonl:2"],
  ["requests duplicate candidate", '{"id": "r1", "history": ["1"], "candidates": [{"id": "2"}, {"id": "2"}]}\n', "req.jsonl:1"],
  ["requests too many candidates", JSON.stringify({ id: "r1", history: ["1"], candidates: Array.from({ length: 500 }, (_, i) => ({ id: String(i) })) }) + "\n", "req.jsonl:1"],
];
for (const [name, text, where] of badRequests) {
  add({ name: `rank ${name}`, args: ["rank", "--checkpoint", "$D/ck", "--config", "$D/train.json", "--input", "$D/req.jsonl", "--output", "$D/out.jsonl"], files: { "ck/config.json": HF_CONFIG, "train.json": TRAIN_CONFIG, "req.jsonl": text }, expect: [where], noOutput: ["out.jsonl"] });
}
add({ name: "rank --output is a folder", args: ["rank", "--checkpoint", "$D/ck", "--config", "$D/train.json", "--input", "$D/req.jsonl", "--output", "$D/outdir"], files: { "ck/config.json": HF_CONFIG, "train.json": TRAIN_CONFIG, "req.jsonl": '{"id": "r1", "history": ["1"], "candidates": ["2", "3"]}\n', "outdir/keep": "" }, expect: ["outdir"] });
add({ name: "rank --output in procfs", args: ["rank", "--checkpoint", "$D/ck", "--config", "$D/train.json", "--input", "$D/req.jsonl", "--output", "/proc/fgrpo.jsonl"], files: { "ck/config.json": HF_CONFIG, "train.json": TRAIN_CONFIG, "req.jsonl": '{"id": "r1", "history": ["1"], "candidates": ["2", "3"]}\n' }, expect: ["/proc"] });
add({ name: "rank missing input", args: ["rank", "--checkpoint", "$D/ck", "--config", "$D/train.json", "--input", "$D/none.jsonl", "--output", "$D/out.jsonl"], files: { "ck/config.json": HF_CONFIG, "train.json": TRAIN_CONFIG }, expect: ["none.jsonl"], noOutput: ["out.jsonl"] });
add({ name: "rank bad --config", args: ["rank", "--checkpoint", "$D/ck", "--config", "$D/train.json", "--input", "$D/req.jsonl", "--output", "$D/out.jsonl"], files: { "ck/config.json": HF_CONFIG, "train.json": '{"rl": {"method": "ppo"}}', "req.jsonl": "" }, expect: ["train.json", "rl.method"], noOutput: ["out.jsonl"] });
add({ name: "eval bad split", args: ["eval", "--checkpoint", "$D/ck", "--config", "$D/train.json", "--split", "train"], files: { "ck/config.json": HF_CONFIG, "train.json": TRAIN_CONFIG }, expect: ["--split"] });
add({ name: "eval no training config", args: ["eval", "--checkpoint", "$D/ck", "--split", "test"], files: { "ck/config.json": HF_CONFIG }, expect: ["ck"] });
add({ name: "report --output is a folder", args: ["report", "$D/run", "--output", "$D/outdir"], files: { "run/rl/metrics.jsonl": '{"step": 1}\n', "outdir/keep": "" }, expect: ["outdir"] });
add({ name: "report missing run", args: ["report", "$D/none", "--output", "$D/r.html"], expect: ["none"], noOutput: ["r.html"] });
add({ name: "report bad metrics line", args: ["report", "$D/run", "--output", "$D/r.html"], files: { "run/config.json": TRAIN_CONFIG, "run/rl/metrics.jsonl": '{"step": 1}\n{bad\n' }, expect: ["metrics.jsonl"], noOutput: ["r.html"] });

export const BAD_INPUTS: readonly BadInput[] = cases;
