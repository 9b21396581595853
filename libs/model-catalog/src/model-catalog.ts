import type { Logger } from 'pino';

/** One backend model. Every field the backend sent is kept (Chutes: pricing, supported_features, modalities, context length). */
export interface ModelEntry {
  readonly id: string;
  readonly object: 'model';
  readonly created: number;
  readonly owned_by: string;
  readonly [field: string]: unknown;
}

export type ModelResolution =
  /** Exact, else case-insensitive match; `id` is the backend's exact id. */
  | { readonly kind: 'found'; readonly id: string }
  /** Closest ids (edit distance / substring), up to 5. */
  | { readonly kind: 'unknown'; readonly suggestions: readonly string[] }
  /** No list available: pass the request through as sent. */
  | { readonly kind: 'unchecked' };

export interface ModelCatalog {
  list(): readonly ModelEntry[] | null;
  get(id: string): ModelEntry | undefined;
  resolve(requested: string): ModelResolution;
  /** Seconds since the list was last fetched successfully (null if never). */
  ageSeconds(): number | null;
  /**
   * Why the model list could not be fetched, while it cannot (the last attempt failed), e.g. "The backend
   * at host has no GET /models (HTTP 404: Not Found). Check UPSTREAM_BASE_URL…"; null once one succeeds.
   */
  lastError(): string | null;
  /** First load. Never throws: a failing backend leaves the catalogue empty and retried. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Supplied by the gateway (through its upstream client) or by `createHttpListModels`. */
export type ListModels = (signal: AbortSignal) => Promise<ModelEntry[]>;

export interface EmbeddedModelCatalogOptions {
  listModels: ListModels;
  /** Refresh period, ms (MODELS_REFRESH_SECONDS × 1000). */
  refreshMs: number;
  /** Wall clock in ms (default `Date.now`). */
  now?: () => number;
  logger?: Logger;
}
