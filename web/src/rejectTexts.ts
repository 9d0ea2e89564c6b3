// Generated from engine/src/reject_reason.rs (the `plain` column of REJECTS); do not edit.
// Regenerate: PINWHEEL_BLESS=1 cargo test -p pinwheel-engine reject_reason

/** The engine's reject codes in plain words. */
export const REJECT_TEXTS: Record<string, string> = {
  UNKNOWN_MARKET: "That market doesn't exist.",
  UNKNOWN_ASSET: "That asset doesn't exist on this exchange.",
  UNKNOWN_USER: "That account doesn't exist.",
  INSUFFICIENT_BALANCE: "You don't have enough available balance for this order. Deposit more or lower the size.",
  INVALID_PRICE: "The price isn't valid for this market: it must be positive and a whole multiple of the tick size.",
  INVALID_QUANTITY: "The quantity isn't valid for this market: it must be positive and a whole multiple of the lot size.",
  BELOW_MINIMUM: "The quantity is below this market's minimum order size.",
  POST_ONLY_WOULD_CROSS: "This post-only order would trade immediately, so it was not placed. Move the price away from the other side of the book.",
  FOK_NOT_FILLABLE: "The fill-or-kill order couldn't be filled completely at once, so nothing was traded.",
  UNKNOWN_ORDER: "That order is no longer open (it may have been filled or canceled already).",
  CAPACITY_FULL: "The exchange is at capacity right now. Try again shortly.",
  USER_EXISTS: "That username is already taken. Choose another one, or sign in.",
  NO_LIQUIDITY: "There are no orders on the other side of the book to trade with right now.",
  DUPLICATE_CLIENT_ORDER_ID: "You already have an open order with this client order id.",
  INVALID_AMOUNT: "The amount must be a positive number.",
  INVALID_COMMAND: "The exchange could not understand this request.",
  INVALID_AMEND: "An amend must change the price or lower the quantity.",
  API_KEY_EXISTS: "That API key id is already registered. Create the key again.",
  UNKNOWN_API_KEY: "That API key doesn't exist.",
  OVERFLOW: "The numbers are too large for this market.",
  MARKET_HALTED: "Trading in this market is halted for now. You can still cancel your orders.",
  ADMIN_ONLY: "Only an exchange administrator can do this.",
  USER_NOT_FOUND: "That user doesn't exist.",
  ROLE_UNCHANGED: "That user already has that role.",
  MARKET_NOT_HALTED: "That market is not halted.",
};
