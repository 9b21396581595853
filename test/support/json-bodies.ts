/**
 * The JSON bodies tests read off the gateway's wire, typed once. They are declared here rather than
 * imported from the gateway's own code so a test states the contract a client relies on.
 */

/** The OpenAI error envelope every non-2xx answer carries: `{"error":{"message","type","param","code"}}`. */
export interface ErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

/** The fields of a Responses API `Response` object the HTTP-level tests read. */
export interface ResponseBody {
  readonly id: string;
  readonly model: string;
  readonly status: string;
  readonly output: readonly { readonly type: string; readonly content?: readonly { readonly text?: string }[] }[];
}

/**
 * What a Responses endpoint answers: the error envelope on failure, the Response on success. Both
 * sides are optional, so a test reads the one it expects through `?.` and fails if it is absent.
 */
export type AnswerBody = Partial<ErrorBody> & Partial<ResponseBody>;
