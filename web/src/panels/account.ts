// Sign up / sign in / sign out, balances (available and locked) and the deposit form.

import { ApiError, request, saveSession, type Session } from '../api';
import type { App } from '../app';
import { parseDecimal, toText } from '../decimal';
import { byId, byTestId, el, grouped, row, say } from '../dom';
import { listOf, toBalance } from '../shapes';

const BALANCE_REFRESH_DEBOUNCE_MS = 150;

export function setupAccount(app: App): void {
  const form = byId<HTMLFormElement>('auth-form');
  const message = byTestId('auth-message');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
    const action = submitter?.value === 'signup' ? 'signup' : 'signin';
    void authenticate(app, action, message);
  });
  byId('sign-out').addEventListener('click', () => setSession(app, null));
  setupDeposit(app);

  let timer: number | undefined;
  app.on('accountChanged', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void refreshBalances(app), BALANCE_REFRESH_DEBOUNCE_MS);
  });
  app.on('session', (session) => {
    form.hidden = session !== null;
    byId('account-body').hidden = session === null;
    byId('sign-out').hidden = session === null;
    byTestId('who').textContent = session ? session.username : '';
    if (session) void refreshBalances(app);
    else showBalances(app, new Map());
  });
}

async function authenticate(app: App, action: 'signup' | 'signin', message: HTMLElement): Promise<void> {
  const username = byId<HTMLInputElement>('auth-username').value.trim();
  const password = byId<HTMLInputElement>('auth-password').value;
  if (!username || !password) {
    say(message, 'Enter a username and a password.', 'error');
    return;
  }
  say(message, action === 'signup' ? 'Creating your account…' : 'Signing in…');
  try {
    const answer = await request<{ token: string }>('POST', `/${action}`, { username, password });
    byId<HTMLInputElement>('auth-password').value = '';
    say(message, '');
    setSession(app, { token: answer.token, username });
  } catch (error) {
    say(message, error instanceof ApiError ? error.message : String(error), 'error');
  }
}

export function setSession(app: App, session: Session | null): void {
  saveSession(session);
  app.session = session;
  app.socket.authenticate(session?.token ?? null);
  app.emit('session', session);
}

export async function refreshBalances(app: App): Promise<void> {
  if (!app.session) return;
  try {
    const list = listOf(await request<unknown>('GET', '/balances'), 'balances').map(toBalance);
    showBalances(app, new Map(list.map((balance) => [balance.asset, balance])));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) setSession(app, null);
    else console.warn('balances', error);
  }
}

function showBalances(app: App, balances: Map<string, ReturnType<typeof toBalance>>): void {
  app.balances = balances;
  const assets = allAssets(app, balances);
  byTestId('balances').replaceChildren(
    ...assets.map((asset) => {
      const balance = balances.get(asset);
      return row([asset, grouped(balance?.available || '0'), grouped(balance?.locked || '0')], {
        'data-testid': `balance-${asset}`,
        'data-available': balance?.available || '0',
        'data-locked': balance?.locked || '0',
      });
    }),
  );
  app.emit('balances', balances);
}

function allAssets(app: App, balances: Map<string, unknown>): string[] {
  const assets = new Set<string>();
  for (const market of app.markets) {
    assets.add(market.quoteAsset);
    assets.add(market.baseAsset);
  }
  for (const asset of balances.keys()) assets.add(asset);
  return [...assets];
}

function setupDeposit(app: App): void {
  const form = byId<HTMLFormElement>('deposit-form');
  const select = byId<HTMLSelectElement>('deposit-asset');
  const amountInput = byId<HTMLInputElement>('deposit-amount');
  const message = byTestId('deposit-message');
  app.on('session', () => {
    if (select.options.length) return;
    select.replaceChildren(...allAssets(app, new Map()).map((asset) => el('option', { value: asset }, asset)));
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const amount = parseDecimal(amountInput.value);
    if (!amount || amount.units === 0n) {
      say(message, 'Enter a positive amount, like 1000 or 0.5.', 'error');
      return;
    }
    const asset = select.value;
    const text = toText(amount);
    say(message, `Depositing ${text} ${asset}…`);
    request('POST', '/on-ramp', { asset, amount: text })
      .then(() => {
        say(message, `Deposited ${text} ${asset}.`, 'ok');
        amountInput.value = '';
        return refreshBalances(app);
      })
      .catch((error) => say(message, error instanceof ApiError ? error.message : String(error), 'error'));
  });
}
