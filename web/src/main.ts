// Pinwheel's trading page: wires the panels to one socket and the REST API.

import './style.css';
import { loadSession } from './api';
import { App } from './app';
import { byTestId, say } from './dom';
import { setupAccount, setSession } from './panels/account';
import { setupBook } from './panels/book';
import { setupChart } from './panels/chart';
import { setupMarkets } from './panels/market';
import { setupOrderForm } from './panels/orderForm';
import { setupOrders } from './panels/orders';
import { setupTrades } from './panels/trades';
import { Socket, socketUrl } from './socket';

async function start(): Promise<void> {
  const socket = new Socket(socketUrl());
  const app = new App(socket);
  const connection = byTestId('connection');
  socket.onState = (state) => {
    connection.dataset.state = state;
    connection.textContent = state === 'open' ? 'live' : state;
  };
  setupAccount(app);
  setupOrderForm(app);
  setupChart(app);
  setupBook(app);
  setupTrades(app);
  setupOrders(app);
  socket.connect();
  await setupMarkets(app);
  setSession(app, loadSession());
  document.body.dataset.ready = 'true';
}

start().catch((error) => {
  say(byTestId('order-message'), `The page could not start: ${error instanceof Error ? error.message : String(error)}`, 'error');
  console.error(error);
});
