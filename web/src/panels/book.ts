// The order book: live from depth@SYM (gap-safe), with depth bars, the spread, and
// prices that fill the order form when clicked.

import { query, request } from '../api';
import type { App } from '../app';
import { add, normalize, parseDecimal, placesOf, subtract, toFixedText, toText, type Decimal } from '../decimal';
import { DepthBook, type DepthMessage, type Level } from '../depthBook';
import { byTestId, el, grouped } from '../dom';
import type { Market } from '../shapes';

const LEVELS_SHOWN = 12;
const SNAPSHOT_FALLBACK_MS = 2_000;

export function setupBook(app: App): void {
  const book = new DepthBook();
  let market: Market | null = null;
  let stop = () => {};
  let fallback: number | undefined;
  let frame = 0;

  const render = () => {
    frame = 0;
    if (market) draw(app, book, market);
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(render);
  };
  const armFallback = (symbol: string) => {
    window.clearTimeout(fallback);
    fallback = window.setTimeout(() => {
      if (book.synced || market?.symbol !== symbol) return;
      void request<DepthMessage>('GET', `/depth${query({ symbol, limit: 100 })}`)
        .then((snapshot) => {
          if (market?.symbol === symbol && !book.synced) onMessage({ ...snapshot, type: 'snapshot' });
        })
        .catch((error) => console.warn('depth', error));
    }, SNAPSHOT_FALLBACK_MS);
  };
  const onMessage = (data: unknown) => {
    if (!market) return;
    const result = book.apply((data ?? {}) as DepthMessage);
    if (result === 'gap') {
      console.info(`depth@${market.symbol}: sequence gap, re-subscribing for a fresh snapshot`);
      app.socket.resubscribe(`depth@${market.symbol}`);
      armFallback(market.symbol);
    }
    schedule();
  };

  app.on('market', (chosen) => {
    stop();
    market = chosen;
    book.reset();
    schedule();
    stop = app.socket.subscribe(`depth@${chosen.symbol}`, onMessage);
    armFallback(chosen.symbol);
  });
  app.socket.onReconnect(() => {
    book.reset();
    if (market) armFallback(market.symbol);
  });
}

function draw(app: App, book: DepthBook, market: Market): void {
  const asks = book.levels('asks', LEVELS_SHOWN);
  const bids = book.levels('bids', LEVELS_SHOWN);
  const places = placesOf(market.tickSize);
  const askRows = withTotals(asks);
  const bidRows = withTotals(bids);
  // Display only: bar widths are proportions, so Number is fine here.
  const deepest = Math.max(Number(askRows.at(-1)?.[2] ?? 0), Number(bidRows.at(-1)?.[2] ?? 0), 1e-18);
  const line = (side: 'asks' | 'bids', [price, quantity, total]: [string, string, string]) => {
    const shown = normalize(price, places);
    const button = el('button', { type: 'button', class: 'price', 'data-testid': 'book-price', 'aria-label': `Use price ${shown}` }, grouped(shown));
    button.addEventListener('click', () => app.emit('pickPrice', { price: shown, side: side === 'asks' ? 'buy' : 'sell' }));
    const width = `${((Number(total) / deepest) * 100).toFixed(1)}%`;
    return el(
      'li',
      { class: 'level', 'data-testid': `${side === 'asks' ? 'ask' : 'bid'}-level`, 'data-price': shown, 'data-quantity': quantity, style: `--depth:${width}` },
      button,
      el('span', { class: 'qty' }, grouped(quantity)),
      el('span', { class: 'total' }, grouped(total)),
    );
  };
  byTestId('book-asks').replaceChildren(...askRows.map((level) => line('asks', level)).reverse());
  byTestId('book-bids').replaceChildren(...bidRows.map((level) => line('bids', level)));
  const spread = byTestId('spread');
  spread.dataset.synced = String(book.synced);
  spread.textContent = spreadText(asks[0], bids[0], places, book.synced);
}

function withTotals(levels: Level[]): Array<[string, string, string]> {
  let total: Decimal = { units: 0n, scale: 0 };
  return levels.map(([price, quantity]) => {
    const amount = parseDecimal(quantity);
    if (amount) total = add(total, amount);
    return [price, quantity, toText(total)];
  });
}

function spreadText(ask: Level | undefined, bid: Level | undefined, places: number, synced: boolean): string {
  if (!synced) return 'Syncing book…';
  if (!ask || !bid) return 'Spread –';
  const askPrice = parseDecimal(ask[0]);
  const bidPrice = parseDecimal(bid[0]);
  if (!askPrice || !bidPrice) return 'Spread –';
  const spread = toFixedText(subtract(askPrice, bidPrice), places);
  const mid = (Number(ask[0]) + Number(bid[0])) / 2;
  const percent = mid > 0 ? ` (${((Number(spread) / mid) * 100).toFixed(3)}%)` : '';
  return `Spread ${grouped(spread)}${percent}`;
}
