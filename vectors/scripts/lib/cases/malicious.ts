/**
 * Malicious cases: hostile length prefixes, size and offset overflows, deep nesting,
 * resource floods, names that look like paths, and the large cases built at run time.
 *
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import type { ErrorCode, RequirementId } from "@safetensors-spec/spec";
import type { Segment } from "../../../src/segments.ts";
import { segmentsLength } from "../../../src/segments.ts";
import type { AcceptOutcome, Budget, U64 } from "../../../src/types.ts";
import type { Draft } from "../draft.ts";
import { accept, reject } from "../draft.ts";
import {
  bytesOf,
  concat,
  entry,
  file,
  hex,
  jsonString,
  pad8,
  prefix,
  sha256,
  tensor,
  utf8,
} from "../encode.ts";
import { mutate, PARENT_DATA, PARENT_HEADER, valid, validFile } from "./common.ts";

type R = readonly RequirementId[];

/** A reader answers these from the prefix or header alone: small memory, short time. */
const SMALL: Budget = { memoryMiB: 128, timeoutMs: 5000 };

/**
 * For a file that claims a header just under the 100,000,000-byte limit and does not hold
 * it (PREFIX-4). The harness charges a request with the growth of the adapter's anonymous
 * resident memory. A reader that allocates the claimed N and touches it (a zero-filled
 * array in Java, a value-initialised vector in C++) or reads into it the bytes the file
 * does hold grows by at least 95.4 MiB. A correct reader answers from the prefix and the
 * file's size and grows by next to nothing in any runtime. 64 MiB sits 31 MiB below the
 * allocation and far above what a runtime spends answering from 8 bytes. (A larger claim
 * would stand further out, but a claim above the limit is rejected as too large, before
 * the file length is looked at.) An allocation that is never touched is not resident in
 * any runtime and no memory measurement sees it; the one-byte-short file below makes the
 * allocation touched by giving the reader N - 1 bytes to read into it.
 */
const PREFIX_BUDGET: Budget = { memoryMiB: 64, timeoutMs: 5000 };

const U64_MAX = 2n ** 64n - 1n;

function bad(
  id: string,
  description: string,
  requirements: R,
  bytes: Uint8Array,
  code: ErrorCode,
  comment: string,
  budget: Budget = SMALL,
): Draft {
  return {
    id: `malicious/${id}`,
    description,
    comment,
    requirements,
    flags: ["malicious"],
    bytes,
    expected: reject(code),
    budget,
  };
}

function header(
  members: readonly (readonly [string, string, readonly U64[], readonly [U64, U64]])[],
): string {
  return pad8(`{${members.map(([n, d, s, o]) => `${jsonString(n)}:${entry(d, s, o)}`).join(",")}}`);
}

function prefixCases(): Draft[] {
  return [
    bad(
      "header-length-u64-max",
      "a header length of 2^64-1 in an 8-byte file",
      ["PREFIX-4", "PREFIX-1", "PREFIX-2"],
      prefix(U64_MAX),
      "header_too_large",
      "Readers that allocate N bytes first exhaust memory; readers that add 8 to N in u64 wrap.",
    ),
    bad(
      "header-length-2-63",
      "a header length of 2^63 is too large",
      ["PREFIX-1", "PREFIX-2"],
      concat(prefix(2n ** 63n), utf8("{}")),
      "header_too_large",
      "Negative when read as a signed 64-bit integer.",
    ),
    bad(
      "header-length-8-plus-n-wraps",
      "a header length where 8 + N wraps to 0",
      ["PREFIX-1", "PREFIX-2"],
      concat(prefix(2n ** 64n - 8n), utf8("{}")),
      "header_too_large",
      "8 + N computed in u64 is 0, which is not beyond the file.",
    ),
    bad(
      "header-length-u32-truncation",
      "a header length of 2^32+2 is too large",
      ["PREFIX-1", "PREFIX-2"],
      concat(prefix(2n ** 32n + 2n), utf8("{}")),
      "header_too_large",
      "Truncated to 32 bits N is 2, and the 2 bytes that follow are the valid header {}.",
    ),
    bad(
      "header-length-claims-99999999",
      "a 99,999,999-byte header claimed by a 16-byte file",
      ["PREFIX-4", "PREFIX-3"],
      concat(prefix(99_999_999), utf8("{}      ")),
      "header_length_exceeds_file",
      "Within the limit, so only the file-length check stops a 95 MiB allocation. The 64 MiB budget catches a reader that allocates and touches the claimed bytes; one that leaves them untouched is caught by header-length-limit-file-one-byte-short.",
      PREFIX_BUDGET,
    ),
    bad(
      "header-length-limit-claimed-by-16-bytes",
      "a 100,000,000-byte header claimed by a 16-byte file",
      ["PREFIX-4", "PREFIX-3", "PREFIX-2"],
      concat(prefix(100_000_000), utf8("{}      ")),
      "header_length_exceeds_file",
      "The largest claim that passes PREFIX-2, so the largest allocation the file-length check must prevent (95.4 MiB); the budget is 64 MiB.",
      PREFIX_BUDGET,
    ),
    {
      id: "malicious/header-length-limit-file-one-byte-short",
      description: "a 100,000,000-byte header in a file one byte short of it",
      comment:
        "The file holds 99,999,999 header bytes ({} and then zeros, a sparse hole). A reader that reads the header before comparing 8 + N with the file length writes 95.4 MiB into its buffer, which no runtime can keep out of its resident memory; a correct reader reads nothing. Budget 64 MiB.",
      requirements: ["PREFIX-4", "PREFIX-3", "LIMIT-2"],
      flags: ["malicious", "large"],
      segments: segmentsOf([prefix(100_000_000), utf8("{}"), { zeros: 100_000_000 - 3 }]),
      expected: reject("header_length_exceeds_file"),
      budget: PREFIX_BUDGET,
    },
  ];
}

