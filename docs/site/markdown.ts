/**
 * Markdown to HTML for the project's own documents (the spec prose, the decision
 * records, the implementer tutorial, the generated tables). These are trusted sources in
 * the repository; adapter output never comes through here.
 *
 * Three additions to plain rendering: every requirement item of the spec gets the anchor
 * of its ID, headings get GitHub-style anchors (so links written for the repository keep
 * working), and links between repository documents are rewritten to the site's pages.
 */
import { posix } from "node:path";
import { REQUIREMENTS } from "@safetensors-spec/spec";
import { Marked, type Tokens } from "marked";
import { esc } from "./html.ts";

/** Where each repository document is published on the site. */
export type SiteMap = ReadonlyMap<string, string>;

const REQUIREMENT_IDS: ReadonlySet<string> = new Set(REQUIREMENTS.map((r) => r.id));

/**
 * A heading's anchor as GitHub computes it: lower case, punctuation dropped, spaces to `-`.
 *
 * @param text - The heading's text (markup stripped).
 * @returns The anchor.
 * @example
 * ```ts
 * slug("9. Offsets and the data buffer"); // "9-offsets-and-the-data-buffer"
 * ```
 */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/<[^>]*>/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .trim()
    .replace(/\s/g, "-");
}

/**
 * The site link of a requirement: its anchor on the spec page.
 *
 * @param id - A requirement ID.
 * @param root - The relative prefix to the site root.
 * @returns The link.
 */
export function requirementHref(id: string, root: string): string {
  return `${root}spec.html#${encodeURIComponent(id)}`;
}

/**
 * Links every known requirement ID in the text parts of an HTML fragment to the spec,
 * except inside existing links.
 *
 * @param html - An HTML fragment.
 * @param root - The relative prefix to the site root.
 * @param skip - An ID not to link (the requirement a block is about).
 * @returns The fragment with the IDs linked.
 */
export function linkRequirements(html: string, root: string, skip?: string): string {
  let inLink = 0;
  return html
    .split(/(<[^>]*>)/)
    .map((part) => {
      if (part.startsWith("<")) {
        if (/^<a[\s>]/i.test(part)) {
          inLink++;
        } else if (/^<\/a>/i.test(part)) {
          inLink = Math.max(0, inLink - 1);
        }
        return part;
      }
      if (inLink > 0) {
        return part;
      }
      return part.replace(/\b[A-Z]+-[0-9]+\b/g, (id) =>
        REQUIREMENT_IDS.has(id) && id !== skip
          ? `<a class="req-link" href="${requirementHref(id, root)}">${id}</a>`
          : id,
      );
    })
    .join("");
}

/**
 * Renders a repository Markdown document for the site.
 *
 * @param source - The Markdown.
 * @param from - The document's repository path (`"spec/v1/spec.md"`), to resolve its links.
 * @param sitePath - The page's path on the site (`"decisions/0001-x.html"`).
 * @param pages - Repository path → site path of every published document.
 * @returns The HTML fragment.
 */
export function renderMarkdown(source: string, from: string, sitePath: string, pages: SiteMap): string {
  const root = "../".repeat(sitePath.split("/").length - 1);
  const md = new Marked({ gfm: true });
  md.use({
    renderer: {
      heading(this: { parser: { parseInline(t: Tokens.Generic[]): string } }, token: Tokens.Heading): string {
        const inner = this.parser.parseInline(token.tokens);
        return `<h${token.depth} id="${esc(slug(token.text))}">${inner}</h${token.depth}>\n`;
      },
      link(this: { parser: { parseInline(t: Tokens.Generic[]): string } }, token: Tokens.Link): string {
        const inner = this.parser.parseInline(token.tokens);
        const href = rewriteHref(token.href, from, root, pages);
        return href === null
          ? `<span class="repo-path" title="${esc(token.href)} in the repository">${inner}</span>`
          : `<a href="${esc(href)}">${inner}</a>`;
      },
    },
  });
  // A code block wider than the page scrolls: it takes focus, so a keyboard can scroll it.
  const html = md.parse(source, { async: false }).replaceAll("<pre>", '<pre tabindex="0">');
  const anchored = html.replace(
    /<li>(<p>)?<strong>([A-Z]+-[0-9]+)<\/strong>/g,
    (whole, p: string | undefined, id: string) =>
      REQUIREMENT_IDS.has(id)
        ? `<li id="${id}" class="req">${p ?? ""}<a class="req-id" href="#${id}"><strong>${id}</strong></a>`
        : whole,
  );
  return linkRequirements(anchored, root);
}

function rewriteHref(href: string, from: string, root: string, pages: SiteMap): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("#")) {
    return href;
  }
  const [path = "", fragment] = href.split("#", 2);
  const target = posix.normalize(posix.join(posix.dirname(from), decodeURIComponent(path)));
  const page = pages.get(target);
  if (page === undefined) {
    return null;
  }
  return `${root}${page}${fragment === undefined ? "" : `#${fragment}`}`;
}
