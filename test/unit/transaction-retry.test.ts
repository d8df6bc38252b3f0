import { isTransactionConflict, retryTransactionConflicts } from '../../src/db/transaction-retry';

const pgError = (code: string) => Object.assign(new Error(code), { code });

test('a deadlock or serialization failure runs the transaction again, up to the attempts', async () => {
  for (const code of ['40P01', '40001']) {
    let runs = 0;
    const retried: number[] = [];
    const result = await retryTransactionConflicts(
      async () => {
        runs++;
        if (runs < 3) throw pgError(code);
        return 'committed';
      },
      { onRetry: (_, attempt) => retried.push(attempt) },
    );
    expect(result).toBe('committed');
    expect(runs).toBe(3);
    expect(retried).toEqual([1, 2]);
  }
});

test('the last conflict is thrown when the attempts are spent', async () => {
  let runs = 0;
  const run = retryTransactionConflicts(
    async () => {
      runs++;
      throw pgError('40P01');
    },
    { attempts: 2 },
  );
  await expect(run).rejects.toMatchObject({ code: '40P01' });
  expect(runs).toBe(2);
});

test('any other failure is thrown at once, unretried', async () => {
  for (const error of [pgError('23505'), pgError('57P01'), new Error('boom')]) {
    let runs = 0;
    await expect(
      retryTransactionConflicts(async () => {
        runs++;
        throw error;
      }),
    ).rejects.toBe(error);
    expect(runs).toBe(1);
  }
});

test('TypeORM wraps the driver error: its code is read through driverError', () => {
  expect(isTransactionConflict({ driverError: { code: '40P01' } })).toBe(true);
  expect(isTransactionConflict({ code: '40001' })).toBe(true);
  expect(isTransactionConflict({ code: '23505' })).toBe(false);
  expect(isTransactionConflict(null)).toBe(false);
});
