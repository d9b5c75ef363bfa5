import * as path from 'node:path';
import { composeEnvironment, loadCompose } from './compose';
import { ENVIRONMENT, SERVICES, variablesOf, type ServiceName } from './environment-catalogue';
import { environmentReads } from './env-reads';
import { deploymentEnvironment, loadManifests, validateManifests, type Manifest } from './kubernetes';

const ROOT = path.resolve(__dirname, '../../..');
const PORTS: Record<ServiceName, number> = { gateway: 3000, portfolio: 3001, 'datahub-integration': 3002, rates: 3003, settlement: 3004, reconciliation: 3005, projections: 3006 };

describe('deployment: docker-compose.yml and k8s/ carry every setting, valid without a daemon or a cluster', () => {
  const reads = environmentReads(ROOT);

  it('knows every environment variable the services read, and which service reads it', () => {
    const unknown = [...reads.keys()].filter((name) => !(name in ENVIRONMENT)).map((name) => `${name} (read in ${reads.get(name)!.join(', ')})`);
    expect(unknown).toEqual([]);
    expect(Object.keys(ENVIRONMENT).filter((name) => !reads.has(name))).toEqual([]);
    const misattributed: string[] = [];
    for (const [name, files] of reads) {
      for (const file of files) {
        const app = /^apps\/([^/]+)\//.exec(file)?.[1] as ServiceName | undefined;
        const readers = ENVIRONMENT[name]?.readers;
        if (app && readers && readers !== 'all' && !readers.includes(app)) misattributed.push(`${name} is read by ${app} (${file})`);
      }
    }
    expect(misattributed).toEqual([]);
  });

  describe('docker-compose.yml', () => {
    const { compose, problems } = loadCompose(path.join(ROOT, 'docker-compose.yml'));

    it('is valid against the Compose specification (schema), every dependency defined', () => {
      expect(problems).toEqual([]);
      for (const service of SERVICES) expect(Object.keys(compose.services)).toContain(service);
    });

    it.each(SERVICES)('sets every variable %s reads, credentials from the environment, nothing simulation-only', (service) => {
      const env = composeEnvironment(compose, service);
      const environment = compose.services[service]!.environment as Record<string, unknown>;
      for (const name of variablesOf(service)) {
        const variable = ENVIRONMENT[name]!;
        if (variable.kind === 'absent') expect({ name, set: env.has(name) }).toEqual({ name, set: false });
        else expect({ name, set: env.has(name) }).toEqual({ name, set: true });
        if (variable.kind === 'secret') expect({ name, value: String(environment[name]) }).toEqual({ name, value: expect.stringMatching(/^\$\{[A-Z_]+[:?-]/) });
      }
      expect(environment.PORT).toBe(String(PORTS[service]));
    });
  });

  describe('k8s/', () => {
    const manifests = loadManifests(path.join(ROOT, 'k8s'));
    const example = loadManifests(path.join(ROOT, 'k8s', 'examples'));
    const all = [...manifests, ...example];
    const deployment = (name: string) => manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === name);

    it('is valid against the Kubernetes schemas: types, required fields, and no field the API does not know', () => {
      expect(validateManifests(all, ROOT)).toEqual([]);
    });

    it.each(SERVICES)('gives %s every variable it reads (credentials from the Secret), its probes and resources', (service) => {
      const d = deployment(service) as Manifest;
      expect(d).toBeDefined();
      const env = deploymentEnvironment(d, all);
      for (const name of variablesOf(service)) {
        const variable = ENVIRONMENT[name]!;
        if (variable.kind === 'absent') expect({ name, from: env.get(name) }).toEqual({ name, from: undefined });
        else expect({ name, from: env.get(name) }).toEqual({ name, from: variable.kind === 'secret' ? 'secret' : expect.stringMatching(/^(value|configMap)$/) });
      }
      const container = (d.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers[0]!;
      const port = PORTS[service];
      expect(container).toMatchObject({
        ports: [{ name: 'http', containerPort: port }, { name: 'metrics', containerPort: 9464 }],
        livenessProbe: { httpGet: { path: '/health/live', port } },
        readinessProbe: { httpGet: { path: '/health/ready', port } },
        startupProbe: { httpGet: { path: '/health/live', port } },
        resources: { requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } },
      });
      expect(env.get('PORT')).toBe('value');
      // Prometheus scrapes the metrics port, never the HTTP port (the gateway's is public and serves no metrics).
      const annotations = (d.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations;
      expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' });
      expect(env.get('METRICS_PORT')).toBe('configMap');
    });

    it('every Secret key a Deployment reads exists in the Secret template', () => {
      const secret = example.find((m) => m.kind === 'Secret' && m.metadata.name === 'dh-core-secrets');
      const keys = new Set(Object.keys({ ...secret?.data, ...secret?.stringData }));
      const refs = manifests
        .filter((m) => m.kind === 'Deployment')
        .flatMap((m) => JSON.stringify(m.spec).match(/"secretKeyRef":\{"name":"dh-core-secrets","key":"[A-Z_]+"(,"optional":true)?\}/g) ?? [])
        .map((ref) => /"key":"([A-Z_]+)"/.exec(ref)![1]!);
      expect(refs.filter((key) => !keys.has(key))).toEqual([]);
      expect(refs.length).toBeGreaterThan(0);
    });

    it('settlement workers have a PodDisruptionBudget and a HorizontalPodAutoscaler', () => {
      expect(manifests.find((m) => m.kind === 'PodDisruptionBudget' && m.metadata.name === 'settlement')?.spec).toMatchObject({ selector: { matchLabels: { app: 'settlement' } } });
      expect(manifests.find((m) => m.kind === 'HorizontalPodAutoscaler' && m.metadata.name === 'settlement')?.spec).toMatchObject({
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'settlement' },
        minReplicas: expect.any(Number),
        maxReplicas: expect.any(Number),
      });
    });
  });

  it('catches what it claims to: an unknown field, a wrong type and a missing variable', () => {
    const d = loadManifests(path.join(ROOT, 'k8s')).find((m) => m.kind === 'Deployment' && m.metadata.name === 'rates')!;
    const broken: Manifest = JSON.parse(JSON.stringify(d));
    const container = (broken.spec as { replicas: unknown; template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers[0]!;
    container.livenesProbe = container.livenessProbe;
    (broken.spec as { replicas: unknown }).replicas = 'two';
    const problems = validateManifests([broken], ROOT);
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining('replicas must be integer'), expect.stringContaining("'\"livenesProbe\"' does not exist in type 'IContainer'")]));
    container.env = [];
    container.envFrom = [];
    expect(deploymentEnvironment(broken, []).has('DATABASE_URL')).toBe(false);
  });
});
