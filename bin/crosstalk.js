#!/usr/bin/env node
// In a checkout (tsx installed, sources present) run the TypeScript sources, so a stale dist/ never
// answers; in the production image (no devDependencies) run the compiled CLI.
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const source = path.join(root, 'src', 'cli', 'main.ts');
let tsx = false;
try {
  require.resolve('tsx/cjs');
  tsx = fs.existsSync(source);
} catch {
  tsx = false;
}
if (tsx) {
  require('tsx/cjs');
  require(source);
} else {
  require(path.join(root, 'dist', 'src', 'cli', 'main.js'));
}
