// Unit tests of the page's exact arithmetic and its gap-safe book, in Node.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule } from './load-ts.mjs';

const decimal = await loadModule('decimal');
const { DepthBook, comparePrices } = await loadModule('depthBook');
const { explain } = await loadModule('rejectReasons');
const d = (text) => decimal.parseDecimal(text);

test('decimal strings parse and print exactly', () => {
  assert.equal(decimal.toText(d('1.50')), '1.5');
  assert.equal(decimal.toText(d('30000.00')), '30000');
  assert.equal(decimal.toText(d('.5')), '0.5');
  assert.equal(decimal.toText(d('0.000000000000000001')), '0.000000000000000001');
  for (const bad of ['', '-1', '1e5', '1.2.3', 'abc', '0x10', ' ', 'NaN', '1,5']) assert.equal(d(bad), null, bad);
  assert.equal(decimal.normalize('0.10000000'), '0.1');
  assert.equal(decimal.normalize('-2.50'), '-2.5');
  assert.equal(decimal.normalize('30000', 2), '30000.00');
  assert.equal(decimal.toFixedText(d('1.239'), 2), '1.23');
});

test('sizes from a share of balance never overspend and sit on the lot grid', () => {
  // 100% of 100000.1 USD at 30000.07 with lot 0.00001: 3.3333266... floored to the lot.
  const quantity = decimal.divideFloorToStep(decimal.percentOf(d('100000.1'), 100), d('30000.07'), d('0.00001'));
  assert.equal(decimal.toText(quantity), '3.33332');
  assert.ok(decimal.compare(decimal.multiply(quantity, d('30000.07')), d('100000.1')) <= 0, 'affordable');
  const oneLotMore = decimal.add(quantity, d('0.00001'));
  assert.ok(decimal.compare(decimal.multiply(oneLotMore, d('30000.07')), d('100000.1')) > 0, 'the largest affordable');
  // 0.1 + 0.2 is exactly 0.3 here (it is not in floats).
  assert.equal(decimal.toText(decimal.add(d('0.1'), d('0.2'))), '0.3');
  assert.equal(decimal.toText(decimal.floorToStep(decimal.percentOf(d('1.5'), 25), d('0.01'))), '0.37');
  assert.equal(decimal.toText(decimal.percentOf(d('2'), 75)), '1.5');
  assert.ok(decimal.isMultipleOf(d('30000.01'), d('0.01')));
  assert.ok(!decimal.isMultipleOf(d('30000.001'), d('0.01')));
  assert.equal(decimal.placesOf('0.001'), 3);
  assert.equal(decimal.placesOf('0.0100'), 2);
  assert.equal(decimal.placesOf('1'), 0);
});

test('prices compare as numbers, not as text', () => {
  assert.ok(comparePrices('9.5', '10') < 0);
  assert.ok(comparePrices('100.01', '100.1') < 0);
  assert.equal(comparePrices('1.50', '1.5'), 0);
});

function book() {
  const b = new DepthBook();
  assert.equal(b.apply({ type: 'snapshot', bids: [['100', '1'], ['99', '2']], asks: [['101', '3']], sequence: 10 }), 'snapshot');
  return b;
}

test('the book applies deltas that follow and drops stale ones', () => {
  const b = book();
  assert.equal(b.apply({ type: 'update', sequence: 9, bids: [['100', '0']], asks: [] }), 'stale');
  assert.equal(b.apply({ type: 'update', sequence: 11, bids: [['100.5', '4']], asks: [] }), 'applied');
  assert.equal(b.apply({ type: 'update', sequence: 12, bids: [['99', '0']], asks: [['101', '1']] }), 'applied');
  assert.deepEqual(b.levels('bids', 10), [['100.5', '4'], ['100', '1']]);
  assert.deepEqual(b.levels('asks', 10), [['101', '1']]);
  assert.equal(b.lastSequence, 12n);
});

test('a sequence gap unsyncs the book until a fresh snapshot', () => {
  const b = book();
  assert.equal(b.apply({ type: 'update', sequence: 12, bids: [['100', '5']] }), 'gap');
  assert.equal(b.synced, false);
  assert.deepEqual(b.levels('bids', 10), [], 'an unsynced book shows nothing rather than something wrong');
  assert.equal(b.apply({ type: 'update', sequence: 13, bids: [['98', '1']] }), 'waiting');
  assert.equal(b.apply({ type: 'snapshot', bids: [['100', '5']], asks: [], sequence: 12 }), 'snapshot');
  assert.deepEqual(b.levels('bids', 10), [['100', '5'], ['98', '1']], 'buffered deltas after the snapshot are replayed');
  assert.equal(b.lastSequence, 13n);
});

test('prevSequence, when sent, decides continuity', () => {
  const b = book();
  assert.equal(b.apply({ sequence: 40, prevSequence: 10, bids: [['100', '2']] }), 'applied');
  assert.equal(b.apply({ sequence: 45, prevSequence: 41, bids: [['100', '3']] }), 'gap');
});

test('a snapshot with no sequence yet accepts the first delta', () => {
  const b = new DepthBook();
  assert.equal(b.apply({ type: 'snapshot', bids: [], asks: [], sequence: null }), 'snapshot');
  assert.equal(b.apply({ type: 'update', sequence: 1, asks: [['5', '1']] }), 'applied');
  assert.deepEqual(b.levels('asks', 1), [['5', '1']]);
});

test('reject codes read as sentences; unknown codes keep the server message', () => {
  assert.match(explain('INSUFFICIENT_BALANCE', 'x'), /don't have enough available balance/);
  assert.match(explain('POST_ONLY_WOULD_CROSS', 'x'), /post-only/i);
  assert.match(explain('UNKNOWN_API_KEY', 'x'), /API key doesn't exist/);
  assert.equal(explain('SOMETHING_NEW', 'price band exceeded'), 'Price band exceeded.');
  assert.equal(explain('SOMETHING_NEW', ''), 'The request failed (SOMETHING_NEW).');
});
