/**
 * The Inspector page's script: takes a dropped or chosen file, runs the reference reader
 * on it in the page (see `inspect.ts`), and shows the verdict, the error with its
 * requirement and the offending byte in a hex view of the header, the tensors, the
 * metadata and a preview of a tensor's first values. File contents are shown only with
 * `textContent`.
 */
import { requirement } from "@safetensors-spec/spec";
import { visible } from "../html.ts";
import { el } from "./dom.ts";
import { CountingReader, type Inspection, inspect, previewTensor } from "./inspect.ts";

/** Header bytes shown in the hex view from the start (more around an error offset). */
const HEX_HEAD = 1024;
/** Bytes shown on each side of an error offset beyond the first {@link HEX_HEAD}. */
const HEX_AROUND = 256;
/** Tensor rows rendered at once. */
const TENSOR_ROWS = 500;

const result = document.getElementById("result") as HTMLElement;
const input = document.getElementById("file") as HTMLInputElement;
const drop = document.getElementById("drop") as HTMLElement;
const fmt = new Intl.NumberFormat("en");

function hexRows(head: Uint8Array, from: number, to: number, mark: number | null): HTMLElement[] {
  const rows: HTMLElement[] = [];
  for (let line = from - (from % 16); line < to; line += 16) {
    const row = el("div", undefined, "hex-row");
    row.append(el("span", line.toString(16).padStart(8, "0"), "hex-off"));
    const hex = el("span", undefined, "hex-bytes");
    const ascii = el("span", undefined, "hex-ascii");
    for (let i = line; i < line + 16; i++) {
      const b = head[i];
      const cls = i < 8 ? "pre" : "";
      if (b === undefined || i >= to) {
        hex.append(el("span", "  ", "pad"));
        ascii.append(el("span", " "));
        continue;
      }
      const h = el(i === mark ? "mark" : "span", b.toString(16).padStart(2, "0"), cls);
      const a = el(i === mark ? "mark" : "span", b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".", cls);
      if (i === mark) {
        h.id = "error-byte";
        h.title = `byte ${i} of the file`;
      }
      hex.append(h);
      ascii.append(a);
    }
    row.append(hex, ascii);
    rows.push(row);
  }
  return rows;
}

function hexView(head: Uint8Array, mark: number | null): HTMLElement {
  const section = el("section", undefined, "hex");
  section.append(el("h2", "Header bytes"));
  const note = el(
    "p",
    `The 8-byte length prefix, then the header${head.length > HEX_HEAD ? ` (first ${fmt.format(HEX_HEAD)} of ${fmt.format(head.length)} bytes shown)` : ""}.${mark === null ? "" : ` The offending byte, at file offset ${fmt.format(mark)}, is marked.`}`,
    "muted",
  );
  const view = el("div", undefined, "hex-view");
  view.setAttribute("role", "region");
  view.setAttribute("aria-label", "Hex view of the header");
  view.tabIndex = 0;
  const headEnd = Math.min(head.length, HEX_HEAD);
  view.append(...hexRows(head, 0, headEnd, mark));
  if (mark !== null && mark >= headEnd) {
    const from = Math.max(headEnd, mark - HEX_AROUND);
    view.append(
      el("div", "…", "hex-gap"),
      ...hexRows(head, from, Math.min(head.length, mark + HEX_AROUND), mark),
    );
  }
  section.append(note, view);
  return section;
}

function table(
  headings: readonly string[],
  rows: readonly (readonly string[])[],
  caption: string,
): HTMLElement {
  const wrap = el("div", undefined, "table-wrap");
  const t = el("table");
  t.append(el("caption", caption));
  const thead = el("thead");
  const tr = el("tr");
  for (const h of headings) {
    const th = el("th", h);
    th.scope = "col";
    tr.append(th);
  }
  thead.append(tr);
  const tbody = el("tbody");
  for (const row of rows) {
    const r = el("tr");
    for (const cell of row) {
      r.append(el("td", cell));
    }
    tbody.append(r);
  }
  t.append(thead, tbody);
  wrap.append(t);
  return wrap;
}

