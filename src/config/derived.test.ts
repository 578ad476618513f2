import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { derivedFiles } from '../build/derive';

describe('files derived from one source', () => {
  it.each(derivedFiles().map((d) => [path.relative(path.join(__dirname, '..', '..'), d.file), d] as const))(
    '%s is what npm run derive writes from its source',
    (_, { file, content }) => {
      const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      expect(committed === content, `${file} is out of date: run npm run derive`).toBe(true);
    },
  );
});