function overflowCases(): Draft[] {
  const o = (
    id: string,
    description: string,
    r: R,
    members: Parameters<typeof header>[0],
    code: ErrorCode,
    comment: string,
  ) => bad(id, description, r, file(header(members)), code, comment);
  return [
    o(
      "shape-overflow-f32-2-62",
      "F32 shape [2^62] claims 2^64 bytes, not 0",
      ["SIZE-4", "SIZE-1"],
      [["t", "F32", [2n ** 62n], [0, 0]]],
      "tensor_size_mismatch",
      "2^62 × 4 wraps to 0 in u64 and would match the empty range.",
    ),
    o(
      "shape-overflow-u8-2-32-squared",
      "U8 shape [2^32,2^32] claims 2^64 bytes, not 0",
      ["SIZE-4", "SIZE-1"],
      [["t", "U8", [2 ** 32, 2 ** 32], [0, 0]]],
      "tensor_size_mismatch",
      "The product wraps to 0, which skips the bounds checks of readers that trust it (safetensors-cpp).",
    ),
    o(
      "shape-overflow-i64-2-61",
      "I64 shape [2^61] claims 2^64 bytes, not 0",
      ["SIZE-4", "SIZE-1"],
      [["t", "I64", [2n ** 61n], [0, 0]]],
      "tensor_size_mismatch",
      "numel × 8 wraps to 0 in u64.",
    ),
    o(
      "shape-overflow-f4-bits",
      "F4 shape [2^63,4] claims 2^64 bytes, not 0",
      ["SIZE-4", "SIZE-2"],
      [["t", "F4", [2n ** 63n, 4], [0, 0]]],
      "tensor_size_mismatch",
      "numel × 4 bits wraps twice in u64; the exact size is whole bytes, so only the size check fails.",
    ),
    o(
      "shape-overflow-bool-u64-max",
      "BOOL shape [2^64-1] with an empty range",
      ["SIZE-4", "SIZE-3"],
      [["t", "BOOL", [U64_MAX], [0, 0]]],
      "tensor_size_mismatch",
      "The largest dimension; numel fits u64 exactly.",
    ),
    o(
      "shape-overflow-three-dims",
      "shape [2^22,2^21,2^21] wraps to 0 bytes of F32",
      ["SIZE-4"],
      [["t", "F32", [2 ** 22, 2 ** 21, 2 ** 21], [0, 0]]],
      "tensor_size_mismatch",
      "The product 2^64 wraps only after the last multiplication.",
    ),
    o(
      "offsets-claim-1-tib",
      "a tensor claiming 1 TiB in a tiny file is truncated",
      ["LIMIT-2", "OFFSET-6"],
      [["t", "U8", [2n ** 40n], [0, 2n ** 40n]]],
      "data_truncated",
      "A reader must not allocate or map the claimed size before checking the file length.",
    ),
    o(
      "offsets-end-u64-max",
      "a tensor ending at 2^64-1 is truncated",
      ["OFFSET-6", "PREFIX-1", "LIMIT-2"],
      [["t", "U8", [U64_MAX], [0, U64_MAX]]],
      "data_truncated",
      "8 + N + end overflows u64; the comparison must not.",
    ),
    o(
      "offsets-signed-wrap",
      "a tensor ending at 2^63 is truncated",
      ["OFFSET-6", "LIMIT-2"],
      [["t", "U8", [2n ** 63n], [0, 2n ** 63n]]],
      "data_truncated",
      "2^63 is negative as a signed 64-bit integer.",
    ),
    o(
      "offsets-nine-tensors-to-u64-max",
      "nine tensors ending at 2^64-1 are truncated",
      ["OFFSET-6", "OFFSET-3", "LIMIT-3"],
      [
        ["t0", "U8", [U64_MAX - 8n], [0, U64_MAX - 8n]],
        ...Array.from(
          { length: 8 },
          (_, i) => [`t${i + 1}`, "U8", [1], [U64_MAX - 8n + BigInt(i), U64_MAX - 7n + BigInt(i)]] as const,
        ),
      ],
      "data_truncated",
      "The official implementation panics on this in debug builds (overflow adding offsets).",
    ),
    o(
      "offsets-wrap-into-header",
      "an offset near 2^64 must not wrap back into the header",
      ["OFFSET-6", "LIMIT-3"],
      [
        ["a", "U8", [2n ** 64n - 8n], [0, 2n ** 64n - 8n]],
        ["b", "F32", [1], [2n ** 64n - 8n, 2n ** 64n - 4n]],
      ],
      "data_truncated",
      "data start + begin of b wraps to a small file offset inside the header.",
    ),
  ];
}