function verdict(file: File, x: Inspection, reader: CountingReader): HTMLElement {
  const box = el(
    "section",
    undefined,
    `verdict ${x.rejection === null && x.failure === null ? "valid" : "invalid"}`,
  );
  box.id = "verdict";
  box.tabIndex = -1;
  if (x.failure !== null) {
    box.append(el("h2", "Could not read the file"), el("p", x.failure));
    return box;
  }
  if (x.rejection === null) {
    box.append(el("h2", "Valid"));
    box.append(
      el(
        "p",
        `${file.name}: a valid safetensors ${x.header?.tensors.length ?? 0}-tensor file under spec 1.0.0.`,
      ),
    );
  } else {
    const r = x.rejection;
    box.append(el("h2", `Invalid: ${r.code}`));
    const p = el("p");
    const a = el("a", r.requirement);
    a.href = `spec.html#${encodeURIComponent(r.requirement)}`;
    p.append("Breaks ", a, ` (stage ${r.stage})`);
    if (r.offset !== null) {
      p.append(`, at file offset ${fmt.format(r.offset)}`);
    }
    if (r.tensor !== null) {
      p.append(`, tensor ${JSON.stringify(r.tensor)}`);
    }
    box.append(p);
    const req = requirement(r.requirement);
    if (req !== undefined) {
      box.append(el("blockquote", req.text.replace(/\*\*|`/g, ""), "req-text"));
    }
    box.append(el("p", r.message, "message"));
  }
  const read = el("p", "", "bytes-read");
  read.id = "bytes-read";
  box.append(read);
  updateRead(reader);
  return box;
}

let current: CountingReader | null = null;

function updateRead(reader: CountingReader): void {
  const read = document.getElementById("bytes-read");
  document.documentElement.dataset["bytesRead"] = String(reader.bytesRead);
  if (read !== null) {
    const pct = reader.blob.size === 0 ? 100 : (reader.bytesRead / reader.blob.size) * 100;
    read.textContent = `Read ${fmt.format(reader.bytesRead)} of ${fmt.format(reader.blob.size)} bytes (${pct < 0.01 ? "<0.01" : pct.toFixed(2)}%).`;
  }
}

async function show(file: File): Promise<void> {
  const started = performance.now();
  document.documentElement.dataset["state"] = "reading";
  const reader = new CountingReader(file);
  current = reader;
  const x = await inspect(reader);
  if (current !== reader) {
    return;
  }
  result.replaceChildren();
  const title = el(
    "p",
    `${file.name} · ${fmt.format(x.size)} bytes${x.headerLength === null ? "" : ` · header ${fmt.format(x.headerLength)} bytes`}`,
    "file-name",
  );
  result.append(title, verdict(file, x, reader));
  updateRead(reader);
  document.documentElement.dataset["verdictMs"] = String(performance.now() - started);
  if (x.head.length > 0) {
    result.append(hexView(x.head, x.rejection?.offset ?? null));
  }
  const header = x.header;
  if (header !== null) {
    const meta = header.metadata;
    const metaSection = el("section");
    metaSection.append(el("h2", "Metadata"));
    metaSection.append(
      meta === null
        ? el("p", "No __metadata__.")
        : table(["Key", "Value"], Object.entries(meta), `${Object.keys(meta).length} entries`),
    );
    const tensors = el("section");
    tensors.append(el("h2", `Tensors (${fmt.format(header.tensors.length)})`));
    const rows = header.tensors
      .slice(0, TENSOR_ROWS)
      .map((t) => [
        t.name,
        t.dtype,
        `[${t.shape.join(", ")}]`,
        `${t.dataOffsets[0]}–${t.dataOffsets[1]}`,
        fmt.format(t.byteLength),
      ]);
    tensors.append(
      table(
        ["Name", "Dtype", "Shape", "Data offsets", "Bytes"],
        rows,
        header.tensors.length > TENSOR_ROWS
          ? `The first ${TENSOR_ROWS} of ${fmt.format(header.tensors.length)} tensors, in layout order`
          : "In layout order",
      ),
    );
    const preview = el("section", undefined, "preview");
    preview.append(el("h2", "Values"));
    if (header.tensors.length > 0) {
      const label = el("label", "Tensor ");
      const select = el("select");
      select.id = "preview-tensor";
      for (const [i, t] of header.tensors.slice(0, 5000).entries()) {
        const o = el("option", `${t.name} (${t.dtype})`);
        o.value = String(i);
        select.append(o);
      }
      label.append(select);
      const out = el("pre", "", "values");
      out.id = "preview-values";
      const render = async (): Promise<void> => {
        const t = header.tensors[Number(select.value)];
        if (t === undefined) {
          return;
        }
        const { values, total } = await previewTensor(reader, header, t);
        out.textContent = visible(
          `${values.join(", ")}${BigInt(total) > BigInt(values.length) ? ` … (${values.length} of ${total} elements)` : ""}` ||
            "(no elements)",
        );
        updateRead(reader);
      };
      select.addEventListener("change", () => void render());
      preview.append(label, out);
      await render();
    } else {
      preview.append(el("p", "No tensors."));
    }
    result.append(tensors, metaSection, preview);
  }
  document.documentElement.dataset["state"] = "done";
  document.getElementById("verdict")?.focus();
}

input.addEventListener("change", () => {
  const file = input.files?.[0];
  if (file !== undefined) {
    void show(file);
  }
});
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files[0];
  if (file !== undefined) {
    void show(file);
  }
});
document.documentElement.dataset["ready"] = "1";
