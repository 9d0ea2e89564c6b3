// The order form: buy/sell, limit/market, price, quantity or total, % of balance,
// IOC/FOK/post-only; sends exact decimal strings and shows the engine's answer in words.

import { ApiError, request } from '../api';
import type { App } from '../app';
import {
  divideFloorToStep,
  floorToStep,
  multiply,
  parseDecimal,
  percentOf,
  placesOf,
  toFixedText,
  toText,
  type Decimal,
} from '../decimal';
import { byId, byTestId, grouped, say } from '../dom';
import { toOrder, type Market } from '../shapes';

/** Smallest unit used for quote totals typed or computed here (assets have 8 decimals by default). */
const QUOTE_STEP: Decimal = { units: 1n, scale: 8 };

interface Inputs {
  form: HTMLFormElement;
  price: HTMLInputElement;
  size: HTMLInputElement;
  tif: HTMLSelectElement;
  postOnly: HTMLInputElement;
  submit: HTMLButtonElement;
  message: HTMLElement;
  estimate: HTMLElement;
}

type OrderBody = Record<string, string | boolean>;

export function setupOrderForm(app: App): void {
  const inputs: Inputs = {
    form: byId('order-form'),
    price: byId('order-price'),
    size: byId('order-size'),
    tif: byId('order-tif'),
    postOnly: byId('order-post-only'),
    submit: byTestId('order-submit'),
    message: byTestId('order-message'),
    estimate: byTestId('order-estimate'),
  };
  const refresh = () => updateLayout(app, inputs);
  inputs.form.addEventListener('change', refresh);
  inputs.form.addEventListener('input', refresh);
  app.on('market', () => {
    inputs.price.value = '';
    inputs.size.value = '';
    say(inputs.message, '');
    refresh();
  });
  app.on('session', refresh);
  app.on('pickPrice', ({ price }) => {
    radio(inputs.form, 'type', 'limit');
    inputs.price.value = price;
    refresh();
    inputs.size.focus();
  });
  for (const button of inputs.form.querySelectorAll<HTMLButtonElement>('[data-percent]')) {
    button.addEventListener('click', () => {
      applyPercent(app, inputs, Number(button.dataset.percent));
      refresh();
    });
  }
  inputs.form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit(app, inputs);
  });
  refresh();
}

function value(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as RadioNodeList | null)?.value ?? '';
}

function radio(form: HTMLFormElement, name: string, chosen: string): void {
  const list = form.elements.namedItem(name) as RadioNodeList;
  list.value = chosen;
}

function updateLayout(app: App, inputs: Inputs): void {
  const market = app.market;
  const side = value(inputs.form, 'side');
  const isLimit = value(inputs.form, 'type') === 'limit';
  const byTotal = value(inputs.form, 'sizeMode') === 'total';
  byId('price-row').hidden = !isLimit;
  inputs.postOnly.disabled = !isLimit;
  if (!isLimit) inputs.postOnly.checked = false;
  inputs.tif.disabled = !isLimit || inputs.postOnly.checked;
  if (inputs.postOnly.checked) inputs.tif.value = 'GTC';
  byId('size-caption').textContent = byTotal ? 'Total' : 'Quantity';
  byId('size-unit').textContent = market ? (byTotal ? market.quoteAsset : market.baseAsset) : '';
  byTestId('quote-unit').textContent = market?.quoteAsset ?? '';
  inputs.submit.textContent = `${side === 'sell' ? 'Sell' : 'Buy'}${market ? ' ' + market.baseAsset : ''}`;
  inputs.submit.className = `submit ${side === 'sell' ? 'sell' : 'buy'}`;
  inputs.submit.disabled = !app.session;
  inputs.submit.title = app.session ? '' : 'Sign in to trade';
  inputs.estimate.textContent = market ? estimate(market, inputs, isLimit, byTotal) : '';
}

function estimate(market: Market, inputs: Inputs, isLimit: boolean, byTotal: boolean): string {
  const price = parseDecimal(inputs.price.value);
  const size = parseDecimal(inputs.size.value);
  if (!isLimit || !price || !size || price.units === 0n) return '';
  if (byTotal) {
    const lot = parseDecimal(market.lotSize);
    if (!lot) return '';
    return `≈ ${grouped(toText(divideFloorToStep(size, price, lot)))} ${market.baseAsset}`;
  }
  return `≈ ${grouped(toFixedText(multiply(price, size), Math.max(placesOf(market.tickSize), 2)))} ${market.quoteAsset}`;
}

