import { MAX_MEMO_LENGTH, MAX_PARSED_IMAGES, parseImage } from '../../cluster/webhook/image-refs';
import { parseImageReference } from '../../shared/domain/image-ref';
import { digest, ECR } from '../support/cluster';

describe('parseImage: parseImageReference once per distinct reference', () => {
  it.each([
    [`${ECR}/prod/api@${digest(1)}`, `${ECR}/prod/api`],
    ['nginx:1.27', 'docker.io/library/nginx'],
    ['docker.io/library/nginx', 'docker.io/library/nginx'],
    ['Registry.Example:443/team/app', 'registry.example/team/app'],
    ['localhost:5000/app:dev', 'localhost:5000/app'],
  ])('%s is keyed as %s, with the same reference parseImageReference gives', (image, key) => {
    const parsed = parseImage(image);
    expect(parsed).toEqual({ ok: true, ref: parseImageReference(image), repository: key });
  });

  it.each([
    ['', 'it is empty'],
    ['prod/API@sha256:abc', 'digest "sha256:abc"'],
    ['UPPER/Case', 'repository path component "Case"'],
  ])('%j is invalid with the message parseImageReference throws', (image, message) => {
    const parsed = parseImage(image);
    expect(parsed).toEqual({ ok: false, message: expect.stringContaining(message) });
    expect(() => parseImageReference(image)).toThrow((parsed as { message: string }).message);
  });

  it('answers a repeated reference from the memo, frozen', () => {
    const image = `${ECR}/prod/web@${digest(2)}`;
    const first = parseImage(image);
    expect(parseImage(image)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.ok && Object.isFrozen(first.ref)).toBe(true);
  });

  it('does not keep strings longer than any real reference, and still answers them', () => {
    const long = `${ECR}/${'a/'.repeat(MAX_MEMO_LENGTH / 2)}app:1`;
    const first = parseImage(long);
    expect(first).toEqual({
      ok: false,
      message: expect.stringContaining('longer than 255 characters'),
    });
    expect(parseImage(long)).not.toBe(first);
    expect(parseImage(long)).toEqual(first);
  });

  it('is bounded: past the limit it starts over and still answers correctly', () => {
    const image = `${ECR}/prod/bounded@${digest(3)}`;
    const first = parseImage(image);
    for (let i = 0; i < MAX_PARSED_IMAGES; i++) parseImage(`${ECR}/prod/filler-${i}:1`);
    const again = parseImage(image);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
