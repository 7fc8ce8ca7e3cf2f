/**
 * Ports of the announcing side (changes, allowlist, notify, daily digest). Kept apart from
 * ports/index.ts, which holds the evaluation ports.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import type { AdmittedImage, RefusedImage } from '../domain/allowlist';
import type { Announcement } from '../domain/announcement';
import type { InvalidEventError } from '../domain/errors';
import type { Signer } from './index';

/** Publishes announcements for the alert channels (SNS in AWS: subject and attributes are its own). */
export interface MessagePublisher {
  publish(announcement: Announcement): Promise<void>;
}

/** `claimed`: go ahead; `done`: already delivered; `busy`: another delivery holds the lease. */
export type ClaimResult = 'claimed' | 'done' | 'busy';

/** Remembers which deliveries happened, by deduplication key (transition id, digest id). */
export interface IdempotencyStore {
  claim(key: string, now: Date): Promise<ClaimResult>;
  complete(key: string, now: Date): Promise<void>;
  /** Gives a claim back after a failed delivery, so a retry may deliver. */
  release(key: string): Promise<void>;
}

/** Puts a received queue message back for later (SQS: its visibility timeout). */
export interface MessageDeferral {
  /** Returns the seconds the message was deferred by (rounded up, capped by the queue). */
  defer(receiptHandle: string, delayMs: number): Promise<number>;
}

/** A stream record that failed for a reason a retry cannot fix, kept whole for `replay`. */
export interface ParkedRecord {
  kind: 'ParkedStreamRecord';
  /** The record's sequence number (or event id). */
  id: string;
  reason: string;
  parkedAt: string;
  /** The record exactly as Lambda delivered it. */
  record: unknown;
}

/** Where records that cannot be announced are kept (S3 in AWS). */
export interface RecordParking {
  park(record: ParkedRecord): Promise<void>;
}

/** Asks for the allowlist to be rebuilt; bursts collapse into a few rebuilds. */
export interface RebuildTrigger {
  /**
   * `dirty`: the store keys of the records that moved the admitted set, so the build reads
   * them by key (the index it reads is eventually consistent).
   */
  requestRebuild(now: Date, reason: string, dirty?: readonly string[]): Promise<void>;
}

/** The admitted set (the sparse `admitted` index in AWS), page by page. */
export interface AdmittedImages {
  /**
   * `recheck`: store keys read by key with a consistent read; what they say replaces what
   * the index said about them (a change the index has not caught up with is not missed).
   */
  pages(options?: { recheck?: readonly string[] }): AsyncIterable<AdmittedImage[]>;
}

/** Strictly increasing allowlist sequence numbers. */
export interface SequenceCounter {
  /** The next number, at least `atLeast` (repairs a counter that fell behind the store). */
  next(atLeast?: number): Promise<number>;
}

/** The allowlist as currently published. */
export interface PublishedAllowlist {
  /** Opaque version token for the conditional write (the S3 ETag). */
  etag: string;
  sequence?: number;
}

export interface AllowlistPublication {
  document: Buffer;
  bundle: SerializedBundle;
  publicKeyPem: string;
  sequence: number;
}

/**
 * The allowlist's detached signature over its exact bytes. The format (a sigstore
 * message-signature bundle) belongs to the adapter, adapters/sigstore/allowlist-signatures.ts.
 */
export interface AllowlistSignatures {
  sign(document: Buffer, signer: Signer): Promise<SerializedBundle>;
  /** Undefined when the bundle signs exactly these bytes with this key; why not otherwise. */
  check(document: Buffer, bundle: unknown, publicKeyPem: string): SignatureProblem | undefined;
}

export interface SignatureProblem {
  /** DIGEST_MISMATCH: the bytes changed after signing; SIGNATURE_INVALID: anything else. */
  reason: 'DIGEST_MISMATCH' | 'SIGNATURE_INVALID';
  message: string;
  /** The verifier's own error. */
  cause: Error;
}

/** Where the signed allowlist lives (S3 in AWS, a folder or s3rver locally). */
export interface AllowlistStore {
  current(): Promise<PublishedAllowlist | undefined>;
  /**
   * Writes document, bundle and key. `expected` is what `current()` returned: the write
   * fails with StoreConflictError when someone else published meanwhile.
   */
  publish(
    publication: AllowlistPublication,
    expected: PublishedAllowlist | undefined,
  ): Promise<{ etag: string }>;
}

/**
 * One alert channel: delivers an announcement in the channel's own format (Slack Block Kit
 * through an incoming webhook; printed by `npm start` when no webhook is configured).
 */
export interface AlertSink {
  /** The channel's name (`SLACK`): the key of its delivery markers and what logs say. */
  readonly channel: string;
  deliver(announcement: Announcement): Promise<void>;
  /**
   * How long the channel asked to be left alone, when `error` (from `deliver`) says so
   * (Slack's HTTP 429 Retry-After): notify defers the rest of its batch by that long.
   */
  retryAfterMs?(error: unknown): number | undefined;
}

/** One stream record, read or not (the stream-records adapter builds it). */
export interface StreamChange {
  /** The record's sequence number: what Lambda needs back for a partial batch failure. */
  id: string;
  oldItem?: Record<string, unknown>;
  newItem?: Record<string, unknown>;
  /** The record as delivered, for parking. */
  raw?: unknown;
  /** Why the record could not be read (set by the parser): parked, never retried. */
  problem?: InvalidEventError;
}

/** An object a hop kept (a parked record, a Lambda on-failure batch), by name. */
export interface KeptObject {
  name: string;
  text: string;
}

/** Judged digests that are not admitted, newest transition first (a sparse index in AWS). */
export interface RefusedImages {
  /**
   * About the `limit` newest (each shard gives its share), in no particular order;
   * `complete` when that is all of them.
   */
  newest(limit: number): Promise<{ images: RefusedImage[]; complete: boolean }>;
}
