import type { Command } from "../main.js";

// The end-to-end demo (SFT warm start, then F-GRPO and GRPO on the bundled Games subset) needs
// the trainer, which is not built yet.
const demo: Command = {
  summary: "train and compare F-GRPO and GRPO on the bundled data (not yet available)",
  async run() {
    console.log("fgrpo demo: not yet — the trainer is not built. Run the tests with `npm test`.");
    return 0;
  },
};
export default demo;
