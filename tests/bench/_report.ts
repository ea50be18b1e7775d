// Turns measured rows into the Markdown table and the SVG bar chart that
// compare.ts writes to docs/bench/. No dependencies: the SVG is written by hand.

/** The implementations compared, raw Deno being the reference. */
export const IMPLS = ["curio", "raw", "effection", "effect"] as const;
/** One of {@linkcode IMPLS}. */
export type Impl = typeof IMPLS[number];

/** One measured row: a median per implementation, or why it is missing. */
export interface RowResult {
  title: string;
  /** "rate": values are operations per second; "bytes": bytes per task (lower is better). */
  kind: "rate" | "bytes";
  unit: string;
  goal: string;
  values: Partial<Record<Impl, number>>;
  notes: Partial<Record<Impl, string>>;
  /** What one round does, for the notes under the table. */
  what: string;
  /**
   * Rate rows: the quartiles (25th, 75th percentile) of curio / raw taken
   * round by round, each round's two runs back to back. On a machine whose
   * speed drifts, it says how far the ratio of medians can be trusted.
   */
  spread?: readonly [number, number];
}

/** The `p`-quantile (0..1) of `values`, interpolating between neighbours. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("Cannot take a quantile of no values");
  const s = [...values].sort((a, b) => a - b);
  const at = (s.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

/** The median: between the two middle values when there are two. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The spread cell: "0.81–0.88×", or empty. */
function fmtSpread(row: RowResult): string {
  const sp = row.spread;
  return sp === undefined ? "" : `${shortRatio(sp[0])}–${shortRatio(sp[1])}×`;
}

/** The goal as a ratio to raw (memory: raw bytes / the goal's KB, or 1 for "≤ raw"), if it can be read. */
export function goalRatio(row: RowResult): number | undefined {
  if (row.kind === "bytes") {
    if (/≤\s*raw/.test(row.goal)) return 1;
    const kb = Number(row.goal.match(/([\d.]+)\s*KB/)?.[1]);
    const r = row.values.raw;
    return r === undefined || !kb ? undefined : r / (kb * 1024);
  }
  const g = Number(row.goal.match(/([\d.]+)×/)?.[1]);
  return g > 0 ? g : undefined;
}

/** Ratio to raw, higher is better for every kind (raw bytes / bytes for memory). */
export function ratio(row: RowResult, impl: Impl): number | undefined {
  const v = row.values[impl];
  const r = row.values.raw;
  if (v === undefined || r === undefined || v === 0 || r === 0) return undefined;
  return row.kind === "rate" ? v / r : r / v;
}

function fmtRate(v: number, unit: string): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M ${unit}`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k ${unit}`;
  return `${v.toFixed(0)} ${unit}`;
}

/** Formats one cell of the table. */
export function formatValue(row: RowResult, impl: Impl): string {
  const v = row.values[impl];
  if (v === undefined) return row.notes[impl] ? "n/a" : "";
  if (row.kind === "bytes") return `${(v / 1024).toFixed(2)} KB`;
  return fmtRate(v, row.unit);
}

/** Two decimals, or two significant digits below 0.1 (0.00027, not 0.000). */
function shortRatio(r: number): string {
  return r >= 0.1 ? r.toFixed(2) : r.toPrecision(2);
}

function fmtRatio(r: number | undefined): string {
  if (r === undefined) return "";
  return `${shortRatio(r)}×`;
}

