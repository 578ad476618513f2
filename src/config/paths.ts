import fs from 'node:fs';
import path from 'node:path';

/**
 * The project root holds package.json and cds-hooks/. Found by walking up, so the same code works
 * from src/ (tsx), from dist/src/ (compiled) and inside the container image.
 */
function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'cds-hooks'))) return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`cannot find the Crosstalk root (package.json with cds-hooks/) above ${start}`);
  }
}

export const PROJECT_ROOT = findRoot(__dirname);
export const CDS_HOOKS_DIR = path.join(PROJECT_ROOT, 'cds-hooks');
