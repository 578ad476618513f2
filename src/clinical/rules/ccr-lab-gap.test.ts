import { describe, expect, it } from 'vitest';
import { daysAgo, lab } from '../../demo/builders';
import { creatinineOnly, NOW, run, woman } from './test-records';

describe('the creatinine/cystatin C gap', () => {
  it('names a creatinine with an unknown unit as rejected, not as absent', () => {
    const cr = {
      ...lab('cr', 'p', 'creatinineMass', 0.8, daysAgo(NOW, 10)),
      valueQuantity: { value: 0.8, unit: 'mg%%' },
    };
    const e = run(woman(70), [cr, lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 10))]);
    expect(e.rejected.map((r) => r.reference)).toContain('Observation/cr');
    expect(e.findings.flatMap((f) => f.statements).join(' ')).not.toMatch(/No creatinine in/);
  });

  it('asks for cystatin C only when creatinine is on file and usable', () => {
    expect(run(woman(70), creatinineOnly()).findings[0]!.statements.join(' ')).toMatch(
      /No cystatin C in the last 12 months/,
    );
  });

  it("treats another patient's cystatin C as no cystatin C, never as one of hers that could not be used", () => {
    const other = lab('cys-x', 'someone-else', 'cystatinC', 1.0, daysAgo(NOW, 10));
    const e = run(woman(70), [...creatinineOnly(), other]);
    expect(e.rejected.find((r) => r.reference === 'Observation/cys-x')?.otherPatient).toBe(true);
    const said = e.findings.flatMap((f) => f.statements).join(' ');
    expect(said).toMatch(/No cystatin C in the last 12 months/);
    expect(said).not.toMatch(/cys-x/);
  });
});
