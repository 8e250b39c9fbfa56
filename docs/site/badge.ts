/**
 * Badges for ports' READMEs: a flat SVG, and the JSON a shields.io "endpoint" badge reads
 * (`schemaVersion`, `label`, `message`, `color`), so a port can use either.
 */
import { esc } from "./html.ts";

/** A shields-style endpoint document. */
export interface BadgeJson {
  /** Always 1. */
  readonly schemaVersion: 1;
  /** The left text. */
  readonly label: string;
  /** The right text. */
  readonly message: string;
  /** A shields colour name. */
  readonly color: string;
}

const COLORS: Readonly<Record<string, string>> = {
  brightgreen: "#2e7d32",
  yellow: "#8a6d00",
  orange: "#b35900",
  red: "#c62828",
  lightgrey: "#5f6368",
};

/**
 * The badge data of a pass rate.
 *
 * @param label - The left text (`"safetensors 1.0.0"`).
 * @param passed - Passed results.
 * @param executed - Results that ran.
 * @returns The endpoint document.
 */
export function badgeJson(label: string, passed: number, executed: number): BadgeJson {
  if (executed === 0) {
    return { schemaVersion: 1, label, message: "not run", color: "lightgrey" };
  }
  const rate = passed / executed;
  const color =
    passed === executed ? "brightgreen" : rate >= 0.95 ? "yellow" : rate >= 0.8 ? "orange" : "red";
  const pct = passed === executed ? "100" : Math.min(rate * 100, 99.9).toFixed(1);
  return { schemaVersion: 1, label, message: `${pct}% (${passed}/${executed})`, color };
}

function textWidth(text: string): number {
  // Verdana 11px averages about 6.6px per character; digits and narrow letters less.
  let w = 0;
  for (const c of text) {
    w += /[il.,:;|!1 ()/]/.test(c) ? 4.2 : /[mwMW%]/.test(c) ? 9.5 : 6.8;
  }
  return Math.ceil(w) + 10;
}

/**
 * Renders a badge as a flat SVG, with an accessible name.
 *
 * @param badge - The endpoint document.
 * @returns The SVG document.
 */
export function badgeSvg(badge: BadgeJson): string {
  const lw = textWidth(badge.label);
  const mw = textWidth(badge.message);
  const fill = COLORS[badge.color] ?? "#5f6368";
  const label = esc(badge.label);
  const message = esc(badge.message);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${lw + mw}" height="20" role="img" aria-label="${label}: ${message}">
<title>${label}: ${message}</title>
<rect width="${lw}" height="20" fill="#444"/><rect x="${lw}" width="${mw}" height="20" fill="${fill}"/>
<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="${lw / 2}" y="14">${label}</text><text x="${lw + mw / 2}" y="14">${message}</text>
</g>
</svg>
`;
}
