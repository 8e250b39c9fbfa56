/**
 * Making sure no adapter process outlives its use. Each adapter is spawned as the leader
 * of a new process group, with a tag in its environment that its descendants inherit. When
 * the adapter is done with (it exited, was killed for a failure, is restarted, or the run
 * ends) its whole group is killed, and on Linux a sweep of `/proc` kills any other process
 * that carries its tag: descendants that left the group (`setsid`, `setpgid`) and were
 * perhaps reparented. What escapes: a descendant that left the group *and* replaced its
 * environment (`env -i`, an `execve` with a fresh environment) or runs as another user,
 * and, off Linux, any descendant that left the group.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

/** The environment variable that tags an adapter's processes. */
export const TAG_VARIABLE = "SAFETENSORS_CONFORMANCE_TAG";

/** Sweeps that are not forced run at most this often (each reads every `/proc/<pid>/environ`). */
const SWEEP_INTERVAL_MS = 1000;
/** A forced sweep repeats until a pass kills nothing (a process may fork while it runs). */
const MAX_SWEEP_PASSES = 5;

const live = new Set<ProcessReaper>();
let exitHook = false;

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // The group is empty already.
  }
}

/**
 * Tracks the process groups one adapter spawns and kills them. Every spawn gets a tag
 * ({@link ProcessReaper.spawnEnv}); {@link ProcessReaper.end} kills its group when it is
 * done with; {@link ProcessReaper.endAll} kills every group and sweeps for tagged
 * stragglers. If the harness exits without calling it (a second SIGINT, an uncaught
 * error), a `process.on("exit")` hook does it.
 *
 * @example
 * ```ts
 * const reaper = new ProcessReaper();
 * const { id, env } = reaper.spawnEnv();
 * const child = spawn(cmd, args, { detached: true, env: { ...process.env, ...env } });
 * reaper.started(id, child.pid);
 * // ... later, whatever the child did:
 * reaper.end(id);
 * ```
 */
export class ProcessReaper {
  readonly #prefix = `${process.pid}.${randomBytes(6).toString("hex")}`;
  #next = 0;
  /** Spawns whose group is alive, by spawn ID: the group's ID (the leader's PID). */
  readonly #groups = new Map<number, number | undefined>();
  /** Spawns that are over: any process still carrying their tag is a straggler. */
  readonly #ended = new Set<number>();
  #lastSweep = Number.NEGATIVE_INFINITY;

  /**
   * Allocates the tag of a new spawn.
   *
   * @returns The spawn's ID and the environment entries to give it.
   */
  spawnEnv(): { readonly id: number; readonly env: Readonly<Record<string, string>> } {
    const id = this.#next;
    this.#next += 1;
    this.#groups.set(id, undefined);
    live.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on("exit", () => {
        for (const reaper of live) {
          reaper.endAll();
        }
      });
    }
    return { id, env: { [TAG_VARIABLE]: `${this.#prefix}.${id}` } };
  }

  /**
   * Records the group a spawn leads.
   *
   * @param id - The spawn's ID.
   * @param pid - The leader's PID (`undefined` when the spawn failed).
   */
  started(id: number, pid: number | undefined): void {
    if (this.#groups.has(id)) {
      this.#groups.set(id, pid);
    }
  }

  /**
   * Kills a spawn's whole process group now, and (at most once a second) sweeps for
   * tagged processes of ended spawns. Idempotent.
   *
   * @param id - The spawn's ID.
   */
  end(id: number): void {
    if (this.#groups.has(id)) {
      const pgid = this.#groups.get(id);
      this.#groups.delete(id);
      this.#ended.add(id);
      if (pgid !== undefined) {
        killGroup(pgid);
      }
    }
    this.#sweep(false);
  }

  /** Kills every group this reaper tracks and sweeps until no tagged process is left. */
  endAll(): void {
    for (const id of [...this.#groups.keys()]) {
      this.end(id);
    }
    this.#sweep(true);
    live.delete(this);
  }

  /** Kills every process whose tag names an ended spawn of this reaper. */
  #sweep(force: boolean): void {
    const now = performance.now();
    if (this.#ended.size === 0 || (!force && now - this.#lastSweep < SWEEP_INTERVAL_MS)) {
      return;
    }
    this.#lastSweep = now;
    for (let pass = 0; pass < (force ? MAX_SWEEP_PASSES : 1); pass++) {
      if (this.#sweepOnce() === 0) {
        return;
      }
    }
  }

  #sweepOnce(): number {
    let entries: string[];
    try {
      entries = readdirSync("/proc");
    } catch {
      return 0;
    }
    const needle = `${TAG_VARIABLE}=${this.#prefix}.`;
    let killed = 0;
    for (const entry of entries) {
      const c = entry.charCodeAt(0);
      if (c < 48 || c > 57 || Number(entry) === process.pid) {
        continue;
      }
      let environ: string;
      try {
        environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      } catch {
        // Gone, or not ours to read.
        continue;
      }
      const at = environ.indexOf(needle);
      if (at < 0 || (at > 0 && environ.charCodeAt(at - 1) !== 0)) {
        continue;
      }
      const end = environ.indexOf("\0", at);
      const id = Number(environ.slice(at + needle.length, end < 0 ? undefined : end));
      if (this.#ended.has(id)) {
        try {
          process.kill(Number(entry), "SIGKILL");
          killed += 1;
        } catch {
          // Gone.
        }
      }
    }
    return killed;
  }
}
