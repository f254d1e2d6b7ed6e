/** Minimal HTML building blocks for the reports: one self-contained page (inline CSS,
 * no scripts, no external fonts or URLs) so a report opens from disk, offline, forever. */
import { escapeXml } from './format.js';

/** Pre-rendered, already-safe markup; plain strings passed to these helpers are escaped. */
export interface Html {
  html: string;
}

export function raw(html: string): Html {
  return { html };
}

function cell(v: string | Html): string {
  return typeof v === 'string' ? escapeXml(v) : v.html;
}

export function table(headers: string[], rows: Array<Array<string | Html>>, className = 'data'): string {
  const head = `<tr>${headers.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${className}">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** A two-column key/value table (summary, config). */
export function kvTable(entries: Array<[string, string | Html]>): string {
  return table(['key', 'value'], entries, 'kv');
}

export function section(title: string, id: string, body: string): string {
  return `<section id="${escapeXml(id)}">\n<h2>${escapeXml(title)}</h2>\n${body}\n</section>`;
}

export function note(text: string): string {
  return `<p class="note">${escapeXml(text)}</p>`;
}

export function warning(text: string): string {
  return `<p class="warn">${escapeXml(text)}</p>`;
}

export function figure(svg: string, caption?: string): string {
  const cap = caption ? `<figcaption>${escapeXml(caption)}</figcaption>` : '';
  return `<figure class="chart">${svg}${cap}</figure>`;
}

// System font stacks only: an external or embedded font would break "opens offline" or bloat the file.
const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
nav a { margin-right: 1em; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td { font-variant-numeric: tabular-nums; }
table.kv td:first-child { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; }
table.kv td:last-child { word-break: break-word; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
figure.chart { margin: 0.8em 0; } figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #666; font-size: 0.85em; } .note { color: #666; font-style: italic; }
.warn { color: #a15c00; } .grid { display: flex; flex-wrap: wrap; gap: 0 1.5em; }
`;

export function page(title: string, subtitle: string, nav: Array<[string, string]>, sections: string[]): string {
  const links = nav.map(([id, label]) => `<a href="#${escapeXml(id)}">${escapeXml(label)}</a>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
<p class="sub">${escapeXml(subtitle)}</p>
<nav>${links}</nav>
${sections.join('\n')}
</body>
</html>
`;
}
