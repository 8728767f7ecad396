/**
 * Spawning small multi-process groups on 127.0.0.1 for the distributed tests: a free port, and
 * N copies of a worker script run with the torchrun environment (RANK, WORLD_SIZE, …).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A port the OS reports free now (another process may take it before use; tests retry nothing). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Exit {
  rank: number;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs `args` once per rank with the launch environment; resolves when every process has exited. */
export function runRanks(
  worldSize: number,
  port: number,
  args: string[],
  env: Record<string, string> = {},
  onSpawn?: (rank: number, child: ChildProcess) => void,
): Promise<Exit[]> {
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      new Promise<Exit>((resolve) => {
        const child = spawn(process.execPath, args, {
          env: {
            ...process.env,
            RANK: String(rank),
            LOCAL_RANK: String(rank),
            WORLD_SIZE: String(worldSize),
            MASTER_ADDR: "127.0.0.1",
            MASTER_PORT: String(port),
            OMP_NUM_THREADS: "1",
            ...env,
          },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "", stderr = "";
        child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("exit", (code, signal) => resolve({ rank, code, signal, stdout, stderr }));
        onSpawn?.(rank, child);
      }),
    ),
  );
}
