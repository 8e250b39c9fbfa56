/**
 * Stages 2–5 (encoding, syntax, structure, layout) on the N header bytes.
 *
 * The parser is a hand-written, single-pass tokenizer specialised to the header: an
 * explicit container stack (no recursion, depth limit 64, JSON-5), exact integers,
 * duplicate detection after escape decoding at every level, and structure checks
 * interleaved with the syntax scan. Because the syntax stage covers the whole header
 * before the structure stage (ERR-1, §13), the first structure error is only recorded
 * and the scan continues; a later syntax error still wins. Syntax errors are thrown
 * where they are found: scanning is in document order, so the first one found is the
 * one at the smallest offset (ERR-3).
 *
 * Error offsets are header byte offsets of the offending token (ERR-3): the byte that
 * breaks the grammar, the start of a wrong value, the key of an unknown field or of a
 * second occurrence, the closing `}` of an entry that lacks a field, the closing `]` of
 * a `data_offsets` array with fewer than two elements, the third element of one with
 * more, the `\u` escape of a lone surrogate, and the header length for an unexpected
 * end of the header.
 *
 * Why not `JSON.parse`: it rounds integers above 2^53, keeps the last of duplicate keys,
 * accepts lone surrogates, reports no offsets and cannot say which of two errors comes
 * first. A lossless parser (lossless-json) fixes the numbers but is about 4x slower than
 * `JSON.parse` and still needs a second pass for structure and precedence. This scanner
 * runs at about the speed of `JSON.parse` on the decoded bytes
 * (`bench/header-parse.ts`) because the common shapes take native or allocation-free
 * paths: strings end at `indexOf('"')` unless a backslash, control or non-ASCII
 * character comes first; usual entries are read by a fast path that falls back to the
 * general one on any deviation; tags are matched in place; and duplicate names are found
 * with a seeded hash computed on the header text, not with a Map of fresh strings.
 */
import { DTYPES, type DtypeTag, type ErrorCode, LIMITS, type RequirementId } from "@safetensors-spec/spec";
import { quote, SafetensorsError } from "./errors.ts";
import { type ReadOptions, resolveOptions } from "./options.ts";
import { compareUtf8, findInvalidUtf8 } from "./utf8.ts";

/** A dimension or offset: a number up to 2^53−1, a bigint above (exact, JSON-8). */
export type Dim = number | bigint;

/** One validated tensor entry of a header. */
export interface TensorInfo {
  /** The tensor's name, exactly as decoded (HDR-9). */
  readonly name: string;
  /** The dtype tag. */
  readonly dtype: DtypeTag;
  /** The shape; dimensions above 2^53−1 are bigints (possible only when numel is 0). */
  readonly shape: readonly Dim[];
  /** `[begin, end)` relative to the start of the data buffer. */
  readonly dataOffsets: readonly [number, number];
  /** `end − begin`. */
  readonly byteLength: number;
  /** The number of elements (1 for the empty shape); a bigint above 2^53−1. */
  readonly numel: number | bigint;
}

/** A header that passed every check of stages 2–5. */
export interface SafetensorsHeader {
  /** N, the header length in bytes. */
  readonly headerLength: number;
  /** `8 + N`: the file offset where the data buffer starts. */
  readonly dataStart: number;
  /** The largest `end` (0 with no tensors): the exact data buffer length (OFFSET-5). */
  readonly dataLength: number;
  /**
   * The metadata as a null-prototype object, or `null` when `__metadata__` is absent or
   * `null` (META-2). An empty object means `{}` was written.
   */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** The tensors in layout order (OFFSET-2). */
  readonly tensors: readonly TensorInfo[];
  /**
   * Looks a tensor up by name; every string, including `"__proto__"`, is an ordinary name
   * (JSON-11).
   *
   * @param name - A tensor name.
   * @returns The tensor, or `undefined` when there is none by that name.
   */
  tensor(name: string): TensorInfo | undefined;
}

const MAX_DEPTH = LIMITS.maxNestingDepth;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const BIG_MAX_SAFE = BigInt(MAX_SAFE);
/** Above this numel every tensor's size exceeds 2^64−1 bytes, so the product can stop growing (LIMIT-2). */
const NUMEL_CAP = 2n ** 66n;
/** Up to this numel, `numel × 64` is still an exact double. */
const NUMEL_EXACT = 2 ** 47;

const BITS_BY_TAG: ReadonlyMap<string, number> = new Map(DTYPES.map((d) => [d.tag, d.bits]));
/**
 * A number that tells the dtype tags apart from their length and a few characters, so a
 * tag is found with one Map lookup and then verified in place.
 */
function tagKey(length: number, c0: number, c1: number, c4: number, last: number): number {
  return (((length * 128 + (c0 & 127)) * 128 + (c1 & 127)) * 128 + (c4 & 127)) * 128 + (last & 127);
}
const MAX_TAG_LENGTH = Math.max(...DTYPES.map((d) => d.tag.length));
const TAG_BY_KEY: ReadonlyMap<number, DtypeTag> = new Map(
  DTYPES.map((d) => {
    const t = d.tag;
    return [
      tagKey(
        t.length,
        t.charCodeAt(0),
        t.charCodeAt(1),
        t.length > 4 ? t.charCodeAt(4) : 0,
        t.charCodeAt(t.length - 1),
      ),
      t,
    ];
  }),
);
if (TAG_BY_KEY.size !== DTYPES.length) {
  throw new Error("dtype tag keys collide; extend tagKey");
}

// Character codes.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LOWER_E = 0x65;
const LOWER_U = 0x75;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const BOM = 0xfeff;
const DATA_OFFSETS = "data_offsets";
const NO_DIMS: Dim[] = [];
const NO_OFFSETS: [Dim, Dim] = [0, 0];

/** The first `rank` dimensions as an exactly sized array (literals for the usual ranks). */
function copyDims(dims: Dim[], rank: number): Dim[] {
  switch (rank) {
    case 0:
      return [];
    case 1:
      return [dims[0] as Dim];
    case 2:
      return [dims[0] as Dim, dims[1] as Dim];
    case 3:
      return [dims[0] as Dim, dims[1] as Dim, dims[2] as Dim];
    case 4:
      return [dims[0] as Dim, dims[1] as Dim, dims[2] as Dim, dims[3] as Dim];
    default:
      return dims.slice(0, rank);
  }
}
/** Characters that take a string off the fast path. */
const SPECIAL = /[^\x20-\x5b\x5d-\x7f]/g; // below U+0020, backslash, above U+007F

// The role of the value about to be parsed: what the structure stage expects of it.
const V_IGNORE = 0; // a structure error came earlier, or the value is ignored: syntax only
const V_TOP = 1;
const V_META = 2;
const V_META_VALUE = 3;
const V_ENTRY = 4;
const V_DTYPE = 5;
const V_SHAPE = 6;
const V_DIM = 7;
const V_OFFSETS = 8;
const V_OFFSET = 9;

// The role of an open container.
const C_IGNORE = 0;
const C_TOP = 1;
const C_META = 2;
const C_ENTRY = 3;
const C_SHAPE = 4;
const C_OFFSETS = 5;

const K_OBJECT = 1;
const K_ARRAY = 2;

// Entry fields, as bits of a mask.
const F_DTYPE = 1;
const F_SHAPE = 2;
const F_OFFSETS = 4;
const F_ALL = 7;

// Number scan results.
const NUM_OK = 0;
const NUM_NOT_INTEGER = 1; // valid JSON outside the subset: sign, fraction or exponent (JSON-6)
const NUM_TOO_LARGE = 2; // above 2^64−1 (JSON-7)

const DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A tensor entry while the header is being validated. */
interface Entry {
  name: string;
  dtype: DtypeTag;
  shape: Dim[];
  dataOffsets: [Dim, Dim];
  byteLength: number;
  numel: number | bigint;
}

