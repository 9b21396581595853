import type { RequestHandler } from 'express';
import { NotFoundError, UpstreamError } from '@rgw/errors';
import type { ModelCatalog } from '@rgw/model-catalog';

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
    const resolution = catalog.resolve(requested);
    const model = resolution.kind === 'found' ? catalog.get(resolution.id) : undefined;
    if (!model) {
      const hint = resolution.kind === 'unknown' && resolution.suggestions.length > 0 ? ` Did you mean: ${resolution.suggestions.join(', ')}?` : '';
      throw new NotFoundError(`The model '${requested}' does not exist.${hint}`, { param: 'model', code: 'model_not_found' });
    }
    res.json(model);
  };
}
