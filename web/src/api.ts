// The REST client: one place that knows paths, the token and the error shape.

import { explain } from './rejectReasons';

const BASE = '/api/v1';
const TOKEN_KEY = 'pinwheel.token';
const USER_KEY = 'pinwheel.user';
const REQUEST_TIMEOUT_MS = 10_000;

/** An error answer from the exchange, with its stable code and a sentence for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly serverMessage: string,
  ) {
    super(explain(code, serverMessage));
  }
}

export interface Session {
  token: string;
  username: string;
}

export function loadSession(): Session | null {
  const token = localStorage.getItem(TOKEN_KEY);
  const username = localStorage.getItem(USER_KEY);
  return token && username ? { token, username } : null;
}

export function saveSession(session: Session | null): void {
  if (session) {
    localStorage.setItem(TOKEN_KEY, session.token);
    localStorage.setItem(USER_KEY, session.username);
  } else {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
  }
}

type Method = 'GET' | 'POST' | 'DELETE' | 'PATCH';

/** Calls the API; resolves with the parsed body, rejects with an ApiError. */
export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${BASE}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    throw new ApiError(0, timedOut ? 'TIMEOUT' : 'NETWORK', String(error));
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const fields = (parsed ?? {}) as { code?: unknown; message?: unknown };
    const code = typeof fields.code === 'string' ? fields.code : `HTTP_${response.status}`;
    const message = typeof fields.message === 'string' ? fields.message : text.slice(0, 200);
    throw new ApiError(response.status, code, message);
  }
  return parsed as T;
}

/** Query string from defined values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
