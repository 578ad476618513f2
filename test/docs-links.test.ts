import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');

/** Pages other engineers are writing this round: a link to them may be ahead of the file. */
const BEING_WRITTEN = ['registering-an-ehr.md', 'operating.md', 'limits.md', 'kubernetes.md'].map((f) =>
  path.join(ROOT, 'docs', 'hospital-it', f),
);

function markdownFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return markdownFiles(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');

function anchors(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  const headings = [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] as string));
  // docs/evidence.md anchors its entries by id: <a id="he-2024"></a>
  const explicit = [...text.matchAll(/<a (?:id|name)="([^"]+)"/g)].map((m) => m[1] as string);
  return new Set([...headings, ...explicit]);
}

/** Every Markdown link target outside code, with the line it starts on; a link's text may span lines. */
function links(file: string): { target: string; line: number }[] {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, (b) => b.replace(/[^\n]/g, ' '));
  return [...text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => ({
    target: m[1] as string,
    line: text.slice(0, m.index).split('\n').length,
  }));
}

const FILES = [
  path.join(ROOT, 'README.md'),
  path.join(ROOT, 'CHANGELOG.md'),
  ...markdownFiles(path.join(ROOT, 'docs')),
];

describe('the documentation links', () => {
  it.each(FILES.map((f) => [path.relative(ROOT, f), f]))(
    '%s links only to files and headings that exist',
    (_, file) => {
      const broken: string[] = [];
      for (const { target, line } of links(file)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …
        const [p = '', frag] = target.split('#');
        const to = p ? path.resolve(path.dirname(file), decodeURIComponent(p)) : file;
        if (BEING_WRITTEN.includes(to) && !fs.existsSync(to)) continue;
        if (!fs.existsSync(to)) broken.push(`line ${line}: ${target} (no such file)`);
        else if (frag && to.endsWith('.md') && !anchors(to).has(frag))
          broken.push(`line ${line}: ${target} (no such heading)`);
      }
      expect(broken).toEqual([]);
    },
  );

  it('allows a missing page only for the four being written, and only under docs/hospital-it', () => {
    expect(BEING_WRITTEN.map((f) => path.relative(ROOT, f))).toEqual([
      'docs/hospital-it/registering-an-ehr.md',
      'docs/hospital-it/operating.md',
      'docs/hospital-it/limits.md',
      'docs/hospital-it/kubernetes.md',
    ]);
  });
});
