// A small HTTP client for tests: JSON in, status and JSON out, with an optional bearer token.
// `send` is fetch by default; app.request sends to an app without a socket.

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Api {
  baseUrl: string;
  token: string | undefined;
  get<T = any>(path: string, headers?: Record<string, string>): Promise<Reply<T>>;
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply<T>>;
  put<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply<T>>;
  delete<T = any>(path: string, headers?: Record<string, string>): Promise<Reply<T>>;
  /** Sends a raw body exactly as given. */
  raw<T = any>(method: string, path: string, body: string | undefined, headers?: Record<string, string>): Promise<Reply<T>>;
  as(token: string | undefined): Api;
}

export type Send = (url: string, init: RequestInit) => Response | Promise<Response>;

export function api(baseUrl: string, token: string | undefined, send: Send = fetch): Api {
  const raw = async (method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) => {
    const response = await send(baseUrl + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as any };
  };
  const json = (method: string) => (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    raw(method, path, body === undefined ? undefined : JSON.stringify(body), { 'content-type': 'application/json', ...headers });
  return {
    baseUrl,
    token,
    get: (path, headers) => raw('GET', path, undefined, headers),
    post: json('POST'),
    put: json('PUT'),
    delete: (path, headers) => raw('DELETE', path, undefined, headers),
    raw,
    as: (other) => api(baseUrl, other, send),
  };
}