/** The results as a Markdown document (table, notes, machine). */
export function markdown(rows: RowResult[], machine: string, command: string): string {
  const lines: string[] = [];
  lines.push("# Benchmarks: curio vs raw Deno, Effection 4 and Effect 4", "");
  lines.push(`Machine: ${machine}`, "");
  lines.push(
    `Command: \`${command}\` (medians of alternating rounds after two warm-up rounds; all in one process, except`,
  );
  lines.push("memory, measured in a fresh process per implementation after a forced GC).", "");
  lines.push(
    "Ratios are to raw Deno in the same run, higher is better (for memory: raw bytes / bytes).",
    '"curio / raw by round" is the middle half (25th to 75th percentile) of curio / raw taken round',
    "by round: how far this machine's drift moves the ratio.",
    "",
  );
  lines.push(
    "| row | curio | raw Deno | Effection 4 | Effect 4 | curio / raw | curio / raw by round | Effection / raw | Effect / raw | goal (curio) |",
  );
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const row of rows) {
    const cells = [
      row.title,
      formatValue(row, "curio"),
      formatValue(row, "raw"),
      formatValue(row, "effection"),
      formatValue(row, "effect"),
      fmtRatio(ratio(row, "curio")),
      fmtSpread(row),
      fmtRatio(ratio(row, "effection")),
      fmtRatio(ratio(row, "effect")),
      row.goal,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  lines.push("", "Workloads (one round):", "");
  for (const row of rows) lines.push(`- ${row.title}: ${row.what}`);
  const notes: string[] = [];
  for (const row of rows) {
    for (const impl of IMPLS) {
      const note = row.notes[impl];
      if (note) notes.push(`- ${row.title}, ${impl}: ${note}`);
    }
  }
  if (notes.length > 0) lines.push("", "Notes:", "", ...notes);
  lines.push("", "![ratios to raw Deno](chart.svg)", "");
  return lines.join("\n");
}

/** The results as a plain table for the terminal. */
export function textTable(rows: RowResult[]): string {
  const head = [
    "row",
    "curio",
    "raw",
    "effection",
    "effect",
    "curio/raw",
    "by round",
    "effn/raw",
    "effect/raw",
  ];
  const body = rows.map((row) => [
    row.title,
    formatValue(row, "curio"),
    formatValue(row, "raw"),
    formatValue(row, "effection"),
    formatValue(row, "effect"),
    fmtRatio(ratio(row, "curio")),
    fmtSpread(row),
    fmtRatio(ratio(row, "effection")),
    fmtRatio(ratio(row, "effect")),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...body.map(fmt)].join("\n");
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const COLORS: Record<Exclude<Impl, "raw">, string> = {
  curio: "#2b7bb9",
  effection: "#e08a2c",
  effect: "#7a5cb8",
};

/**
 * A horizontal grouped bar chart of ratios to raw on a log scale
 * (0.001× … 10×), with raw (1×) marked.
 */
export function svgChart(rows: RowResult[], machine: string): string {
  const impls = ["curio", "effection", "effect"] as const;
  const labelW = 250, plotW = 520, bar = 11, gap = 3, groupGap = 14, top = 76;
  const minLog = -3, maxLog = 1;
  const x = (r: number): number => {
    const l = Math.min(maxLog, Math.max(minLog, Math.log10(r)));
    return labelW + ((l - minLog) / (maxLog - minLog)) * plotW;
  };
  const groupH = impls.length * (bar + gap) + groupGap;
  const height = top + rows.length * groupH + 40;
  const width = labelW + plotW + 90;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="10" y="20" font-size="15" font-weight="bold">Throughput (memory: bytes) relative to raw Deno, log scale, higher is better</text>`,
  );
  out.push(`<text x="10" y="38" fill="#555">${esc(machine)}</text>`);
  for (let l = minLog; l <= maxLog; l++) {
    const gx = x(10 ** l);
    out.push(
      `<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${height - 30}" stroke="${
        l === 0 ? "#000" : "#ddd"
      }" stroke-width="${l === 0 ? 1.5 : 1}"/>`,
    );
    out.push(
      `<text x="${gx}" y="${height - 16}" text-anchor="middle" fill="#333">${
        l === 0 ? "1× (raw)" : `${10 ** l}×`
      }</text>`,
    );
  }
  rows.forEach((row, ri) => {
    const gy = top + ri * groupH;
    out.push(
      `<text x="${labelW - 8}" y="${gy + (impls.length * (bar + gap)) / 2 + 4}" text-anchor="end">${
        esc(row.title)
      }</text>`,
    );
    impls.forEach((impl, ii) => {
      const y = gy + ii * (bar + gap);
      const r = ratio(row, impl);
      if (r === undefined) {
        out.push(
          `<text x="${labelW + 4}" y="${
            y + bar - 2
          }" font-size="10" fill="#999">${impl}: n/a</text>`,
        );
        return;
      }
      const goal = impl === "curio" ? goalRatio(row) : undefined;
      if (goal !== undefined) {
        const gx = x(goal).toFixed(1);
        out.push(
          `<line x1="${gx}" y1="${y - 2}" x2="${gx}" y2="${
            y + bar + 2
          }" stroke="#d62728" stroke-width="2"><title>goal: ${esc(row.goal)}</title></line>`,
        );
      }
      const w = Math.max(1, x(r) - labelW);
      out.push(
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${
          COLORS[impl]
        }"><title>${impl}: ${r.toPrecision(3)}×</title></rect>`,
      );
      out.push(
        `<text x="${(Math.max(labelW + w, goal === undefined ? 0 : x(goal)) + 4).toFixed(1)}" y="${
          y + bar - 2
        }" font-size="10">${shortRatio(r)}×</text>`,
      );
    });
  });
  let lx = labelW;
  for (const impl of impls) {
    out.push(`<rect x="${lx}" y="${top - 20}" width="10" height="10" fill="${COLORS[impl]}"/>`);
    out.push(`<text x="${lx + 14}" y="${top - 11}">${impl}</text>`);
    lx += 90;
  }
  out.push(
    `<line x1="${lx + 5}" y1="${top - 22}" x2="${lx + 5}" y2="${
      top - 8
    }" stroke="#d62728" stroke-width="2"/>`,
  );
  out.push(`<text x="${lx + 14}" y="${top - 11}">goal (curio)</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
