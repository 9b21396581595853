import type { GatewayMetrics } from '@rgw/observability';
import { type ResponseStore, type StorableResponse, StoreUnavailableError } from '@rgw/response-store';

/**
 * Every store call, measured in one wrapper:
 * - `gateway_response_store_operations_total{operation,result}`: operation = get | put | delete | cancel,
 *   result = hit | miss | ok | error (reads of several records count once per call: hit when anything was found);
 * - `gateway_response_store_failures_total{operation,reason}`: reason = unavailable | replica_ack | full,
 *   the figures behind the GatewayResponseStore* alerts (a refused `assertWritable` counts as a failed put);
 * - `gateway_response_store_save_duration_seconds{result}`: one save, replica acknowledgement included.
 */
export function instrumentResponseStore<R extends StorableResponse>(
  store: ResponseStore<R>,
  metrics: Pick<GatewayMetrics, 'storeOperations' | 'storeFailures' | 'storeSaveDuration'>,
): ResponseStore<R> {
  const failed = (operation: string, error: unknown) =>
    metrics.storeFailures.inc({ operation, reason: error instanceof StoreUnavailableError ? error.reason : 'unavailable' });
  const count = async <T>(operation: string, call: () => Promise<T>, resultOf: (value: T) => string): Promise<T> => {
    try {
      const value = await call();
      metrics.storeOperations.inc({ operation, result: resultOf(value) });
      return value;
    } catch (error) {
      metrics.storeOperations.inc({ operation, result: 'error' });
      failed(operation, error);
      throw error;
    }
  };
  const hitOrMiss = (found: boolean) => (found ? 'hit' : 'miss');
  return {
    async save(owner, record, options) {
      const stop = metrics.storeSaveDuration.startTimer();
      try {
        const result = await count(
          'put',
          () => store.save(owner, record, options),
          () => 'ok',
        );
        stop({ result: 'ok' });
        return result;
      } catch (error) {
        stop({ result: 'error' });
        throw error;
      }
    },
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
    assertWritable() {
      try {
        store.assertWritable?.();
      } catch (error) {
        failed('put', error);
        throw error;
      }
    },
  };
}
