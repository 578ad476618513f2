#!/usr/bin/env node
'use strict';
// One-shot seeder of the `seed` service in docker-compose.yml:
//   node deploy/seed.js http://hapi:8080/fhir
// 1. waits until GET <base>/metadata answers a CapabilityStatement (HAPI takes a minute or more to start,
//    and its distroless image has no healthcheck compose could wait on);
// 2. runs `crosstalk seed --fhir <base>` (POSTs the demo transaction Bundle; its entries are PUTs with fixed
//    ids, so seeding again is harmless), retrying a few times if the server is up but not yet accepting.
// Node built-ins only: the runtime image has node but no curl.
//
// Environment (all optional):
//   SEED_WAIT_SECONDS       300   how long to wait for the metadata endpoint before giving up
//   SEED_RETRY_INTERVAL_MS  3000  pause between tries
//   SEED_ATTEMPTS           3     tries of the seed command once the server answers
//   CROSSTALK_CLI           <this folder>/../dist/src/cli/main.js   the CLI entry to run

const { spawn } = require('node:child_process');
const path = require('node:path');

const log = (msg) => process.stderr.write(`seed: ${msg}\n`);

function fail(msg, code = 2) {
  log(msg);
  process.exit(code);
}

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1) fail(`${name} must be a positive integer, not "${raw}"`);
  return Number(raw);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** true when the server answers a CapabilityStatement, otherwise why not (for the log). */
async function probe(base) {
  try {
    const res = await fetch(`${base}/metadata`, {
      headers: { accept: 'application/fhir+json' },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) return `HTTP ${res.status}`;
    const body = await res.json().catch(() => undefined);
    return body && body.resourceType === 'CapabilityStatement' ? true : 'answer is not a CapabilityStatement';
  } catch (e) {
    const cause = e && e.cause && (e.cause.code || e.cause.message);
    return cause || (e && e.name === 'TimeoutError' ? 'timed out' : String((e && e.message) || e));
  }
}

function runSeed(cli, base) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'seed', '--fhir', base], { stdio: 'inherit' });
    child.on('error', (e) => {
      log(`cannot run ${cli}: ${e.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main() {
  const arg = process.argv[2];
  if (!arg || process.argv.length > 3) fail('usage: node deploy/seed.js <FHIR base URL>');
  let url;
  try {
    url = new URL(arg);
  } catch {
    fail(`not a URL: ${arg}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`not an http(s) URL: ${arg}`);
  const base = url.href.replace(/\/+$/, '');

  const waitMs = positiveInt('SEED_WAIT_SECONDS', 300) * 1000;
  const intervalMs = positiveInt('SEED_RETRY_INTERVAL_MS', 3000);
  const attempts = positiveInt('SEED_ATTEMPTS', 3);
  const cli = process.env.CROSSTALK_CLI || path.resolve(__dirname, '..', 'dist', 'src', 'cli', 'main.js');

  const deadline = Date.now() + waitMs;
  for (let n = 1; ; n++) {
    const result = await probe(base);
    if (result === true) break;
    if (Date.now() + intervalMs > deadline) {
      fail(`${base}/metadata still not answering after ${Math.round(waitMs / 1000)} s (${result}); giving up`, 1);
    }
    log(`waiting for ${base}/metadata (try ${n}: ${result})`);
    await sleep(intervalMs);
  }
  log(`${base} is up`);

  let code = 1;
  for (let n = 1; n <= attempts; n++) {
    code = await runSeed(cli, base);
    if (code === 0) {
      log('done');
      return 0;
    }
    if (n < attempts) {
      log(`seed command exited ${code}; trying again (${n + 1}/${attempts})`);
      await sleep(intervalMs);
    }
  }
  log(`seed command failed ${attempts} times; last exit code ${code}`);
  return code || 1;
}

// As PID 1 in a container node would ignore SIGTERM; stop promptly on `docker compose down`.
process.once('SIGTERM', () => process.exit(143));
process.once('SIGINT', () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (e) => fail(`unexpected error: ${(e && e.stack) || e}`, 1),
);
