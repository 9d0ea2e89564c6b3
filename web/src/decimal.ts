// Exact decimal arithmetic on strings, for everything the page sends.
//
// Prices, quantities and amounts travel as decimal strings and are never put through a
// float on their way to the exchange: a Decimal is a BigInt of units and a scale
// (number of fraction digits). Display-only formatting may use Number; this module may not.

export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

const PLAIN = /^\d+(\.\d+)?$|^\.\d+$|^\d+\.$/;
const MAX_SCALE = 18;

/** Parses a plain non-negative decimal ("12", "0.5", "1.250"); null when it is not one. */
export function parseDecimal(text: string): Decimal | null {
  const trimmed = text.trim();
  if (!PLAIN.test(trimmed)) return null;
  const [whole, fraction = ''] = trimmed.split('.');
  if (fraction.length > MAX_SCALE) return null;
  return { units: BigInt((whole || '0') + fraction), scale: fraction.length };
}

function rescale(value: Decimal, scale: number): bigint {
  console.assert(scale >= value.scale, 'rescale only widens');
  return value.units * 10n ** BigInt(scale - value.scale);
}

function aligned(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [rescale(a, scale), rescale(b, scale), scale];
}

/** -1, 0 or 1. */
export function compare(a: Decimal, b: Decimal): number {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isZero(a: Decimal): boolean {
  return a.units === 0n;
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = aligned(a, b);
  return { units: x + y, scale };
}

export function subtract(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = aligned(a, b);
  return { units: x - y, scale };
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** a x percent / 100, exact (percent is an integer 0..100). */
export function percentOf(a: Decimal, percent: number): Decimal {
  console.assert(Number.isInteger(percent) && percent >= 0 && percent <= 100, 'percent 0..100');
  return { units: a.units * BigInt(percent), scale: a.scale + 2 };
}

/** The largest multiple of `step` that is <= a / b (b > 0): sizes that never overspend. */
export function divideFloorToStep(a: Decimal, b: Decimal, step: Decimal): Decimal {
  console.assert(b.units > 0n && step.units > 0n, 'divisor and step are positive');
  // a / b / step = (a.units * 10^(b.scale + step.scale)) / (b.units * step.units * 10^a.scale)
  const numerator = a.units * 10n ** BigInt(b.scale + step.scale);
  const denominator = b.units * step.units * 10n ** BigInt(a.scale);
  const steps = numerator / denominator;
  return { units: steps * step.units, scale: step.scale };
}

/** The largest multiple of `step` that is <= a. */
export function floorToStep(a: Decimal, step: Decimal): Decimal {
  return divideFloorToStep(a, { units: 1n, scale: 0 }, step);
}

/** True when a is a whole multiple of step. */
export function isMultipleOf(a: Decimal, step: Decimal): boolean {
  const [x, y] = aligned(a, step);
  return y !== 0n && x % y === 0n;
}

/** Canonical text: no exponent, no trailing fraction zeros ("1.50" -> "1.5", "3.0" -> "3"). */
export function toText(a: Decimal): string {
  const negative = a.units < 0n;
  const digits = (negative ? -a.units : a.units).toString().padStart(a.scale + 1, '0');
  const whole = digits.slice(0, digits.length - a.scale);
  const fraction = digits.slice(digits.length - a.scale).replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (fraction ? '.' + fraction : '');
}

/** Text with exactly `places` fraction digits, truncated (for showing a tick-sized price). */
export function toFixedText(a: Decimal, places: number): string {
  const units = places >= a.scale ? rescale(a, places) : a.units / 10n ** BigInt(a.scale - places);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  const fraction = digits.slice(digits.length - places);
  return (negative ? '-' : '') + whole + (places ? '.' + fraction : '');
}

/** Fraction digits a step like "0.001" implies (3). */
export function placesOf(step: string): number {
  const parsed = parseDecimal(step);
  return parsed ? parsed.scale - trailingZeros(parsed) : 0;
}

function trailingZeros(a: Decimal): number {
  let count = 0;
  let units = a.units;
  while (count < a.scale && units !== 0n && units % 10n === 0n) {
    units /= 10n;
    count += 1;
  }
  return count;
}

/** Normalises any decimal-looking value from the server into canonical text ("" if none). */
export function normalize(value: unknown, places?: number): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  const negative = text.startsWith('-');
  const parsed = parseDecimal(negative ? text.slice(1) : text);
  if (!parsed) return text;
  const signed = negative ? { units: -parsed.units, scale: parsed.scale } : parsed;
  return places === undefined ? toText(signed) : toFixedText(signed, places);
}
