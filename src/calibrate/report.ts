/**
 * report.html: one self-contained page (inline CSS and SVG drawn here, no script, nothing fetched) from
 * calibration.json's numbers alone, so it can hold nothing the JSON does not. A hidden small cell is drawn as a
 * hatched stub labelled "< 10", never at its true height.
 */
import type { Calibration, Cell, Proposal } from './summary';

const esc = (s: string | number) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const SMALL_STUB = 5;
const num = (c: Cell) => (typeof c === 'number' ? c : SMALL_STUB);
const show = (c: Cell) => (typeof c === 'number' ? c.toLocaleString('en-US') : c);

const COLORS = { current: '#8a8f98', proposed: '#1f6feb', female: '#b03a80', male: '#1f6feb', bar: '#4c78a8' };

function hatchDefs(): string {
  return `<defs><pattern id="small" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="3"/></pattern></defs>`;
}

/** Horizontal bars, one group per label, one bar per series. */
function hbars(
  title: string,
  rows: { label: string; values: Cell[] }[],
  series: { name: string; color: string }[],
): string {
  if (!rows.length) return `<p class="muted">${esc(title)}: nothing to show.</p>`;
  // Wide enough for the longest label at about 6.5 px a character: a cut label is a wrong label.
  const labelW = Math.min(560, Math.max(160, Math.ceil(Math.max(...rows.map((r) => r.label.length)) * 6.5) + 12));
  const barH = 14;
  const gap = 8;
  const chartW = 360;
  const max = Math.max(10, ...rows.flatMap((r) => r.values.map(num)));
  const groupH = series.length * barH + gap;
  const h = rows.length * groupH + 36;
  const parts: string[] = [hatchDefs()];
  rows.forEach((r, i) => {
    const y0 = 28 + i * groupH;
    parts.push(
      `<text x="${labelW - 6}" y="${y0 + (series.length * barH) / 2 + 4}" text-anchor="end" class="lbl">${esc(r.label)}</text>`,
    );
    r.values.forEach((v, j) => {
      const w = Math.max(1, (num(v) / max) * chartW);
      const y = y0 + j * barH;
      const fill = typeof v === 'number' ? (series[j]?.color ?? COLORS.bar) : 'url(#small)';
      parts.push(
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${fill}"><title>${esc(series[j]?.name ?? '')}: ${esc(show(v))}</title></rect>`,
      );
      parts.push(`<text x="${labelW + w + 4}" y="${y + barH - 4}" class="val">${esc(show(v))}</text>`);
    });
  });
  const legend =
    series.length > 1
      ? series
          .map(
            (s, j) =>
              `<rect x="${labelW + j * 120}" y="4" width="12" height="12" fill="${s.color}"/><text x="${labelW + j * 120 + 16}" y="14" class="lbl">${esc(s.name)}</text>`,
          )
          .join('')
      : '';
  return `<figure><figcaption>${esc(title)}</figcaption><svg role="img" aria-label="${esc(title)}" viewBox="0 0 ${labelW + chartW + 80} ${h}" width="100%" style="max-width:${labelW + chartW + 80}px">${legend}${parts.join('')}</svg></figure>`;
}

