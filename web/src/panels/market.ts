// Market selector and the live 24h ticker.

import { request, query } from '../api';
import type { App } from '../app';
import { byId, byTestId, grouped } from '../dom';
import { listOf, toMarket, toTicker, type Ticker } from '../shapes';

const MARKET_KEY = 'pinwheel.market';

export async function setupMarkets(app: App): Promise<void> {
  const select = byId<HTMLSelectElement>('market');
  const markets = listOf(await request<unknown>('GET', '/markets'), 'markets').map(toMarket);
  if (markets.length === 0) throw new Error('the exchange lists no markets');
  app.markets = markets;
  select.replaceChildren(...markets.map((market) => new Option(market.symbol, market.symbol)));
  let stopTicker = () => {};
  const choose = (symbol: string) => {
    const market = markets.find((candidate) => candidate.symbol === symbol) ?? markets[0];
    select.value = market.symbol;
    localStorage.setItem(MARKET_KEY, market.symbol);
    app.market = market;
    document.title = `${market.symbol} · Pinwheel`;
    stopTicker();
    showTicker(null);
    stopTicker = app.socket.subscribe(`ticker@${market.symbol}`, (data) => {
      showTicker(toTicker(data as Record<string, unknown>));
    });
    void request<unknown>('GET', `/tickers${query({ symbol: market.symbol })}`)
      .then((data) => {
        if (app.market === market) showTicker(toTicker((Array.isArray(data) ? data[0] : data) ?? {}));
      })
      .catch((error) => console.warn('ticker', error));
    app.emit('market', market);
  };
  select.addEventListener('change', () => choose(select.value));
  choose(localStorage.getItem(MARKET_KEY) ?? markets[0].symbol);
}

function showTicker(ticker: Ticker | null): void {
  byTestId('ticker-last').textContent = grouped(ticker?.last ?? '');
  byTestId('ticker-high').textContent = grouped(ticker?.high ?? '');
  byTestId('ticker-low').textContent = grouped(ticker?.low ?? '');
  byTestId('ticker-volume').textContent = grouped(ticker?.volume ?? '');
  const change = byTestId('ticker-change');
  if (!ticker || !ticker.change) {
    change.textContent = '–';
    change.dataset.direction = '';
    return;
  }
  const percent = ticker.changePercent ? ` (${Number(ticker.changePercent).toFixed(2)}%)` : '';
  const negative = ticker.change.startsWith('-');
  const sign = negative || /^0(\.0*)?$/.test(ticker.change) ? '' : '+';
  change.textContent = `${sign}${grouped(ticker.change)}${percent}`;
  change.dataset.direction = negative ? 'down' : sign ? 'up' : '';
}
