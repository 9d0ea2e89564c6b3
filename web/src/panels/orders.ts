// Open orders (cancel, cancel all), order history (/orders/history) and fills, kept live from
// the private streams (orders, fills@SYM) and re-read over REST whenever something may have changed.

import { ApiError, query, request } from '../api';
import type { App } from '../app';
import { normalize, placesOf } from '../decimal';
import { byId, byTestId, clock, el, grouped, say } from '../dom';
import { listOf, toFill, toOrder, type Fill, type Market, type Order } from '../shapes';

const OPEN_STATUSES = new Set(['NEW', 'PARTIALLY_FILLED']);
const HISTORY_KEPT = 200;
const FILLS_SHOWN = 50;
const REFRESH_DEBOUNCE_MS = 150;

export function setupOrders(app: App): void {
  const history = new Map<string, Order>();
  let open: Order[] = [];
  let fills: Fill[] = [];
  let market: Market | null = null;
  let stopFills = () => {};
  let stopTrades = () => {};
  let timer: number | undefined;
  const message = byTestId('orders-message');

  const render = () => {
    const places = market ? placesOf(market.tickSize) : 2;
    renderOpen(open, places, (order) => void cancel(order));
    renderHistory([...history.values()], places);
    renderFills(fills, places);
  };
  const remember = (order: Order) => {
    if (!order.orderId) return;
    const known = history.get(order.orderId);
    history.set(order.orderId, { ...known, ...withoutBlanks(order) } as Order);
    if (history.size > HISTORY_KEPT) history.delete(history.keys().next().value as string);
  };
  const refresh = async () => {
    if (!app.session || !market) return;
    const symbol = market.symbol;
    try {
      const [openAnswer, fillsAnswer, historyAnswer] = await Promise.all([
        request<unknown>('GET', `/order/open${query({ market: symbol })}`),
        request<unknown>('GET', `/fills${query({ market: symbol, limit: FILLS_SHOWN })}`),
        request<unknown>('GET', `/orders/history${query({ market: symbol, limit: HISTORY_KEPT })}`),
      ]);
      if (market?.symbol !== symbol || !app.session) return;
      open = listOf(openAnswer, 'orders').map(toOrder);
      // The server keeps every order, closed ones too: the history survives a reload.
      for (const order of listOf(historyAnswer, 'orders').map(toOrder).reverse()) remember(order);
      for (const order of open) remember(order);
      fills = listOf(fillsAnswer, 'fills').map(toFill).sort((a, b) => b.time - a.time);
      render();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) console.warn('orders', error);
    }
  };
  const soon = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void refresh(), REFRESH_DEBOUNCE_MS);
  };
  const cancel = async (order: Order) => {
    say(message, 'Canceling…');
    try {
      await request('DELETE', `/order/${encodeURIComponent(order.orderId)}`);
      say(message, 'Order canceled.', 'ok');
    } catch (error) {
      say(message, error instanceof ApiError ? error.message : String(error), 'error');
    }
    soon();
    app.emit('accountChanged', undefined);
  };

  byId('cancel-all').addEventListener('click', () => {
    if (!market || !app.session) return;
    say(message, 'Canceling all open orders…');
    request('DELETE', `/orders${query({ market: market.symbol })}`)
      .then(() => say(message, 'All open orders in this market canceled.', 'ok'))
      .catch((error) => say(message, error instanceof ApiError ? error.message : String(error), 'error'))
      .finally(() => {
        soon();
        app.emit('accountChanged', undefined);
      });
  });
  app.socket.subscribe('orders', (data) => {
    const order = toOrder((data ?? {}) as Record<string, unknown>);
    remember(order);
    if (market && order.market && order.market !== market.symbol) return;
    open = open.filter((known) => known.orderId !== order.orderId);
    if (OPEN_STATUSES.has(order.status)) open.unshift(history.get(order.orderId) ?? order);
    render();
    soon();
    app.emit('accountChanged', undefined);
  });
  app.on('order', (order) => {
    remember(order);
    render();
    soon();
  });
  app.on('market', (chosen) => {
    market = chosen;
    open = [];
    fills = [];
    render();
    stopFills();
    stopFills = app.socket.subscribe(`fills@${chosen.symbol}`, () => {
      soon();
      app.emit('accountChanged', undefined);
    });
    // A trade in this market may have filled one of our orders: re-read what we own.
    stopTrades();
    stopTrades = app.socket.subscribe(`trade@${chosen.symbol}`, () => {
      if (app.session && market === chosen) {
        soon();
        app.emit('accountChanged', undefined);
      }
    });
    soon();
  });
  app.on('session', (session) => {
    history.clear();
    open = [];
    fills = [];
    render();
    byId('cancel-all').hidden = session === null;
    if (session) soon();
  });
  setupTabs();
}

