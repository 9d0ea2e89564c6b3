// Recent trades: the last trades from /trades, then live from trade@SYM.

import { query, request } from '../api';
import type { App } from '../app';
import { normalize, placesOf } from '../decimal';
import { byTestId, clock, el, grouped } from '../dom';
import { listOf, toTrade, type Market, type Trade } from '../shapes';

const TRADES_SHOWN = 40;

export function setupTrades(app: App): void {
  const body = byTestId('trades');
  let trades: Trade[] = [];
  let stop = () => {};
  let market: Market | null = null;

  const render = () => {
    const places = market ? placesOf(market.tickSize) : 2;
    body.replaceChildren(
      ...trades.map((trade) =>
        el(
          'tr',
          { 'data-testid': 'trade', 'data-price': trade.price, 'data-quantity': trade.quantity, 'data-side': trade.side, class: trade.side },
          el('td', { class: 'price' }, grouped(normalize(trade.price, places))),
          el('td', {}, grouped(trade.quantity)),
          el('td', { class: 'muted' }, clock(trade.time)),
        ),
      ),
    );
  };
  const add = (incoming: Trade[]) => {
    const seen = new Set(trades.map((trade) => trade.id));
    const fresh = incoming.filter((trade) => !trade.id || !seen.has(trade.id));
    trades = [...fresh, ...trades].sort((a, b) => b.time - a.time).slice(0, TRADES_SHOWN);
    render();
  };

  app.on('market', (chosen) => {
    stop();
    market = chosen;
    trades = [];
    render();
    stop = app.socket.subscribe(`trade@${chosen.symbol}`, (data) => {
      const list = Array.isArray(data) ? data : [data];
      add(list.map((raw) => toTrade(raw as Record<string, unknown>)));
    });
    void request<unknown>('GET', `/trades${query({ symbol: chosen.symbol, limit: TRADES_SHOWN })}`)
      .then((data) => {
        if (market === chosen) add(listOf(data, 'trades').map(toTrade));
      })
      .catch((error) => console.warn('trades', error));
  });
}
