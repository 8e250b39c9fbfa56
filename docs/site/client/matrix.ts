/**
 * The Matrix page's script: filters, sorting and the case dialog, with every bit of state
 * in the URL's query string so a reload or a shared link shows the same view. Adapter
 * output is only ever assigned with `textContent`; the spec's own requirement text
 * (rendered at build time) is the only HTML inserted.
 */
import { visible } from "../html.ts";
import { el } from "./dom.ts";

interface CellData {
  readonly s: string;
  readonly v: string;
  readonly e: string;
  readonly a: string;
  readonly r: readonly string[];
  readonly b: readonly string[];
  readonly err: string;
  readonly xf: string;
  readonly ms: number;
}

interface MatrixData {
  readonly impls: readonly { readonly slug: string; readonly name: string; readonly version: string }[];
  readonly rows: readonly {
    readonly id: string;
    readonly kind: string;
    readonly d: string;
    readonly req: readonly string[];
    readonly cells: readonly (CellData | null)[];
  }[];
  readonly requirements: Readonly<
    Record<string, { readonly subject: string; readonly section: string; readonly html: string }>
  >;
}

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) {
    throw new Error(`#${id} is missing`);
  }
  return e as T;
}

const data = JSON.parse(byId("matrix-data").textContent ?? "{}") as MatrixData;
const form = byId<HTMLFormElement>("filters");
const tbody = byId<HTMLTableSectionElement>("rows");
const shown = byId("shown");
const dialog = byId<HTMLDialogElement>("case");
const dialogTitle = byId("case-title");
const dialogBody = byId("case-body");
const table = tbody.closest("table") as HTMLTableElement;
const rows = Array.from(tbody.querySelectorAll<HTMLTableRowElement>("tr"));
const serverOrder = new Map(rows.map((r, i) => [r, i]));
const implBoxes = Array.from(form.querySelectorAll<HTMLInputElement>('input[name="impl"]'));

function field(name: string): HTMLInputElement | HTMLSelectElement {
  return form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
}

interface State {
  cat: string;
  req: string;
  status: string;
  q: string;
  sort: string;
  dis: boolean;
  /** Shown implementation slugs; empty means all. */
  impl: string[];
  /** The open cell: result ID and implementation slug. */
  open: string;
  in: string;
}

function readForm(): State {
  const checked = implBoxes.filter((b) => b.checked).map((b) => b.value);
  return {
    cat: field("cat").value,
    req: field("req").value,
    status: field("status").value,
    q: field("q").value.trim().toLowerCase(),
    sort: field("sort").value,
    dis: (field("dis") as HTMLInputElement).checked,
    impl: checked.length === implBoxes.length ? [] : checked,
    open: new URLSearchParams(location.search).get("open") ?? "",
    in: new URLSearchParams(location.search).get("in") ?? "",
  };
}

function setSelect(name: string, value: string): void {
  const s = field(name) as HTMLSelectElement;
  s.value = Array.from(s.options).some((o) => o.value === value) ? value : "";
}

function writeForm(params: URLSearchParams): void {
  setSelect("cat", params.get("cat") ?? "");
  setSelect("req", params.get("req") ?? "");
  setSelect("status", params.get("status") ?? "");
  setSelect("sort", params.get("sort") ?? "");
  field("q").value = params.get("q") ?? "";
  (field("dis") as HTMLInputElement).checked = params.get("dis") === "1";
  const impls = (params.get("impl") ?? "").split(",").filter((s) => s !== "");
  for (const b of implBoxes) {
    b.checked = impls.length === 0 || impls.includes(b.value);
  }
}

function toQuery(s: State): string {
  const p = new URLSearchParams();
  for (const key of ["cat", "req", "status", "q", "sort"] as const) {
    if (s[key] !== "") {
      p.set(key, s[key]);
    }
  }
  if (s.dis) {
    p.set("dis", "1");
  }
  if (s.impl.length > 0) {
    p.set("impl", s.impl.join(","));
  }
  if (s.open !== "") {
    p.set("open", s.open);
    p.set("in", s.in);
  }
  const q = p.toString();
  return q === "" ? location.pathname : `?${q}`;
}

