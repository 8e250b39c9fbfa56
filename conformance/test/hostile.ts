/**
 * Helpers for the tests that run hostile adapters (`test/faux/hostile.mjs`, issue #8):
 * its command line, and a check that none of the processes it started outlives the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The hostile adapter's command line for a behaviour (see the script's header). */
export function hostile(mode: string): string[] {
  return [process.execPath, join(import.meta.dirname, "faux", "hostile.mjs"), mode];
}

/** The state letter of a process (`R`, `S`, `Z`, ...), or `undefined` when it is gone. */
function state(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/**
 * The processes a hostile adapter recorded (itself and every child it started) that are
 * still alive, and any live process in a group one of them led. Zombies count as gone.
 *
 * @param pidFile - The file the adapter appended PIDs to (`HOSTILE_PIDS`).
 * @returns The PIDs that survived, with their command lines; empty when none did.
 */
export function survivors(pidFile: string): string[] {
  if (!existsSync(pidFile)) {
    return [];
  }
  const recorded = new Set(
    readFileSync(pidFile, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(Number),
  );
  const out: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    const pid = Number(entry);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const alive = fields[0] !== "Z";
      if (alive && (recorded.has(pid) || recorded.has(Number(fields[2])))) {
        out.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ").trim()}`);
      }
    } catch {
      // Gone between readdir and read.
    }
  }
  return out;
}

/**
 * Kills what a failed test left behind: the recorded processes that still run `sleep` or
 * the hostile adapter (a recycled PID is left alone).
 *
 * @param pidFile - The file the adapter appended PIDs to.
 */
export function cleanUp(pidFile: string): void {
  if (!existsSync(pidFile)) {
    return;
  }
  for (const line of readFileSync(pidFile, "utf8").split("\n")) {
    const pid = Number(line);
    if (line === "" || state(pid) === undefined) {
      continue;
    }
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      if (cmdline.includes("sleep") || cmdline.includes("hostile.mjs")) {
        process.kill(pid, "SIGKILL");
      }
    } catch {
      // Gone.
    }
  }
}

/** How a CLI process ended. */
export interface Ended {
  /** Its exit status, or `null` when a signal ended it (or the test had to kill it). */
  readonly code: number | null;
  /** The signal that ended it. */
  readonly signal: NodeJS.Signals | null;
  /** Its standard output. */
  readonly stdout: string;
  /** Its standard error. */
  readonly stderr: string;
  /** Milliseconds from spawn to exit. */
  readonly ms: number;
  /** `true` when it had not exited within the deadline and was killed. */
  readonly hung: boolean;
}

/**
 * Spawns a process and waits for it to exit, killing it (and reporting `hung`) when it
 * has not exited by the deadline. `onSpawn` may send it signals.
 *
 * @param argv - The program and its arguments.
 * @param options - Working directory, extra environment, deadline and a spawn hook.
 * @returns How it ended.
 */
export function runUntil(
  argv: readonly string[],
  options: {
    readonly cwd: string;
    readonly env?: Readonly<Record<string, string>>;
    readonly deadlineMs: number;
    readonly onSpawn?: (child: ChildProcess) => void;
  },
): Promise<Ended> {
  const started = performance.now();
  const [program, ...args] = argv;
  const child = spawn(program ?? "", args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let hung = false;
  const deadline = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, options.deadlineMs);
  options.onSpawn?.(child);
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(deadline);
      // The rest of the output, unless something the process left behind holds the pipes.
      const done = (): void => {
        clearTimeout(grace);
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code, signal, stdout, stderr, ms, hung });
      };
      const grace = setTimeout(done, 1000);
      child.on("close", done);
    });
  });
}

/**
 * Resolves once a file exists (polling), to send a signal at a known moment.
 *
 * @param path - The file to wait for.
 * @param timeoutMs - How long to wait before giving up.
 * @returns Whether the file appeared.
 */
export async function appears(path: string, timeoutMs = 20_000): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (existsSync(path)) {
      return true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
