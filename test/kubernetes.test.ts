import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadKnowledgeSync } from '../src/config/knowledge-file';
import { ConfigSchema } from '../src/server/config-schema';
import { startCrosstalk } from './support/harness';

/*
 * deploy/kubernetes as data, as CI has it: no cluster, no kubectl, no helm. The base's kustomization lists resources
 * only, so its objects are exactly its files; the example overlay uses the few transformers rendered below (namespace,
 * images, JSON patches), and any other kustomization field fails here rather than being silently ignored. Every
 * object is validated with kubernetes-models (JSON schemas generated from the Kubernetes OpenAPI document, run by
 * ajv; installed by npm ci), then held to what the service needs: probes on endpoints that answer, ports and
 * settings the config schema knows, secrets as files, the knowledge volume live, and the pod locked down.
 */

const ROOT = path.resolve(__dirname, '..');
const BASE = path.join(ROOT, 'deploy/kubernetes/base');
const OVERLAY = path.join(ROOT, 'deploy/kubernetes/overlays/example');

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are read as parsed YAML and walked by path.
type Obj = Record<string, any>;

function readYamlDocs(file: string): Obj[] {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  return docs.map((d) => {
    if (d.errors.length) throw new Error(`${path.relative(ROOT, file)}: ${d.errors[0]?.message}`);
    return d.toJS() as Obj;
  });
}

const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);

/** What `kubectl kustomize dir` outputs, for the fields used here; anything else is refused. */
function render(dir: string): Obj[] {
  const [k] = readYamlDocs(path.join(dir, 'kustomization.yaml'));
  if (!k) throw new Error(`${dir}: empty kustomization`);
  const unknown = Object.keys(k).filter((f) => !KNOWN_FIELDS.has(f));
  if (unknown.length) throw new Error(`${dir}: kustomization fields this test does not render: ${unknown.join(', ')}`);
  let objects: Obj[] = (k.resources as string[]).flatMap((r) => {
    const p = path.join(dir, r);
    return fs.statSync(p).isDirectory() ? render(p) : readYamlDocs(p);
  });
  for (const image of (k.images ?? []) as { name: string; newName?: string; newTag?: string }[]) {
    for (const c of objects.flatMap((o) => o.spec?.template?.spec?.containers ?? []) as Obj[]) {
      const [name, tag] = String(c.image).split(':');
      if (name === image.name) c.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
    }
  }
  for (const p of (k.patches ?? []) as { target: { kind: string; name: string }; patch: string }[]) {
    const target = objects.find((o) => o.kind === p.target.kind && o.metadata.name === p.target.name);
    if (!target) throw new Error(`${dir}: patch target ${p.target.kind}/${p.target.name} is not a resource`);
    for (const op of parseYaml(p.patch) as { op: string; path: string; value: unknown }[]) {
      if (op.op !== 'replace') throw new Error(`${dir}: patch op ${op.op} is not rendered here`);
      const keys = op.path.split('/').slice(1);
      const last = keys.pop() as string;
      let at: Obj = target;
      for (const key of keys) at = at[key];
      // JSON Patch replace: the path must exist (kustomize refuses otherwise).
      if (at?.[last] === undefined) throw new Error(`${dir}: patch path ${op.path} does not exist in the base`);
      at[last] = op.value;
    }
  }
  if (k.namespace) objects = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: k.namespace } }));
  return objects;
}

/*
 * The generated validators accept fields Kubernetes does not know (their schemas leave additionalProperties open, as
 * the OpenAPI document does), while the API server drops or refuses them: a misspelt `readinessprobe` would pass.
 * TypeScript's excess-property check on object literals is strict at every depth, so each object is written as a
 * literal of its kubernetes-models interface and compiled in memory; any diagnostic names the unknown field.
 */
