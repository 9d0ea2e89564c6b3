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
      if (this.token) this.send('AUTH', [this.token]);
      const streams = [...this.listeners.keys()];
      if (streams.length) this.send('SUBSCRIBE', streams);
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
      this.send('SUBSCRIBE', [stream]);
    }
    set.add(listener);
    return () => this.unsubscribe(stream, listener);
  }

  /** Unsubscribes and subscribes again (the server answers with a fresh snapshot). */
  resubscribe(stream: string): void {
    this.send('UNSUBSCRIBE', [stream]);
    this.send('SUBSCRIBE', [stream]);
  }

  /** Authenticates this connection (and every later one) for private streams. */
  authenticate(token: string | null): void {
    this.token = token;
    if (token) this.send('AUTH', [token]);
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
      if (typeof message.code === 'string') console.warn('stream error', message.code, message.message);
      return;
    }
    const set = this.listeners.get(message.stream);
    if (set) for (const listener of [...set]) listener(message.data);
  }

  private scheduleReconnect(): void {
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => this.connect(), this.reconnectDelay);
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
  }
}

/** ws:// or wss:// URL of /ws next to the page. */
export function socketUrl(): string {
  const url = new URL('ws', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
