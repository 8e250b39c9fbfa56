/**
 * Escaping and the page frame shared by every page of the site. Text from adapter output
 * is hostile: it may hold NUL bytes, other control characters, lone surrogates or markup,
 * so everything that is not the spec's own prose goes through {@link esc}.
 */

/** Control characters other than tab and newline, shown as their Unicode control pictures. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes a string safe to show as text: every C0 control character except tab and line
 * feed becomes its control picture (NUL becomes ␀), DEL becomes ␡, and a lone surrogate
 * becomes U+FFFD, so no raw NUL byte or ill-formed UTF-16 reaches a page.
 *
 * @param text - Any string.
 * @returns The string with every character printable.
 * @example
 * ```ts
 * visible("a\u0000b"); // "a␀b"
 * ```
 */
export function visible(text: string): string {
  return text
    .replace(LONE_SURROGATE, "\uFFFD")
    .replace(CONTROL, (c) => (c === "\u007f" ? "\u2421" : String.fromCharCode(0x2400 + c.charCodeAt(0))));
}

/**
 * Escapes text for HTML element content and attribute values (after {@link visible}).
 *
 * @param text - Any string.
 * @returns The escaped text.
 * @example
 * ```ts
 * esc('<b a="1">'); // "&lt;b a=&quot;1&quot;&gt;"
 * ```
 */
export function esc(text: string): string {
  return visible(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Serializes data for a `<script type="application/json">` element: `<` is escaped so no
 * string can close the element, and `JSON.stringify` already escapes control characters
 * and lone surrogates.
 *
 * @param data - JSON-compatible data.
 * @returns Text safe inside the script element.
 */
export function jsonScript(data: unknown): string {
  return JSON.stringify(data)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A page of the site. */
export interface Page {
  /** Path under the output directory, with `/` separators (`"impl/reference.html"`). */
  readonly path: string;
  /** The `<title>` (the site name is appended). */
  readonly title: string;
  /** The navigation entry marked current. */
  readonly nav: NavKey;
  /** The `<main>` content, already escaped. */
  readonly body: string;
  /** Scripts (site-relative paths) loaded as modules. */
  readonly scripts?: readonly string[];
}

/** The top-level sections. */
export type NavKey =
  | "home"
  | "matrix"
  | "spec"
  | "decisions"
  | "coverage"
  | "tutorial"
  | "findings"
  | "api"
  | "inspector"
  | "impl";

const NAV: readonly (readonly [NavKey, string, string])[] = [
  ["home", "index.html", "Home"],
  ["matrix", "matrix.html", "Matrix"],
  ["spec", "spec.html", "Spec"],
  ["decisions", "decisions/index.html", "Decisions"],
  ["coverage", "coverage.html", "Coverage"],
  ["tutorial", "implementers.html", "Implementers"],
  ["findings", "findings.html", "Findings"],
  ["api", "api/index.html", "API"],
  ["inspector", "inspector.html", "Inspector"],
];

/**
 * The relative prefix from a page to the site root (`""` or `"../"`...).
 *
 * @param path - The page's path.
 * @returns The prefix.
 */
export function rootOf(path: string): string {
  return "../".repeat(path.split("/").length - 1);
}

/**
 * Wraps a page's content in the site frame: header, navigation, skip link, stylesheet.
 *
 * @param page - The page.
 * @returns The HTML document.
 */
export function renderPage(page: Page): string {
  const root = rootOf(page.path);
  const nav = NAV.map(
    ([key, href, label]) =>
      `<li><a href="${root}${href}"${key === page.nav ? ' aria-current="page"' : ""}>${label}</a></li>`,
  ).join("");
  const scripts = (page.scripts ?? [])
    .map((s) => `<script type="module" src="${root}${s}"></script>`)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(page.title)} · safetensors conformance</title>
<link rel="stylesheet" href="${root}style.css">
<link rel="icon" href="data:,">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site"><a class="brand" href="${root}index.html">safetensors conformance</a>
<nav aria-label="Site"><ul>${nav}</ul></nav></header>
<main id="main" tabindex="-1">
${page.body}
</main>
${scripts}
</body>
</html>
`;
}
