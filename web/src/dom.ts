// Small DOM helpers: typed lookups, element building, display formatting.

/** The element matching `selector`; a missing one is a bug in index.html. */
export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

export function byTestId<T extends HTMLElement>(testId: string): T {
  const element = document.querySelector(`[data-testid="${testId}"]`);
  if (!element) throw new Error(`index.html has no [data-testid=${testId}]`);
  return element as T;
}

type Child = Node | string;

/** Creates an element with attributes (data-* and aria-* included) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

/** Table row of text cells. */
export function row(cells: Child[], attributes: Record<string, string | undefined> = {}): HTMLTableRowElement {
  return el('tr', attributes, ...cells.map((cell) => el('td', {}, cell)));
}

/** Local time hh:mm:ss. */
export function clock(millis: number): string {
  return new Date(millis).toLocaleTimeString([], { hour12: false });
}

/** Display-only grouping of a decimal string ("12345.5" -> "12,345.5"); exact digits kept. */
export function grouped(value: string): string {
  if (!value) return '–';
  const negative = value.startsWith('-');
  const [whole, fraction] = (negative ? value.slice(1) : value).split('.');
  const withCommas = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (negative ? '-' : '') + withCommas + (fraction !== undefined ? '.' + fraction : '');
}

/** Shows a message in a role=alert/status element with a tone for styling. */
export function say(element: HTMLElement, text: string, tone: 'error' | 'ok' | '' = ''): void {
  element.textContent = text;
  element.dataset.tone = tone;
}
