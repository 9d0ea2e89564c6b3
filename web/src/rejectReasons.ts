// Error codes from the exchange (engine rejects and edge errors) in plain words.
// The engine's reject codes come from its table (rejectTexts.ts, generated from
// engine/src/reject_reason.rs); the edge's own codes and the page's are listed here.
// An unknown code falls back to the server's own message.

import { REJECT_TEXTS } from './rejectTexts';

const SENTENCES: Record<string, string> = {
  ...REJECT_TEXTS,
  UNAUTHORIZED: 'Wrong username or password, or your session has expired. Please sign in again.',
  FORBIDDEN: "You aren't allowed to do that.",
  RATE_LIMITED: "You're sending requests too quickly. Wait a moment and try again.",
  TOO_MANY_REQUESTS: "You're sending requests too quickly. Wait a moment and try again.",
  UNAVAILABLE: 'The exchange is unavailable right now. Try again in a moment.',
  ENGINE_UNAVAILABLE: 'The exchange is unavailable right now. Try again in a moment.',
  TIMEOUT: 'The exchange took too long to answer. Check your open orders before retrying.',
  NETWORK: "Couldn't reach the exchange. Check your connection.",
};

/** A sentence for an error code; the server's message when the code is unknown. */
export function explain(code: string, serverMessage: string): string {
  const sentence = SENTENCES[code];
  if (sentence) return sentence;
  const detail = serverMessage.trim();
  if (!detail) return `The request failed (${code}).`;
  return detail.charAt(0).toUpperCase() + detail.slice(1) + (/[.!?]$/.test(detail) ? '' : '.');
}
