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
import { ProcessReaper } from "./processes.ts";
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

/** A case's own budget, which can only tighten the limits (except `large`, which loosens the timeout, and `limitFloorMiB`, which loosens the memory limit for a valid input). */
export interface RequestBudget {
  /** The case's time budget: a later answer is over budget. */
  readonly timeoutMs?: number;
  /** The case's memory budget: the group's anonymous-memory growth during the request, in MiB. */
  readonly memoryMiB?: number;
  /** The case is flagged large: the request gets `largeTimeoutMs` instead of `timeoutMs`. */
  readonly large?: boolean;
  /**
   * Raises the group's memory limit (`memoryLimitMiB`, in `rss` mode) for this request: a
   * valid file whose tensors a conforming loader may hold in memory (LIMIT-2 allows memory
   * linear in the bytes read) must not be failed by the harness's own limit.
   */
  readonly limitFloorMiB?: number;
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
      /** The adapter's stderr during the request (its tail), shown next to a failing answer. */
      readonly stderr?: string;
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

/** Options of an adapter connection besides its command and limits. */
export interface AdapterOptions {
  /**
   * Aborting it during the first handshake kills the adapter and makes
   * {@link Adapter.start} throw an {@link AdapterStartError} of kind `interrupted`. Later
   * requests are cut short by the caller ({@link Adapter.kill}).
   */
  readonly signal?: AbortSignal;
}

/** A connection to an adapter, in either mode. */
export interface Adapter {
  /** Starts the adapter and performs the handshake. */
  start(): Promise<StartedMessage>;
  /** Sends one request; never rejects. */
  request(body: RequestBody, budget?: RequestBudget): Promise<Exchange>;
  /** Asks the adapter to shut down, then kills whatever is left of its processes. */
  close(): Promise<void>;
  /** Kills every process of the adapter now; a pending request ends as a crash. */
  kill(): void;
  /** How many times the adapter was restarted after a failure. */
  readonly restarts: number;
  /** Notes about the adapter's behaviour outside requests (stray output, bad shutdown). */
  readonly notes: readonly string[];
}

/**
 * Why a handshake failed: the transport outcome (`crash`, `timeout`, `protocol-error`,
 * `over-budget`), `refused` (the adapter answered, but not `started`), `invalid` (it
 * declared something the harness cannot accept) or `interrupted` (the run was stopped).
 */
export type StartFailureKind =
  | "crash"
  | "timeout"
  | "protocol-error"
  | "over-budget"
  | "refused"
  | "invalid"
  | "interrupted";

/** Thrown by {@link Adapter.start} when the handshake fails. */
export class AdapterStartError extends Error {
  /** Always `"AdapterStartError"`. */
  override readonly name = "AdapterStartError";
  /** Why the handshake failed. */
  readonly kind: StartFailureKind;
  /** What happened, without the `adapter failed to start` preamble of the message. */
  readonly detail: string;
  /** The adapter's stderr during the handshake (its tail). */
  readonly stderr: string;

  /**
   * @param message - The whole message.
   * @param failure - Its kind (default `invalid`), detail (default the message) and stderr.
   */
  constructor(
    message: string,
    failure: { readonly kind?: StartFailureKind; readonly detail?: string; readonly stderr?: string } = {},
  ) {
    super(message);
    this.kind = failure.kind ?? "invalid";
    this.detail = failure.detail ?? message;
    this.stderr = failure.stderr ?? "";
  }
}

/** The adapter's stderr is kept in memory only as its last 8 KiB. */
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

/** A received JSON value in words, with its JSON type unless it is a number: `"0" (a string)`. */
function describeValue(value: unknown): string {
  if (typeof value === "bigint" || typeof value === "number") {
    return String(value);
  }
  const text = truncate(JSON.stringify(value) ?? String(value), 40);
  const type =
    value === null
      ? undefined
      : Array.isArray(value)
        ? "an array"
        : typeof value === "object"
          ? "an object"
          : `a ${typeof value}`;
  return type === undefined ? text : `${text} (${type})`;
}

/**
 * The last bytes of a stream, kept in bounded memory however much is written: at most
 * twice the limit plus one chunk is held, and the text starts at a line boundary when
 * earlier output was dropped.
 */
class Tail {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #dropped = false;

  constructor(max: number) {
    this.#max = max;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes > 2 * this.#max) {
      this.#compact();
    }
  }

