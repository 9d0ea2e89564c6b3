// What every panel shares: the socket, the session, the selected market and a tiny
// event bus for the few things panels tell each other.

import type { Session } from './api';
import type { Balance, Market, Order } from './shapes';
import type { Socket } from './socket';

export interface Events {
  market: Market;
  session: Session | null;
  balances: Map<string, Balance>;
  pickPrice: { price: string; side: 'buy' | 'sell' };
  order: Order;
  accountChanged: void;
}

type Handler<T> = (value: T) => void;

export class App {
  market: Market | null = null;
  markets: Market[] = [];
  session: Session | null = null;
  balances = new Map<string, Balance>();
  private readonly handlers = new Map<keyof Events, Set<Handler<never>>>();

  constructor(readonly socket: Socket) {}

  on<K extends keyof Events>(name: K, handler: Handler<Events[K]>): void {
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
    }
    set.add(handler as Handler<never>);
  }

  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    for (const handler of this.handlers.get(name) ?? []) (handler as Handler<Events[K]>)(value);
  }
}