function apply(): void {
  const s = readForm();
  const visibleImpls = new Set(implBoxes.filter((b) => b.checked).map((b) => Number(b.dataset["i"])));
  for (const cell of Array.from(table.querySelectorAll<HTMLElement>("[data-i]"))) {
    if (cell.tagName === "TD" || cell.tagName === "TH") {
      cell.hidden = !visibleImpls.has(Number(cell.dataset["i"]));
    }
  }
  let n = 0;
  for (const row of rows) {
    const cats = ` ${row.dataset["cats"] ?? ""} `;
    const reqs = ` ${row.dataset["reqs"] ?? ""} `;
    let statusOk = s.status === "";
    if (!statusOk) {
      for (const td of Array.from(row.querySelectorAll<HTMLElement>("td[data-s]"))) {
        if (visibleImpls.has(Number(td.dataset["i"])) && td.dataset["s"] === s.status) {
          statusOk = true;
          break;
        }
      }
    }
    const ok =
      (s.cat === "" || cats.includes(` ${s.cat} `)) &&
      (s.req === "" || reqs.includes(` ${s.req} `)) &&
      (!s.dis || row.dataset["dis"] === "1") &&
      (s.q === "" || (row.dataset["search"] ?? "").includes(s.q)) &&
      statusOk;
    row.hidden = !ok;
    if (ok) {
      n++;
    }
  }
  shown.textContent = String(n);
  const ordered = [...rows].sort((a, b) => {
    if (s.sort === "id") {
      const x = a.dataset["id"] ?? "";
      const y = b.dataset["id"] ?? "";
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (s.sort === "failing") {
      return (
        Number(b.dataset["failing"]) - Number(a.dataset["failing"]) ||
        (serverOrder.get(a) ?? 0) - (serverOrder.get(b) ?? 0)
      );
    }
    return (serverOrder.get(a) ?? 0) - (serverOrder.get(b) ?? 0);
  });
  tbody.append(...ordered);
  history.replaceState(null, "", toQuery(s));
}

function requirementBlock(id: string): HTMLElement {
  const req = data.requirements[id];
  const div = el("div", undefined, "req-text");
  const a = el("a", id);
  a.href = `spec.html#${encodeURIComponent(id)}`;
  const head = el("p");
  head.append(a);
  if (req !== undefined) {
    head.append(` (${req.subject}, ${req.section})`);
    const text = el("p");
    // Spec prose rendered at build time from spec/v1/spec.md: trusted HTML.
    text.innerHTML = req.html;
    div.append(head, text);
  } else {
    div.append(head);
  }
  return div;
}

function pre(label: string, text: string): HTMLElement {
  const wrap = el("div", undefined, "pane");
  wrap.append(el("h4", label), el("pre", text === "" ? "(empty)" : text));
  return wrap;
}

let lastFocus: HTMLElement | null = null;

function openCell(rowIndex: number, implIndex: number): void {
  const row = data.rows[rowIndex];
  const impl = data.impls[implIndex];
  if (row === undefined || impl === undefined) {
    return;
  }
  const cell = row.cells[implIndex] ?? null;
  dialogTitle.textContent = visible(`${row.id} — ${impl.slug}`);
  dialogBody.replaceChildren();
  const status = el("p");
  status.append(el("span", cell === null ? "not run" : cell.s, `badge st ${cell?.s ?? "not-run"}`));
  status.append(` ${impl.name} ${impl.version} · ${row.kind}${cell === null ? "" : ` · ${cell.ms} ms`}`);
  dialogBody.append(status, el("p", row.d, "desc"));
  const reqHead = el("h3", "Requirements");
  dialogBody.append(reqHead);
  const ids = [...new Set([...row.req, ...(cell?.b ?? [])])];
  for (const id of ids) {
    const block = requirementBlock(id);
    if (cell?.b.includes(id) === true) {
      block.classList.add("broken");
      block.prepend(el("p", "broken by this result", "broken-label"));
    }
    dialogBody.append(block);
  }
  if (cell !== null) {
    const cmp = el("div", undefined, "compare");
    cmp.append(pre("Expected", cell.e), pre("Actual", cell.a));
    dialogBody.append(el("h3", "Expected and actual"), cmp);
    if (cell.r.length > 0) {
      const ul = el("ul");
      for (const r of cell.r) {
        ul.append(el("li", r));
      }
      dialogBody.append(el("h3", "Reasons"), ul);
    }
    if (cell.xf !== "") {
      dialogBody.append(el("h3", "Expected-failures entry"), el("p", cell.xf));
    }
    dialogBody.append(el("h3", "Adapter stderr"), el("pre", cell.err === "" ? "(none)" : cell.err, "stderr"));
  }
  const others = el("ul", undefined, "others");
  row.cells.forEach((c, i) => {
    const li = el("li");
    const b = el("button", `${data.impls[i]?.slug ?? ""}: ${c?.s ?? "not run"}`, `st ${c?.s ?? "not-run"}`);
    b.type = "button";
    b.addEventListener("click", () => openCell(rowIndex, i));
    li.append(b);
    others.append(li);
  });
  dialogBody.append(el("h3", "Every implementation"), others);
  const params = new URLSearchParams(location.search);
  params.set("open", row.id);
  params.set("in", impl.slug);
  history.replaceState(null, "", `?${params.toString()}`);
  if (!dialog.open) {
    dialog.showModal();
  }
}

function closeDialog(): void {
  const params = new URLSearchParams(location.search);
  params.delete("open");
  params.delete("in");
  const q = params.toString();
  history.replaceState(null, "", q === "" ? location.pathname : `?${q}`);
  lastFocus?.focus();
}

tbody.addEventListener("click", (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button.cell");
  const tr = button?.closest("tr");
  if (button === null || button === undefined || tr === null || tr === undefined) {
    return;
  }
  lastFocus = button;
  openCell(Number(tr.dataset["row"]), Number(button.dataset["i"]));
});
dialog.addEventListener("close", closeDialog);
dialog.querySelector("button.close")?.addEventListener("click", () => dialog.close());
form.addEventListener("input", apply);
form.addEventListener("change", apply);
form.addEventListener("submit", (e) => e.preventDefault());
form.addEventListener("reset", () => {
  setTimeout(() => {
    history.replaceState(null, "", location.pathname);
    apply();
  }, 0);
});

const initial = new URLSearchParams(location.search);
writeForm(initial);
apply();
const openId = initial.get("open");
if (openId !== null) {
  const rowIndex = data.rows.findIndex((r) => r.id === openId);
  const implIndex = data.impls.findIndex((i) => i.slug === initial.get("in"));
  if (rowIndex >= 0 && implIndex >= 0) {
    openCell(rowIndex, implIndex);
  }
}
document.documentElement.dataset["ready"] = "1";