/** One small histogram: CCR bins for a sex and age band, with the current and proposed thresholds as lines. */
function ccrPanel(
  sex: string,
  band: string,
  bins: Calibration['ccrDistribution'][number]['bins'],
  p: Proposal | undefined,
  max: number,
): string {
  const w = 300;
  const h = 150;
  const left = 34;
  const bottom = 22;
  const plotW = w - left - 8;
  const plotH = h - bottom - 18;
  const bw = plotW / bins.length;
  const lo = 0.25;
  const hi = 0.3 + (bins.length - 1) * 0.05;
  const xOf = (v: number) => left + ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * plotW;
  const out: string[] = [hatchDefs()];
  bins.forEach((b, i) => {
    const v = num(b.patients);
    const bh = (v / max) * plotH;
    const fill = typeof b.patients === 'number' ? COLORS.bar : 'url(#small)';
    const range = b.from === undefined ? `< ${b.to}` : b.to === undefined ? `≥ ${b.from}` : `${b.from}–${b.to}`;
    out.push(
      `<rect x="${(left + i * bw).toFixed(1)}" y="${(18 + plotH - bh).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${fill}"><title>CCR ${esc(range)}: ${esc(show(b.patients))} patients</title></rect>`,
    );
  });
  out.push(`<line x1="${left}" y1="${18 + plotH}" x2="${left + plotW}" y2="${18 + plotH}" stroke="#333"/>`);
  for (const t of [0.4, 0.6, 0.8, 1.0, 1.2, 1.4]) {
    out.push(`<text x="${xOf(t).toFixed(1)}" y="${h - 6}" text-anchor="middle" class="tick">${t.toFixed(1)}</text>`);
  }
  out.push(`<text x="${left - 4}" y="24" text-anchor="end" class="tick">${max}</text>`);
  if (p) {
    if (p.ci95) {
      const [a, b] = p.ci95;
      out.push(
        `<rect x="${xOf(a).toFixed(1)}" y="18" width="${Math.max(1, xOf(b) - xOf(a)).toFixed(1)}" height="${plotH}" fill="${COLORS.proposed}" opacity="0.15"><title>95% CI ${a}–${b}</title></rect>`,
      );
    }
    out.push(
      `<line x1="${xOf(p.current).toFixed(1)}" y1="14" x2="${xOf(p.current).toFixed(1)}" y2="${18 + plotH}" stroke="${COLORS.current}" stroke-width="2" stroke-dasharray="4 3"><title>current ${p.current}</title></line>`,
    );
    if (p.threshold !== undefined) {
      out.push(
        `<line x1="${xOf(p.threshold).toFixed(1)}" y1="14" x2="${xOf(p.threshold).toFixed(1)}" y2="${18 + plotH}" stroke="${COLORS.proposed}" stroke-width="2"><title>proposed ${p.threshold}</title></line>`,
      );
    }
  }
  out.push(`<text x="${left}" y="11" class="lbl"><tspan font-weight="600">${esc(sex)}, ${esc(band)}</tspan></text>`);
  return `<svg role="img" aria-label="CCR distribution, ${esc(sex)} aged ${esc(band)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${out.join('')}</svg>`;
}

