// `npm run bench -- <name> [args]`: runs bench/<name>.ts (compiled to dist/bench/<name>.js).
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bench");
const [name, ...args] = process.argv.slice(2);
const available = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".js") && !f.includes("reference")).map((f) => f.slice(0, -3)) : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>   (available: ${available.join(", ")})`);
  process.exit(2);
}
const mod = await import(pathToFileURL(join(dir, `${name}.js`)).href);
await mod.run(args);
