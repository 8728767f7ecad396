import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every file or folder under `dir` whose name marks it temporary (`.tmp`): what a run must not leave behind. */
export function temporaries(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (/\.tmp/.test(e.name)) found.push(join(d, e.name));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return found;
}