  #compact(): void {
    const all = Buffer.concat(this.#chunks, this.#bytes);
    // A copy, so the large buffer can be collected.
    const kept = Buffer.from(all.subarray(all.length - this.#max));
    this.#chunks = [kept];
    this.#bytes = kept.length;
    this.#dropped = true;
  }

  text(): string {
    if (this.#bytes > this.#max) {
      this.#compact();
    }
    let bytes =
      this.#chunks.length === 1 ? (this.#chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(this.#chunks);
    if (this.#dropped) {
      const newline = bytes.indexOf(10);
      if (newline >= 0 && newline < bytes.length - 1) {
        bytes = bytes.subarray(newline + 1);
      }
    }
    return bytes.toString("utf8");
  }

  clear(): void {
    this.#chunks = [];
    this.#bytes = 0;
    this.#dropped = false;
  }
}

/** Releases the harness's ends of an adapter's pipes, which a leftover descendant may hold open. */
function destroyPipes(child: ChildProcess): void {
  child.stdin?.destroy();
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/**
 * Spawns the adapter as the leader of a new process group, under the memory mode, with
 * the reaper's tag in its environment.
 */
function spawnGroup(
  argv: readonly string[],
  cwd: string | undefined,
  limits: TransportLimits,
  tag: Readonly<Record<string, string>>,
): ChildProcess {
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
    env: { ...process.env, ...tag, SAFETENSORS_CONFORMANCE: "1" },
  });
}

function requestTimeout(limits: TransportLimits, budget: RequestBudget): number {
  return budget.large === true
    ? Math.max(limits.timeoutMs, limits.largeTimeoutMs ?? limits.timeoutMs)
    : limits.timeoutMs;
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
    return { ok: false, detail: `response echoes seq ${describeValue(seq)}, expected ${request.seq}` };
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
    throw new AdapterStartError(`adapter failed to start (${exchange.kind}): ${exchange.detail}`, {
      kind: exchange.kind,
      detail: exchange.detail,
      stderr: exchange.stderr,
    });
  }
  const message = exchange.message as unknown as StartedMessage | { result: string; message?: string };
  if (message.result !== "started") {
    const detail = `it answered ${message.result}`;
    throw new AdapterStartError(`adapter failed to start: ${detail}`, {
      kind: "refused",
      detail,
      stderr: "",
    });
  }
  return message as StartedMessage;
}