/** What the structure stage found first (it is reported only if the syntax stage passes). */
interface StructureError {
  readonly code: ErrorCode;
  readonly offset: number;
  readonly message: string;
  readonly requirement: RequirementId | undefined;
  readonly tensor: string | undefined;
  readonly actual: string | undefined;
}

const ROLE_CODE: Readonly<Record<number, ErrorCode>> = {
  [V_TOP]: "header_not_object",
  [V_META]: "invalid_metadata",
  [V_META_VALUE]: "invalid_metadata",
  [V_ENTRY]: "invalid_tensor_entry",
  [V_DTYPE]: "invalid_dtype",
  [V_SHAPE]: "invalid_shape",
  [V_DIM]: "invalid_shape",
  [V_OFFSETS]: "invalid_offsets",
  [V_OFFSET]: "invalid_offsets",
};

const ROLE_EXPECTED: Readonly<Record<number, string>> = {
  [V_TOP]: "the header to be a JSON object",
  [V_META]: "__metadata__ to be null or an object",
  [V_META_VALUE]: "a string as metadata value",
  [V_ENTRY]: "a tensor entry object",
  [V_DTYPE]: "dtype to be a string",
  [V_SHAPE]: "shape to be an array",
  [V_DIM]: "a non-negative integer as dimension",
  [V_OFFSETS]: "data_offsets to be an array",
  [V_OFFSET]: "a non-negative integer as offset",
};

const ROLE_WHAT: Readonly<Record<number, string>> = {
  [V_TOP]: "Header is not an object",
  [V_META]: "Invalid metadata",
  [V_META_VALUE]: "Invalid metadata",
  [V_ENTRY]: "Invalid tensor entry",
  [V_DTYPE]: "Invalid dtype",
  [V_SHAPE]: "Invalid shape",
  [V_DIM]: "Invalid shape",
  [V_OFFSETS]: "Invalid data_offsets",
  [V_OFFSET]: "Invalid data_offsets",
};