function withoutBlanks(order: Order): Partial<Order> {
  return Object.fromEntries(Object.entries(order).filter(([, value]) => value !== '' && value !== 0)) as Partial<Order>;
}

function sideCell(side: string): HTMLTableCellElement {
  return el('td', { class: side }, side === 'sell' ? 'Sell' : side === 'buy' ? 'Buy' : side);
}

function renderOpen(orders: Order[], places: number, cancel: (order: Order) => void): void {
  byTestId('open-orders').replaceChildren(
    ...orders.map((order) => {
      const button = el('button', { type: 'button', class: 'link', 'data-testid': 'cancel-order', 'aria-label': `Cancel ${order.side} ${order.quantity} at ${order.price}` }, 'Cancel');
      button.addEventListener('click', () => {
        button.disabled = true;
        cancel(order);
      });
      return el(
        'tr',
        { 'data-testid': 'open-order', 'data-order-id': order.orderId, 'data-price': order.price, 'data-side': order.side },
        el('td', {}, order.market),
        sideCell(order.side),
        el('td', {}, order.type || 'limit'),
        el('td', {}, grouped(normalize(order.price, places))),
        el('td', {}, grouped(order.quantity)),
        el('td', {}, grouped(order.executedQty || '0')),
        el('td', {}, order.status),
        el('td', {}, button),
      );
    }),
  );
}

function renderHistory(orders: Order[], places: number): void {
  const sorted = orders.sort((a, b) => b.time - a.time);
  byTestId('order-history').replaceChildren(
    ...sorted.map((order) =>
      el(
        'tr',
        { 'data-testid': 'history-order', 'data-order-id': order.orderId, 'data-status': order.status },
        el('td', { class: 'muted' }, clock(order.time)),
        el('td', {}, order.market),
        sideCell(order.side),
        el('td', {}, order.type),
        el('td', {}, order.price ? grouped(normalize(order.price, places)) : 'market'),
        el('td', {}, grouped(order.quantity)),
        el('td', {}, grouped(order.executedQty || '0')),
        el('td', {}, order.status),
      ),
    ),
  );
}

function renderFills(fills: Fill[], places: number): void {
  byTestId('fills').replaceChildren(
    ...fills.map((fill) =>
      el(
        'tr',
        { 'data-testid': 'fill', 'data-trade-id': fill.tradeId, 'data-price': fill.price, 'data-quantity': fill.quantity },
        el('td', { class: 'muted' }, clock(fill.time)),
        el('td', {}, fill.market),
        sideCell(fill.side),
        el('td', {}, grouped(normalize(fill.price, places))),
        el('td', {}, grouped(fill.quantity)),
        el('td', {}, grouped(fill.fee || '0')),
        el('td', {}, fill.liquidity),
      ),
    ),
  );
}

/** Tabs with the ARIA pattern: arrows move between tabs, Tab moves into the panel. */
function setupTabs(): void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const select = (chosen: HTMLButtonElement) => {
    for (const tab of tabs) {
      const selected = tab === chosen;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      byId(tab.getAttribute('aria-controls') ?? '').hidden = !selected;
    }
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (event) => {
      const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = tabs[(index + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
      event.preventDefault();
    });
  });
}
