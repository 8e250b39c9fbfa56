/**
 * DOM helpers shared by the site's page scripts.
 */
import { visible } from "../html.ts";

/**
 * Creates an element with text content (control characters shown as visible symbols,
 * never parsed as HTML) and a class.
 *
 * @param tag - The element's tag name.
 * @param text - Its text, made visible with {@link visible}.
 * @param className - Its class attribute.
 * @returns The element.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) {
    e.textContent = visible(text);
  }
  if (className !== undefined) {
    e.className = className;
  }
  return e;
}
