import type { RequestHandler } from 'express';
import { NotFoundError, UpstreamError } from '@rgw/errors';
import type { ModelCatalog } from '@rgw/model-catalog';
import { resolveCatalogModel } from '../turns/resolve-catalog-model.ts';

/** `GET /v1/models`: the backend's list as last fetched, every backend field kept. */
export function listModels(catalog: ModelCatalog): RequestHandler {
  return (_req, res) => {
    const models = catalog.list();
    if (!models) throw new UpstreamError('The model list could not be fetched from the backend yet.', { code: 'models_unavailable' });
    res.json({ object: 'list', data: models });
  };
}

/** `GET /v1/models/{id}`: exact id, then case-insensitive. */
export function retrieveModel(catalog: ModelCatalog): RequestHandler {
  return (req, res) => {
    const requested = String(req.params['id'] ?? '');
    const { knownModel } = resolveCatalogModel(catalog, requested);
    const model = knownModel === null ? undefined : catalog.get(knownModel);
    // Without a list nothing can be shown, though a turn would pass the model through.
    if (!model) throw new NotFoundError(`The model '${requested}' does not exist.`, { param: 'model', code: 'model_not_found' });
    res.json(model);
  };
}