/** A header whose bytes are built at run time from segments, with its length prefix. */
function generatedHeader(parts: readonly (string | Segment)[]): Segment[] {
  const segments: Segment[] = parts.map((p) =>
    typeof p === "string" ? { hex: Buffer.from(p, "utf8").toString("hex") } : p,
  );
  return [{ hex: Buffer.from(prefix(segmentsLength(segments))).toString("hex") }, ...segments];
}

const text = (s: string): string => Buffer.from(s, "utf8").toString("hex");

function countCases(): Draft[] {
  const count = 65_537;
  const zeroSize = entry("U8", [0], [0, 0]);
  const dims = 50_000;
  const max = U64_MAX.toString();
  return [
    {
      id: "malicious/tensors-65537-then-duplicate",
      description: "65,537 tensors and then a duplicate name",
      comment:
        "t0 to t65536 are zero-size U8 tensors at offset 0; then t0 again. A reader that caps tensors at 65,536 or fewer rejects with another error, or drops the entries after its cap and never sees the duplicate.",
      requirements: ["LIMIT-1", "JSON-10"],
      flags: ["malicious"],
      segments: generatedHeader([
        "{",
        { numbered: count, before: text('"t'), after: text(`":${zeroSize},`) },
        `"t0":${zeroSize}}`,
      ]),
      expected: reject("duplicate_key"),
    },
    {
      id: "malicious/metadata-65537-then-duplicate",
      description: "65,537 metadata entries and then a duplicate key",
      comment:
        "m0 to m65536 map to empty strings; then m0 again. A reader that caps metadata at 65,536 entries or fewer rejects with another error, or drops the entries after its cap and never sees the duplicate.",
      requirements: ["LIMIT-1", "JSON-10", "META-1"],
      flags: ["malicious"],
      segments: generatedHeader([
        '{"__metadata__":{',
        { numbered: count, before: text('"m'), after: text('":"",') },
        '"m0":""}}',
      ]),
      expected: reject("duplicate_key"),
    },
    {
      id: "malicious/shape-50000-dims-of-u64-max",
      description: "a shape of 50,000 dimensions of 2^64-1 is rejected quickly",
      comment:
        "The exact product has 3.2 million bits; multiplied out one dimension at a time it costs time quadratic in the rank (seconds to minutes with Go, Java, JavaScript or Python big integers). Past 2^64-1 every size is a mismatch, so a linear reader stops multiplying (§8). Budget 3 s for a 1 MB header.",
      requirements: ["LIMIT-2", "SIZE-1", "SIZE-4"],
      flags: ["malicious"],
      segments: generatedHeader([
        `{"t":{"dtype":"U8","shape":[`,
        { repeat: text(`${max},`), count: dims - 1 },
        `${max}],"data_offsets":[0,0]}}`,
      ]),
      expected: reject("tensor_size_mismatch"),
      budget: { memoryMiB: 128, timeoutMs: 3000 },
    },
  ];
}