/** Describes the character at a string index for a message. */
function describeChar(s: string, i: number): string {
  if (i >= s.length) {
    return "the end of the header";
  }
  const cp = s.codePointAt(i) as number;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  return cp >= 0x21 && cp <= 0x7e ? `'${String.fromCodePoint(cp)}'` : hex;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

function hexValue(c: number): number {
  return c <= NINE ? c - ZERO : (c | 0x20) - 0x61 + 10;
}

/** The single-pass scanner; one instance per header. */
class Scanner {
  readonly s: string;
  readonly n: number;
  /** UTF-8 bytes minus UTF-16 units over the scanned prefix: byte offset = index + delta. */
  delta = 0;

  /** Cache for nextSpecial(): the first special character at or after some scanned position. */
  special = -1;

  // Result of the last scanString.
  strStart = 0;
  strEnd = 0;
  strEscaped = false;

  // Result of the last scanNumber.
  numStatus = NUM_OK;
  numValue: Dim = 0;
  /** The last bigint made, and its digits' count and head and tail values (see integer()). */
  lastBig: bigint | undefined = undefined;
  lastBigLength = 0;
  lastBigHead = 0;
  lastBigTail = 0;

  // Structure state.
  ok = true;
  error: StructureError | undefined = undefined;
  nextRole = V_IGNORE;
  metaSeen = false;
  /** The metadata's keys and values as ranges of the text; null while `__metadata__` is absent or null. */
  meta: MetaTable | null = null;
  /** Tensor names seen so far, for duplicate detection. */
  readonly names = new NameSet();
  /** Every entry in document order (while no structure error is recorded). */
  readonly entries: Entry[] = [];
  // The entry being parsed (entries never nest).
  entry: Entry | undefined = undefined;
  eName = "";
  eFields = 0;
  eDtype: DtypeTag = "BOOL";
  /** Scratch for the dimensions of the shape being parsed; copied exactly sized at the entry's end. */
  readonly eShape: Dim[] = [];
  eDims = 0;
  eBegin: Dim = 0;
  eEnd: Dim = 0;
  eOffsetCount = 0;

  constructor(s: string) {
    this.s = s;
    this.n = s.length;
  }

  /** Throws a syntax-stage error at a string index. */
  syntax(
    i: number,
    why: string,
    expected: string,
    code: ErrorCode = "header_invalid_json",
    requirement?: RequirementId,
  ): never {
    const offset = Math.min(i, this.n) + this.delta;
    const got = code === "invalid_string" ? this.s.slice(i, i + 6) : describeChar(this.s, i);
    let req = requirement;
    if (req === undefined && code === "header_invalid_json") {
      const c = i < this.n ? this.s.charCodeAt(i) : -1;
      req = c === BOM && i === 0 ? "ENC-2" : c >= 0 && c < SPACE ? "JSON-2" : "JSON-1";
    }
    const what =
      code === "header_invalid_json"
        ? "Invalid JSON"
        : code === "invalid_string"
          ? "Invalid string"
          : "Header too deep";
    throw new SafetensorsError(
      code,
      `${what} at header byte ${offset}: ${why}. Expected ${expected}, got ${got}.`,
      { offset, actual: got },
      req,
    );
  }

  /** Records a structure-stage error unless an earlier one is recorded. */
  structure(
    offset: number,
    code: ErrorCode,
    message: string,
    requirement?: RequirementId,
    tensor?: string,
    actual?: string,
  ): void {
    if (this.ok) {
      this.ok = false;
      this.error = { code, offset, message, requirement, tensor, actual };
    }
  }

  /** Records the error for a value of the wrong kind in a role. */
  wrongValue(role: number, offset: number, got: string): void {
    const code = ROLE_CODE[role] as ErrorCode;
    const where = role === V_TOP || role === V_META ? "" : ` in tensor ${quote(this.eName)}`;
    const tensor = role === V_TOP || role === V_META || role === V_META_VALUE ? undefined : this.eName;
    const what =
      role === V_META_VALUE
        ? `Invalid metadata value for key ${quote((this.meta as MetaTable).lastKey(this.s))}`
        : ROLE_WHAT[role];
    this.structure(
      offset,
      code,
      `${what} at header byte ${offset}${role === V_META_VALUE ? "" : where}: wrong JSON type. Expected ${ROLE_EXPECTED[role]}, got ${got}.`,
      role === V_META_VALUE ? "META-1" : undefined,
      tensor,
      got,
    );
  }

  /** The index of the first backslash, control or non-ASCII character at or after `from` (n if none). */
  nextSpecial(from: number): number {
    if (this.special < from) {
      SPECIAL.lastIndex = from;
      const match = SPECIAL.exec(this.s);
      this.special = match === null ? this.n : match.index;
    }
    return this.special;
  }

  /** skipWs with the common case (no whitespace) decided inline. */
  ws(i: number): number {
    return this.s.charCodeAt(i) > SPACE ? i : this.skipWs(i);
  }

  skipWs(i: number): number {
    const s = this.s;
    let c = s.charCodeAt(i);
    while (c <= SPACE && (c === SPACE || c === LF || c === CR || c === TAB)) {
      c = s.charCodeAt(++i);
    }
    return i;
  }

  /** Scans a string starting at its opening quote; returns the index after the closing quote. */
  scanString(start: number): number {
    const s = this.s;
    let i = start + 1;
    // Fast path, in native code: the closing quote comes before any backslash, control
    // character or non-ASCII character.
    const close = s.indexOf('"', i);
    if (close >= 0 && close < this.nextSpecial(i)) {
      this.strStart = i;
      this.strEnd = close;
      this.strEscaped = false;
      return close + 1;
    }
    let escaped = false;
    for (;;) {
      let c = s.charCodeAt(i);
      while (c >= SPACE && c < 0x80 && c !== QUOTE && c !== BACKSLASH) {
        c = s.charCodeAt(++i);
      }
      if (c === QUOTE) {
        break;
      }
      if (c === BACKSLASH) {
        escaped = true;
        i = this.scanEscape(i);
      } else if (c >= 0x80) {
        // Valid UTF-8 decodes to paired surrogates (2 units, 4 bytes) or BMP code points.
        this.delta += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
        i++;
      } else if (i >= this.n) {
        this.syntax(i, "unterminated string", "a closing '\"'");
      } else {
        this.syntax(
          i,
          "raw control character in a string",
          "an escape such as \\n or \\u0000",
          undefined,
          "JSON-3",
        );
      }
    }
    this.strStart = start + 1;
    this.strEnd = i;
    this.strEscaped = escaped;
    return i + 1;
  }

  /** Scans an escape sequence at a backslash; returns the index after it. */
  scanEscape(i: number): number {
    const s = this.s;
    const c = s.charCodeAt(i + 1);
    switch (c) {
      case QUOTE:
      case BACKSLASH:
      case 0x2f: // /
      case 0x62: // b
      case 0x66: // f
      case 0x6e: // n
      case 0x72: // r
      case 0x74: // t
        return i + 2;
      case LOWER_U: {
        const cp = this.hex4(i + 2);
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (
            s.charCodeAt(i + 6) === BACKSLASH &&
            s.charCodeAt(i + 7) === LOWER_U &&
            this.isLowSurrogateEscape(i + 8)
          ) {
            return i + 12;
          }
          this.syntax(
            i,
            "high surrogate escape not followed by a low surrogate escape",
            "a \\uDC00-\\uDFFF escape after it",
            "invalid_string",
            "JSON-4",
          );
        }
        if (cp >= 0xdc00 && cp <= 0xdfff) {
          this.syntax(
            i,
            "low surrogate escape without a high surrogate",
            "a Unicode scalar value",
            "invalid_string",
            "JSON-4",
          );
        }
        return i + 6;
      }
      default:
        return this.syntax(i + 1, "invalid escape", "one of \" \\ / b f n r t u after '\\'");
    }
  }

  /** Reads 4 hex digits at i, throwing a syntax error at the first bad one. */
  hex4(i: number): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.s.charCodeAt(i + k);
      if (!isHex(c)) {
        this.syntax(i + k, "invalid \\u escape", "a hexadecimal digit");
      }
      v = v * 16 + hexValue(c);
    }
    return v;
  }

  isLowSurrogateEscape(i: number): boolean {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.s.charCodeAt(i + k);
      if (!isHex(c)) {
        return false;
      }
      v = v * 16 + hexValue(c);
    }
    return v >= 0xdc00 && v <= 0xdfff;
  }

  /** The decoded value of the last scanned string. */
  stringValue(): string {
    return decodeString(this.s, this.strStart, this.strEnd, this.strEscaped);
  }

  /** Which entry field the last scanned string names (an F_* bit, 0 for none), without allocating. */
  fieldBit(): number {
    if (this.strEscaped) {
      const field = this.stringValue();
      return field === "dtype"
        ? F_DTYPE
        : field === "shape"
          ? F_SHAPE
          : field === "data_offsets"
            ? F_OFFSETS
            : 0;
    }
    const s = this.s;
    const at = this.strStart;
    const length = this.strEnd - at;
    if (length === 5) {
      const c0 = s.charCodeAt(at);
      if (
        c0 === 0x64 && // dtype
        s.charCodeAt(at + 1) === 0x74 &&
        s.charCodeAt(at + 2) === 0x79 &&
        s.charCodeAt(at + 3) === 0x70 &&
        s.charCodeAt(at + 4) === 0x65
      ) {
        return F_DTYPE;
      }
      if (
        c0 === 0x73 && // shape
        s.charCodeAt(at + 1) === 0x68 &&
        s.charCodeAt(at + 2) === 0x61 &&
        s.charCodeAt(at + 3) === 0x70 &&
        s.charCodeAt(at + 4) === 0x65
      ) {
        return F_SHAPE;
      }
      return 0;
    }
    if (length === 12) {
      for (let k = 0; k < 12; k++) {
        if (s.charCodeAt(at + k) !== DATA_OFFSETS.charCodeAt(k)) {
          return 0;
        }
      }
      return F_OFFSETS;
    }
    return 0;
  }

  /** Scans a number (RFC 8259 grammar); returns the index after it. */
  scanNumber(start: number): number {
    const s = this.s;
    let i = start;
    let status = NUM_OK;
    if (s.charCodeAt(i) === MINUS) {
      status = NUM_NOT_INTEGER;
      i++;
    }
    const intStart = i;
    let c = s.charCodeAt(i);
    // head: the value of the first 15 digits; tail: the value of the rest (read to 20).
    let head = 0;
    let tail = 0;
    if (c === ZERO) {
      c = s.charCodeAt(++i);
    } else if (c > ZERO && c <= NINE) {
      const headEnd = i + 15;
      do {
        if (i < headEnd) {
          head = head * 10 + (c - ZERO);
        } else {
          tail = tail * 10 + (c - ZERO);
        }
        c = s.charCodeAt(++i);
      } while (c >= ZERO && c <= NINE);
    } else {
      this.syntax(i, "invalid number", "a digit");
    }
    const intEnd = i;
    if (c === DOT) {
      status = NUM_NOT_INTEGER;
      if (!isDigit(s.charCodeAt(++i))) {
        this.syntax(i, "invalid number", "a digit after '.'");
      }
      do {
        c = s.charCodeAt(++i);
      } while (isDigit(c));
    }
    if (c === LOWER_E || c === UPPER_E) {
      status = NUM_NOT_INTEGER;
      c = s.charCodeAt(++i);
      if (c === PLUS || c === MINUS) {
        c = s.charCodeAt(++i);
      }
      if (!isDigit(c)) {
        this.syntax(i, "invalid number", "a digit in the exponent");
      }
      do {
        c = s.charCodeAt(++i);
      } while (isDigit(c));
    }
    if (status === NUM_OK) {
      status = this.integer(intStart, intEnd, head, tail);
    }
    this.numStatus = status;
    return i;
  }

  /**
   * Sets numValue to the plain integer `s[start, end)` (digits, no leading zero): a number
   * up to 2^53−1, a bigint above. `head` is the value of its first 15 digits and `tail`
   * that of the rest, both exact doubles (the caller computed them while scanning, and
   * `tail` only matters up to 20 digits), so the bounds are decided without a bigint.
   * Returns NUM_TOO_LARGE above 2^64−1.
   */
  integer(start: number, end: number, head: number, tail: number): number {
    const len = end - start;
    if (len <= 15) {
      this.numValue = head;
      return NUM_OK;
    }
    if (len > 20) {
      // No leading zeros, so 21 digits or more is at least 10^20 > 2^64−1.
      return NUM_TOO_LARGE;
    }
    // 2^53−1 = 900719925474099|1 and 2^64−1 = 184467440737095|51615 (head|tail).
    if (len === 16 && (head < 900719925474099 || (head === 900719925474099 && tail <= 1))) {
      this.numValue = head * 10 + tail;
      return NUM_OK;
    }
    if (len === 20 && (head > 184467440737095 || (head === 184467440737095 && tail > 51615))) {
      return NUM_TOO_LARGE;
    }
    // Above 2^53−1: a bigint. The last one is reused for the same digits, so a header
    // that repeats one large dimension makes one bigint.
    if (
      this.lastBig !== undefined &&
      len === this.lastBigLength &&
      head === this.lastBigHead &&
      tail === this.lastBigTail
    ) {
      this.numValue = this.lastBig;
    } else {
      const big = BigInt(this.s.slice(start, end));
      this.lastBig = big;
      this.lastBigLength = len;
      this.lastBigHead = head;
      this.lastBigTail = tail;
      this.numValue = big;
    }
    return NUM_OK;
  }

  /** Matches a literal (`true`, `false`, `null`); returns the index after it. */
  literal(i: number, word: string): number {
    for (let k = 1; k < word.length; k++) {
      if (this.s.charCodeAt(i + k) !== word.charCodeAt(k)) {
        this.syntax(i + k, "invalid literal", `'${word[k]}' of ${word}`);
      }
    }
    return i + word.length;
  }

  /** Scans a key and its colon in a container of role `crole`; sets nextRole. */
  key(i: number, crole: number): number {
    const offset = i + this.delta;
    i = this.scanString(i);
    i = this.skipWs(i);
    if (this.s.charCodeAt(i) !== COLON) {
      this.syntax(i, "missing ':' after an object key", "':'");
    }
    i++;
    if (!this.ok) {
      this.nextRole = V_IGNORE;
      return i;
    }
    switch (crole) {
      case C_TOP: {
        const name = this.stringValue();
        if (name === "__metadata__") {
          if (this.metaSeen) {
            this.duplicate(offset, name, "META-4");
          }
          this.metaSeen = true;
          this.nextRole = V_META;
        } else {
          const entry: Entry = {
            name,
            dtype: "BOOL",
            shape: NO_DIMS,
            dataOffsets: NO_OFFSETS,
            byteLength: 0,
            numel: 0,
          };
          const hash = this.strEscaped
            ? hashString(name, 0, name.length)
            : hashString(this.s, this.strStart, this.strEnd);
          if (!this.names.add(name, hash, this.entries)) {
            this.duplicate(offset, name, "JSON-10");
          }
          this.entries.push(entry);
          this.entry = entry;
          this.eName = name;
          this.nextRole = V_ENTRY;
        }
        break;
      }
      case C_META: {
        // The key stays a range of the text: no string is made for it (issue #8: a header
        // of millions of keys cost 12 times its size when each became a property).
        const start = this.strStart;
        const end = this.strEnd;
        const escaped = this.strEscaped;
        const hash = escaped ? hashDecoded(this.s, start, end) : hashString(this.s, start, end);
        if (!(this.meta as MetaTable).add(this.s, start, end, escaped, hash)) {
          this.duplicate(offset, decodeString(this.s, start, end, escaped), "JSON-10");
        }
        this.nextRole = V_META_VALUE;
        break;
      }
      case C_ENTRY: {
        const bit = this.fieldBit();
        const role =
          bit === F_DTYPE ? V_DTYPE : bit === F_SHAPE ? V_SHAPE : bit === F_OFFSETS ? V_OFFSETS : V_IGNORE;
        if (bit === 0) {
          const field = this.stringValue();
          this.structure(
            offset,
            "invalid_tensor_entry",
            `Invalid tensor entry at header byte ${offset} in tensor ${quote(this.eName)}: unknown field. Expected only dtype, shape and data_offsets, got ${quote(field)}.`,
            "HDR-4",
            this.eName,
            field,
          );
        }
        if ((this.eFields & bit) !== 0) {
          this.duplicate(offset, this.stringValue(), "JSON-10");
        }
        this.eFields |= bit;
        this.nextRole = this.ok ? role : V_IGNORE;
        break;
      }
      default:
        this.nextRole = V_IGNORE;
    }
    return i;
  }

  duplicate(offset: number, key: string, requirement: RequirementId): void {
    this.structure(
      offset,
      "duplicate_key",
      `Duplicate key at header byte ${offset}: an object holds the same key twice after decoding escapes. Expected unique keys, got a second ${quote(key)}.`,
      requirement,
      undefined,
      key,
    );
  }

  /** Opens a container as the value of `role`; returns the container's role. */
  open(role: number, isObject: boolean, offset: number): number {
    if (!this.ok || role === V_IGNORE) {
      return C_IGNORE;
    }
    if (isObject) {
      if (role === V_TOP) {
        return C_TOP;
      }
      if (role === V_META) {
        this.meta = new MetaTable();
        return C_META;
      }
      if (role === V_ENTRY) {
        this.eFields = 0;
        this.eDims = 0;
        this.eOffsetCount = 0;
        return C_ENTRY;
      }
    } else {
      if (role === V_SHAPE) {
        this.eDims = 0;
        return C_SHAPE;
      }
      if (role === V_OFFSETS) {
        this.eOffsetCount = 0;
        return C_OFFSETS;
      }
    }
    this.wrongValue(role, offset, isObject ? "an object" : "an array");
    return C_IGNORE;
  }

  /** Closes an object of role `crole` at the `}` with header offset `offset`. */
  closeObject(crole: number, offset: number): void {
    if (!this.ok || crole !== C_ENTRY) {
      return;
    }
    if (this.eFields !== F_ALL) {
      const missing =
        (this.eFields & F_DTYPE) === 0 ? "dtype" : (this.eFields & F_SHAPE) === 0 ? "shape" : "data_offsets";
      this.structure(
        offset,
        "invalid_tensor_entry",
        `Invalid tensor entry at header byte ${offset} in tensor ${quote(this.eName)}: missing field. Expected dtype, shape and data_offsets, got no ${missing}.`,
        "HDR-4",
        this.eName,
        missing,
      );
      return;
    }
    const entry = this.entry as Entry;
    entry.dtype = this.eDtype;
    entry.shape = copyDims(this.eShape, this.eDims);
    entry.dataOffsets = [this.eBegin, this.eEnd];
  }

  /** Closes an array of role `crole` at the `]` with header offset `offset`. */
  closeArray(crole: number, offset: number): void {
    if (this.ok && crole === C_OFFSETS && this.eOffsetCount < 2) {
      this.structure(
        offset,
        "invalid_offsets",
        `Invalid data_offsets at header byte ${offset} in tensor ${quote(this.eName)}: too few elements. Expected [begin, end], got ${this.eOffsetCount} element(s).`,
        "HDR-7",
        this.eName,
        String(this.eOffsetCount),
      );
    }
  }

  /** Applies the structure rules to a string value. */
  onString(role: number, offset: number): void {
    if (role === V_META_VALUE) {
      (this.meta as MetaTable).setValue(this.strStart, this.strEnd, this.strEscaped);
    } else if (role === V_DTYPE) {
      const known = this.strEscaped ? undefined : this.knownTag();
      if (known !== undefined) {
        this.eDtype = known;
        return;
      }
      const tag = this.stringValue();
      const bits = BITS_BY_TAG.get(tag);
      if (bits === undefined) {
        this.structure(
          offset,
          "invalid_dtype",
          `Invalid dtype at header byte ${offset} in tensor ${quote(this.eName)}: not a tag of the dtype table (tags are case-sensitive). Expected a tag such as "F32", got ${quote(tag)}.`,
          "DTYPE-2",
          this.eName,
          tag,
        );
      } else {
        this.eDtype = tag as DtypeTag;
      }
    } else if (role !== V_IGNORE) {
      this.wrongValue(role, offset, "a string");
    }
  }

  /** The dtype tag equal to the last scanned (unescaped) string, found without allocating. */
  knownTag(): DtypeTag | undefined {
    const s = this.s;
    const at = this.strStart;
    const length = this.strEnd - at;
    if (length < 2 || length > MAX_TAG_LENGTH) {
      return undefined;
    }
    const tag = TAG_BY_KEY.get(
      tagKey(
        length,
        s.charCodeAt(at),
        s.charCodeAt(at + 1),
        length > 4 ? s.charCodeAt(at + 4) : 0,
        s.charCodeAt(at + length - 1),
      ),
    );
    return tag !== undefined && this.ascii(at, tag) ? tag : undefined;
  }

  /** Applies the structure rules to a number value. */
  onNumber(role: number, offset: number, start: number, end: number): void {
    if (role === V_DIM || role === V_OFFSET) {
      const status = this.numStatus;
      if (status === NUM_OK) {
        if (role === V_DIM) {
          this.eShape[this.eDims++] = this.numValue;
        } else if (this.eOffsetCount === 1) {
          this.eBegin = this.numValue;
        } else {
          this.eEnd = this.numValue;
        }
        return;
      }
      const text = this.s.slice(start, Math.min(end, start + 30));
      const field = role === V_DIM ? "shape" : "data_offsets";
      const why =
        status === NUM_TOO_LARGE
          ? "integer above 2^64-1. Expected at most 18446744073709551615"
          : "not a plain non-negative integer (no sign, fraction or exponent). Expected digits only";
      this.structure(
        offset,
        role === V_DIM ? "invalid_shape" : "invalid_offsets",
        `Invalid ${field} at header byte ${offset} in tensor ${quote(this.eName)}: ${why}, got ${text}.`,
        status === NUM_TOO_LARGE ? "JSON-7" : "JSON-6",
        this.eName,
        text,
      );
    } else if (role !== V_IGNORE) {
      this.wrongValue(role, offset, "a number");
    }
  }

  /**
   * Fast path for a tensor entry written the usual way: `{"dtype":"TAG","shape":[...],
   * "data_offsets":[b,e]}` with JSON whitespace anywhere but before a colon, plain
   * integers of at most 2^64−1 and a known tag. It only reads; on any deviation it returns -1 and the general path
   * parses the entry again, so errors and their precedence are the general path's alone.
   *
   * @returns The index after the entry's `}`, or -1.
   */
  fastEntry(start: number): number {
    const s = this.s;
    let i = this.ws(start + 1);
    if (!this.ascii(i, '"dtype":')) {
      return -1;
    }
    i = this.ws(i + 8);
    if (s.charCodeAt(i) !== QUOTE) {
      return -1;
    }
    const tagStart = i + 1;
    const tagEnd = s.indexOf('"', tagStart);
    if (tagEnd < 0 || tagEnd - tagStart > 12) {
      return -1;
    }
    this.strStart = tagStart;
    this.strEnd = tagEnd;
    const tag = this.knownTag();
    if (tag === undefined) {
      return -1;
    }
    i = this.ws(tagEnd + 1);
    if (s.charCodeAt(i) !== COMMA) {
      return -1;
    }
    i = this.ws(i + 1);
    if (!this.ascii(i, '"shape":')) {
      return -1;
    }
    i = this.ws(i + 8);
    if (s.charCodeAt(i) !== LBRACKET) {
      return -1;
    }
    const dims = this.eShape;
    let rank = 0;
    i = this.ws(i + 1);
    if (s.charCodeAt(i) === RBRACKET) {
      i++;
    } else {
      for (;;) {
        i = this.fastInt(i);
        if (i < 0) {
          return -1;
        }
        dims[rank++] = this.numValue;
        i = this.ws(i);
        const c = s.charCodeAt(i);
        if (c === RBRACKET) {
          i++;
          break;
        }
        if (c !== COMMA) {
          return -1;
        }
        i = this.ws(i + 1);
      }
    }
    i = this.ws(i);
    if (s.charCodeAt(i) !== COMMA) {
      return -1;
    }
    i = this.ws(i + 1);
    if (!this.ascii(i, '"data_offsets":')) {
      return -1;
    }
    i = this.ws(i + 15);
    if (s.charCodeAt(i) !== LBRACKET) {
      return -1;
    }
    i = this.fastInt(this.ws(i + 1));
    if (i < 0) {
      return -1;
    }
    const begin = this.numValue;
    i = this.ws(i);
    if (s.charCodeAt(i) !== COMMA) {
      return -1;
    }
    i = this.fastInt(this.ws(i + 1));
    if (i < 0) {
      return -1;
    }
    const end = this.numValue;
    i = this.ws(i);
    if (s.charCodeAt(i) !== RBRACKET) {
      return -1;
    }
    i = this.ws(i + 1);
    if (s.charCodeAt(i) !== RBRACE) {
      return -1;
    }
    const entry = this.entry as Entry;
    entry.dtype = tag as DtypeTag;
    entry.shape = copyDims(dims, rank);
    entry.dataOffsets = [begin, end];
    return i + 1;
  }

  /** Reads a plain integer of at most 2^64−1 at i into numValue; returns the index after it, or -1. */
  fastInt(i: number): number {
    const s = this.s;
    let c = s.charCodeAt(i);
    if (c === ZERO) {
      c = s.charCodeAt(i + 1);
      if ((c >= ZERO && c <= NINE) || c === DOT || c === LOWER_E || c === UPPER_E) {
        return -1;
      }
      this.numValue = 0;
      return i + 1;
    }
    const start = i;
    const headEnd = i + 15;
    let head = 0;
    let tail = 0;
    while (c >= ZERO && c <= NINE) {
      if (i < headEnd) {
        head = head * 10 + (c - ZERO);
      } else {
        tail = tail * 10 + (c - ZERO);
      }
      c = s.charCodeAt(++i);
    }
    if (i === start || c === DOT || c === LOWER_E || c === UPPER_E) {
      return -1;
    }
    return this.integer(start, i, head, tail) === NUM_OK ? i : -1;
  }

  /** Tells whether the ASCII literal occurs at index i. */
  ascii(i: number, literal: string): boolean {
    const s = this.s;
    for (let k = 0; k < literal.length; k++) {
      if (s.charCodeAt(i + k) !== literal.charCodeAt(k)) {
        return false;
      }
    }
    return true;
  }

  /** Runs the syntax and structure stages over the whole header. */
  run(): void {
    const s = this.s;
    const n = this.n;
    const kinds = new Uint8Array(MAX_DEPTH + 1);
    const roles = new Uint8Array(MAX_DEPTH + 1);
    let depth = 0;
    let role = V_TOP;
    let i = 0;
    value: for (;;) {
      i = this.skipWs(i);
      let c = s.charCodeAt(i);
      const offset = i + this.delta;
      if (role === V_OFFSET && this.ok) {
        if (this.eOffsetCount === 2) {
          this.structure(
            offset,
            "invalid_offsets",
            `Invalid data_offsets at header byte ${offset} in tensor ${quote(this.eName)}: too many elements. Expected [begin, end], got a third element.`,
            "HDR-7",
            this.eName,
          );
          role = V_IGNORE;
        } else {
          this.eOffsetCount++;
        }
      }
      let fast = -1;
      if (c === LBRACE && role === V_ENTRY && this.ok) {
        fast = this.fastEntry(i);
      }
      if (fast >= 0) {
        i = fast;
      } else if (c === LBRACE || c === LBRACKET) {
        const isObject = c === LBRACE;
        if (depth === MAX_DEPTH) {
          this.syntax(
            i,
            "nesting deeper than 64 levels",
            "at most 64 nested arrays and objects",
            "header_too_deep",
            "JSON-5",
          );
        }
        depth++;
        kinds[depth] = isObject ? K_OBJECT : K_ARRAY;
        const crole = this.open(role, isObject, offset);
        roles[depth] = crole;
        i = this.skipWs(i + 1);
        c = s.charCodeAt(i);
        if (isObject) {
          if (c !== RBRACE) {
            if (c !== QUOTE) {
              this.syntax(i, "expected an object key", "'\"' or '}'");
            }
            i = this.key(i, crole);
            role = this.nextRole;
            continue;
          }
          this.closeObject(crole, i + this.delta);
        } else {
          if (c !== RBRACKET) {
            role = crole === C_SHAPE ? V_DIM : crole === C_OFFSETS ? V_OFFSET : V_IGNORE;
            continue;
          }
          this.closeArray(crole, i + this.delta);
        }
        depth--;
        i++;
      } else if (c === QUOTE) {
        i = this.scanString(i);
        if (this.ok) {
          this.onString(role, offset);
        }
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const start = i;
        i = this.scanNumber(i);
        if (this.ok) {
          this.onNumber(role, offset, start, i);
        }
      } else if (c === 0x74) {
        i = this.literal(i, "true");
        if (this.ok && role !== V_IGNORE) {
          this.wrongValue(role, offset, "true");
        }
      } else if (c === 0x66) {
        i = this.literal(i, "false");
        if (this.ok && role !== V_IGNORE) {
          this.wrongValue(role, offset, "false");
        }
      } else if (c === 0x6e) {
        i = this.literal(i, "null");
        if (this.ok && role !== V_IGNORE && role !== V_META) {
          this.wrongValue(role, offset, "null");
        }
      } else {
        this.syntax(i, "expected a JSON value", "a value");
      }
      // After a value: a separator, a closing bracket, or the end of the header.
      for (;;) {
        i = this.skipWs(i);
        if (depth === 0) {
          if (i < n) {
            this.syntax(i, "unexpected data after the top-level value", "only whitespace");
          }
          return;
        }
        c = s.charCodeAt(i);
        if (kinds[depth] === K_OBJECT) {
          if (c === COMMA) {
            i = this.skipWs(i + 1);
            if (s.charCodeAt(i) !== QUOTE) {
              this.syntax(i, "expected an object key", "'\"'");
            }
            i = this.key(i, roles[depth] as number);
            role = this.nextRole;
            continue value;
          }
          if (c !== RBRACE) {
            this.syntax(i, "expected ',' or '}' in an object", "',' or '}'");
          }
          this.closeObject(roles[depth] as number, i + this.delta);
        } else {
          if (c === COMMA) {
            i++;
            const crole = roles[depth];
            role = crole === C_SHAPE ? V_DIM : crole === C_OFFSETS ? V_OFFSET : V_IGNORE;
            continue value;
          }
          if (c !== RBRACKET) {
            this.syntax(i, "expected ',' or ']' in an array", "',' or ']'");
          }
          this.closeArray(roles[depth] as number, i + this.delta);
        }
        depth--;
        i++;
      }
    }
  }
}

