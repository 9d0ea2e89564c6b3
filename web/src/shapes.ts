// Server records as the page uses them. The API returns decimals as strings; these
// adapters read the documented field names (and common aliases) into one shape each, so
// a renamed field shows up as an empty cell rather than a crash.

import { normalize } from './decimal';

type Raw = Record<string, unknown>;

export interface Market {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  lotSize: string;
  minQuantity: string;
  makerFeeBps: number;
  takerFeeBps: number;
}

export interface Ticker {
  last: string;
  change: string;
  changePercent: string;
  high: string;
  low: string;
  volume: string;
}

export interface Trade {
  id: string;
  price: string;
  quantity: string;
  side: 'buy' | 'sell' | '';
  time: number;
}

export interface Candle {
  time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface Order {
  orderId: string;
  market: string;
  side: string;
  type: string;
  price: string;
  quantity: string;
  executedQty: string;
  remainingQty: string;
  status: string;
  timeInForce: string;
  time: number;
}

export interface Fill {
  tradeId: string;
  orderId: string;
  market: string;
  side: string;
  price: string;
  quantity: string;
  fee: string;
  liquidity: string;
  time: number;
}

export interface Balance {
  asset: string;
  available: string;
  locked: string;
}

function first(raw: Raw, ...keys: string[]): unknown {
  for (const key of keys) if (raw[key] !== undefined && raw[key] !== null) return raw[key];
  return undefined;
}

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/** Milliseconds since the epoch from seconds, ms, us or ns. */
export function toMillis(value: unknown): number {
  const number = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(number) || number <= 0) return Date.now();
  if (number > 1e17) return Math.floor(number / 1e6);
  if (number > 1e14) return Math.floor(number / 1e3);
  if (number > 1e11) return Math.floor(number);
  return Math.floor(number * 1000);
}

export function toMarket(raw: Raw): Market {
  return {
    symbol: text(first(raw, 'symbol', 'market')),
    baseAsset: text(first(raw, 'baseAsset', 'base')),
    quoteAsset: text(first(raw, 'quoteAsset', 'quote')),
    tickSize: normalize(first(raw, 'tickSize')),
    lotSize: normalize(first(raw, 'lotSize')),
    minQuantity: normalize(first(raw, 'minQuantity', 'minQty')),
    makerFeeBps: Number(first(raw, 'makerFeeBps') ?? 0),
    takerFeeBps: Number(first(raw, 'takerFeeBps') ?? 0),
  };
}

export function toTicker(raw: Raw): Ticker {
  return {
    last: normalize(first(raw, 'lastPrice', 'last', 'close')),
    change: normalize(first(raw, 'priceChange', 'change')),
    changePercent: text(first(raw, 'priceChangePercent', 'changePercent')),
    high: normalize(first(raw, 'highPrice', 'high')),
    low: normalize(first(raw, 'lowPrice', 'low')),
    volume: normalize(first(raw, 'volume', 'baseVolume')),
  };
}

function toSide(raw: Raw): Trade['side'] {
  const side = text(first(raw, 'takerSide', 'side', 'aggressorSide')).toLowerCase();
  if (side === 'buy' || side === 'sell') return side;
  const makerIsBuyer = first(raw, 'isBuyerMaker');
  if (typeof makerIsBuyer === 'boolean') return makerIsBuyer ? 'sell' : 'buy';
  return '';
}

export function toTrade(raw: Raw): Trade {
  return {
    id: text(first(raw, 'tradeId', 'id')),
    price: normalize(first(raw, 'price')),
    quantity: normalize(first(raw, 'quantity', 'qty')),
    side: toSide(raw),
    time: toMillis(first(raw, 'time', 'timestamp', 'ts')),
  };
}

/** A candle from [openTime, o, h, l, c, v, ...] or an object. */
export function toCandle(raw: unknown): Candle {
  if (Array.isArray(raw)) {
    const [time, open, high, low, close, volume] = raw;
    return { time: toMillis(time), open: normalize(open), high: normalize(high), low: normalize(low), close: normalize(close), volume: normalize(volume) };
  }
  const record = (raw ?? {}) as Raw;
  return {
    time: toMillis(first(record, 'openTime', 'time', 'startTime', 't', 'ts')),
    open: normalize(first(record, 'open', 'o')),
    high: normalize(first(record, 'high', 'h')),
    low: normalize(first(record, 'low', 'l')),
    close: normalize(first(record, 'close', 'c')),
    volume: normalize(first(record, 'volume', 'v')),
  };
}

export function toOrder(raw: Raw): Order {
  return {
    orderId: text(first(raw, 'orderId', 'id')),
    market: text(first(raw, 'market', 'symbol')),
    side: text(first(raw, 'side')).toLowerCase(),
    type: text(first(raw, 'type')).toLowerCase(),
    price: normalize(first(raw, 'price')),
    quantity: normalize(first(raw, 'quantity', 'origQty')),
    executedQty: normalize(first(raw, 'executedQty', 'filledQty')),
    remainingQty: normalize(first(raw, 'remainingQty')),
    status: text(first(raw, 'status')).toUpperCase(),
    timeInForce: text(first(raw, 'timeInForce')),
    time: toMillis(first(raw, 'updatedAt', 'time', 'createdAt', 'timestamp')),
  };
}

export function toFill(raw: Raw): Fill {
  const maker = first(raw, 'isMaker', 'maker');
  return {
    tradeId: text(first(raw, 'tradeId', 'id')),
    orderId: text(first(raw, 'orderId')),
    market: text(first(raw, 'market', 'symbol')),
    side: text(first(raw, 'side')).toLowerCase(),
    price: normalize(first(raw, 'price')),
    quantity: normalize(first(raw, 'quantity', 'qty')),
    fee: normalize(first(raw, 'fee')),
    liquidity: typeof maker === 'boolean' ? (maker ? 'maker' : 'taker') : text(first(raw, 'liquidity')).toLowerCase(),
    time: toMillis(first(raw, 'time', 'timestamp', 'ts')),
  };
}

export function toBalance(raw: Raw): Balance {
  return {
    asset: text(first(raw, 'asset')),
    available: normalize(first(raw, 'available', 'free')),
    locked: normalize(first(raw, 'locked')),
  };
}

/** The list inside an answer that is either a list or {key: list}. */
export function listOf(value: unknown, ...keys: string[]): Raw[] {
  if (Array.isArray(value)) return value as Raw[];
  if (value && typeof value === 'object') {
    for (const key of keys) {
      const inner = (value as Raw)[key];
      if (Array.isArray(inner)) return inner as Raw[];
    }
  }
  return [];
}