function floodCases(): Draft[] {
  const deep = 100_000;
  const out: Draft[] = [
    {
      ...mutate(
        "malicious/nesting-100000-in-unknown-field",
        "100,000 nested arrays in an unknown field are too deep",
        ["JSON-5", "LIMIT-3"],
        '"data_offsets":[8,24]}',
        `"data_offsets":[8,24],"x":${"[".repeat(deep)}${"]".repeat(deep)}}`,
        {
          expected: reject("header_too_deep"),
          comment: "Recursive parsers overflow their stack here (a crash, not an error).",
        },
      ),
      flags: ["malicious"],
      budget: SMALL,
    },
    bad(
      "nesting-100000-unclosed-arrays",
      "100,000 unclosed arrays are too deep",
      ["JSON-5", "LIMIT-3"],
      file("[".repeat(deep)),
      "header_too_deep",
      "The 65th bracket is reported before the end of input.",
    ),
    bad(
      "nesting-50000-objects",
      "50,000 nested objects are too deep",
      ["JSON-5", "LIMIT-3"],
      file(`${'{"a":'.repeat(deep / 2)}{}${"}".repeat(deep / 2)}`),
      "header_too_deep",
      "Objects nest too; the error is the 65th brace.",
    ),
    bad(
      "number-100000-digits",
      "a 100,000-digit dimension is rejected quickly",
      ["JSON-7", "LIMIT-2"],
      file(pad8(PARENT_HEADER.replace('"shape":[2]', `"shape":[${"9".repeat(100_000)}]`)), PARENT_DATA),
      "invalid_shape",
      "Converting the digits to a big integer before comparing with 2^64-1 can be quadratic.",
    ),
    bad(
      "duplicate-after-5000-entries",
      "a duplicate after 5000 entries is found",
      ["JSON-10", "LIMIT-2"],
      file(
        header([
          ...Array.from({ length: 5000 }, (_, i) => [`t${i}`, "U8", [0], [0, 0]] as const),
          ["t0", "U8", [0], [0, 0]],
        ]),
      ),
      "duplicate_key",
      "A quadratic duplicate search is slow here.",
    ),
  ];
  const many = Array.from({ length: 3000 }, (_, i) => tensor(`z${(i * 7919) % 3000}`, "U8", [0]));
  out.push(
    valid(
      "malicious/zero-size-3000-same-offset",
      "3000 zero-size tensors at offset 0 are valid",
      ["OFFSET-4", "LIMIT-2", "LIMIT-1"],
      many,
      {
        flags: ["malicious"],
        comment: "Layout order is a sort by name; a quadratic sort or a map keyed by offset fails here.",
      },
    ),
    valid(
      "malicious/escaped-name-50000",
      "a name of 50,000 \\u escapes is valid",
      ["LIMIT-2", "HDR-8"],
      [tensor("A".repeat(50_000), "U8", [1])],
      {
        flags: ["malicious"],
        keyText: (n) => `"${"\\u0041".repeat(n.length)}"`,
        comment: "Per-escape string concatenation is quadratic in some readers.",
      },
    ),
    valid(
      "malicious/names-as-paths",
      "names that look like paths or URLs are plain names",
      ["HDR-9", "HDR-8"],
      [
        tensor("../../etc/passwd", "U8", [1]),
        tensor("/etc/passwd", "U8", [1]),
        tensor("..\\..\\windows\\system32\\x.dll", "U8", [1]),
        tensor("C:\\x", "U8", [1]),
        tensor("file:///etc/passwd", "U8", [1]),
        tensor("https://example.com/x", "U8", [1]),
        tensor("a/../../b", "U8", [1]),
        tensor("~/.ssh/authorized_keys", "U8", [1]),
      ],
      {
        flags: ["malicious"],
        comment:
          "A converter that used tensor names as file paths allowed arbitrary file writes (MediaPipe #6278).",
      },
    ),
  );
  return out;
}

/** Hashes `count` zero bytes into a hash, in chunks. */
function updateZeros(hash: ReturnType<typeof createHash>, count: number): void {
  const chunk = new Uint8Array(64 << 20);
  for (let left = count; left > 0; left -= chunk.length) {
    hash.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  }
}

function segmentsOf(parts: readonly (Uint8Array | Segment)[]): Segment[] {
  return parts.map((p) => (p instanceof Uint8Array ? { hex: Buffer.from(p).toString("hex") } : p));
}

