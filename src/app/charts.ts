/** One trend chart per measure, drawn in the page with Chart.js (no outside requests, no animation). */
import { Chart, Legend, LinearScale, LineController, LineElement, type Plugin, PointElement, Tooltip } from 'chart.js';
import { DAY_MS, day, type Knowledge, type MeasureCode, round, type TrendPoint, unitText } from '../clinical';
import { APP_TEXT } from './strings';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

export interface ReferenceLine {
  label: string;
  value: number;
}

// Colours meet WCAG AA against white: the series #0b4f8a (8.6:1), the reference line #8a1c1c (8.3:1).
const SERIES = '#0b4f8a';
const REFERENCE = '#8a1c1c';
const GRID = '#d0d4d9';
const TEXT = '#1f2933';
/** Band fills, light enough that the series and its labels keep their contrast over them. */
const BAND_FILLS = ['#f3f6f9', '#ffffff'];
const BELOW_FILL = '#fbeaea';

export interface Band {
  from: number;
  to: number;
  label: string;
}

export interface AxisRange {
  min: number;
  max: number;
}

/**
 * A y-axis from a clinically meaningful range, never zoomed to the data: from 0, up to what the measure's scale
 * reads (an eGFR to at least the G1 bound with room, a ratio to past its threshold), so eGFR 88 to 91 looks flat.
 */
export function axisRange(code: MeasureCode, points: TrendPoint[], k: Knowledge, ref?: ReferenceLine): AxisRange {
  const top = Math.max(...points.map((p) => p.value), ref?.value ?? 0);
  if (code.startsWith('egfr-')) {
    const g1 = Math.max(...k.egfrStages.stages.map((s) => s.atLeast));
    return { min: 0, max: Math.ceil(Math.max(g1 + 30, top * 1.1) / 10) * 10 };
  }
  const max = top * 1.25 || 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return { min: 0, max: Math.ceil(max / (step / 2)) * (step / 2) };
}

/** Shades each band behind the draws and names it at the left edge (the KDIGO stages, the region below a threshold). */
function bandsPlugin(bands: Band[]): Plugin<'line'> {
  return {
    id: 'crosstalkBands',
    // The axes as laid out, on the canvas: what the tests read back (and a tool can inspect) without Chart.js.
    afterUpdate(chart) {
      const { x, y } = chart.scales;
      if (!x || !y) return;
      chart.canvas.dataset.yMin = String(y.min);
      chart.canvas.dataset.yMax = String(y.max);
      chart.canvas.dataset.xTicks = x.ticks.map((t) => day(new Date(t.value).toISOString())).join(' ');
    },
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea: a, scales } = chart;
      const y = scales.y;
      if (!y || !bands.length) return;
      ctx.save();
      bands.forEach((b, i) => {
        const top = Math.max(a.top, y.getPixelForValue(Math.min(b.to, y.max)));
        const bottom = Math.min(a.bottom, y.getPixelForValue(Math.max(b.from, y.min)));
        if (bottom <= top) return;
        ctx.fillStyle = bands.length === 1 ? BELOW_FILL : (BAND_FILLS[i % 2] as string);
        ctx.fillRect(a.left, top, a.right - a.left, bottom - top);
        if (bands.length > 1) {
          ctx.strokeStyle = GRID;
          ctx.beginPath();
          ctx.moveTo(a.left, bottom);
          ctx.lineTo(a.right, bottom);
          ctx.stroke();
        }
        if (bottom - top >= 12) {
          ctx.fillStyle = TEXT;
          ctx.font = '11px system-ui, sans-serif';
          ctx.textBaseline = 'top';
          ctx.fillText(b.label, a.left + 4, top + 2);
        }
      });
      ctx.restore();
    },
  };
}

export function drawTrend(
  canvas: HTMLCanvasElement,
  points: TrendPoint[],
  unit: string,
  reference?: ReferenceLine,
  range?: AxisRange,
  bands: Band[] = [],
): Chart<'line'> {
  const xs = points.map((p) => Date.parse(p.effective));
  // Room around the first and last points (whole markers, and a visible axis around a single point).
  const pad = Math.max(15 * DAY_MS, (Math.max(...xs) - Math.min(...xs)) * 0.04);
  const min = Math.min(...xs) - pad;
  const max = Math.max(...xs) + pad;
  const u = unitText(unit);
  return new Chart<'line'>(canvas, {
    type: 'line',
    plugins: [bandsPlugin(bands)],
    data: {
      datasets: [
        {
          label: APP_TEXT.charts.result,
          pointStyle: 'circle',
          data: points.map((p, i) => ({ x: xs[i] as number, y: p.value })),
          borderColor: SERIES,
          backgroundColor: SERIES,
          pointBackgroundColor: points.map((p) => (p.inLookback ? SERIES : '#ffffff')),
          pointBorderColor: SERIES,
          pointRadius: 5,
          pointHoverRadius: 7,
          borderWidth: 2,
        },
        ...(reference
          ? [
              {
                label: reference.label,
                data: [
                  { x: min, y: reference.value },
                  { x: max, y: reference.value },
                ],
                borderColor: REFERENCE,
                backgroundColor: REFERENCE,
                borderDash: [6, 4],
                // The legend draws this dataset's point style: a dashed line, as on the chart, not a filled box.
                pointStyle: 'line' as const,
                pointRadius: 0,
                borderWidth: 2,
              },
            ]
          : []),
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      color: TEXT,
      font: { size: 13 },
      scales: {
        x: {
          type: 'linear',
          min,
          max,
          grid: { color: GRID },
          // Ticks at the draws themselves, not at the padded ends of the range (Chart.js skips labels that collide).
          afterBuildTicks: (axis) => {
            axis.ticks = [...new Set(xs)].map((value) => ({ value }));
          },
          ticks: {
            color: TEXT,
            autoSkip: true,
            maxRotation: 0,
            callback: (v) => day(new Date(Number(v)).toISOString()),
          },
        },
        y: {
          grid: { color: GRID },
          ticks: { color: TEXT, maxTicksLimit: 6 },
          title: { display: !!u, text: u, color: TEXT },
          ...(range ? { min: range.min, max: range.max } : {}),
        },
      },
      plugins: {
        legend: {
          display: !!reference,
          labels: { color: TEXT, usePointStyle: true, boxHeight: 9 },
        },
        tooltip: {
          callbacks: {
            title: (items) => day(new Date(Number(items[0]?.parsed.x)).toISOString()),
            label: (item) =>
              item.datasetIndex === 0
                ? `${round(item.parsed.y ?? 0, unit)}${u ? ` ${u}` : ''}`
                : `${reference?.label ?? ''}`,
          },
        },
      },
    },
  });
}
