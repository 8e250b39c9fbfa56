/**
 * Talking to an adapter: the long-lived NDJSON transport and the one-shot mode, with
 * per-request timeouts, a line-size limit, a memory cap and restarts. Whatever the
 * adapter does, a request ends in exactly one {@link Exchange}; the run goes on.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseLine, stringifyLine } from "./json.ts";
import { GroupMemory, type MemoryLimitMode, OUT_OF_MEMORY } from "./memory.ts";
import {
  assertValidRequest,
  PROTOCOL_VERSION,
  RESPONSE_SCHEMA,
  type Request,
  type StartedMessage,
  validateMessage,
} from "./protocol.ts";

/** How to run an adapter. */
export interface AdapterCommand {
  /** The program and its arguments. */
  readonly argv: readonly string[];
  /** The working directory; the harness's own when absent. */
  readonly cwd?: string;
  /** `long-lived` (one process, NDJSON) or `one-shot` (one process per request). */
  readonly mode: "long-lived" | "one-shot";
}

/** The limits every request runs under. */
export interface TransportLimits {
  /** Per-request timeout in milliseconds. */
  readonly timeoutMs: number;
  /** Per-request timeout for cases flagged `large`, in milliseconds. */
  readonly largeTimeoutMs?: number;
  /** The longest line of output accepted, in bytes. */
  readonly maxLineBytes: number;
  /** How memory is capped. */
  readonly memoryMode: MemoryLimitMode;
  /** The cap, in MiB (anonymous resident memory in `rss` mode, address space in `as` mode). */
  readonly memoryLimitMiB: number;
}

/** A case's own budget, which can only tighten the limits (except `large`, which loosens the timeout). */
export interface RequestBudget {
  /** The case's time budget: a later answer is over budget. */
  readonly timeoutMs?: number;
  /** The case's memory budget: the group's anonymous-memory growth during the request, in MiB. */
  readonly memoryMiB?: number;
  /** The case is flagged large: the request gets `largeTimeoutMs` instead of `timeoutMs`. */
  readonly large?: boolean;
}

/** A request as the runner builds it; the transport adds `seq`. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, "seq"> : never) : never;

/** The outcome of one request at the transport level. */
export type Exchange =
  | {
      /** The adapter answered with a valid message. */
      readonly kind: "answer";
      /** The validated response, with unsafe integers as bigints. */
      readonly message: Readonly<Record<string, unknown>>;
      /** Milliseconds from sending the request to the answer. */
      readonly elapsedMs: number;
      /** Peak anonymous-memory growth of the adapter's group during the request, in MiB, when measured. */
      readonly growthMiB?: number;
    }
  | {
      /** What went wrong; the adapter's process group has been killed. */
      readonly kind: "crash" | "timeout" | "protocol-error" | "over-budget";
      /** One line saying what happened. */
      readonly detail: string;
      /** The adapter's stderr during the request (its tail). */
      readonly stderr: string;
      /** Milliseconds from sending the request to the failure. */
      readonly elapsedMs: number;
    };

/** A connection to an adapter, in either mode. */
export interface Adapter {
  /** Starts the adapter and performs the handshake. */
  start(): Promise<StartedMessage>;
  /** Sends one request; never rejects. */
  request(body: RequestBody, budget?: RequestBudget): Promise<Exchange>;
  /** Asks the adapter to shut down and makes sure it is gone. */
  close(): Promise<void>;
  /** Kills the adapter's process group now; a pending request ends as a crash. */
  kill(): void;
  /** How many times the adapter was restarted after a failure. */
  readonly restarts: number;
  /** Notes about the adapter's behaviour outside requests (stray output, bad shutdown). */
  readonly notes: readonly string[];
}

/** Thrown by {@link Adapter.start} when the handshake fails. */
export class AdapterStartError extends Error {
  /** Always `"AdapterStartError"`. */
  override readonly name = "AdapterStartError";
}

const STDERR_TAIL_BYTES = 8192;
/** Decodes one whole line at a time, so it keeps no state between calls. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const POLL_MS = 10;
const EXIT_GRACE_MS = 200;
/** After this many failed restarts in a row, the remaining requests are not sent. */
const MAX_FAILED_RESTARTS = 3;

