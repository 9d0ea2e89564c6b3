// One WebSocket to the edge: subscriptions that survive reconnects, AUTH for private
// streams, and dispatch of {"stream","data"} messages to listeners by stream name.

type Listener = (data: unknown) => void;

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

export type ConnectionState = 'connecting' | 'open' | 'closed';

export class Socket {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private readonly listeners = new Map<string, Set<Listener>>();
  private token: string | null = null;
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer: number | undefined;
  onState: (state: ConnectionState) => void = () => {};
  private readonly reconnectHandlers: Array<() => void> = [];

  constructor(private readonly url: string) {}

  connect(): void {
    this.onState('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.reconnectDelay = RECONNECT_MIN_MS;
      this.onState('open');
      const streams = [...this.listeners.keys()];
      const open = streams.filter((stream) => !isPrivate(stream));
      if (open.length) this.send('SUBSCRIBE', open);
      if (this.token) this.sendAuth();
      for (const handler of this.reconnectHandlers) handler();
    });
    ws.addEventListener('message', (event) => this.dispatch(event.data));
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onState('closed');
      this.scheduleReconnect();
    });
    // An error is always followed by close, where reconnecting happens.
    ws.addEventListener('error', () => {});
  }

  /** Runs `handler` after every (re)connection, once subscriptions are re-sent. */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  /** Adds a listener; the first listener of a stream subscribes to it. Returns the remover. */
  subscribe(stream: string, listener: Listener): () => void {
    let set = this.listeners.get(stream);
    if (!set) {
      set = new Set();
      this.listeners.set(stream, set);
      if (!isPrivate(stream) || this.token) this.send('SUBSCRIBE', [stream]);
    }
    set.add(listener);
    return () => this.unsubscribe(stream, listener);
  }

  /** Unsubscribes and subscribes again (the server answers with a fresh snapshot). */
  resubscribe(stream: string): void {
    this.send('UNSUBSCRIBE', [stream]);
    this.send('SUBSCRIBE', [stream]);
  }

  /**
   * Authenticates this connection (and every later one) for private streams. Signing out
   * (null) opens a fresh connection, so nothing private of the old user arrives any more.
   */
  authenticate(token: string | null): void {
    const signedOut = this.token !== null && token === null;
    this.token = token;
    if (token) this.sendAuth();
    if (signedOut && this.ws) {
      this.reconnectDelay = 0;
      this.ws.close(1000, 'signed out');
    }
  }

  /** AUTH, then the private streams: the edge handles a connection's messages in order. */
  private sendAuth(): void {
    if (!this.token) return;
    this.send('AUTH', [this.token]);
    const streams = [...this.listeners.keys()].filter(isPrivate);
    if (streams.length) this.send('SUBSCRIBE', streams);
  }

  private unsubscribe(stream: string, listener: Listener): void {
    const set = this.listeners.get(stream);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) {
      this.listeners.delete(stream);
      this.send('UNSUBSCRIBE', [stream]);
    }
  }

  private send(method: string, params: string[]): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return; // sent on open instead
    this.ws.send(JSON.stringify({ method, params, id: this.nextId++ }));
  }

  private dispatch(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let message: { stream?: unknown; data?: unknown; code?: unknown; message?: unknown };
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof message.stream !== 'string') {
      const error = (message as { error?: { code?: unknown; message?: unknown } }).error ?? message;
      if (typeof error.code === 'string') console.warn('socket:', error.code, error.message);
      return;
    }
    const set = this.listeners.get(message.stream);
    if (set) for (const listener of [...set]) listener(message.data);
  }

  private scheduleReconnect(): void {
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => this.connect(), this.reconnectDelay);
    this.reconnectDelay = Math.min(Math.max(this.reconnectDelay * 2, RECONNECT_MIN_MS), RECONNECT_MAX_MS);
  }
}

/** Streams that need AUTH first. */
function isPrivate(stream: string): boolean {
  return stream === 'orders' || stream.startsWith('fills@');
}

/** ws:// or wss:// URL of /ws next to the page. */
export function socketUrl(): string {
  const url = new URL('/ws', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
