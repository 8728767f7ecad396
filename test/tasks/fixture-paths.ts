// Paths used by the task tests (compiled to dist/test/tasks/, fixtures stay in test/fixtures/tasks/).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../../../test/fixtures/tasks/", import.meta.url));
export const fixture = (name: string): string => FIXTURES + name;

/** The shared copies of the real datasets; tests that need them skip when they are absent. */
export const SHARED_DATA = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));
export const hasSharedData = existsSync(SHARED_DATA + "qa/hotpotqa") && existsSync(SHARED_DATA + "rec/amazon-games");
