// Error codes from the exchange (engine rejects and edge errors) in plain words.
// Codes are stable (engine/src/message.rs RejectReason::code and the edge's error type);
// an unknown code falls back to the server's own message.

const SENTENCES: Record<string, string> = {
  INSUFFICIENT_BALANCE: "You don't have enough available balance for this order. Deposit more or lower the size.",
  POST_ONLY_WOULD_CROSS: 'This post-only order would trade immediately, so it was not placed. Move the price away from the other side of the book.',
  INVALID_PRICE: "The price isn't valid for this market: it must be positive and a whole multiple of the tick size.",
  INVALID_QUANTITY: "The quantity isn't valid for this market: it must be positive and a whole multiple of the lot size.",
  BELOW_MINIMUM: "The quantity is below this market's minimum order size.",
  FOK_NOT_FILLABLE: "The fill-or-kill order couldn't be filled completely at once, so nothing was traded.",
  NO_LIQUIDITY: 'There are no orders on the other side of the book to trade with right now.',
  UNKNOWN_MARKET: "That market doesn't exist.",
  UNKNOWN_ASSET: "That asset doesn't exist on this exchange.",
  UNKNOWN_ORDER: 'That order is no longer open (it may have been filled or canceled already).',
  UNKNOWN_USER: "That account doesn't exist.",
  CAPACITY_FULL: 'The exchange is at capacity right now. Try again shortly.',
  USER_EXISTS: 'That username is already taken. Choose another one, or sign in.',
  DUPLICATE_CLIENT_ORDER_ID: 'You already have an open order with this client order id.',
  INVALID_AMOUNT: 'The amount must be a positive number.',
  INVALID_AMEND: 'An amend must change the price or lower the quantity.',
  INVALID_COMMAND: 'The exchange could not understand this request.',
  OVERFLOW: 'The numbers are too large for this market.',
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
