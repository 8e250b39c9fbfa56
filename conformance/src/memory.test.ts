import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { GroupMemory, groupMembers } from "./memory.ts";

/**
 * A Python process holding `argv[1]` MiB of anonymous memory: filled at once when
 * `argv[2]` is "now", else on reading "alloc"; "free" drops it. It prints "done" once it
 * holds the memory and after each command.
 */
const HOLDER = `
import sys
size = int(sys.argv[1]) * 1024 * 1024
held = b"\\x01" * size if sys.argv[2] == "now" else None
print("done", flush=True)
for line in sys.stdin:
    held = b"\\x01" * size if line.strip() == "alloc" else None
    print("done", flush=True)
`;

let groups: ChildProcess[] = [];
afterEach(() => {
  for (const child of groups) {
    try {
      if (child.pid !== undefined) {
        process.kill(-child.pid, "SIGKILL");
      }
    } catch {
      // The group is gone already.
    }
  }
  groups = [];
});

/** Starts `copies` holders of `mib` MiB each in one new process group, led by a shell. */
function holders(copies: number, mib: number, when: "now" | "later"): ChildProcess {
  const script = Array.from({ length: copies }, () => 'python3 -c "$0" "$1" "$2" <&3 &').join(" ");
  const child = spawn("/bin/sh", ["-c", `exec 3<&0; ${script} wait`, HOLDER, String(mib), when], {
    detached: true,
    stdio: ["pipe", "pipe", "inherit"],
  });
  groups.push(child);
  return child;
}

/** Waits until `count` more "done" lines arrive, after writing `line` (if any). */
function answers(child: ChildProcess, count: number, line?: string): Promise<void> {
  let seen = 0;
  const done = new Promise<void>((resolve) => {
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString().split("done").length - 1;
      if (seen >= count) {
        child.stdout?.off("data", onData);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
  });
  if (line !== undefined) {
    child.stdin?.write(`${line}\n`);
  }
  return done;
}

describe("GroupMemory", () => {
  it("keeps the peak of anonymous memory until it is reset", async () => {
    // Arrange
    const child = holders(1, 96, "later");
    const pid = child.pid ?? 0;
    await answers(child, 1);
    const probe = new GroupMemory(pid);
    const before = probe.reset();
    // Act
    await answers(child, 1, "alloc");
    const held = probe.sample();
    await answers(child, 1, "free");
    const after = probe.sample();
    const peak = probe.peakMiB();
    const reset = probe.reset();
    probe.dispose();
    // Assert
    expect(held - before).toBeGreaterThan(90);
    expect(after - before).toBeLessThan(20);
    expect(peak).toBeGreaterThanOrEqual(held);
    expect(reset).toBeLessThan(before + 20);
  });

  it("sums the anonymous memory of every process in the group", async () => {
    // Arrange
    const child = holders(2, 64, "now");
    const pid = child.pid ?? 0;
    await answers(child, 2);
    // Act
    const probe = new GroupMemory(pid);
    const members = groupMembers(pid);
    const held = probe.sample();
    probe.dispose();
    child.stdin?.end();
    await once(child, "exit");
    // Assert: one holder alone has 64 MiB and the interpreter's few.
    expect(members).toHaveLength(3);
    expect(held).toBeGreaterThan(2 * 64 - 4);
  });
});