function unknownFields(objects: Obj[]): string[] {
  const lines = objects.map((o, i) => {
    const modulePath = `kubernetes-models/${o.apiVersion}/${o.kind}`;
    return `import type { I${o.kind} as T${i} } from '${modulePath}';\nexport const o${i}: T${i} = ${JSON.stringify(o)};`;
  });
  const file = path.join(ROOT, 'test', '__k8s-strict__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const source = lines.join('\n');
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  host.fileExists = (
    (exists) => (name: string) =>
      path.resolve(name) === file || exists(name)
  )(host.fileExists.bind(host));
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '))
    .map((m) => m.replace(/\s+/g, ' '));
}

const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-k8s-'));

/** The kubernetes-models class for an object's apiVersion and kind: core `v1` has no group directory. */
async function validatorFor(o: Obj): Promise<(x: Obj) => void> {
  const modulePath = `kubernetes-models/${o.apiVersion}/${o.kind}`;
  const mod = (await import(modulePath)) as Record<string, new (x: Obj) => { validate(): void }>;
  const Model = mod[o.kind];
  if (!Model) throw new Error(`${modulePath} exports no ${o.kind}`);
  return (x) => new Model(x).validate();
}

const base = render(BASE);
const overlay = render(OVERLAY);
const example = readYamlDocs(path.join(BASE, 'secret.example.yaml'));
const byKind = (objects: Obj[], kind: string): Obj[] => objects.filter((o) => o.kind === kind);
const one = (objects: Obj[], kind: string): Obj => {
  const found = byKind(objects, kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Obj;
};
const deployment = one(base, 'Deployment');
const job = one(base, 'Job');
const podSpecs = (objects: Obj[]) =>
  objects.filter((o) => o.spec?.template?.spec).map((o) => [`${o.kind}/${o.metadata.name}`, o.spec.template.spec]);
const container = deployment.spec.template.spec.containers[0] as Obj;
const envOf = (c: Obj): Record<string, string> =>
  Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
const configMap = (name: string) => base.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as Obj;
const SETTINGS = ConfigSchema.properties as Record<string, unknown>;

afterAll(() => fs.rmSync(tempDir, { recursive: true, force: true }));

describe('deploy/kubernetes against the Kubernetes schemas', () => {
  it('renders the base and the example overlay into the objects a Deployment needs, each valid against its schema', async () => {
    expect(base.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Ingress',
        'Job',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    for (const o of [...base, ...overlay, ...example]) {
      const validate = await validatorFor(o);
      expect(() => validate(o), `${o.kind}/${o.metadata?.name}`).not.toThrow();
    }
    expect(overlay.every((o) => o.metadata.namespace === 'crosstalk')).toBe(true);
    expect(one(overlay, 'Deployment').spec.template.spec.containers[0].image).toBe(
      'registry.example.org/crosstalk:0.1.0',
    );
  });

  it('refuses an object the Kubernetes schema refuses, so a passing check means something', async () => {
    const bad = structuredClone(deployment);
    bad.spec.replicas = 'two';
    delete bad.spec.selector;
    await expect(validatorFor(bad).then((v) => v(bad))).rejects.toThrow(/replicas|selector/);
  });
  it('knows every field of every object, so a misspelt or invented field cannot pass as valid', () => {
    expect(unknownFields([...base, ...overlay, ...example])).toEqual([]);
  });

  it('refuses a field Kubernetes does not define, at any depth', () => {
    const bad = structuredClone(deployment);
    bad.spec.template.spec.containers[0].readinessprobe = bad.spec.template.spec.containers[0].readinessProbe;
    bad.spec.strategy.rollingupdate = {};
    const found = unknownFields([bad]).join('\n');
    expect(found).toMatch(/readinessprobe/);
  });
});

describe('deploy/kubernetes against the service it runs', () => {
  let running: Awaited<ReturnType<typeof startCrosstalk>> | undefined;
  beforeAll(async () => {
    running = await startCrosstalk();
  });
  afterAll(async () => {
    await running?.close();
  });

  it('probes endpoints that answer 200 on the container port the service listens on', async () => {
    const ports = container.ports as { name: string; containerPort: number }[];
    const env = envOf(container);
    expect(ports).toEqual([{ name: 'http', containerPort: Number(env.PORT), protocol: 'TCP' }]);
    expect(env.HOST).toBe('0.0.0.0');
    const probes = {
      startup: container.startupProbe,
      liveness: container.livenessProbe,
      readiness: container.readinessProbe,
    };
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    for (const [which, probe] of Object.entries(probes)) {
      expect(probe?.httpGet?.port, which).toBe('http');
      const res = await fetch(`${running?.url}${probe.httpGet.path}`);
      expect(res.status, `${which} probe ${probe.httpGet.path}`).toBe(200);
    }
    // The Service and the Ingress reach that port by its name.
    const svc = one(base, 'Service');
    expect(svc.spec.ports[0].targetPort).toBe('http');
    const ingressBackend = one(base, 'Ingress').spec.rules[0].http.paths[0].backend.service;
    expect(ingressBackend).toEqual({ name: svc.metadata.name, port: { name: svc.spec.ports[0].name } });
  });

  it('sets only settings the config schema defines (secrets as <NAME>_FILE), with values it accepts', () => {
    const direct: Record<string, string> = { ...configMap('crosstalk-config').data };
    for (const [name, value] of [
      ...Object.entries(envOf(container)),
      ...Object.entries(envOf(job.spec.template.spec.containers[0])),
    ]) {
      const secretBehindFile = name.endsWith('_FILE') && name.slice(0, -5) in SETTINGS;
      expect(name in SETTINGS || secretBehindFile, `${name} is a setting`).toBe(true);
      if (!secretBehindFile) direct[name] = value;
    }
    const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true });
    const validate = ajv.compile(ConfigSchema);
    expect(validate({ ...direct }), JSON.stringify(validate.errors)).toBe(true);
    expect(Number(direct.CROSSTALK_SITE_KNOWLEDGE_POLL_MS)).toBeGreaterThan(0);
    // The Ingress serves the host EHRs are told (PUBLIC_BASE_URL), over TLS with a referenced certificate Secret.
    const ingress = one(base, 'Ingress');
    const host = new URL(direct.PUBLIC_BASE_URL as string).host;
    expect(new URL(direct.PUBLIC_BASE_URL as string).protocol).toBe('https:');
    expect(ingress.spec.rules.map((r: Obj) => r.host)).toEqual([host]);
    expect(ingress.spec.tls).toEqual([{ hosts: [host], secretName: expect.any(String) }]);
  });

  it('mounts every secret as a file from the Secret, never as a value in the environment', () => {
    const [secret] = example;
    for (const [where, spec] of podSpecs(base)) {
      for (const c of spec.containers as Obj[]) {
        expect(c.envFrom?.some((e: Obj) => e.secretRef) ?? false, where).toBe(false);
        expect(
          (c.env as Obj[]).some((e) => e.valueFrom?.secretKeyRef),
          where,
        ).toBe(false);
        const env = envOf(c);
        const fileSettings = Object.entries(env).filter(
          ([n]) => n.endsWith('_FILE') || n === 'CROSSTALK_TRUSTED_CLIENTS',
        );
        expect(fileSettings.length, where).toBeGreaterThan(0);
        for (const [name, file] of fileSettings) {
          const mount = (c.volumeMounts as Obj[]).find((m) => file.startsWith(`${m.mountPath}/`));
          expect(mount, `${where} ${name}`).toBeDefined();
          expect(mount?.readOnly).toBe(true);
          const volume = (spec.volumes as Obj[]).find((v) => v.name === mount?.name);
          expect(volume?.secret?.secretName, `${where} ${name}`).toBe(secret?.metadata.name);
          const item = ((volume?.secret?.items ?? []) as Obj[]).find((i) => `${mount?.mountPath}/${i.path}` === file);
          expect(item, `${where} ${name}`).toBeDefined();
          expect(Object.keys(secret?.stringData ?? {})).toContain(item?.key);
        }
      }
    }
    const env = envOf(container);
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['CROSSTALK_AUDIT_HMAC_KEY_FILE', 'DATABASE_URL_FILE', 'CROSSTALK_TRUSTED_CLIENTS']),
    );
    expect(envOf(job.spec.template.spec.containers[0])).toHaveProperty('DATABASE_URL_FILE');
  });

  it('mounts the site knowledge ConfigMap whole (no subPath, so updates reach the pod), and ships a file that loads', () => {
    const file = envOf(container).CROSSTALK_SITE_KNOWLEDGE as string;
    const mount = (container.volumeMounts as Obj[]).find((m) => file.startsWith(`${m.mountPath}/`)) as Obj;
    // A subPath mount is a copy the kubelet never updates: the reload would never see a change.
    expect(mount.subPath).toBeUndefined();
    const volume = (deployment.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name) as Obj;
    const cm = configMap(volume.configMap.name);
    const name = path.basename(file);
    expect(Object.keys(cm.data)).toContain(name);
    const local = path.join(tempDir, name);
    fs.writeFileSync(local, cm.data[name]);
    expect(() => loadKnowledgeSync(local)).not.toThrow();
  });

  it('runs every pod as non-root on a read-only root filesystem, all capabilities dropped, seccomp RuntimeDefault', () => {
    for (const [where, spec] of podSpecs(base)) {
      expect(spec.securityContext.runAsNonRoot, where).toBe(true);
      expect(spec.securityContext.runAsUser, where).toBeGreaterThan(0);
      expect(spec.securityContext.seccompProfile, where).toEqual({ type: 'RuntimeDefault' });
      expect(spec.automountServiceAccountToken, where).toBe(false);
      for (const c of spec.containers as Obj[]) {
        expect(c.securityContext, where).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(
          c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory,
          where,
        ).toBeTruthy();
        // The writable places are emptyDirs at /tmp only.
        const writable = (c.volumeMounts as Obj[]).filter((m) => !m.readOnly);
        expect(
          writable.map((m) => m.mountPath),
          where,
        ).toEqual(['/tmp']);
        expect((spec.volumes as Obj[]).find((v) => v.name === writable[0]?.name)?.emptyDir, where).toBeDefined();
      }
    }
  });

  it('keeps at least two replicas through scaling and disruption, and migrates with the same image as it serves', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    const hpa = one(base, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = one(base, 'PodDisruptionBudget');
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
    expect(one(base, 'Service').spec.selector).toEqual(labels);
    const migrate = job.spec.template.spec.containers[0];
    expect(migrate.image).toBe(container.image);
    expect(migrate.command).toEqual(['node', 'bin/crosstalk.js', 'migrate']);
    // The command exists in the CLI the image carries (the Dockerfile copies bin/ and the compiled sources).
    expect(fs.readFileSync(path.join(ROOT, 'src/cli/main.ts'), 'utf8')).toContain("cmd === 'migrate'");
    expect(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^COPY bin \.\/bin$/m);
    expect(container.command).toEqual(
      JSON.parse(/^CMD (\[.*\])$/m.exec(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '[]'),
    );
  });
});
