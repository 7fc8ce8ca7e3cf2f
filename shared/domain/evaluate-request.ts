import type { ImageFacts } from './image-facts';
import type { ImageKey } from './image-ref';

/** Why an image is being looked at. Every trigger leads to the same re-evaluation. */
export const TRIGGERS = [
  'push',
  'delete',
  'scan',
  'inspector-scan',
  'inspector-finding',
  'rescan',
  'reconcile',
  'manual',
] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** One image to evaluate, whatever event or message asked for it (read by the queue's adapter). */
export interface EvaluateRequest {
  key: ImageKey;
  trigger: Trigger;
  eventId?: string;
  eventTime?: string;
  /**
   * What the rescan planner learnt of the image from the registry's listing, with no scan
   * started since: evaluate neither describes the image again nor re-reads findings of a
   * scan whose facts it keeps (docs/rescans.md, Facts).
   */
  seen?: ImageFacts;
}
