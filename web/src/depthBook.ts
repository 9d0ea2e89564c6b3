// A local copy of one market's book, kept from depth@ messages and safe against gaps.
//
// The stream sends a snapshot and then deltas, each with a sequence number. A delta is
// applied only if it follows the last applied one (its prevSequence, when present, equals
// the last sequence; otherwise its sequence is the next one). Deltas older than the
// snapshot are dropped; any other gap makes the book unsynced, and the caller re-subscribes
// to get a fresh snapshot. Deltas that arrive before a snapshot are buffered (boundedly) and
// replayed on top of it, so a snapshot fetched over REST works as well as one from the stream.

import { normalize } from './decimal';

export type Level = [price: string, quantity: string];

export interface DepthMessage {
  type?: string;
  snapshot?: boolean;
  bids?: unknown;
  asks?: unknown;
  sequence?: unknown;
  prevSequence?: unknown;
  side?: unknown;
  price?: unknown;
  quantity?: unknown;
}

export type ApplyResult = 'snapshot' | 'applied' | 'stale' | 'gap' | 'waiting';

const MAX_BUFFERED = 1_000;

export class DepthBook {
  private buffered: DepthMessage[] = [];
  private bids = new Map<string, string>();
  private asks = new Map<string, string>();
  private sequence: bigint | null = null;

  get synced(): boolean {
    return this.sequence !== null;
  }

  get lastSequence(): bigint | null {
    return this.sequence;
  }

  /** Forgets everything; the next snapshot starts over. */
  reset(): void {
    this.bids.clear();
    this.asks.clear();
    this.sequence = null;
    this.buffered = [];
  }

  /** Applies one stream message and says what happened. */
  apply(message: DepthMessage): ApplyResult {
    const sequence = toSequence(message.sequence);
    if (isSnapshot(message)) {
      this.bids = toMap(message.bids);
      this.asks = toMap(message.asks);
      this.sequence = sequence ?? 0n;
      const pending = this.buffered;
      this.buffered = [];
      for (const delta of pending) if (this.apply(delta) === 'gap') return 'gap';
      return 'snapshot';
    }
    if (this.sequence === null) {
      if (this.buffered.length < MAX_BUFFERED) this.buffered.push(message);
      return 'waiting';
    }
    if (sequence === null) return 'gap';
    if (sequence <= this.sequence) return 'stale';
    const previous = toSequence(message.prevSequence);
    const follows = previous !== null ? previous === this.sequence : sequence === this.sequence + 1n;
    if (!follows) {
      this.reset();
      return 'gap';
    }
    this.applyLevels(message);
    this.sequence = sequence;
    return 'applied';
  }

  /** Best-first levels: bids high to low, asks low to high. */
  levels(side: 'bids' | 'asks', limit: number): Level[] {
    const map = side === 'bids' ? this.bids : this.asks;
    const sorted = [...map.entries()].sort((a, b) => comparePrices(a[0], b[0]));
    if (side === 'bids') sorted.reverse();
    return sorted.slice(0, limit);
  }

  private applyLevels(message: DepthMessage): void {
    for (const [price, quantity] of toLevels(message.bids)) setLevel(this.bids, price, quantity);
    for (const [price, quantity] of toLevels(message.asks)) setLevel(this.asks, price, quantity);
    if (message.side !== undefined && message.price !== undefined) {
      const side = String(message.side).toLowerCase();
      const map = side === 'buy' || side === 'bid' || side === 'bids' ? this.bids : this.asks;
      setLevel(map, normalize(message.price), normalize(message.quantity ?? '0'));
    }
  }
}

function isSnapshot(message: DepthMessage): boolean {
  return message.type === 'snapshot' || message.snapshot === true;
}

function toSequence(value: unknown): bigint | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  return null;
}

function toLevels(value: unknown): Level[] {
  if (!Array.isArray(value)) return [];
  const out: Level[] = [];
  for (const entry of value) {
    if (Array.isArray(entry) && entry.length >= 2) out.push([normalize(entry[0]), normalize(entry[1])]);
    else if (entry && typeof entry === 'object') {
      const level = entry as { price?: unknown; quantity?: unknown; qty?: unknown };
      out.push([normalize(level.price), normalize(level.quantity ?? level.qty)]);
    }
  }
  return out;
}

function toMap(value: unknown): Map<string, string> {
  const map = new Map<string, string>();
  for (const [price, quantity] of toLevels(value)) setLevel(map, price, quantity);
  return map;
}

function setLevel(map: Map<string, string>, price: string, quantity: string): void {
  if (quantity === '' || quantity === '0') map.delete(price);
  else map.set(price, quantity);
}

/** Compares canonical decimal strings exactly. */
export function comparePrices(a: string, b: string): number {
  const [aWhole, aFraction = ''] = a.split('.');
  const [bWhole, bFraction = ''] = b.split('.');
  if (aWhole.length !== bWhole.length) return aWhole.length - bWhole.length;
  if (aWhole !== bWhole) return aWhole < bWhole ? -1 : 1;
  const width = Math.max(aFraction.length, bFraction.length);
  const x = aFraction.padEnd(width, '0');
  const y = bFraction.padEnd(width, '0');
  return x === y ? 0 : x < y ? -1 : 1;
}
