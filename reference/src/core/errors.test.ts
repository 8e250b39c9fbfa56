import { describe, expect, it } from "vitest";
import { hex } from "../../test/reader-helpers.ts";
import { isSafetensorsError, SafetensorsError } from "./errors.ts";
import { readSafetensors } from "./read.ts";

describe("SafetensorsError", () => {
  it("carries code, stage, requirement and a templated message", () => {
    // Act
    let error: unknown;
    try {
      readSafetensors(hex("ffff"));
    } catch (e) {
      error = e;
    }
    // Assert
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error).toMatchObject({
      name: "SafetensorsError",
      code: "file_too_small",
      stage: "prefix",
      requirement: "LAYOUT-2",
      context: { limit: 8, actual: 2 },
    });
    expect((error as Error).message).toMatch(/^File too small: .+\. Expected at least 8 bytes, got 2\.$/);
  });

  it("truncates long input quoted in messages", () => {
    const name = "n".repeat(10_000);
    const header = new TextEncoder().encode(`{"${name}":1}`);
    const file = new Uint8Array(8 + header.length);
    new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
    file.set(header, 8);
    try {
      readSafetensors(file);
      expect.unreachable();
    } catch (e) {
      expect(isSafetensorsError(e) && e.code).toBe("invalid_tensor_entry");
      expect((e as Error).message.length).toBeLessThan(400);
      expect(isSafetensorsError(e) && e.context.tensor).toBe(name);
    }
  });
});

describe("isSafetensorsError", () => {
  it("recognises errors by brand, also from another copy of the class", () => {
    const foreign = Object.assign(new Error("x"), {
      [Symbol.for("@safetensors-spec/reference.SafetensorsError")]: true,
    });
    expect(isSafetensorsError(new SafetensorsError("data_truncated", "x"))).toBe(true);
    expect(isSafetensorsError(foreign)).toBe(true);
  });

  it("rejects other values", () => {
    for (const value of [new Error("x"), null, undefined, "SafetensorsError", { code: "file_too_small" }]) {
      expect(isSafetensorsError(value)).toBe(false);
    }
  });
});
