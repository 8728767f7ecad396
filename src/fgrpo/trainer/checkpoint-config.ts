/**
 * Finding the training config that belongs to a policy folder, so `eval` and `rank` know the
 * task, layout and prompt settings a model was trained with: the nearest `config.json` with a
 * `task` section, from the folder upwards (a run's `final/`, `sft/checkpoints/best/model`, …).
 */
import { existsSync } from "node:fs";
import { readJsonFile } from "../../util/json-file.js";
import { dirname, join, resolve } from "node:path";
import { InputError } from "../../util/errors.js";
import { parseConfig, readConfigFile, type TrainConfig } from "./config.js";

export function findRunConfig(policyDir: string, explicit?: string): TrainConfig {
  if (explicit) return parseConfig(readConfigFile(explicit), explicit);
  if (!existsSync(policyDir)) throw new InputError("no such checkpoint folder", { file: policyDir });
  let dir = resolve(policyDir);
  for (;;) {
    const file = join(dir, "config.json");
    if (existsSync(file)) {
      const value = readJsonFile(file) as Record<string, unknown>;
      if (typeof value === "object" && value !== null && "task" in value && "rl" in value) return parseConfig(value, file);
    }
    const up = dirname(dir);
    if (up === dir) throw new InputError("no training config.json found in this folder or above it; pass --config", { file: policyDir });
    dir = up;
  }
}
