// Candles with volume bars: history from /klines, live from kline@SYM:INTERVAL.

import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import { query, request } from '../api';
import type { App } from '../app';
import { placesOf } from '../decimal';
import { byId, el } from '../dom';
import { listOf, toCandle, type Candle, type Market } from '../shapes';

/** Interval name -> length in seconds. */
const INTERVALS: ReadonlyArray<[string, number]> = [
  ['1m', 60],
  ['5m', 300],
  ['15m', 900],
  ['1h', 3_600],
  ['4h', 14_400],
  ['1d', 86_400],
];
const HISTORY_CANDLES = 500;
const INTERVAL_KEY = 'pinwheel.interval';
const UP = '#26a69a';
const DOWN = '#ef5350';

interface Series {
  chart: IChartApi;
  candles: ISeriesApi<'Candlestick'>;
  volume: ISeriesApi<'Histogram'>;
}

export function setupChart(app: App): void {
  const container = byId('chart');
  const series = createSeries(container);
  let interval = localStorage.getItem(INTERVAL_KEY) ?? '1m';
  if (!INTERVALS.some(([name]) => name === interval)) interval = '1m';
  let stop = () => {};
  let lastTime = 0;
  let count = 0;

  const show = (candle: Candle) => {
    const time = Math.floor(candle.time / 1000);
    if (time < lastTime || !candle.close) return; // the library refuses to rewrite the past
    if (time > lastTime) count += 1;
    lastTime = time;
    series.candles.update(toBar(candle, time));
    series.volume.update(toVolume(candle, time));
    container.dataset.candles = String(count);
    container.dataset.lastClose = candle.close;
  };

  const load = (market: Market) => {
    stop();
    lastTime = 0;
    count = 0;
    series.candles.setData([]);
    series.volume.setData([]);
    const precision = placesOf(market.tickSize);
    series.candles.applyOptions({ priceFormat: { type: 'price', precision, minMove: 10 ** -precision } });
    container.dataset.candles = '0';
    container.dataset.lastClose = '';
    const stream = `kline@${market.symbol}:${interval}`;
    const buffered: Candle[] = [];
    let loaded = false;
    stop = app.socket.subscribe(stream, (data) => {
      const candle = toCandle((data as { kline?: unknown })?.kline ?? data);
      if (loaded) show(candle);
      else buffered.push(candle);
    });
    const seconds = INTERVALS.find(([name]) => name === interval)?.[1] ?? 60;
    const endTime = Date.now();
    const path = `/klines${query({ symbol: market.symbol, interval, startTime: endTime - (HISTORY_CANDLES - 1) * seconds * 1000, endTime })}`;
    const requested = interval;
    void request<unknown>('GET', path)
      .then((data) => {
        if (app.market !== market || interval !== requested) return;
        const history = listOf(data, 'klines', 'candles').map(toCandle).filter((c) => c.close);
        history.sort((a, b) => a.time - b.time);
        for (const candle of history) show(candle);
      })
      .catch((error) => console.warn('klines', error))
      .finally(() => {
        loaded = true;
        for (const candle of buffered.splice(0)) show(candle);
        series.chart.timeScale().scrollToRealTime();
      });
  };

  setupIntervals(interval, (chosen) => {
    interval = chosen;
    localStorage.setItem(INTERVAL_KEY, chosen);
    if (app.market) load(app.market);
  });
  app.on('market', load);
}

function setupIntervals(current: string, choose: (interval: string) => void): void {
  const group = byId('chart').parentElement?.querySelector<HTMLElement>('.intervals');
  if (!group) return;
  const buttons = INTERVALS.map(([name]) =>
    el('button', { type: 'button', 'aria-pressed': String(name === current), 'data-testid': `interval-${name}` }, name),
  );
  for (const button of buttons) {
    button.addEventListener('click', () => {
      for (const other of buttons) other.setAttribute('aria-pressed', String(other === button));
      choose(button.textContent ?? '1m');
    });
  }
  group.replaceChildren(...buttons);
}

function createSeries(container: HTMLElement): Series {
  const chart = createChart(container, {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#9aa4b2', attributionLogo: false },
    grid: { vertLines: { color: '#1f2630' }, horzLines: { color: '#1f2630' } },
    rightPriceScale: { borderColor: '#2a3340' },
    timeScale: { borderColor: '#2a3340', timeVisible: true, secondsVisible: false, rightOffset: 6, barSpacing: 10 },
  });
  const candles = chart.addSeries(CandlestickSeries, {
    upColor: UP,
    downColor: DOWN,
    wickUpColor: UP,
    wickDownColor: DOWN,
    borderVisible: false,
  });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
  const volume = chart.addSeries(HistogramSeries, {
    priceScaleId: 'volume',
    priceFormat: { type: 'volume' },
    lastValueVisible: false,
    priceLineVisible: false,
  });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
  return { chart, candles, volume };
}

// Display only: the chart library draws numbers, so candles become Numbers here.
function toBar(candle: Candle, time: number): CandlestickData<UTCTimestamp> {
  return {
    time: time as UTCTimestamp,
    open: Number(candle.open),
    high: Number(candle.high),
    low: Number(candle.low),
    close: Number(candle.close),
  };
}

function toVolume(candle: Candle, time: number): HistogramData<UTCTimestamp> {
  const rising = Number(candle.close) >= Number(candle.open);
  return { time: time as UTCTimestamp, value: Number(candle.volume || '0'), color: rising ? `${UP}80` : `${DOWN}80` };
}
