/**
 * The kustomize base renders with a real `kubectl kustomize` (any kubectl; CI installs
 * Debian's through scripts/ensure-test-tools.sh), and what it renders holds together: the
 * pieces reference each other by the right names, and the webhook configuration, the
 * Deployment and the config file agree with what the server expects.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { resolveSettings } from '../../cluster/webhook/config';
import { POD_BEARING_KINDS } from '../../cluster/webhook/workloads';

const ROOT = join(__dirname, '..', '..');
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
type Manifest = any;

function render(): Manifest[] {
  let text: string;
  try {
    text = execFileSync(KUBECTL, ['kustomize', join(ROOT, 'cluster', 'deploy')], {
      encoding: 'utf8',
    });
  } catch (error) {
    throw new Error(
      `\`${KUBECTL} kustomize cluster/deploy\` failed (${(error as Error).message}); install kubectl with scripts/ensure-test-tools.sh`,
    );
  }
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS();
  });
}

const manifests = render();
const one = (kind: string, name?: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind && (!name || m.metadata.name === name));
  expect(found).toHaveLength(1);
  return found[0];
};

describe('kubectl kustomize cluster/deploy', () => {
  it('renders every resource of the base', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(
      [
        'Certificate',
        'Certificate',
        'ConfigMap',
        'Deployment',
        'Issuer',
        'Issuer',
        'Namespace',
        'MutatingWebhookConfiguration',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
        'ValidatingWebhookConfiguration',
      ].sort(),
    );
    for (const m of manifests) {
      expect(m.apiVersion).toEqual(expect.any(String));
      expect(m.metadata.name).toMatch(/^[a-z0-9.-]+$/);
      if (
        !['Namespace', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'].includes(
          m.kind,
        )
      ) {
        expect(m.metadata.namespace).toBe('registry-watcher');
      }
    }
  });

  it('Deployment: 2 replicas spread apart, bounded, non-root, read-only, no escalation, RuntimeDefault', () => {
    const deployment = one('Deployment');
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(deployment.spec.replicas).toBe(2);
    expect(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]
        .podAffinityTerm,
    ).toMatchObject({
      topologyKey: 'kubernetes.io/hostname',
      labelSelector: { matchLabels: deployment.spec.selector.matchLabels },
    });
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toEqual({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources.limits).toEqual({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.image).toBe('registry-watcher-webhook:0.1.0');
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', scheme: 'HTTPS' });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', scheme: 'HTTPS' });
    expect(pod.serviceAccountName).toBe(one('ServiceAccount').metadata.name);
  });

  it('Deployment mounts the generated ConfigMap and the certificate secret where the config points', () => {
    const pod = one('Deployment').spec.template.spec;
    const [container] = pod.containers;
    const configMap = one('ConfigMap');
    const volume = (name: string) => pod.volumes.find((v: Manifest) => v.name === name);
    const mount = (name: string) =>
      container.volumeMounts.find((m: Manifest) => m.name === name).mountPath;
    expect(volume('config').configMap.name).toBe(configMap.metadata.name);
    const serving = one('Certificate', 'registry-watcher-webhook');
    expect(volume('tls').secret.secretName).toBe(serving.spec.secretName);

    const configFile = container.args[container.args.indexOf('--config') + 1];
    expect(configFile).toBe(`${mount('config')}/config.yaml`);
    const settings = resolveSettings(configMap.data['config.yaml'], {}, 'config.yaml');
    expect(settings.allowlist.publicKeyFile).toBe(`${mount('config')}/allowlist.pub`);
    expect(Object.keys(configMap.data).sort()).toEqual(['allowlist.pub', 'config.yaml']);
    expect(settings.server.tlsCertFile).toBe(`${mount('tls')}/tls.crt`);
    expect(settings.server.tlsKeyFile).toBe(`${mount('tls')}/tls.key`);
    expect(container.ports[0].containerPort).toBe(settings.server.port);
    expect(settings.exemptNamespaces).toEqual(
      expect.arrayContaining(['kube-system', 'registry-watcher']),
    );
  });

  it('Service routes 443 to the webhook port; PDB keeps one replica', () => {
    const deployment = one('Deployment');
    const service = one('Service');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([
      expect.objectContaining({ port: 443, targetPort: 'https' }),
    ]);
    expect(deployment.spec.template.spec.containers[0].ports[0].name).toBe('https');
    const pdb = one('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  it('ValidatingWebhookConfiguration: every pod-bearing kind, 3 s, explicit failurePolicy, no side effects', () => {
    const config = one('ValidatingWebhookConfiguration');
    const service = one('Service');
    const serving = one('Certificate', 'registry-watcher-webhook');
    expect(config.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(
      `${serving.metadata.namespace}/${serving.metadata.name}`,
    );
    expect(serving.spec.dnsNames).toContain(
      `${service.metadata.name}.${service.metadata.namespace}.svc`,
    );
    const byName = Object.fromEntries(config.webhooks.map((w: Manifest) => [w.name, w]));
    expect(Object.keys(byName).sort()).toEqual([
      'enforce.registry-watcher.io',
      'warn.registry-watcher.io',
    ]);
    expect(byName['enforce.registry-watcher.io'].failurePolicy).toBe('Fail');
    expect(byName['warn.registry-watcher.io'].failurePolicy).toBe('Ignore');
    const resources = {
      Pod: 'pods',
      Deployment: 'deployments',
      ReplicaSet: 'replicasets',
      StatefulSet: 'statefulsets',
      DaemonSet: 'daemonsets',
      Job: 'jobs',
      CronJob: 'cronjobs',
      ReplicationController: 'replicationcontrollers',
    } as Record<string, string>;
    expect(Object.keys(resources).sort()).toEqual([...POD_BEARING_KINDS].sort());
    for (const webhook of config.webhooks) {
      expect(webhook).toMatchObject({
        timeoutSeconds: 3,
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      });
      expect(webhook.clientConfig.service).toMatchObject({
        name: service.metadata.name,
        namespace: service.metadata.namespace,
        port: 443,
        path: `/validate/${webhook.name.split('.')[0]}`,
      });
      const covered = webhook.rules.flatMap((r: Manifest) => r.resources);
      for (const resource of [...Object.values(resources), 'pods/ephemeralcontainers']) {
        expect(covered).toContain(resource);
      }
      for (const rule of webhook.rules) expect(rule.operations).toEqual(['CREATE', 'UPDATE']);
      const [names] = webhook.namespaceSelector.matchExpressions;
      expect(names).toEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', 'registry-watcher'],
      });
    }
  });

  it('MutatingWebhookConfiguration: /mutate with the validating webhooks’ rules, routing and failure policies', () => {
    const mutating = one('MutatingWebhookConfiguration');
    const validating = one('ValidatingWebhookConfiguration');
    expect(mutating.metadata.annotations).toEqual(validating.metadata.annotations);
    const pairs = [
      ['pin.registry-watcher.io', 'enforce.registry-watcher.io'],
      ['pin-warn.registry-watcher.io', 'warn.registry-watcher.io'],
    ];
    expect(mutating.webhooks.map((w: Manifest) => w.name).sort()).toEqual(
      pairs.map(([pin]) => pin).sort(),
    );
    for (const [pin, validate] of pairs) {
      const m = mutating.webhooks.find((w: Manifest) => w.name === pin);
      const v = validating.webhooks.find((w: Manifest) => w.name === validate);
      expect(m).toEqual({
        ...v,
        name: pin,
        reinvocationPolicy: 'IfNeeded',
        clientConfig: { service: { ...v.clientConfig.service, path: '/mutate' } },
      });
    }
  });

  it('NetworkPolicy: only the webhook port in, DNS and HTTPS out', () => {
    const policy = one('NetworkPolicy');
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.podSelector.matchLabels).toEqual(
      one('Deployment').spec.selector.matchLabels,
    );
    expect(policy.spec.ingress.flatMap((r: Manifest) => r.ports)).toEqual([
      { protocol: 'TCP', port: 8443 },
    ]);
    const egressPorts = policy.spec.egress.flatMap((r: Manifest) =>
      r.ports.map((p: Manifest) => p.port),
    );
    expect(egressPorts.sort()).toEqual([443, 53, 53, 80].sort());
  });

  it('cert-manager issuers chain to the serving certificate', () => {
    const serving = one('Certificate', 'registry-watcher-webhook');
    const ca = one('Certificate', 'registry-watcher-webhook-ca');
    const caIssuer = one('Issuer', serving.spec.issuerRef.name);
    expect(caIssuer.spec.ca.secretName).toBe(ca.spec.secretName);
    expect(one('Issuer', ca.spec.issuerRef.name).spec.selfSigned).toEqual({});
    expect(ca.spec.isCA).toBe(true);
  });
});

describe('recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels)', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const COMPONENT: Record<string, string> = {
    Namespace: 'namespace',
    Issuer: 'tls',
    Certificate: 'tls',
  };
  const labelled = [
    ...manifests.map((m) => [`${m.kind}/${m.metadata.name}`, m.kind, m.metadata.labels] as const),
    ['Deployment pod template', 'Pod', one('Deployment').spec.template.metadata.labels] as const,
  ];

  it.each(labelled)('%s carries all six', (_what, kind, labels) => {
    expect(labels).toEqual(
      expect.objectContaining({
        'app.kubernetes.io/name':
          kind === 'Namespace' ? 'registry-watcher' : 'registry-watcher-webhook',
        'app.kubernetes.io/instance': 'registry-watcher',
        'app.kubernetes.io/version': version,
        'app.kubernetes.io/component': COMPONENT[kind] ?? 'admission-webhook',
        'app.kubernetes.io/part-of': 'registry-watcher',
        'app.kubernetes.io/managed-by': 'kustomize',
      }),
    );
  });

  it('the rendered base has no Go-template braces, so a Helm chart can vendor it as is', () => {
    expect(JSON.stringify(manifests)).not.toContain('{{');
  });

  it('the version label is the image tag kustomize sets', () => {
    const image = one('Deployment').spec.template.spec.containers[0].image;
    expect(image).toMatch(new RegExp(`:${version.replace(/\./g, '\\.')}$`));
  });

  it('selectors name no label that changes per release or install (they are immutable)', () => {
    const selectors = [
      one('Deployment').spec.selector.matchLabels,
      one('Service').spec.selector,
      one('PodDisruptionBudget').spec.selector.matchLabels,
      one('NetworkPolicy').spec.podSelector.matchLabels,
    ];
    for (const selector of selectors) {
      expect(Object.keys(selector)).not.toContain('app.kubernetes.io/version');
      expect(Object.keys(selector)).not.toContain('app.kubernetes.io/instance');
    }
  });
});

describe('cluster/Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'cluster', 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .split('\n')
    .filter((line) => /^[A-Z]+ /.test(line))
    .map((line) => line.split(' ')[0]);

  it('copies only paths that exist and runs the bundling step', () => {
    for (const [, from] of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) {
      expect(existsSync(join(ROOT, from as string))).toBe(true);
    }
    expect(dockerfile).toMatch(/^RUN npx tsx cluster\/build\.ts \/out\/webhook\.js$/m);
    expect(instructions.filter((i) => i === 'FROM')).toHaveLength(2);
  });

  it('runs as a non-root user with the Deployment’s config path', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    expect(Number(user?.[1])).toBeGreaterThan(0);
    expect(Number(user?.[1])).toBe(one('Deployment').spec.template.spec.securityContext.runAsUser);
    const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)?.[1] ?? '[]');
    expect(cmd).toEqual(one('Deployment').spec.template.spec.containers[0].args);
  });
});
