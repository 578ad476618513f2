/** One trend chart per measure, drawn in the page with Chart.js (no outside requests, no animation). */
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { DAY_MS, day, round, type TrendPoint, unitText } from '../clinical';

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

export function drawTrend(
  canvas: HTMLCanvasElement,
  points: TrendPoint[],
  unit: string,
  reference?: ReferenceLine,
): Chart {
  const xs = points.map((p) => Date.parse(p.effective));
  // Room around the first and last points (whole markers, and a visible axis around a single point).
  const pad = Math.max(15 * DAY_MS, (Math.max(...xs) - Math.min(...xs)) * 0.04);
  const min = Math.min(...xs) - pad;
  const max = Math.max(...xs) + pad;
  const u = unitText(unit);
  return new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        {
          label: 'Result',
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
          ticks: { color: TEXT, maxTicksLimit: 5, callback: (v) => day(new Date(Number(v)).toISOString()) },
        },
        y: {
          grid: { color: GRID },
          ticks: { color: TEXT, maxTicksLimit: 6 },
          title: { display: !!u, text: u, color: TEXT },
          suggestedMin: reference ? Math.min(reference.value, ...points.map((p) => p.value)) * 0.9 : undefined,
          suggestedMax: reference ? Math.max(reference.value, ...points.map((p) => p.value)) * 1.1 : undefined,
        },
      },
      plugins: {
        legend: { display: !!reference, labels: { color: TEXT, boxWidth: 18 } },
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
