import type { Counter } from 'prom-client';
import type { ResponseStore } from '@rgw/response-store';

/**
 * Counts every store call in `gateway_response_store_operations_total{operation,result}`:
 * operation = get | put | delete | cancel, result = hit | miss | ok | error. Reads of several
 * records count once per call (hit when anything was found).
 */
export function instrumentResponseStore(store: ResponseStore, counter: Counter<'operation' | 'result'>): ResponseStore {
  const count = async <T>(operation: string, call: () => Promise<T>, resultOf: (value: T) => string): Promise<T> => {
    try {
      const value = await call();
      counter.inc({ operation, result: resultOf(value) });
      return value;
    } catch (error) {
      counter.inc({ operation, result: 'error' });
      throw error;
    }
  };
  const hitOrMiss = (found: boolean) => (found ? 'hit' : 'miss');
  return {
    save: (owner, record, options) =>
      count(
        'put',
        () => store.save(owner, record, options),
        () => 'ok',
      ),
    get: (owner, id) =>
      count(
        'get',
        () => store.get(owner, id),
        (value) => hitOrMiss(value !== null),
      ),
    getMany: (owner, ids) =>
      count(
        'get',
        () => store.getMany(owner, ids),
        (values) => hitOrMiss(values.some((value) => value !== null)),
      ),
    delete: (owner, id) => count('delete', () => store.delete(owner, id), hitOrMiss),
    findItems: (owner, ids) =>
      count(
        'get',
        () => store.findItems(owner, ids),
        (found) => hitOrMiss(found.size > 0),
      ),
    cancel: (owner, id) =>
      count(
        'cancel',
        () => store.cancel(owner, id),
        (result) => hitOrMiss(result.kind !== 'not_found'),
      ),
    readStatus: (owner, id) =>
      count(
        'get',
        () => store.readStatus(owner, id),
        (status) => hitOrMiss(status !== null),
      ),
    assertWritable: () => store.assertWritable?.(),
  };
}