function truncate(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

/** Spawns the adapter as the leader of a new process group, under the memory mode. */
function spawnGroup(argv: readonly string[], cwd: string | undefined, limits: TransportLimits): ChildProcess {
  let command = [...argv];
  if (limits.memoryMode === "as") {
    const kib = String(Math.ceil(limits.memoryLimitMiB * 1024));
    command = ["/bin/sh", "-c", 'ulimit -v "$1" || exit 125; shift; exec "$@"', "sh", kib, ...argv];
  }
  const [program, ...args] = command;
  return spawn(program ?? "", args, {
    cwd,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, SAFETENSORS_CONFORMANCE: "1" },
  });
}

function requestTimeout(limits: TransportLimits, budget: RequestBudget): number {
  return budget.large === true
    ? Math.max(limits.timeoutMs, limits.largeTimeoutMs ?? limits.timeoutMs)
    : limits.timeoutMs;
}

function killGroup(child: ChildProcess | undefined): void {
  if (child?.pid === undefined) {
    return;
  }
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Checks one output line against the request it answers. */
function interpret(
  line: string,
  request: Request,
  requireSeq: boolean,
): { ok: true; message: Record<string, unknown> } | { ok: false; detail: string } {
  let parsed: ReturnType<typeof parseLine>;
  try {
    parsed = parseLine(line);
  } catch {
    return { ok: false, detail: `output is not JSON: ${JSON.stringify(truncate(line))}` };
  }
  const { value, forValidation } = parsed;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, detail: `output is not a JSON object: ${JSON.stringify(truncate(line))}` };
  }
  const message = value as Record<string, unknown>;
  const seq = message["seq"];
  if (seq === undefined) {
    if (requireSeq) {
      return { ok: false, detail: `response lacks seq (expected ${request.seq})` };
    }
  } else if (seq !== request.seq) {
    return { ok: false, detail: `response echoes seq ${String(seq)}, expected ${request.seq}` };
  }
  const withSeq = seq === undefined ? { ...(forValidation as object), seq: request.seq } : forValidation;
  const problem = validateMessage(RESPONSE_SCHEMA[request.cmd], withSeq);
  if (problem !== undefined) {
    return {
      ok: false,
      detail: `invalid ${request.cmd} response: ${problem}: ${JSON.stringify(truncate(line))}`,
    };
  }
  return { ok: true, message: seq === undefined ? { ...message, seq: request.seq } : message };
}

function checkStarted(exchange: Exchange): StartedMessage {
  if (exchange.kind !== "answer") {
    throw new AdapterStartError(`adapter failed to start (${exchange.kind}): ${exchange.detail}`);
  }
  const message = exchange.message as unknown as StartedMessage | { result: string; message?: string };
  if (message.result !== "started") {
    throw new AdapterStartError(`adapter failed to start: it answered ${message.result}`);
  }
  return message as StartedMessage;
}

interface Pending {
  readonly request: Request;
  readonly sentAt: number;
  readonly resolve: (exchange: Exchange) => void;
  readonly timer: NodeJS.Timeout;
  readonly poll: NodeJS.Timeout | undefined;
  readonly memory: GroupMemory | undefined;
  readonly baselineMiB: number;
  readonly budget: RequestBudget;
}

/**
 * The long-lived mode: one adapter process answers NDJSON requests in turn; after a
 * crash, timeout, garbage or over-budget its whole process group is killed and a fresh
 * one is started (with a new handshake) for the next request.
 *
 * @example
 * ```ts
 * const adapter = new LongLivedAdapter({ argv: ["python3", "adapter.py"], mode: "long-lived" }, limits);
 * const started = await adapter.start();
 * const exchange = await adapter.request({ cmd: "read", path: "/abs/case.safetensors" });
 * await adapter.close();
 * ```
 */
export class LongLivedAdapter implements Adapter {
  readonly #command: AdapterCommand;
  readonly #limits: TransportLimits;
  readonly #specVersion: string;
  #child: ChildProcess | undefined;
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  #stderr = "";
  #seq = 0;
  #pending: Pending | undefined;
  #memory: GroupMemory | undefined;
  #alive = false;
  #closing = false;
  #starts = 0;
  #failedStarts = 0;
  readonly notes: string[] = [];

  /**
   * @param command - How to run the adapter.
   * @param limits - Timeouts, line size and memory cap.
   * @param specVersion - The spec version announced in `start`.
   */
  constructor(command: AdapterCommand, limits: TransportLimits, specVersion = "1.0.0") {
    this.#command = command;
    this.#limits = limits;
    this.#specVersion = specVersion;
  }

