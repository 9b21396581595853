/**
 * The `model` label value for any model that is not in the catalogue (or no model at all). Clients
 * choose the model string, so labelling by it verbatim would let anyone create unbounded series (a
 * cardinality attack on Prometheus): labels take catalogue ids or this.
 */
export const OTHER_MODEL_LABEL = 'other';