function table(head: string[], rows: (string | number)[][]): string {
  if (!rows.length) return '<p class="muted">None.</p>';
  return `<table><thead><tr>${head.map((x) => `<th>${esc(x)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((x) => `<td>${esc(x)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderReport(c: Calibration): string {
  const proposals = c.thresholds.proposals;
  const maxBin = Math.max(10, ...c.ccrDistribution.flatMap((d) => d.bins.map((b) => num(b.patients))));
  const panels = (['female', 'male'] as const)
    .map(
      (sex) =>
        `<div class="panels">${c.ccrDistribution
          .filter((d) => d.sex === sex)
          .map((d) =>
            ccrPanel(
              sex === 'female' ? 'Women' : 'Men',
              d.ageBand,
              d.bins,
              proposals.find((p) => p.sex === sex),
              maxBin,
            ),
          )
          .join('')}</div>`,
    )
    .join('');
  const thresholdRows = proposals.map((p) => [
    p.sex === 'female' ? 'Women' : 'Men',
    show(p.eligible),
    p.current,
    p.threshold ?? 'not proposed (fewer than 10 patients)',
    p.ci95 ? `${p.ci95[0]} – ${p.ci95[1]}` : '—',
  ]);
  const lowCcr = c.outcomes.filter((o) => o.ruleId === 'low-ccr');
  const quiet = c.outcomes.filter((o) => o.status !== 'fired');
  const dq = c.dataQuality;
  const withoutSex = c.population.withoutSex;
  const withoutBirth = c.population.withoutBirthDate;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Crosstalk calibration report: ${esc(c.source)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0 auto;max-width:1280px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
.muted{color:#667}.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;font-size:12px}
.prov{background:#fff4d6;color:#7a5200}.ok{background:#dcf5e3;color:#12612c}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #dde;padding:4px 8px;text-align:left}th{background:#f4f6fa}
.panels{display:flex;flex-wrap:wrap;gap:6px}figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:4px}
.lbl{font-size:12px;fill:#1d2330}.val{font-size:11px;fill:#333}.tick{font-size:10px;fill:#555}
.key span{display:inline-block;margin-right:16px}.cols{display:grid;grid-template-columns:1fr 1fr;gap:24px}
@media (max-width:900px){.cols{grid-template-columns:1fr}}
</style></head><body>
<h1>What the rules would do to this population</h1>
<p class="muted">Source ${esc(c.source)} · evaluated as of ${esc(c.asOf.slice(0, 10))} · knowledge ${esc(c.knowledgeVersion)} · ${esc(show(c.population.patients))} patients · CCR draws ${esc(c.drawMonths.from ?? '—')} to ${esc(c.drawMonths.to ?? '—')}</p>
<p class="muted">Aggregates only: no identifiers, birth dates or single values. Any count below 10 is shown as “&lt; 10” and drawn as a hatched stub, not to scale.</p>

<h2>Proposed low-CCR thresholds</h2>
<p>The ${esc(c.percentile)}th percentile of CCR (creatinine mg/dL ÷ cystatin C mg/L) per sex, among the patients the low-CCR rule judges against its threshold (age ≥ 50, same-draw pair in the window, eGFRcr-cys ≥ 60, no suppression).
<span class="badge ${c.thresholds.provisional ? 'prov' : 'ok'}">${c.thresholds.provisional ? `provisional: fewer than ${esc(c.minPerSex)} patients of a sex` : `not provisional: at least ${esc(c.minPerSex)} patients of each sex`}</span></p>
${table(['Sex', 'Patients judged', 'Current threshold', 'Proposed threshold', 'Bootstrap 95% CI'], thresholdRows)}

<h2>CCR distribution in the judged population, by sex and age band</h2>
<p class="key"><span><svg width="24" height="10"><line x1="0" y1="5" x2="24" y2="5" stroke="${COLORS.current}" stroke-width="2" stroke-dasharray="4 3"/></svg> current threshold</span><span><svg width="24" height="10"><line x1="0" y1="5" x2="24" y2="5" stroke="${COLORS.proposed}" stroke-width="2"/></svg> proposed threshold</span><span><svg width="24" height="10"><rect width="24" height="10" fill="${COLORS.proposed}" opacity="0.15"/></svg> its 95% CI</span><span>bins of 0.05; the first and last hold the tails</span></p>
${panels}

<h2>Cards per rule, current and proposed thresholds</h2>
${hbars(
  'Cards the service would return',
  c.cards.byRule.map((r) => ({ label: r.ruleId, values: [r.current, r.proposed] })),
  [
    { name: 'current thresholds', color: COLORS.current },
    { name: 'proposed thresholds', color: COLORS.proposed },
  ],
)}
<p>Patients with at least one card: ${esc(show(c.cards.patientsWithCards.current))} now, ${esc(show(c.cards.patientsWithCards.proposed))} with the proposed thresholds. Only the low-CCR rule reads the threshold. A patient gets one card, from the first rule (in rule order) that fired, carrying the others' findings: a threshold that makes low-CCR fire can take the card from a rule behind it, and one that stops it gives the card back.</p>

<h2>Why the low-CCR rule stayed quiet</h2>
${hbars(
  'Low-CCR rule outcome and reason (a patient may have several reasons)',
  lowCcr.map((o) => ({ label: `${o.status}${o.reason ? `: ${o.reason}` : ''}`, values: [o.patients] })),
  [{ name: 'patients', color: COLORS.bar }],
)}
<details><summary>Suppression and quiet reasons of every rule</summary>
${table(
  ['Rule', 'Outcome', 'Reason', 'Patients'],
  quiet.map((o) => [o.ruleId, o.status, o.reason || '—', show(o.patients)]),
)}
</details>

<h2>Data quality</h2>
<div class="cols"><div>
${hbars(
  'Unit spellings seen',
  dq.units.map((u) => ({
    label: `${u.analyte}: ${u.unit} ${u.recognised ? '✓ recognised' : '✗ not recognised'}`,
    values: [u.results],
  })),
  [{ name: 'results', color: COLORS.bar }],
)}
<p class="muted">Spellings seen in fewer than 10 results are not named: ${esc(show(dq.rareUnitSpellings))} such spellings.</p>
</div><div>
${hbars(
  'Results not accepted, and why',
  dq.rejected.map((r) => ({ label: `${r.analyte}: ${r.reason}`, values: [r.results] })),
  [{ name: 'results', color: '#c44e52' }],
)}
</div></div>
<h3>Observation codes not recognised</h3>
${table(
  ['System', 'Code', 'Results'],
  dq.unknownCodes.map((u) => [u.system, u.code, show(u.results)]),
)}
<p class="muted">Codes seen fewer than 10 times are not named: ${esc(show(dq.rareUnknownCodes))} such codes. Resources whose patient is not in the export: ${esc(show(dq.orphanResources))}.</p>
<h3>Patients</h3>
${table(
  ['', 'Patients'],
  [
    ['Without sex (administrative gender not female or male)', show(withoutSex)],
    ['Without birth date', show(withoutBirth)],
  ],
)}
<details><summary>Patients by sex and age band</summary>
${table(
  ['Sex', 'Age band', 'Patients'],
  c.population.bySexAndAge.map((r) => [r.sex, r.ageBand, show(r.patients)]),
)}
</details>
<p class="muted">Made by crosstalk calibrate. The numbers behind this page are in calibration.json; the proposed thresholds, ready to install, are in site-knowledge.json.</p>
</body></html>
`;
}
