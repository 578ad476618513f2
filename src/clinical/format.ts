import type { LabValue, Measure } from './types';

/** Display rounding only: the machine-readable values stay unrounded. */
export function round(value: number, unit: string): string {
  const digits = unit === 'mL/min/{1.73_m2}' || unit === '%' ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toFixed(digits);
}

const UNIT_TEXT: Record<string, string> = {
  'mL/min/{1.73_m2}': 'mL/min/1.73 m²',
  'u[IU]/mL': 'µIU/mL',
  '{index}': '',
  '(mg/dL)/(mg/L)': '',
};

export function unitText(unit: string): string {
  return UNIT_TEXT[unit] ?? unit;
}

export function day(iso: string): string {
  return iso.slice(0, 10);
}

export function labText(l: LabValue): string {
  const base = `${round(l.value, l.unit)} ${unitText(l.unit)} (${day(l.effective)}, ${l.reference}`;
  return l.conversion ? `${base}; converted: ${l.conversion})` : `${base})`;
}

export function measureText(m: Measure): string {
  const u = unitText(m.unit);
  return `${m.display} ${round(m.value, m.unit)}${u ? ` ${u}` : ''}`;
}
