/**
 * Memory accounting for an adapter's process group on Linux, from `/proc`: the resident
 * set now, and the peak since the last reset (`VmHWM`, reset through `clear_refs`), so a
 * short spike between two polls is still seen.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** How the harness caps an adapter's memory. */
export type MemoryLimitMode = "rss" | "as" | "off";

const KIB_PER_MIB = 1024;

function statusField(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "latin1");
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
  #members: number[];
  #lastScan = 0;

  /**
   * @param pgid - The process group to watch.
   */
  constructor(pgid: number) {
    this.#pgid = pgid;
    this.#members = [pgid];
  }

  #refresh(now: number): void {
    if (now - this.#lastScan >= 250) {
      this.#lastScan = now;
      const found = groupMembers(this.#pgid);
      this.#members = found.length > 0 ? found : [this.#pgid];
    }
  }

  /**
   * Starts a new measurement: resets each member's peak to its current resident size.
   *
   * @returns The group's resident size now, in MiB.
   */
  reset(): number {
    this.#refresh(Date.now());
    let total = 0;
    for (const pid of this.#members) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, "5");
      } catch {
        // Not permitted or gone: its peak then covers its whole life, which only errs high.
      }
      total += statusField(pid, "VmRSS");
    }
    return total / KIB_PER_MIB;
  }

  /**
   * The group's peak resident size since the last reset, summed over its members.
   *
   * @returns MiB.
   */
  peakMiB(): number {
    this.#refresh(Date.now());
    let total = 0;
    for (const pid of this.#members) {
      total += statusField(pid, "VmHWM");
    }
    return total / KIB_PER_MIB;
  }
}

/** Messages of allocators that ran out of address space (used in `as` mode). */
export const OUT_OF_MEMORY =
  /MemoryError|out of memory|Cannot allocate memory|bad_alloc|allocation failed|memory allocation of \d+ bytes failed|ENOMEM|Array buffer allocation failed|Invalid array length|Invalid typed array length/i;
