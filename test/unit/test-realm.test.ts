import { RegistryWatcherError, StoreConflictError } from '../../shared/domain/errors';

// test/support/env.js lets Jest's sandbox Error recognise errors thrown by Node itself, as
// they are recognised in Lambda; it must not make every error an instance of every subclass.
const nodeError = (): unknown => {
  try {
    Buffer.alloc(-1);
  } catch (error) {
    return error;
  }
  throw new Error('Buffer.alloc(-1) did not throw');
};

it('an error thrown by Node itself is an Error, as outside Jest', () => {
  const error = nodeError();
  expect(Object.getPrototypeOf(Object.getPrototypeOf(error)) === Error.prototype).toBe(false);
  expect(error instanceof Error).toBe(true);
});

it('subclasses keep ordinary instanceof: neither a Node error nor a plain Error is one', () => {
  expect(nodeError() instanceof RegistryWatcherError).toBe(false);
  expect(new Error('plain') instanceof StoreConflictError).toBe(false);
  expect(new StoreConflictError('x') instanceof RegistryWatcherError).toBe(true);
  expect(new StoreConflictError('x') instanceof Error).toBe(true);
  expect({ name: 'Error', message: 'duck' } instanceof Error).toBe(false);
});