  get restarts(): number {
    return Math.max(0, this.#starts - 1);
  }

  async start(): Promise<StartedMessage> {
    this.#starts += 1;
    this.#seq = 0;
    this.#spawn();
    const exchange = await this.#send({
      seq: 0,
      cmd: "start",
      protocolVersion: PROTOCOL_VERSION,
      specVersion: this.#specVersion,
    });
    return checkStarted(exchange);
  }

  #spawn(): void {
    this.#chunks = [];
    this.#chunkBytes = 0;
    this.#stderr = "";
    const child = spawnGroup(this.#command.argv, this.#command.cwd, this.#limits);
    this.#child = child;
    this.#memory =
      child.pid === undefined || this.#limits.memoryMode === "off" ? undefined : new GroupMemory(child.pid);
    this.#alive = true;
    child.stdin?.on("error", () => {
      // EPIPE when the adapter is gone; the exit handler reports it.
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (this.#child === child) {
        this.#onStdout(chunk);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      if (this.#child === child) {
        this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
      }
    });
    child.on("error", (error) => {
      if (this.#child === child) {
        this.#alive = false;
        this.#finish({ kind: "crash", detail: `cannot run the adapter: ${error.message}` });
      }
    });
    let closed = false;
    child.on("close", () => {
      closed = true;
      if (this.#child === child) {
        this.#alive = false;
        this.#finish({ kind: "crash", detail: this.#exitDetail(child) });
      }
    });
    child.on("exit", () => {
      if (this.#child === child) {
        this.#alive = false;
      }
      // Output written just before exit arrives before "close"; a grandchild holding the
      // pipe open must not keep the request waiting.
      setTimeout(() => {
        if (!closed && this.#child === child) {
          this.#finish({ kind: "crash", detail: this.#exitDetail(child) });
        }
      }, EXIT_GRACE_MS).unref();
    });
  }

  #exitDetail(child: ChildProcess): string {
    const how =
      child.signalCode !== null
        ? `was killed by ${child.signalCode}`
        : `exited with status ${child.exitCode}`;
    return `the adapter ${how} before answering`;
  }

  #onStdout(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(10, start);
    while (newline >= 0) {
      const part = chunk.subarray(start, newline);
      const line =
        this.#chunks.length === 0
          ? part
          : Buffer.concat([...this.#chunks, part], this.#chunkBytes + part.length);
      this.#chunks = [];
      this.#chunkBytes = 0;
      if (line.length > this.#limits.maxLineBytes) {
        this.#overflow();
        return;
      }
      this.#onLine(line);
      if (this.#child === undefined) {
        return;
      }
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#chunks.push(rest);
      this.#chunkBytes += rest.length;
      if (this.#chunkBytes > this.#limits.maxLineBytes) {
        this.#overflow();
      }
    }
  }

  #overflow(): void {
    this.#chunks = [];
    this.#chunkBytes = 0;
    this.#fail("protocol-error", `a line of output exceeds ${this.#limits.maxLineBytes} bytes`);
  }

  #onLine(bytes: Buffer): void {
    let line: string;
    try {
      line = UTF8.decode(bytes);
    } catch {
      this.#fail("protocol-error", "output is not UTF-8");
      return;
    }
    if (line.endsWith("\r")) {
      line = line.slice(0, -1);
    }
    const pending = this.#pending;
    if (pending === undefined) {
      if (line.trim() !== "" && !this.#closing) {
        this.notes.push(`stray output while idle (adapter restarted): ${JSON.stringify(truncate(line, 80))}`);
        this.#kill();
      }
      return;
    }
    if (line.trim() === "") {
      return;
    }
    const verdict = interpret(line, pending.request, true);
    if (!verdict.ok) {
      this.#fail("protocol-error", verdict.detail);
      return;
    }
    this.#finish({ kind: "answer", message: verdict.message });
  }

  /** Ends the pending request with a failure and kills the group. */
  #fail(kind: "crash" | "timeout" | "protocol-error" | "over-budget", detail: string): void {
    this.#finish({ kind, detail });
    this.#kill();
  }

  #kill(): void {
    const child = this.#child;
    this.#child = undefined;
    this.#alive = false;
    this.#memory?.dispose();
    this.#memory = undefined;
    killGroup(child);
  }

  #finish(
    outcome:
      | { kind: "answer"; message: Record<string, unknown> }
      | { kind: "crash" | "timeout" | "protocol-error" | "over-budget"; detail: string },
  ): void {
    const pending = this.#pending;
    if (pending === undefined) {
      return;
    }
    this.#pending = undefined;
    clearTimeout(pending.timer);
    if (pending.poll !== undefined) {
      clearInterval(pending.poll);
    }
    const elapsedMs = performance.now() - pending.sentAt;
    if (outcome.kind === "answer") {
      let growthMiB: number | undefined;
      if (pending.memory !== undefined) {
        const peak = pending.memory.peakMiB();
        growthMiB =
          pending.budget.memoryMiB === undefined ? undefined : Math.max(0, peak - pending.baselineMiB);
        const over = this.#overBudget(peak, growthMiB ?? 0, pending.budget);
        if (over !== undefined) {
          pending.resolve({ kind: "over-budget", detail: over, stderr: this.#stderr, elapsedMs });
          this.#kill();
          return;
        }
      }
      const exchange: Exchange =
        growthMiB === undefined
          ? { kind: "answer", message: outcome.message, elapsedMs }
          : { kind: "answer", message: outcome.message, elapsedMs, growthMiB };
      pending.resolve(this.#asOverBudget(exchange));
      return;
    }
    const failed: Exchange = { kind: outcome.kind, detail: outcome.detail, stderr: this.#stderr, elapsedMs };
    pending.resolve(this.#asOverBudget(failed));
  }

  /** In `as` mode, an allocation failure shows up as a crash or an errored answer. */
  #asOverBudget(exchange: Exchange): Exchange {
    if (this.#limits.memoryMode !== "as") {
      return exchange;
    }
    const text =
      exchange.kind === "answer"
        ? exchange.message["result"] === "errored"
          ? JSON.stringify(exchange.message)
          : ""
        : exchange.kind === "crash"
          ? `${exchange.detail}\n${exchange.stderr}`
          : "";
    if (text !== "" && OUT_OF_MEMORY.test(text)) {
      return {
        kind: "over-budget",
        detail: `the adapter ran out of its ${this.#limits.memoryLimitMiB} MiB address space`,
        stderr: exchange.kind === "answer" ? "" : exchange.stderr,
        elapsedMs: exchange.elapsedMs,
      };
    }
    return exchange;
  }

  #overBudget(peakMiB: number, growthMiB: number, budget: RequestBudget): string | undefined {
    if (this.#limits.memoryMode === "rss" && peakMiB > this.#limits.memoryLimitMiB) {
      return `anonymous memory reached ${peakMiB.toFixed(0)} MiB, above the ${this.#limits.memoryLimitMiB} MiB limit`;
    }
    if (budget.memoryMiB !== undefined && growthMiB > budget.memoryMiB) {
      return `anonymous memory grew by ${growthMiB.toFixed(0)} MiB during the request; the case allows ${budget.memoryMiB} MiB`;
    }
    return undefined;
  }

  #send(request: Request, budget: RequestBudget = {}): Promise<Exchange> {
    assertValidRequest(request);
    const child = this.#child;
    return new Promise<Exchange>((resolve) => {
      const sentAt = performance.now();
      if (child === undefined || !this.#alive) {
        resolve({ kind: "crash", detail: "the adapter is not running", stderr: this.#stderr, elapsedMs: 0 });
        return;
      }
      this.#stderr = "";
      const limit = requestTimeout(this.#limits, budget);
      const budgetTimeout = budget.timeoutMs !== undefined && budget.timeoutMs < limit;
      const timeoutMs = budgetTimeout ? (budget.timeoutMs ?? 0) : limit;
      const timer = setTimeout(() => {
        this.#fail(
          budgetTimeout ? "over-budget" : "timeout",
          budgetTimeout
            ? `no answer within the case's ${timeoutMs} ms budget`
            : `no answer within ${timeoutMs} ms`,
        );
      }, timeoutMs);
      let memory: GroupMemory | undefined;
      let baselineMiB = 0;
      let poll: NodeJS.Timeout | undefined;
      const watch =
        this.#limits.memoryMode === "rss" ||
        (budget.memoryMiB !== undefined && this.#limits.memoryMode !== "off");
      if (watch && this.#memory !== undefined) {
        memory = this.#memory;
        // The peak starts at what the group holds now: the absolute limit covers memory kept
        // from earlier requests too, and a case budget is charged only with the growth.
        baselineMiB = memory.reset();
        const probe = memory;
        poll = setInterval(() => {
          const peak = probe.peakMiB();
          const over = this.#overBudget(peak, Math.max(0, peak - baselineMiB), budget);
          if (over !== undefined) {
            this.#fail("over-budget", over);
          }
        }, POLL_MS);
      }
      this.#pending = { request, sentAt, resolve, timer, poll, memory, baselineMiB, budget };
      child.stdin?.write(`${stringifyLine(request)}\n`);
    });
  }

  async request(body: RequestBody, budget: RequestBudget = {}): Promise<Exchange> {
    if (!this.#alive) {
      if (this.#failedStarts >= MAX_FAILED_RESTARTS) {
        return {
          kind: "crash",
          detail: `not run: the adapter failed to restart ${MAX_FAILED_RESTARTS} times in a row`,
          stderr: "",
          elapsedMs: 0,
        };
      }
      try {
        await this.start();
        this.#failedStarts = 0;
      } catch (error) {
        this.#failedStarts += 1;
        this.#kill();
        return {
          kind: "crash",
          detail: `the adapter could not be restarted: ${(error as Error).message}`,
          stderr: this.#stderr,
          elapsedMs: 0,
        };
      }
    }
    this.#seq += 1;
    return this.#send({ ...body, seq: this.#seq } as Request, budget);
  }

  kill(): void {
    this.#closing = true;
    this.#fail("crash", "the run was interrupted");
    this.#kill();
  }

  async close(): Promise<void> {
    this.#closing = true;
    const child = this.#child;
    if (child === undefined || !this.#alive) {
      this.#kill();
      return;
    }
    this.#seq += 1;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
      } else {
        child.once("exit", () => resolve());
      }
    });
    const bye = await this.#send({ seq: this.#seq, cmd: "shutdown" }, { timeoutMs: 2000 });
    if (bye.kind !== "answer" || bye.message["result"] !== "bye") {
      this.notes.push(`shutdown was not answered with bye (${bye.kind})`);
    }
    child.stdin?.end();
    const timer = setTimeout(() => {
      this.notes.push("the adapter did not exit within 2 s of bye");
      this.#kill();
    }, 2000);
    await exited;
    clearTimeout(timer);
    if (child.exitCode !== null && child.exitCode !== 0 && this.#child === child) {
      this.notes.push(`the adapter exited with status ${child.exitCode} after bye`);
    }
    this.#kill();
  }
}

/**
 * The one-shot mode: the adapter runs once per request (`adapter start`,
 * `adapter read <path>`, `adapter write <request.json>`, `adapter decode <path> <tensor>`),
 * prints one line and exits 0.
 *
 * @example
 * ```ts
 * const adapter = new OneShotAdapter({ argv: ["./adapter"], mode: "one-shot" }, limits);
 * await adapter.start();
 * ```
 */
export class OneShotAdapter implements Adapter {
  readonly #command: AdapterCommand;
  readonly #limits: TransportLimits;
  #seq = 0;
  #workDir: string | undefined;
  readonly #running = new Set<ChildProcess>();
  #startMs = 0;
  #startMiB = 0;
  #lastPeakMiB = 0;
  readonly notes: string[] = [];
  readonly restarts = 0;

  /**
   * @param command - How to run the adapter.
   * @param limits - Timeouts, output size and memory cap.
   */
  constructor(command: AdapterCommand, limits: TransportLimits) {
    this.#command = command;
    this.#limits = limits;
  }

  async start(): Promise<StartedMessage> {
    const exchange = await this.#run({ seq: 0, cmd: "start", protocolVersion: 1, specVersion: "1.0.0" }, {});
    // What it costs the adapter just to start is not charged to a case's budget.
    this.#startMs = exchange.elapsedMs;
    this.#startMiB = this.#lastPeakMiB;
    return checkStarted(exchange);
  }

  request(body: RequestBody, budget: RequestBudget = {}): Promise<Exchange> {
    this.#seq += 1;
    return this.#run({ ...body, seq: this.#seq } as Request, budget);
  }

  kill(): void {
    for (const child of this.#running) {
      killGroup(child);
    }
  }

  async close(): Promise<void> {
    if (this.#workDir !== undefined) {
      rmSync(this.#workDir, { recursive: true, force: true });
      this.#workDir = undefined;
    }
  }

  #args(request: Request): string[] {
    switch (request.cmd) {
      case "start":
        return ["start"];
      case "read":
        return ["read", request.path];
      case "decode":
        return ["decode", request.path, request.tensor];
      case "write": {
        this.#workDir ??= mkdtempSync(join(tmpdir(), "safetensors-oneshot-"));
        const file = join(this.#workDir, `request-${request.seq}.json`);
        writeFileSync(file, stringifyLine(request));
        return ["write", file];
      }
      case "shutdown":
        return [];
    }
  }

  #run(request: Request, budget: RequestBudget): Promise<Exchange> {
    assertValidRequest(request);
    return new Promise<Exchange>((resolve) => {
      const sentAt = performance.now();
      const child = spawnGroup(
        [...this.#command.argv, ...this.#args(request)],
        this.#command.cwd,
        this.#limits,
      );
      child.stdin?.end();
      this.#running.add(child);
      const chunks: Buffer[] = [];
      let bytes = 0;
      let stderr = "";
      let done = false;
      const memory =
        child.pid !== undefined && this.#limits.memoryMode === "rss" ? new GroupMemory(child.pid) : undefined;
      const finish = (exchange: Exchange, kill: boolean): void => {
        if (done) {
          return;
        }
        done = true;
        this.#running.delete(child);
        memory?.dispose();
        clearTimeout(timer);
        clearInterval(poll);
        if (kill) {
          killGroup(child);
        }
        resolve(exchange);
      };
      const fail = (kind: "crash" | "timeout" | "protocol-error" | "over-budget", detail: string): void => {
        finish({ kind, detail, stderr, elapsedMs: performance.now() - sentAt }, true);
      };
      const limit = requestTimeout(this.#limits, budget);
      // A case's time budget is for the work, so the adapter's measured start-up is added.
      const budgetMs =
        budget.timeoutMs === undefined ? undefined : Math.ceil(budget.timeoutMs + this.#startMs);
      const budgetTimeout = budgetMs !== undefined && budgetMs < limit;
      const timeoutMs = budgetTimeout ? (budgetMs ?? 0) : limit;
      this.#lastPeakMiB = 0;
      const timer = setTimeout(() => {
        fail(
          budgetTimeout ? "over-budget" : "timeout",
          budgetTimeout
            ? `no answer within the case's ${timeoutMs} ms budget`
            : `no answer within ${timeoutMs} ms`,
        );
      }, timeoutMs);
      const overBudget = (): string | undefined => {
        const peak = memory?.peakMiB() ?? 0;
        this.#lastPeakMiB = Math.max(this.#lastPeakMiB, peak);
        if (peak > this.#limits.memoryLimitMiB) {
          return `anonymous memory reached ${peak.toFixed(0)} MiB, above the ${this.#limits.memoryLimitMiB} MiB limit`;
        }
        // The budget is for the work: what the adapter needed just to answer start is not charged.
        const growth = peak - this.#startMiB;
        if (budget.memoryMiB !== undefined && growth > budget.memoryMiB) {
          return `anonymous memory reached ${peak.toFixed(0)} MiB, ${growth.toFixed(0)} MiB above the adapter's start-up; the case allows ${budget.memoryMiB} MiB`;
        }
        return undefined;
      };
      const poll = setInterval(() => {
        const over = memory === undefined ? undefined : overBudget();
        if (over !== undefined) {
          fail("over-budget", over);
        }
      }, POLL_MS);
      child.stdout?.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes > this.#limits.maxLineBytes + 2) {
          fail("protocol-error", `output exceeds ${this.#limits.maxLineBytes} bytes`);
        }
      });
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
      });
      child.on("error", (error) => fail("crash", `cannot run the adapter: ${error.message}`));
      child.on("close", (code, signal) => {
        if (done) {
          return;
        }
        const over = memory === undefined ? undefined : overBudget();
        if (over !== undefined) {
          fail("over-budget", over);
          return;
        }
        if (code !== 0) {
          const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
          const exchange: Exchange = {
            kind: "crash",
            detail: `the adapter ${how}`,
            stderr,
            elapsedMs: performance.now() - sentAt,
          };
          const oom = this.#limits.memoryMode === "as" && OUT_OF_MEMORY.test(stderr);
          finish(
            oom
              ? { ...exchange, kind: "over-budget", detail: `the adapter ran out of its address space` }
              : exchange,
            true,
          );
          return;
        }
        let text: string;
        try {
          text = UTF8.decode(Buffer.concat(chunks, bytes));
        } catch {
          fail("protocol-error", "output is not UTF-8");
          return;
        }
        const lines = text.split("\n").filter((l) => l.trim() !== "");
        if (lines.length !== 1) {
          fail("protocol-error", `expected one line of output, got ${lines.length}`);
          return;
        }
        const verdict = interpret(lines[0] ?? "", request, false);
        if (!verdict.ok) {
          fail("protocol-error", verdict.detail);
          return;
        }
        finish({ kind: "answer", message: verdict.message, elapsedMs: performance.now() - sentAt }, true);
      });
    });
  }
}
