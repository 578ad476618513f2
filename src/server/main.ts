// First, for its effect: an unsupported Node stops here with a message, before any native module loads.
import '../runtime/node-version';
import path from 'node:path';
import { ConfigError } from '../config/knowledge-file';
import { DEMO_PROFILE } from './config';
import type { PluginFactory } from './plugin';
import { start } from './start';

// `--demo` (npm start) switches on the embedded demo explicitly; explicit environment settings still win.
const env = process.argv.includes('--demo') ? { ...DEMO_PROFILE, ...process.env } : process.env;
// The demo is a plugin with an entry point of its own, loaded by path only when the embedded FHIR server is asked
// for (--demo, or CROSSTALK_EMBEDDED_FHIR=true): nothing in the production import graph names it, so a production
// process never loads it (test/production-loads.test.ts).
const plugins: PluginFactory[] =
  env.CROSSTALK_EMBEDDED_FHIR === 'true'
    ? [(require(path.join(__dirname, '..', 'demo', 'plugin')) as { demoPlugin: PluginFactory }).demoPlugin]
    : [];

start(env, undefined, plugins)
  .then((running) => {
    const stop = (signal: string) => {
      running.logger.info({ signal }, 'shutting down: no new connections, finishing calls in flight');
      void running.close().then(() => process.exit(0));
      setTimeout(() => process.exit(1), 10_000).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // A changed site knowledge file takes effect without a restart; an invalid one is logged and the running one kept.
    process.on('SIGHUP', () => {
      running.logger.info({ signal: 'SIGHUP' }, 'reloading the site knowledge file');
      running.reload();
    });
  })
  .catch((e: unknown) => {
    // Start-up errors name what to fix; no stack trace.
    const msg =
      e instanceof ConfigError ? e.message : `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;
    process.stderr.write(`crosstalk: cannot start: ${msg}\n`);
    process.exit(1);
  });