function largeCases(): Draft[] {
  const w = validFile([tensor("w", "F32", [2])], { frame: (c) => c });
  const compact = w.header;
  const data = concat(...w.placed.map((t) => t.data));
  const atLength = (n: number): Segment[] =>
    segmentsOf([prefix(n), utf8(compact), { fill: 0x20, length: n - utf8(compact).length }, data]);
  const big = 2 ** 32 + 8;
  const tail = bytesOf("tail", 8);
  const bigHeader = header([
    ["big", "U8", [big], [0, big]],
    ["tail", "F32", [2], [big, big + 8]],
  ]);
  const zeros = createHash("sha256");
  updateZeros(zeros, big);
  const canonicalHeader = pad8(
    `{"tail":${entry("F32", [2], [0, 8])},"big":${entry("U8", [big], [8, 8 + big])}}`,
  );
  const canonical = createHash("sha256")
    .update(prefix(utf8(canonicalHeader).length))
    .update(utf8(canonicalHeader))
    .update(tail);
  updateZeros(canonical, big);
  const beyond: AcceptOutcome = {
    outcome: "accept",
    header: {
      metadata: null,
      tensors: [
        { name: "big", dtype: "U8", shape: [big], dataOffsets: [0, big], sha256: zeros.digest("hex") },
        { name: "tail", dtype: "F32", shape: [2], dataOffsets: [big, big + 8], sha256: sha256(tail) },
      ],
    },
    canonicalSha256: canonical.digest("hex"),
  };
  return [
    {
      id: "valid/header-at-limit",
      description: "a header of exactly 100,000,000 bytes depends on max_header_length",
      requirements: ["PREFIX-2", "CHOICE-2", "LIMIT-1"],
      flags: ["valid", "implementation-defined", "large"],
      segments: atLength(100_000_000),
      expected: {
        outcome: "implementation-defined",
        choice: "max_header_length",
        options: { "100000000": w.expected, "25000000": reject("header_too_large") },
      },
      comment:
        "Built at run time: the header is the entry and spaces up to the limit. Valid under the default choice; CHOICE-2 lets a reader with the lower limit reject it.",
    },
    {
      id: "invalid/header-limit-plus-one-full",
      description: "a complete header of 100,000,001 bytes is too large",
      requirements: ["PREFIX-2", "PREFIX-4"],
      flags: ["invalid", "large"],
      segments: atLength(100_000_001),
      expected: reject("header_too_large"),
      budget: SMALL,
    },
    {
      id: "invalid/header-between-limits-full",
      description: "a 25,000,001-byte header depends on max_header_length",
      requirements: ["CHOICE-2", "PREFIX-2"],
      flags: ["implementation-defined", "large"],
      segments: atLength(25_000_001),
      expected: {
        outcome: "implementation-defined",
        choice: "max_header_length",
        options: { "100000000": w.expected, "25000000": reject("header_too_large") },
      },
    },
    {
      id: "invalid/header-between-limits-tiny-file",
      description: "a claimed 25,000,001-byte header in a tiny file",
      requirements: ["CHOICE-2", "ERR-2", "PREFIX-3"],
      flags: ["implementation-defined"],
      bytes: concat(prefix(25_000_001), utf8("{}")),
      expected: {
        outcome: "implementation-defined",
        choice: "max_header_length",
        options: {
          "100000000": reject("header_length_exceeds_file"),
          "25000000": reject("header_too_large"),
        },
      },
      comment: "With the reduced limit, header_too_large comes before header_length_exceeds_file (ERR-2).",
    },
    {
      id: "valid/data-beyond-4gib",
      description: "a tensor beyond 4 GiB in a sparse file is read",
      requirements: ["PREFIX-1", "OFFSET-3", "LIMIT-2"],
      flags: ["valid", "large"],
      segments: segmentsOf([prefix(utf8(bigHeader).length), utf8(bigHeader), { zeros: big }, tail]),
      expected: beyond,
      comment: "Offsets above 2^32 catch 32-bit offset arithmetic. Built at run time as a sparse file.",
    },
  ];
}

/**
 * Every malicious case, and the large cases built at run time.
 *
 * @returns The drafts.
 * @example
 * ```ts
 * maliciousCases().filter((d) => d.budget !== undefined);
 * ```
 */
export function maliciousCases(): Draft[] {
  return [...prefixCases(), ...overflowCases(), ...floodCases(), ...countCases(), ...largeCases(), tinyHex()];
}

function tinyHex(): Draft {
  return bad(
    "header-length-one-no-header",
    "a header length of 1 with no header bytes",
    ["PREFIX-3", "LAYOUT-1"],
    hex("01 00 00 00 00 00 00 00"),
    "header_length_exceeds_file",
    "The smallest header length beyond an 8-byte file.",
  );
}

export { accept };