function applyPercent(app: App, inputs: Inputs, percent: number): void {
  const market = app.market;
  if (!market) return;
  const side = value(inputs.form, 'side');
  const isLimit = value(inputs.form, 'type') === 'limit';
  const lot = parseDecimal(market.lotSize);
  const price = parseDecimal(inputs.price.value);
  const asset = side === 'buy' ? market.quoteAsset : market.baseAsset;
  const available = parseDecimal(app.balances.get(asset)?.available || '0');
  if (!lot || !available) return;
  const share = percentOf(available, percent);
  if (side === 'buy') {
    if (isLimit && price && price.units > 0n && value(inputs.form, 'sizeMode') === 'quantity') {
      inputs.size.value = toText(divideFloorToStep(share, price, lot));
    } else {
      radio(inputs.form, 'sizeMode', 'total');
      inputs.size.value = toText(floorToStep(share, QUOTE_STEP));
    }
  } else {
    radio(inputs.form, 'sizeMode', 'quantity');
    inputs.size.value = toText(floorToStep(share, lot));
  }
}

/** The request body, or a sentence saying what to fix. */
function buildOrder(market: Market, inputs: Inputs): OrderBody | string {
  const side = value(inputs.form, 'side');
  const isLimit = value(inputs.form, 'type') === 'limit';
  const byTotal = value(inputs.form, 'sizeMode') === 'total';
  const size = parseDecimal(inputs.size.value);
  if (!size || size.units === 0n) return `Enter a ${byTotal ? 'total' : 'quantity'} greater than zero, like 0.5.`;
  const body: OrderBody = { market: market.symbol, side, type: isLimit ? 'limit' : 'market' };
  if (isLimit) {
    const price = parseDecimal(inputs.price.value);
    if (!price || price.units === 0n) return 'Enter a price greater than zero, or choose a market order.';
    body.price = toText(price);
    body.timeInForce = inputs.tif.value;
    if (inputs.postOnly.checked) body.postOnly = true;
    if (byTotal) {
      const lot = parseDecimal(market.lotSize);
      const quantity = lot ? divideFloorToStep(size, price, lot) : null;
      if (!quantity || quantity.units === 0n) return 'That total buys less than one lot at this price.';
      body.quantity = toText(quantity);
    } else {
      body.quantity = toText(size);
    }
  } else if (byTotal) {
    body.quoteQuantity = toText(size);
  } else {
    body.quantity = toText(size);
  }
  return body;
}

async function submit(app: App, inputs: Inputs): Promise<void> {
  const market = app.market;
  if (!market || !app.session) {
    say(inputs.message, 'Sign in to place orders.', 'error');
    return;
  }
  const body = buildOrder(market, inputs);
  if (typeof body === 'string') {
    say(inputs.message, body, 'error');
    inputs.message.dataset.code = 'FORM';
    return;
  }
  inputs.submit.disabled = true;
  say(inputs.message, 'Sending…');
  const started = performance.now();
  try {
    const answer = await request<Record<string, unknown>>('POST', '/order', body);
    showLatency(performance.now() - started);
    const order = toOrder({ ...body, ...answer });
    inputs.message.dataset.code = '';
    say(inputs.message, describe(order.status, order.executedQty, market.baseAsset), 'ok');
    app.emit('order', order);
  } catch (error) {
    showLatency(performance.now() - started);
    const code = error instanceof ApiError ? error.code : 'NETWORK';
    inputs.message.dataset.code = code;
    say(inputs.message, error instanceof Error ? error.message : String(error), 'error');
  } finally {
    inputs.submit.disabled = !app.session;
    app.emit('accountChanged', undefined);
  }
}

function describe(status: string, executed: string, base: string): string {
  const filled = executed && executed !== '0' ? ` ${grouped(executed)} ${base} traded.` : '';
  switch (status) {
    case 'FILLED':
      return `Order filled.${filled}`;
    case 'PARTIALLY_FILLED':
      return `Order partly filled and resting in the book.${filled}`;
    case 'EXPIRED':
    case 'CANCELED':
      return `Order ${status === 'EXPIRED' ? 'expired' : 'canceled'} without resting.${filled || ' Nothing traded.'}`;
    default:
      return 'Order placed and resting in the book.';
  }
}

function showLatency(millis: number): void {
  const readout = byTestId('latency');
  readout.textContent = `Order RTT ${millis < 10 ? millis.toFixed(2) : millis.toFixed(0)} ms`;
  readout.dataset.millis = millis.toFixed(3);
}
