#!/usr/bin/env node
// Runs the compiled CLI when the package was built (Docker image), the TypeScript source otherwise.
const fs = require('node:fs');
const path = require('node:path');
const built = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (fs.existsSync(built)) {
  require(built);
} else {
  require('tsx/cjs');
  require(path.join(__dirname, '..', 'src', 'cli', 'main.ts'));
}
