import { NotFoundError } from '@rgw/errors';
import type { ModelCatalog } from '@rgw/model-catalog';

export interface CatalogModel {
  /** The id to send the backend: the catalogue's exact id, or the client's string when no list is at hand. */
  readonly backendModel: string;
  /** The catalogue id, or null when the list could not be checked: what metric labels and breaker scopes may use. */
  readonly knownModel: string | null;
}

/**
 * The one model lookup of the gateway (turns, background runs, `GET /v1/models/{id}`): exact id, then
 * case-insensitive; an unknown model is the API's 404 `model_not_found`, naming the closest ids.
 * Without a list (the backend's `/models` failed so far) the request passes through as sent.
 */
export function resolveCatalogModel(catalog: ModelCatalog, requested: string): CatalogModel {
  const resolution = catalog.resolve(requested);
  if (resolution.kind === 'unknown') {
    const hint = resolution.suggestions.length > 0 ? ` Did you mean: ${resolution.suggestions.join(', ')}?` : '';
    throw new NotFoundError(`The model '${requested}' does not exist.${hint}`, { param: 'model', code: 'model_not_found' });
  }
  return resolution.kind === 'found' ? { backendModel: resolution.id, knownModel: resolution.id } : { backendModel: requested, knownModel: null };
}