/** Layout order (OFFSET-2): begin, then end, then name as UTF-8 bytes. */
function layoutOrder(a: Entry, b: Entry): number {
  const ab = a.dataOffsets[0];
  const bb = b.dataOffsets[0];
  if (ab < bb) {
    return -1;
  }
  if (ab > bb) {
    return 1;
  }
  const ae = a.dataOffsets[1];
  const be = b.dataOffsets[1];
  if (ae < be) {
    return -1;
  }
  if (ae > be) {
    return 1;
  }
  return compareUtf8(a.name, b.name);
}

function layoutError(
  code: ErrorCode,
  entry: Entry,
  why: string,
  expected: Dim | string,
  actual: Dim | string,
): never {
  const what =
    code === "invalid_offset_range"
      ? "Invalid offset range"
      : code === "offsets_not_contiguous"
        ? "Offsets not contiguous"
        : code === "misaligned_subbyte"
          ? "Misaligned sub-byte tensor"
          : "Tensor size mismatch";
  const limit = typeof expected === "string" ? undefined : expected;
  throw new SafetensorsError(
    code,
    `${what} in tensor ${quote(entry.name)}: ${why}. Expected ${String(expected)}, got ${String(actual)}.`,
    limit === undefined ? { tensor: entry.name, actual } : { tensor: entry.name, limit, actual },
  );
}