function interrupted(stderr: string): AdapterStartError {
  return new AdapterStartError("interrupted during the adapter's handshake", {
    kind: "interrupted",
    detail: "the run was interrupted during the handshake",
    stderr,
  });
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
 * one is started (with a new handshake) for the next request. When the adapter exits by
 * itself, its group is killed too, and {@link LongLivedAdapter.close} leaves no process of
 * it behind (see `processes.ts` for what escapes).
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
  readonly #signal: AbortSignal | undefined;
  readonly #reaper = new ProcessReaper();
  #child: ChildProcess | undefined;
  /** The reaper's ID of the current child's spawn. */
  #spawnId: number | undefined;
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  readonly #stderr = new Tail(STDERR_TAIL_BYTES);
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
   * @param options - An abort signal for the first handshake.
   */
  constructor(
    command: AdapterCommand,
    limits: TransportLimits,
    specVersion = "1.0.0",
    options: AdapterOptions = {},
  ) {
    this.#command = command;
    this.#limits = limits;
    this.#specVersion = specVersion;
    this.#signal = options.signal;
  }

  get restarts(): number {
    return Math.max(0, this.#starts - 1);
  }

  start(): Promise<StartedMessage> {
    return this.#start(this.#signal);
  }

  /** Spawns the adapter and performs the handshake; a failed handshake leaves nothing running. */
  async #start(signal: AbortSignal | undefined): Promise<StartedMessage> {
    if (signal?.aborted === true) {
      throw interrupted("");
    }
    this.#starts += 1;
    this.#seq = 0;
    this.#spawn();
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      this.#fail("crash", "the run was interrupted during the handshake");
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const exchange = await this.#send({
        seq: 0,
        cmd: "start",
        protocolVersion: PROTOCOL_VERSION,
        specVersion: this.#specVersion,
      });
      if (aborted) {
        throw interrupted(exchange.kind === "answer" ? "" : exchange.stderr);
      }
      return checkStarted(exchange);
    } catch (error) {
      this.#kill();
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #spawn(): void {
    // What is left of the previous process (its exit may not have released everything).
    this.#kill();
    this.#chunks = [];
    this.#chunkBytes = 0;
    this.#stderr.clear();
    const { id, env } = this.#reaper.spawnEnv();
    const child = spawnGroup(this.#command.argv, this.#command.cwd, this.#limits, env);
    this.#reaper.started(id, child.pid);
    this.#child = child;
    this.#spawnId = id;
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
        this.#stderr.push(chunk);
      }
    });
    child.stdout?.on("end", () => {
      // End of output: the adapter exited (the exit handler says so), or it closed its
      // stdout and kept running, and will never answer.
      setTimeout(() => {
        if (this.#child === child && child.exitCode === null && child.signalCode === null) {
          if (this.#pending === undefined && !this.#closing) {
            this.notes.push("the adapter closed its stdout but kept running (restarted)");
          }
          this.#fail("crash", "the adapter closed its stdout but kept running");
        }
      }, EXIT_GRACE_MS).unref();
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
      // Whatever the adapter started goes with it. What it wrote before exiting is in the
      // pipe already, and arrives before "close".
      this.#reaper.end(id);
      // A descendant that escaped the group may hold the pipes open: "close" is not awaited.
      setTimeout(() => {
        if (!closed) {
          if (this.#child === child) {
            this.#finish({ kind: "crash", detail: this.#exitDetail(child) });
          }
          destroyPipes(child);
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
    const id = this.#spawnId;
    this.#child = undefined;
    this.#spawnId = undefined;
    this.#alive = false;
    this.#memory?.dispose();
    this.#memory = undefined;
    if (id !== undefined) {
      this.#reaper.end(id);
    }
    if (child !== undefined) {
      destroyPipes(child);
    }
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
          pending.resolve({ kind: "over-budget", detail: over, stderr: this.#stderr.text(), elapsedMs });
          this.#kill();
          return;
        }
      }
      const exchange: Exchange =
        growthMiB === undefined
          ? { kind: "answer", message: outcome.message, elapsedMs, stderr: this.#stderr.text() }
          : { kind: "answer", message: outcome.message, elapsedMs, growthMiB, stderr: this.#stderr.text() };
      pending.resolve(this.#asOverBudget(exchange));
      return;
    }
    const failed: Exchange = {
      kind: outcome.kind,
      detail: outcome.detail,
      stderr: this.#stderr.text(),
      elapsedMs,
    };
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
    const limit = Math.max(this.#limits.memoryLimitMiB, budget.limitFloorMiB ?? 0);
    if (this.#limits.memoryMode === "rss" && peakMiB > limit) {
      return `anonymous memory reached ${peakMiB.toFixed(0)} MiB, above the ${limit} MiB limit`;
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
        resolve({
          kind: "crash",
          detail: "the adapter is not running",
          stderr: this.#stderr.text(),
          elapsedMs: 0,
        });
        return;
      }
      this.#stderr.clear();
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
        // A restart is not interrupted through the signal: the caller cuts the request short.
        await this.#start(undefined);
        this.#failedStarts = 0;
      } catch (error) {
        this.#failedStarts += 1;
        return {
          kind: "crash",
          detail: `the adapter could not be restarted: ${(error as Error).message}`,
          stderr: error instanceof AdapterStartError ? error.stderr : "",
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
    this.#reaper.endAll();
  }

  async close(): Promise<void> {
    this.#closing = true;
    try {
      await this.#shutdown();
    } finally {
      this.#kill();
      this.#reaper.endAll();
    }
  }

  /** Asks a running adapter to shut down and waits (a little) for it to exit. */
  async #shutdown(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.#alive) {
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
  readonly #signal: AbortSignal | undefined;
  readonly #reaper = new ProcessReaper();
  #seq = 0;
  #workDir: string | undefined;
  /** The running processes, with the reaper's ID of their spawn. */
  readonly #running = new Map<ChildProcess, number>();
  #startMs = 0;
  #startMiB = 0;
  #lastPeakMiB = 0;
  readonly notes: string[] = [];
  readonly restarts = 0;

  /**
   * @param command - How to run the adapter.
   * @param limits - Timeouts, output size and memory cap.
   * @param options - An abort signal for the handshake.
   */
  constructor(command: AdapterCommand, limits: TransportLimits, options: AdapterOptions = {}) {
    this.#command = command;
    this.#limits = limits;
    this.#signal = options.signal;
  }

  async start(): Promise<StartedMessage> {
    const signal = this.#signal;
    if (signal?.aborted === true) {
      throw interrupted("");
    }
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      this.#killRunning();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const exchange = await this.#run(
        { seq: 0, cmd: "start", protocolVersion: 1, specVersion: "1.0.0" },
        {},
      );
      if (aborted) {
        throw interrupted(exchange.kind === "answer" ? "" : exchange.stderr);
      }
      // What it costs the adapter just to start is not charged to a case's budget.
      this.#startMs = exchange.elapsedMs;
      this.#startMiB = this.#lastPeakMiB;
      return checkStarted(exchange);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  request(body: RequestBody, budget: RequestBudget = {}): Promise<Exchange> {
    this.#seq += 1;
    return this.#run({ ...body, seq: this.#seq } as Request, budget);
  }

  kill(): void {
    this.#killRunning();
    this.#reaper.endAll();
  }

  async close(): Promise<void> {
    this.#killRunning();
    this.#reaper.endAll();
    if (this.#workDir !== undefined) {
      rmSync(this.#workDir, { recursive: true, force: true });
      this.#workDir = undefined;
    }
  }

  /** Kills the groups of the running processes; their requests end as crashes. */
  #killRunning(): void {
    for (const id of this.#running.values()) {
      this.#reaper.end(id);
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
      const { id, env } = this.#reaper.spawnEnv();
      const child = spawnGroup(
        [...this.#command.argv, ...this.#args(request)],
        this.#command.cwd,
        this.#limits,
        env,
      );
      this.#reaper.started(id, child.pid);
      child.stdin?.on("error", () => {
        // EPIPE when the adapter is gone already.
      });
      child.stdin?.end();
      this.#running.set(child, id);
      const chunks: Buffer[] = [];
      let bytes = 0;
      const stderr = new Tail(STDERR_TAIL_BYTES);
      let done = false;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let grace: NodeJS.Timeout | undefined;
      const memory =
        child.pid !== undefined && this.#limits.memoryMode === "rss" ? new GroupMemory(child.pid) : undefined;
      const finish = (exchange: Exchange): void => {
        if (done) {
          return;
        }
        done = true;
        this.#running.delete(child);
        memory?.dispose();
        clearTimeout(timer);
        clearInterval(poll);
        clearTimeout(grace);
        // However it ended, nothing of it is left running, and its pipes are let go.
        this.#reaper.end(id);
        destroyPipes(child);
        resolve(exchange);
      };
      const fail = (kind: "crash" | "timeout" | "protocol-error" | "over-budget", detail: string): void => {
        finish({ kind, detail, stderr: stderr.text(), elapsedMs: performance.now() - sentAt });
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
        const limit = Math.max(this.#limits.memoryLimitMiB, budget.limitFloorMiB ?? 0);
        if (peak > limit) {
          return `anonymous memory reached ${peak.toFixed(0)} MiB, above the ${limit} MiB limit`;
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
        stderr.push(chunk);
      });
      child.on("error", (error) => fail("crash", `cannot run the adapter: ${error.message}`));
      /** Judges the run once the adapter has exited and its output is in. */
      const settle = (): void => {
        if (done || exit === undefined) {
          return;
        }
        const { code, signal } = exit;
        const over = memory === undefined ? undefined : overBudget();
        if (over !== undefined) {
          fail("over-budget", over);
          return;
        }
        if (code !== 0) {
          const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
          const text = stderr.text();
          const exchange: Exchange = {
            kind: "crash",
            detail: `the adapter ${how}`,
            stderr: text,
            elapsedMs: performance.now() - sentAt,
          };
          const oom = this.#limits.memoryMode === "as" && OUT_OF_MEMORY.test(text);
          finish(
            oom
              ? { ...exchange, kind: "over-budget", detail: `the adapter ran out of its address space` }
              : exchange,
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
        finish({
          kind: "answer",
          message: verdict.message,
          elapsedMs: performance.now() - sentAt,
          stderr: stderr.text(),
        });
      };
      child.on("exit", (code, signal) => {
        exit = { code, signal };
        // Its group goes with it; what it wrote before exiting is in the pipe already.
        this.#reaper.end(id);
        // "close" comes once the output is read, unless a descendant that escaped the
        // group holds the pipe: then the output that arrived in the grace period is judged.
        grace = setTimeout(settle, EXIT_GRACE_MS);
      });
      child.on("close", (code, signal) => {
        exit ??= { code, signal };
        settle();
      });
    });
  }
}
