/**
 * `npm run bench -- matmul`: float32 square matmul throughput for n = 256, 512, 1024.
 * ARCHITECTURE.md: OpenBLAS sgemm n=1024 on 2 threads reaches 157 GFLOP/s here; target ≥ 140.
 */
import * as T from "../src/torch/index.js";

const REFERENCE_GFLOPS_1024 = 157;

export function run(args: string[]): void {
  const device = args.includes("--cuda") ? "cuda" : "cpu";
  const threads = Number(args.find((a) => a.startsWith("--threads="))?.slice(10) ?? 2);
  T.setNumThreads(1, threads);
  for (const n of [256, 512, 1024]) {
    T.tidy(() => {
      const a = T.randn([n, n]).toDevice(device), b = T.randn([n, n]).toDevice(device);
      const reps = Math.max(3, Math.round(2e10 / (2 * n ** 3)));
      for (let i = 0; i < 3; i++) T.tidy(() => a.matmul(b).sum().item());
      const t0 = performance.now();
      T.tidy(() => {
        let last: T.Tensor | null = null;
        for (let i = 0; i < reps; i++) {
          last?.dispose();
          last = a.matmul(b);
        }
        last!.sum().item(); // synchronises a GPU
      });
      const s = (performance.now() - t0) / 1000;
      const gflops = (2 * n ** 3 * reps) / s / 1e9;
      const line: Record<string, unknown> = { bench: "matmul", isa: T.buildInfo().isa, device, n, gflops: Math.round(gflops * 10) / 10 };
      if (n === 1024 && device === "cpu") line.ratio_to_reference = Math.round((gflops / REFERENCE_GFLOPS_1024) * 1000) / 1000;
      console.log(JSON.stringify(line));
    });
  }
}