/** Stage 5: checks entries in layout order (ERR-4); returns them sorted and the data length. */
function checkLayout(entries: Entry[]): { sorted: Entry[]; dataLength: Dim } {
  let sorted = entries;
  for (let k = 1; k < entries.length; k++) {
    if (layoutOrder(entries[k - 1] as Entry, entries[k] as Entry) > 0) {
      sorted = entries.slice().sort(layoutOrder);
      break;
    }
  }
  let previousEnd: Dim = 0;
  for (const entry of sorted) {
    const [begin, end] = entry.dataOffsets;
    if (end < begin) {
      layoutError("invalid_offset_range", entry, "end is before begin", `end >= ${begin}`, end);
    }
    if (begin < previousEnd || begin > previousEnd) {
      layoutError(
        "offsets_not_contiguous",
        entry,
        previousEnd === 0
          ? "the first tensor in layout order must begin at 0, or a tensor overlaps or leaves a gap"
          : "in layout order each tensor must begin where the previous one ends",
        previousEnd,
        begin,
      );
    }
    // numel exactly: 0 if any dimension is 0 (SIZE-1); the product stops growing past
    // NUMEL_CAP, where any size exceeds every possible byte range; numel mod 4 is tracked
    // separately so the sub-byte check stays exact.
    const bits = BITS_BY_TAG.get(entry.dtype) as number;
    let numel: Dim = 1;
    let mod4 = 1;
    let capped = false;
    for (const d of entry.shape) {
      if (d === 0) {
        numel = 0;
        mod4 = 0;
        capped = false;
        break;
      }
      if (bits < 8) {
        mod4 = (mod4 * (typeof d === "number" ? d % 4 : Number(d % 4n))) % 4;
      }
      if (capped) {
        continue;
      }
      if (typeof numel === "number" && typeof d === "number" && numel * d <= MAX_SAFE) {
        numel *= d;
      } else {
        numel = BigInt(numel) * BigInt(d);
        if (numel > NUMEL_CAP) {
          capped = true;
        }
      }
    }
    if ((bits === 4 && mod4 % 2 !== 0) || (bits === 6 && mod4 !== 0)) {
      layoutError(
        "misaligned_subbyte",
        entry,
        `numel × ${bits} bits is not a whole number of bytes`,
        bits === 4 ? "an even numel" : "a numel divisible by 4",
        numel,
      );
    }
    const span = exact(
      typeof begin === "number" && typeof end === "number" ? end - begin : BigInt(end) - BigInt(begin),
    );
    let size: Dim;
    if (capped) {
      size = -1;
    } else if (typeof numel === "number" && numel <= NUMEL_EXACT) {
      size = (numel * bits) / 8;
    } else {
      size = exact((BigInt(numel) * BigInt(bits)) / 8n);
    }
    if (size !== span) {
      layoutError(
        "tensor_size_mismatch",
        entry,
        `end - begin must equal numel × ${bits} / 8 for ${entry.dtype} with shape ${formatShape(entry.shape)}`,
        capped ? "a size above 2^64-1" : `${String(size)} bytes`,
        `${String(span)} bytes`,
      );
    }
    entry.numel = exact(numel);
    entry.byteLength = span as number; // a number once the data length check below passes
    previousEnd = end;
  }
  return { sorted, dataLength: previousEnd };
}

