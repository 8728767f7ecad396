// Marks the compiled `fgrpo` command executable. tsc writes new files with mode 644, and
// `npx fgrpo …` runs the package's bin directly, so on a fresh clone it failed with
// "Permission denied" until something set the bit.
import { chmodSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
for (const bin of Object.values(pkg.bin ?? {})) chmodSync(join(root, bin), 0o755);
