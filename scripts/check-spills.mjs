// `node scripts/check-spills.mjs [addon.node]`: disassembles the addon (objdump, x86-64 only) and
// reports, for each instruction set's kernels (fgrpo::kernels::avx512 / avx2 / baseline), the
// innermost loops that touch the stack with vector registers, and fails (exit 1) on spills: a
// stack slot stored and read back inside one loop (the hot loop of a register block too large for
// the register file stores and reloads its accumulators; issue 13). Loads alone are listed but
// allowed: loop-invariant constants (e.g. the exp polynomial's coefficients) used as memory
// operands, which cost what a load of the same constant from .rodata would.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const addon = process.argv[2] ?? join(root, "native", "build", "Release", "fgrpo_native.node");
if (process.arch !== "x64") {
  console.log(JSON.stringify({ check: "spills", skipped: `no x86-64 instruction sets on ${process.arch}` }));
  process.exit(0);
}
const text = execFileSync("objdump", ["-d", "--no-show-raw-insn", "-C", addon], { encoding: "utf8", maxBuffer: 1 << 28 });

const functions = text.split(/\n(?=[0-9a-f]+ <)/).filter((f) => /^[0-9a-f]+ <fgrpo::kernels::(avx512|avx2|baseline)::/.test(f));
let spills = 0;
for (const f of functions) {
  const name = f.slice(f.indexOf("<") + 1, f.indexOf("(")) ;
  const insns = [];
  for (const line of f.split("\n").slice(1)) {
    const m = /^\s*([0-9a-f]+):\s+(.*)$/.exec(line);
    if (m) insns.push({ addr: parseInt(m[1], 16), text: m[2] });
  }
  // Loops: backward jumps inside the function; innermost: containing no other backward jump.
  const loops = [];
  for (const [i, insn] of insns.entries()) {
    const m = /^j\w+\s+([0-9a-f]+)\s+</.exec(insn.text);
    if (!m) continue;
    const target = parseInt(m[1], 16);
    if (target < insn.addr && target >= insns[0].addr) loops.push({ from: insns.findIndex((x) => x.addr === target), to: i });
  }
  const innermost = loops.filter((l) => !loops.some((o) => o !== l && o.from >= l.from && o.to <= l.to));
  for (const l of innermost) {
    const body = insns.slice(l.from, l.to + 1);
    const slot = (x) => /(-?(0x[0-9a-f]+)?\(%rsp(,%\w+,\d)?\))/.exec(x.text)?.[1];
    const stores = body.filter((x) => /^v?mov\w*\s+%[xyz]mm\d+,\s*-?(0x[0-9a-f]+)?\(%rsp/.test(x.text));
    const loads = body.filter((x) => /\(%rsp/.test(x.text) && /%[xyz]mm/.test(x.text) && !stores.includes(x));
    // A spill: a slot stored and read back in the same loop (a register's value parked there).
    const reloaded = stores.filter((s) => loads.some((l) => slot(l) === slot(s)));
    if (stores.length > 0 || loads.length > 0) {
      console.log(JSON.stringify({ check: "spills", kernel: name, loop: `${insns[l.from].addr.toString(16)}-${insns[l.to].addr.toString(16)}`, insns: body.length, vector_stack_stores: stores.length, vector_stack_loads: loads.length, spills: reloaded.length }));
    }
    spills += reloaded.length;
  }
}
console.log(JSON.stringify({ check: "spills", kernels: functions.length, spills_in_innermost_loops: spills }));
process.exit(spills > 0 ? 1 : 0);
