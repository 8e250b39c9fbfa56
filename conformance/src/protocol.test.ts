import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assertValidRequest, ProtocolBugError, protocolSchemaDir, validateMessage } from "./protocol.ts";

const STARTED = {
  seq: 0,
  result: "started",
  protocolVersion: 1,
  implementation: { name: "x", version: "1", language: "python", homepage: "https://x.invalid" },
  capabilities: { read: true, write: false, dtypes: ["F32"], specVersions: ["1.0.0"], errors: "codes" },
  choices: { trailing_bytes: "reject" },
};

describe("protocol schemas", () => {
  it("has one schema per message", () => {
    const names = readdirSync(protocolSchemaDir()).filter(
      (f) => f.endsWith("-request.schema.json") || f.endsWith("-response.schema.json"),
    );
    expect(names.sort()).toEqual(
      ["decode", "read", "shutdown", "start", "write"].flatMap((c) => [
        `${c}-request.schema.json`,
        `${c}-response.schema.json`,
      ]),
    );
  });

  it("accepts the messages of the protocol note", () => {
    expect(
      validateMessage("start-request", { seq: 0, cmd: "start", protocolVersion: 1, specVersion: "1.0.0" }),
    ).toBeUndefined();
    expect(validateMessage("start-response", STARTED)).toBeUndefined();
    expect(
      validateMessage("read-request", { seq: 1, cmd: "read", path: "/abs/case.safetensors" }),
    ).toBeUndefined();
    expect(
      validateMessage("read-response", {
        seq: 1,
        result: "accepted",
        header: {
          metadata: { k: "v" },
          tensors: [{ name: "w", dtype: "F32", shape: [2, 3], dataOffsets: [0, 24], sha256: "0".repeat(64) }],
        },
      }),
    ).toBeUndefined();
    expect(
      validateMessage("read-response", {
        seq: 2,
        result: "rejected",
        error: { code: "trailing_bytes", stage: "coverage", message: "..." },
      }),
    ).toBeUndefined();
    expect(
      validateMessage("write-request", {
        seq: 3,
        cmd: "write",
        path: "/abs/out.safetensors",
        tensors: [
          { name: "w", dtype: "F32", shape: [2, 3], data: { path: "/abs/src.bin", offset: 8, length: 24 } },
        ],
        metadata: null,
      }),
    ).toBeUndefined();
    expect(validateMessage("write-response", { seq: 3, result: "written" })).toBeUndefined();
    expect(
      validateMessage("write-response", { seq: 3, result: "skipped", message: "why", issue: "u" }),
    ).toBeUndefined();
    expect(
      validateMessage("read-response", { seq: 3, result: "errored", message: "m", context: {} }),
    ).toBeUndefined();
    expect(
      validateMessage("start-response", {
        ...STARTED,
        capabilities: { ...STARTED.capabilities, decode: true },
      }),
    ).toBeUndefined();
    expect(
      validateMessage("decode-request", {
        seq: 5,
        cmd: "decode",
        path: "/abs/case.safetensors",
        tensor: "w",
      }),
    ).toBeUndefined();
    expect(
      validateMessage("decode-response", { seq: 5, result: "decoded", sha256F32: "0".repeat(64) }),
    ).toBeUndefined();
    expect(
      validateMessage("decode-response", { seq: 5, result: "skipped", message: "no F4" }),
    ).toBeUndefined();
    expect(validateMessage("shutdown-request", { seq: 4, cmd: "shutdown" })).toBeUndefined();
    expect(validateMessage("shutdown-response", { seq: 4, result: "bye" })).toBeUndefined();
  });

  it("rejects malformed messages with a reason", () => {
    expect(validateMessage("start-response", { ...STARTED, protocolVersion: 2 })).toMatch(/protocolVersion/);
    expect(
      validateMessage("start-response", {
        ...STARTED,
        capabilities: { ...STARTED.capabilities, errors: "all" },
      }),
    ).toBeDefined();
    expect(validateMessage("read-response", { seq: 1, result: "accepted" })).toBeDefined();
    expect(validateMessage("read-response", { seq: 1, result: "rejected", error: {} })).toBeDefined();
    expect(validateMessage("read-response", { seq: -1, result: "skipped", message: "m" })).toBeDefined();
    expect(validateMessage("shutdown-response", { seq: 1, result: "bye", extra: true })).toBeDefined();
    expect(validateMessage("decode-request", { seq: 1, cmd: "decode", path: "/abs/f" })).toBeDefined();
    expect(validateMessage("decode-response", { seq: 1, result: "decoded", sha256F32: "ABC" })).toBeDefined();
    expect(
      validateMessage("start-response", {
        ...STARTED,
        capabilities: { ...STARTED.capabilities, decode: "yes" },
      }),
    ).toBeDefined();
  });
});

describe("assertValidRequest", () => {
  it("accepts a write request with an exact shape above 2^53", () => {
    expect(() =>
      assertValidRequest({
        seq: 1,
        cmd: "write",
        path: "/abs/out.safetensors",
        tensors: [
          {
            name: "w",
            dtype: "U8",
            shape: [2n ** 64n - 1n, 0],
            data: { path: "/abs/in", offset: 0, length: 0 },
          },
        ],
        metadata: null,
      }),
    ).not.toThrow();
  });

  it("throws ProtocolBugError for a request its schema rejects", () => {
    expect(() => assertValidRequest({ seq: 1, cmd: "read", path: "" })).toThrow(ProtocolBugError);
  });
});