/** A bigint as a number when it is safe, so equal values compare equal with `===`. */
function exact(value: Dim): Dim {
  return typeof value === "bigint" && value <= BIG_MAX_SAFE && value >= -BIG_MAX_SAFE ? Number(value) : value;
}

/** A shape for a message, truncated after a few dimensions. */
function formatShape(shape: readonly Dim[]): string {
  const shown = shape.slice(0, 8).map(String).join(", ");
  return `[${shown}${shape.length > 8 ? ", …" : ""}]`;
}

/**
 * A per-process random seed, so that names crafted to collide cannot flood the name set
 * (LIMIT-2); it changes no result, only which slots names land in.
 */
const HASH_SEED = (Math.random() * 0x1_0000_0000) >>> 0;

/** FNV-1a over the UTF-16 code units `s[start, end)`, two at a time, seeded, then mixed. */
function hashString(s: string, start: number, end: number): number {
  let h = 0x811c9dc5 ^ HASH_SEED;
  let i = start;
  for (; i + 1 < end; i += 2) {
    h = Math.imul(h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)), 0x01000193);
  }
  if (i < end) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return finish(h);
}

/** murmur3's finaliser: spreads every input bit over the low bits used as the slot. */
function finish(hash: number): number {
  let h = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The code unit an escape `\x` stands for (x not `u`). */
function escapeUnit(c: number): number {
  return c === 0x62 ? 0x08 : c === 0x66 ? 0x0c : c === 0x6e ? LF : c === 0x72 ? CR : c === 0x74 ? TAB : c;
}

/**
 * {@link hashString} of the decoded value of the validated string body `s[start, end)`,
 * computed over the escapes without decoding them into a string.
 */
function hashDecoded(s: string, start: number, end: number): number {
  let h = 0x811c9dc5 ^ HASH_SEED;
  let pending = -1;
  let i = start;
  while (i < end) {
    let c = s.charCodeAt(i);
    if (c === BACKSLASH) {
      const e = s.charCodeAt(i + 1);
      if (e === LOWER_U) {
        c = hex4At(s, i + 2);
        i += 6;
      } else {
        c = escapeUnit(e);
        i += 2;
      }
    } else {
      i++;
    }
    if (pending < 0) {
      pending = c;
    } else {
      h = Math.imul(h ^ (pending | (c << 16)), 0x01000193);
      pending = -1;
    }
  }
  if (pending >= 0) {
    h = Math.imul(h ^ pending, 0x01000193);
  }
  return finish(h);
}

/** The value of 4 hex digits known to be valid. */
function hex4At(s: string, i: number): number {
  return (
    (hexValue(s.charCodeAt(i)) << 12) |
    (hexValue(s.charCodeAt(i + 1)) << 8) |
    (hexValue(s.charCodeAt(i + 2)) << 4) |
    hexValue(s.charCodeAt(i + 3))
  );
}

/** Scratch for decodeString: code units of strings up to its length (longer ones get their own). */
const UNITS = new Uint16Array(4096);
/** String.fromCharCode takes this many units per call at most (an argument-count bound). */
const UNITS_PER_CALL = 4096;

/**
 * The decoded value of the validated string body `s[start, end)` (quotes excluded).
 * Escaped strings are decoded into code units, then made into one string, so a string
 * of many escapes costs no chain of concatenations.
 */
function decodeString(s: string, start: number, end: number, escaped: boolean): string {
  if (!escaped) {
    return s.slice(start, end);
  }
  const units = end - start <= UNITS.length ? UNITS : new Uint16Array(end - start);
  let k = 0;
  for (let i = start; i < end; ) {
    const c = s.charCodeAt(i);
    if (c !== BACKSLASH) {
      units[k++] = c;
      i++;
    } else if (s.charCodeAt(i + 1) === LOWER_U) {
      units[k++] = hex4At(s, i + 2);
      i += 6;
    } else {
      units[k++] = escapeUnit(s.charCodeAt(i + 1));
      i += 2;
    }
  }
  let out = "";
  for (let at = 0; at < k; at += UNITS_PER_CALL) {
    out += String.fromCharCode.apply(
      null,
      units.subarray(at, Math.min(k, at + UNITS_PER_CALL)) as unknown as number[],
    );
  }
  return out;
}

/**
 * The metadata while the header is validated: each entry's key and value as ranges of
 * the header text, and an insert-only hash set of the keys for duplicate detection. The
 * strings, and the object {@link SafetensorsHeader.metadata} returns, are made only when
 * the metadata is first read.
 */
class MetaTable {
  /** Per entry: key start, key end, value start, value end (string indexes, quotes excluded). */
  ranges = new Int32Array(64);
  /** Per entry: bit 0 when the key has escapes, bit 1 when the value has. */
  flags = new Uint8Array(16);
  count = 0;
  slots = new Int32Array(32); // entry index + 1; 0 = empty
  hashes = new Int32Array(32);

  /** Adds the key `s[start, end)`; returns false if an equal key (after decoding) is present. */
  add(s: string, start: number, end: number, escaped: boolean, hash: number): boolean {
    if ((this.count + 1) * 2 > this.slots.length) {
      this.grow();
    }
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (;;) {
      const held = this.slots[slot] as number;
      if (held === 0) {
        break;
      }
      if (this.hashes[slot] === hash && this.sameKey(s, held - 1, start, end, escaped)) {
        return false;
      }
      slot = (slot + 1) & mask;
    }
    const k = this.count;
    if (4 * k + 4 > this.ranges.length) {
      const ranges = new Int32Array(this.ranges.length * 2);
      ranges.set(this.ranges);
      this.ranges = ranges;
      const flags = new Uint8Array(this.flags.length * 2);
      flags.set(this.flags);
      this.flags = flags;
    }
    this.ranges[4 * k] = start;
    this.ranges[4 * k + 1] = end;
    this.flags[k] = escaped ? 1 : 0;
    this.slots[slot] = k + 1;
    this.hashes[slot] = hash;
    this.count = k + 1;
    return true;
  }

  /** Sets the value of the last key added. */
  setValue(start: number, end: number, escaped: boolean): void {
    const k = this.count - 1;
    this.ranges[4 * k + 2] = start;
    this.ranges[4 * k + 3] = end;
    if (escaped) {
      this.flags[k] = (this.flags[k] as number) | 2;
    }
  }

  sameKey(s: string, k: number, start: number, end: number, escaped: boolean): boolean {
    const kStart = this.ranges[4 * k] as number;
    const kEnd = this.ranges[4 * k + 1] as number;
    const kEscaped = ((this.flags[k] as number) & 1) !== 0;
    if (!escaped && !kEscaped && end - start !== kEnd - kStart) {
      return false;
    }
    return decodeString(s, kStart, kEnd, kEscaped) === decodeString(s, start, end, escaped);
  }

  /** The last key added, decoded. */
  lastKey(s: string): string {
    const k = this.count - 1;
    return decodeString(
      s,
      this.ranges[4 * k] as number,
      this.ranges[4 * k + 1] as number,
      ((this.flags[k] as number) & 1) !== 0,
    );
  }

  /** The metadata as a null-prototype object, keys in document order. */
  build(s: string): Record<string, string> {
    const out = Object.create(null) as Record<string, string>;
    const r = this.ranges;
    for (let k = 0; k < this.count; k++) {
      const f = this.flags[k] as number;
      const key = decodeString(s, r[4 * k] as number, r[4 * k + 1] as number, (f & 1) !== 0);
      out[key] = decodeString(s, r[4 * k + 2] as number, r[4 * k + 3] as number, (f & 2) !== 0);
    }
    return out;
  }

  grow(): void {
    const oldSlots = this.slots;
    const oldHashes = this.hashes;
    this.slots = new Int32Array(oldSlots.length * 2);
    this.hashes = new Int32Array(oldSlots.length * 2);
    const mask = this.slots.length - 1;
    for (let k = 0; k < oldSlots.length; k++) {
      const held = oldSlots[k] as number;
      if (held !== 0) {
        const hash = oldHashes[k] as number;
        let slot = hash & mask;
        while (this.slots[slot] !== 0) {
          slot = (slot + 1) & mask;
        }
        this.slots[slot] = held;
        this.hashes[slot] = hash;
      }
    }
  }
}

/**
 * An insert-only set of tensor names for duplicate detection: open addressing over the
 * entries array, keyed by a hash the scanner computes on the header text in place. A
 * Map would hash a fresh string per name, which costs several times more; the Map for
 * lookups by name is built only when `tensor()` is first called.
 */
class NameSet {
  slots = new Int32Array(64); // entry index + 1; 0 = empty
  hashes = new Int32Array(64);
  count = 0;

  /** Adds `name`, the name of `entries[entries.length]`; returns false if already present. */
  add(name: string, hash: number, entries: readonly Entry[]): boolean {
    if ((this.count + 1) * 2 > this.slots.length) {
      this.grow();
    }
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (;;) {
      const held = this.slots[slot] as number;
      if (held === 0) {
        break;
      }
      if (this.hashes[slot] === hash && (entries[held - 1] as Entry).name === name) {
        return false;
      }
      slot = (slot + 1) & mask;
    }
    this.slots[slot] = entries.length + 1;
    this.hashes[slot] = hash;
    this.count++;
    return true;
  }

  grow(): void {
    const oldSlots = this.slots;
    const oldHashes = this.hashes;
    this.slots = new Int32Array(oldSlots.length * 2);
    this.hashes = new Int32Array(oldSlots.length * 2);
    const mask = this.slots.length - 1;
    for (let k = 0; k < oldSlots.length; k++) {
      const held = oldSlots[k] as number;
      if (held !== 0) {
        const hash = oldHashes[k] as number;
        let slot = hash & mask;
        while (this.slots[slot] !== 0) {
          slot = (slot + 1) & mask;
        }
        this.slots[slot] = held;
        this.hashes[slot] = hash;
      }
    }
  }
}

/** The validated header; `tensor()` is backed by a Map so every name is ordinary data. */
class Header implements SafetensorsHeader {
  readonly headerLength: number;
  readonly dataStart: number;
  readonly dataLength: number;
  /** An own, enumerable accessor (defined in the constructor) that builds the object once. */
  declare readonly metadata: Readonly<Record<string, string>> | null;
  readonly tensors: readonly TensorInfo[];
  #byName: ReadonlyMap<string, TensorInfo> | undefined = undefined;

  constructor(
    headerLength: number,
    dataLength: number,
    text: string,
    meta: MetaTable | null,
    tensors: readonly TensorInfo[],
  ) {
    this.headerLength = headerLength;
    this.dataStart = 8 + headerLength;
    this.dataLength = dataLength;
    // The metadata object is built on first read, from the header text held until then:
    // validating a header of millions of keys makes no string for them.
    let source: { text: string; meta: MetaTable } | null = meta === null ? null : { text, meta };
    let metadata: Record<string, string> | null = null;
    Object.defineProperty(this, "metadata", {
      enumerable: true,
      get: (): Readonly<Record<string, string>> | null => {
        if (source !== null) {
          metadata = source.meta.build(source.text);
          source = null;
        }
        return metadata;
      },
    });
    this.tensors = tensors;
  }

  tensor(name: string): TensorInfo | undefined {
    this.#byName ??= new Map(this.tensors.map((t) => [t.name, t]));
    return this.#byName.get(name);
  }
}

/**
 * Validates the N header bytes (stages 2–5: encoding, syntax, structure, layout) and
 * returns the header. Needs no tensor data.
 *
 * @param headerBytes - Exactly the N bytes after the length prefix.
 * @param options - Reader options; `maxHeaderLength` bounds `headerBytes.length`.
 * @returns The validated header, tensors in layout order.
 * @throws {@link SafetensorsError} with the code of the first failing check in spec
 *   order (ERR-1..ERR-4): `header_too_large` when the bytes exceed the limit;
 *   `header_invalid_utf8`; `header_invalid_json`, `header_too_deep`, `invalid_string`;
 *   `header_not_object`, `duplicate_key`, `invalid_metadata`, `invalid_tensor_entry`,
 *   `invalid_dtype`, `invalid_shape`, `invalid_offsets`; `invalid_offset_range`,
 *   `offsets_not_contiguous`, `misaligned_subbyte`, `tensor_size_mismatch`; and
 *   `data_truncated` when the largest end exceeds 2^53−1, which no JavaScript byte
 *   source can hold, so the coverage stage is bound to fail.
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
 * parseHeader(bytes).tensor("x")?.byteLength; // 8
 * ```
 */
export function parseHeader(headerBytes: Uint8Array, options?: ReadOptions): SafetensorsHeader {
  const { maxHeaderLength } = resolveOptions(options);
  const n = headerBytes.length;
  if (n > maxHeaderLength) {
    throw new SafetensorsError(
      "header_too_large",
      `Header too large: the header exceeds the header length limit. Expected at most ${maxHeaderLength} bytes, got ${n}.`,
      { limit: maxHeaderLength, actual: n },
      maxHeaderLength === LIMITS.maxHeaderLength ? "PREFIX-2" : "CHOICE-2",
    );
  }
  const text = decodeHeader(headerBytes);
  const scanner = new Scanner(text);
  if (text.length === n && !hasControlByte(headerBytes) && !text.includes("\\")) {
    // ASCII only (as many UTF-16 units as bytes), no control character, no backslash:
    // every string takes the fast path with no per-string search.
    scanner.special = n;
  }
  scanner.run();
  const error = scanner.error;
  if (error !== undefined) {
    const context = {
      offset: error.offset,
      ...(error.tensor === undefined ? {} : { tensor: error.tensor }),
      ...(error.actual === undefined ? {} : { actual: error.actual }),
    };
    throw new SafetensorsError(error.code, error.message, context, error.requirement);
  }
  const { sorted, dataLength } = checkLayout(scanner.entries);
  if (dataLength > MAX_SAFE) {
    throw new SafetensorsError(
      "data_truncated",
      `Data truncated: the tensors need more bytes than any JavaScript byte source can hold. Expected a data buffer of ${String(dataLength)} bytes, got at most ${MAX_SAFE}.`,
      { limit: dataLength, actual: MAX_SAFE },
    );
  }
  return new Header(n, dataLength as number, text, scanner.meta, sorted as TensorInfo[]);
}

/**
 * Tells whether any byte is below 0x20, four bytes at a time: `(w - 0x20202020) & ~w &
 * 0x80808080` is non-zero exactly when a byte of `w` is below 0x20. `bytes` may start at
 * any offset of its buffer: the bytes before the first 4-byte boundary are checked one by
 * one, and a word view is made only when a whole word follows that boundary (issue #8:
 * a 0–2 byte header at an odd offset used to reach `new Uint32Array` unaligned).
 */
function hasControlByte(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  while (i < n && (bytes.byteOffset + i) % 4 !== 0) {
    if ((bytes[i] as number) < SPACE) {
      return true;
    }
    i++;
  }
  const count = (n - i) >> 2;
  if (count > 0) {
    // count > 0 means the loop above stopped at a boundary, so this view is aligned.
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, count);
    for (let k = 0; k < count; k++) {
      const w = words[k] as number;
      if (((w - 0x20202020) & ~w & 0x80808080) !== 0) {
        return true;
      }
    }
    i += count * 4;
  }
  for (; i < n; i++) {
    if ((bytes[i] as number) < SPACE) {
      return true;
    }
  }
  return false;
}

/** Stage 2: strict UTF-8 decoding; no replacement, no BOM stripping (ENC-1, ENC-3). */
function decodeHeader(bytes: Uint8Array): string {
  try {
    return DECODER.decode(bytes);
  } catch {
    const at = findInvalidUtf8(bytes);
    if (at < 0) {
      // Well-formed, but the decoder refused the view (e.g. a shared buffer): decode a copy.
      return DECODER.decode(bytes.slice());
    }
    const hex = Array.from(bytes.subarray(at, at + 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new SafetensorsError(
      "header_invalid_utf8",
      `Invalid UTF-8 in header at header byte ${at}: ill-formed byte sequence. Expected well-formed UTF-8, got bytes ${hex}.`,
      { offset: at, actual: hex },
    );
  }
}
