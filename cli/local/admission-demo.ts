import { indexAllowlist } from '../../cluster/webhook/allowlist-index';
import { checkImage } from '../../cluster/webhook/decide';
import type { Allowlist } from '../../shared/domain/allowlist';
import { type ImageKey, imageId } from '../../shared/domain/image-ref';
import type { CliIo } from '../io';

/** What the admission webhook answers, in enforce mode, for Pods using the sample images. */
export function showAdmission(
  allowlist: Allowlist,
  images: { label: string; key?: ImageKey; reference?: string }[],
  io: CliIo,
  now: Date,
): void {
  io.out('\n» admission: the webhook (enforce mode) against that allowlist');
  const index = indexAllowlist(allowlist);
  for (const { label, key, reference } of images) {
    const image = reference ?? (key ? imageId(key) : '');
    const check = checkImage(
      { field: 'spec.containers[0]', kind: 'containers', name: 'app', image },
      index,
      { resolveTags: false, unwatchedRegistries: 'deny', failureMode: 'closed' },
      now,
    );
    io.out(`  ${check.outcome.toUpperCase().padEnd(5)} ${label}: ${check.message}`);
  }
}
