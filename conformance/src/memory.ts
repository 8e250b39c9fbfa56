/**
 * Memory accounting for an adapter's process group on Linux, from `/proc`: the anonymous
 * resident memory (`RssAnon`) summed over the group, sampled, with the peak of the samples
 * kept here. Anonymous memory is what an allocation costs; pages of a memory-mapped file
 * (`RssFile`) are the kernel's page cache, which it reclaims under pressure, so a reader that
 * maps a large file and touches every byte is not charged for the file's size.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";

/** How the harness caps an adapter's memory. */
export type MemoryLimitMode = "rss" | "as" | "off";

const KIB_PER_MIB = 1024;

const STATUS_BUFFER = Buffer.alloc(4096);

/** Parses one `kB` field of a `/proc/<pid>/status` text; `undefined` when it is absent. */
function field(text: string, name: string): number | undefined {
  const at = text.indexOf(`\n${name}:`);
  if (at < 0) {
    return undefined;
  }
  const from = at + name.length + 2;
  return Number.parseInt(text.slice(from, text.indexOf("\n", from)), 10) || 0;
}

/**
 * The page size in KiB, from this process's own `/proc/self/statm` (pages) against its
 * `/proc/self/status` `VmRSS` (KiB); 4 when they cannot be compared.
 */
const PAGE_KIB: number = (() => {
  try {
    const status = readFileSync("/proc/self/status", "latin1");
    const statm = readFileSync("/proc/self/statm", "latin1").split(" ");
    const rssKiB = field(status, "VmRSS");
    const rssPages = Number(statm[1]);
    if (rssKiB === undefined || !(rssPages > 0)) {
      return 4;
    }
    // Round to a power of two: the two reads are a few pages apart.
    return 2 ** Math.round(Math.log2(rssKiB / rssPages));
  } catch {
    return 4;
  }
})();

/**
 * Reads a process's anonymous resident memory through an open `/proc/<pid>/statm`
 * descriptor (one pread), in KiB: resident pages minus shared ones (file-backed and shmem),
 * which is `RssAnon`. `statm` is a few numbers, several times cheaper for the kernel to
 * produce than `status`, and the harness reads it around every request. A process that is
 * gone counts 0.
 */
function anonKiB(fd: number): number {
  try {
    const n = readSync(fd, STATUS_BUFFER, 0, STATUS_BUFFER.length, 0);
    const fields = STATUS_BUFFER.toString("latin1", 0, n).split(" ");
    const resident = Number(fields[1]);
    const shared = Number(fields[2]);
    return Number.isFinite(resident) && Number.isFinite(shared)
      ? Math.max(0, resident - shared) * PAGE_KIB
      : 0;
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
 * Watches the anonymous memory of one process group during one request: each call to
 * {@link GroupMemory.sample} sums `RssAnon` over the group's members, and the largest sum
 * since the last {@link GroupMemory.reset} is the peak. A spike shorter than the interval
 * between samples can be missed.
 *
 * @example
 * ```ts
 * const probe = new GroupMemory(child.pid);
 * const baseline = probe.reset();
 * // ... sample every few milliseconds while the request runs
 * probe.peakMiB() - baseline; // the growth during the request
 * ```
 */
export class GroupMemory {
  readonly #pgid: number;
  /** Open `/proc/<pid>/statm` descriptors of the group's members. */
  #status = new Map<number, number>();
  #lastScan = Number.NEGATIVE_INFINITY;
  #peakKiB = 0;

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
          this.#status.set(pid, openSync(`/proc/${pid}/statm`, "r"));
        } catch {
          // Gone already.
        }
      }
    }
  }

  #currentKiB(): number {
    this.#refresh(performance.now());
    let total = 0;
    for (const fd of this.#status.values()) {
      total += anonKiB(fd);
    }
    return total;
  }

  /**
   * Starts a new measurement: the peak becomes the group's anonymous memory now.
   *
   * @returns The group's anonymous resident memory now, in MiB.
   */
  reset(): number {
    this.#peakKiB = this.#currentKiB();
    return this.#peakKiB / KIB_PER_MIB;
  }

  /**
   * Takes one sample and raises the peak if it is higher.
   *
   * @returns The group's anonymous resident memory now, in MiB.
   */
  sample(): number {
    const now = this.#currentKiB();
    this.#peakKiB = Math.max(this.#peakKiB, now);
    return now / KIB_PER_MIB;
  }

  /**
   * Takes one sample, then gives the largest sample since the last reset.
   *
   * @returns The peak of the group's anonymous resident memory, in MiB.
   */
  peakMiB(): number {
    this.sample();
    return this.#peakKiB / KIB_PER_MIB;
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
