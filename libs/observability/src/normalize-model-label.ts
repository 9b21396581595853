/** The label value for any model that is not in the catalogue (or no model at all). */
export const OTHER_MODEL_LABEL = 'other';

// Catalogue ids are short (`deepseek-ai/DeepSeek-V3-0324`); a longer "id" is not worth a series.
const MAX_MODEL_LABEL_LENGTH = 200;

/**
 * The `model` label value for a metric: the catalogue id when the model is known, else `other`.
 * Clients choose the model string, so labelling by it verbatim would let anyone create unbounded
 * series (a cardinality attack on Prometheus). `isKnown` is the catalogue lookup.
 */
export function normalizeModelLabel(model: string | null | undefined, isKnown: (id: string) => boolean): string {
  if (typeof model !== 'string' || model.length === 0 || model.length > MAX_MODEL_LABEL_LENGTH) {
    return OTHER_MODEL_LABEL;
  }
  return isKnown(model) ? model : OTHER_MODEL_LABEL;
}
