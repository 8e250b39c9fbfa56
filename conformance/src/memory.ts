/**
 * Memory accounting for an adapter's process group on Linux, from `/proc`: the resident
 * set now, and the peak since the last reset (`VmHWM`, reset through `clear_refs`), so a
 * short spike between two polls is still seen.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from "node:fs";

/** How the harness caps an adapter's memory. */
export type MemoryLimitMode = "rss" | "as" | "off";

const KIB_PER_MIB = 1024;

const STATUS_BUFFER = Buffer.alloc(4096);

/** Reads a `kB` field of `/proc/<pid>/status` through an open descriptor (one pread). */
function statusField(fd: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const n = readSync(fd, STATUS_BUFFER, 0, STATUS_BUFFER.length, 0);
    const text = STATUS_BUFFER.toString("latin1", 0, n);
    const at = text.indexOf(`${field}:`);
    if (at < 0) {
      return 0;
    }
    return Number.parseInt(text.slice(at + field.length + 1, text.indexOf("\n", at)), 10) || 0;
  } catch {
    return 0;
  }
}

/**
 * Lists the live processes of a process group.
 *
 * @param pgid - The group's ID (the adapter's PID: it is spawned as a group leader).
 * @returns The PIDs whose group is `pgid`; empty when `/proc` cannot be read.
 * @example
 * ```ts
 * groupMembers(child.pid); // [child.pid, ...its descendants]
 * ```
 */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      // Fields after the parenthesised command: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) {
        out.push(Number(entry));
      }
    } catch {
      // The process ended between readdir and read.
    }
  }
  return out;
}

/**
 * Watches the memory of one process group during one request.
 *
 * @example
 * ```ts
 * const probe = new GroupMemory(child.pid);
 * probe.reset();
 * // ... later
 * probe.peakMiB(); // the largest resident total seen since reset
 * ```
 */
export class GroupMemory {
  readonly #pgid: number;
  /** Open `/proc/<pid>/status` descriptors of the group's members. */
  #status = new Map<number, number>();
  #lastScan = Number.NEGATIVE_INFINITY;

  /**
   * @param pgid - The process group to watch.
   */
  constructor(pgid: number) {
    this.#pgid = pgid;
  }

  #refresh(now: number): void {
    if (now - this.#lastScan < 250) {
      return;
    }
    this.#lastScan = now;
    const found = groupMembers(this.#pgid);
    const members = new Set(found.length > 0 ? found : [this.#pgid]);
    for (const [pid, fd] of this.#status) {
      if (!members.has(pid)) {
        closeSync(fd);
        this.#status.delete(pid);
      }
    }
    for (const pid of members) {
      if (!this.#status.has(pid)) {
        try {
          this.#status.set(pid, openSync(`/proc/${pid}/status`, "r"));
        } catch {
          // Gone already.
        }
      }
    }
  }

  /**
   * Starts a new measurement: resets each member's peak to its current resident size.
   *
   * @returns The group's resident size now, in MiB.
   */
  reset(): number {
    this.#refresh(performance.now());
    let total = 0;
    for (const [pid, fd] of this.#status) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, "5");
      } catch {
        // Not permitted or gone: its peak then covers its whole life, which only errs high.
      }
      total += statusField(fd, "VmRSS");
    }
    return total / KIB_PER_MIB;
  }

  /**
   * The group's peak resident size since the last reset, summed over its members.
   *
   * @returns MiB.
   */
  peakMiB(): number {
    this.#refresh(performance.now());
    let total = 0;
    for (const fd of this.#status.values()) {
      total += statusField(fd, "VmHWM");
    }
    return total / KIB_PER_MIB;
  }

  /** Closes the descriptors (call when the group is gone). */
  dispose(): void {
    for (const fd of this.#status.values()) {
      closeSync(fd);
    }
    this.#status.clear();
  }
}

/** Messages of allocators that ran out of address space (used in `as` mode). */
export const OUT_OF_MEMORY =
  /MemoryError|out of memory|Cannot allocate memory|bad_alloc|allocation failed|memory allocation of \d+ bytes failed|ENOMEM|Array buffer allocation failed|Invalid array length|Invalid typed array length/i;
