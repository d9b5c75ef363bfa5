import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * The kinds we deploy: the model that validates each against the Kubernetes API's OpenAPI schema at
 * run time (types, required fields, enums, formats) and its TypeScript interface, against which the
 * compiler rejects any field the API does not know (what `kubectl apply --validate=strict` would refuse).
 */
const KINDS: Record<string, { model: { new (data: never): { validate(): void } }; typeModule: string; typeName: string }> = {
  'v1/ConfigMap': { model: ConfigMap, typeModule: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Secret': { model: Secret, typeModule: 'kubernetes-models/v1/Secret', typeName: 'ISecret' },
  'v1/Service': { model: Service, typeModule: 'kubernetes-models/v1/Service', typeName: 'IService' },
  'apps/v1/Deployment': { model: Deployment, typeModule: 'kubernetes-models/apps/v1/Deployment', typeName: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, typeModule: 'kubernetes-models/policy/v1/PodDisruptionBudget', typeName: 'IPodDisruptionBudget' },
  'autoscaling/v2/HorizontalPodAutoscaler': { model: HorizontalPodAutoscaler, typeModule: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', typeName: 'IHorizontalPodAutoscaler' },
  'networking.k8s.io/v1/Ingress': { model: Ingress, typeModule: 'kubernetes-models/networking.k8s.io/v1/Ingress', typeName: 'IIngress' },
};

export function loadManifests(dir: string): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS() as Manifest | null;
      if (value) out.push({ ...value, file });
    }
  }
  return out;
}

const where = (m: Manifest) => `${m.file}: ${m.kind} ${m.metadata?.name ?? '?'}`;

/** Problems with the manifests against the Kubernetes schemas; empty when every one is valid. */
export function validateManifests(manifests: readonly Manifest[], typesRoot: string): string[] {
  const problems: string[] = [];
  const typed: { manifest: Manifest; kind: (typeof KINDS)[string] }[] = [];
  for (const m of manifests) {
    const kind = KINDS[`${m.apiVersion}/${m.kind}`];
    if (!kind) {
      problems.push(`${where(m)}: kind ${m.apiVersion}/${m.kind} is not one this check knows`);
      continue;
    }
    const { file: _file, ...object } = m;
    try {
      new kind.model(object as never).validate();
    } catch (error) {
      problems.push(`${where(m)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    typed.push({ manifest: m, kind });
  }
  problems.push(...unknownFields(typed, typesRoot));
  return problems;
}

/** Type-checks every manifest as an object literal of its Kubernetes interface: excess properties are errors. */
function unknownFields(typed: readonly { manifest: Manifest; kind: (typeof KINDS)[string] }[], typesRoot: string): string[] {
  const fileName = path.join(typesRoot, '__k8s_manifests__.ts');
  const modules = [...new Set(typed.map((t) => t.kind))];
  let source = modules.map((k) => `import type { ${k.typeName} } from '${k.typeModule}';\n`).join('');
  /** First source line of each manifest's declaration. */
  const starts: number[] = [];
  typed.forEach(({ manifest, kind }, i) => {
    const { file: _file, ...object } = manifest;
    starts.push(source.split('\n').length - 1);
    source += `export const m${i}: ${kind.typeName} = ${JSON.stringify(object, null, 1)};\n`;
  });
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, types: [], module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2022 };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) => (name === fileName ? ts.createSourceFile(name, source, languageVersion, true) : getSourceFile(name, languageVersion, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const checked = program.getSourceFile(fileName)!;
  return ts.getPreEmitDiagnostics(program, checked).map((d) => {
    const line = d.start === undefined ? 0 : checked.getLineAndCharacterOfPosition(d.start).line;
    let index = 0;
    while (index + 1 < starts.length && starts[index + 1]! <= line) index++;
    const manifest = typed[index]?.manifest;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n').slice(-1)[0];
    return `${manifest ? where(manifest) : fileName}: ${text}`;
  });
}

/** The variables a Deployment's container gets: `env` entries plus every key of the ConfigMaps and Secrets in `envFrom`. */
export function deploymentEnvironment(deployment: Manifest, manifests: readonly Manifest[]): Map<string, 'value' | 'configMap' | 'secret'> {
  const env = new Map<string, 'value' | 'configMap' | 'secret'>();
  const spec = deployment.spec as { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; valueFrom?: { secretKeyRef?: unknown } }>; envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }> }> } } };
  const container = spec.template?.spec?.containers?.[0];
  for (const from of container?.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const source = manifests.find((m) => m.kind === (from.configMapRef ? 'ConfigMap' : 'Secret') && m.metadata.name === ref?.name);
    for (const key of Object.keys({ ...source?.data, ...source?.stringData })) env.set(key, from.configMapRef ? 'configMap' : 'secret');
  }
  for (const e of container?.env ?? []) env.set(e.name, e.valueFrom?.secretKeyRef ? 'secret' : 'value');
  return env;
}
