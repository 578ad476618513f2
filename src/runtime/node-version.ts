/**
 * Stops a process on a Node.js older than package.json's `engines` range before any native module loads: on Node 20
 * better-sqlite3 13 dies with a bare segmentation fault (exit 139) and the PostgreSQL path runs unsupported. Imported
 * first by every entry point (the server, the CLI), for its effect at load. Only Node built-ins and `semver` (npm's
 * own range parser) here: nothing that could itself fail on an old Node.
 */
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';

/** The `engines.node` range of the package this file belongs to (src/runtime or dist/src/runtime). */
export function enginesRange(from: string = __dirname): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; engines?: { node?: string } };
      if (pkg.name === 'crosstalk') return pkg.engines?.node;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Why this Node cannot run Crosstalk, or undefined when it can. */
export function unsupportedNode(version: string, range: string | undefined): string | undefined {
  if (!range || semver.satisfies(version, range)) return undefined;
  return `Node.js ${version} is not supported: Crosstalk needs Node.js ${range} (package.json "engines"). On a machine whose Node is older, run \`. bin/use-node24.sh\` first (docs/hospital-it/install.md, "Node versions").`;
}

const why = unsupportedNode(process.version, enginesRange());
if (why) {
  process.stderr.write(`crosstalk: cannot start: ${why}\n`);
  process.exit(1);
}
