/** DOM helpers shared by the views: element builder, labelled fields, busy buttons, errors beside their control, confirmations. */
import { GraphFailure } from './graph.js';

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = String(v);
    else if (k in el && k !== 'list' && typeof v !== 'string') (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const $ = (id: string) => document.getElementById(id)!;
let uid = 0;
export const nextId = (p: string) => `${p}-${++uid}`;

/** A labelled input (label above the field). */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  input.id ||= nextId('f');
  const hintEl = hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  if (input instanceof HTMLInputElement && input.type === 'checkbox') {
    return h('div', { class: 'field check' }, input, h('label', { for: input.id }, label), hintEl);
  }
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

export function button(label: string, cls = '', type: 'button' | 'submit' = 'button'): HTMLButtonElement {
  return h('button', { type, class: cls || undefined }, label);
}

export function select(name: string, options: readonly (readonly [string, string])[], value?: string): HTMLSelectElement {
  const s = h('select', { name }, ...options.map(([v, l]) => h('option', { value: v }, l)));
  if (value !== undefined) s.value = value;
  return s;
}

export function announce(text: string): void {
  $('status').textContent = text;
}

/** The error of a failed call as the user reads it: status, code, message, request-id, and when to retry a 429. */
export function describeError(err: unknown): Node[] {
  if (err instanceof GraphFailure) {
    const out: Node[] = [h('strong', {}, `${err.status ? `${err.status} ` : ''}${err.code}: `), document.createTextNode(err.message)];
    if ((err.status === 429 || err.status === 503) && err.retryAfterSeconds !== undefined) {
      const at = new Date(Date.now() + err.retryAfterSeconds * 1000);
      out.push(h('div', {}, `${err.status === 429 ? 'Throttled' : 'Unavailable'}: retry after ${err.retryAfterSeconds} s (at ${at.toLocaleTimeString()}).`));
    }
    if (err.requestId) out.push(h('div', { class: 'rid' }, 'request-id: ', h('code', {}, err.requestId)));
    return out;
  }
  return [document.createTextNode(err instanceof Error ? err.message : String(err))];
}

/** The page-level alert, for errors that belong to no control (sign-in, the first load). */
export function showPageError(err: unknown): void {
  const a = $('alert');
  a.textContent = '';
  a.append(...describeError(err));
  a.hidden = false;
  a.focus();
  a.scrollIntoView({ block: 'nearest' });
}

export function clearPageError(): void {
  const a = $('alert');
  a.hidden = true;
  a.textContent = '';
}

/**
 * Where a control's error goes: right after the form or row that holds it, so it appears where the
 * user is looking (an alert at the top of the page was out of view and went unnoticed).
 */
function errorHost(control: HTMLElement): HTMLElement {
  return (control.closest('form, .actions, li') as HTMLElement | null) ?? control;
}

function clearErrorOf(control: HTMLElement): void {
  const next = errorHost(control).nextElementSibling;
  if (next?.classList.contains('error')) next.remove();
}

export function showErrorNear(control: HTMLElement | undefined, err: unknown): void {
  if (!control || !control.isConnected) return showPageError(err);
  const host = errorHost(control);
  clearErrorOf(control);
  const box = h('div', { class: 'error', role: 'alert', tabindex: -1 }, ...describeError(err));
  host.after(box);
  // Focus and scroll: the user sees what went wrong without hunting for it, and a screen reader reads it.
  box.focus({ preventScroll: true });
  box.scrollIntoView({ block: 'nearest' });
}

/** Runs an action with its control busy; a failure is shown beside that control. */
export async function act(control: HTMLElement | undefined, fn: () => Promise<void>): Promise<void> {
  clearPageError();
  const b = control instanceof HTMLButtonElement ? control : undefined;
  if (control) clearErrorOf(control);
  if (b) {
    b.disabled = true;
    b.setAttribute('aria-busy', 'true');
  }
  try {
    await fn();
  } catch (err) {
    showErrorNear(control, err);
  } finally {
    if (b?.isConnected) {
      b.disabled = false;
      b.removeAttribute('aria-busy');
    }
  }
}

/**
 * A destructive button that asks first: clicking it shows "Yes, …" and "Cancel" in its place
 * (focus on Cancel, so Enter twice does not destroy anything by accident).
 */
export function confirmed(label: string, yesLabel: string, onYes: (yes: HTMLButtonElement) => Promise<void>, cls = 'danger'): HTMLElement {
  const box = h('span', { class: 'confirm' });
  const ask = button(label, cls);
  ask.addEventListener('click', () => {
    const yes = button(yesLabel, 'danger');
    const no = button('Cancel', 'secondary');
    yes.addEventListener('click', () => act(yes, () => onYes(yes)));
    no.addEventListener('click', () => {
      box.textContent = '';
      box.append(ask);
      ask.focus();
    });
    box.textContent = '';
    box.append(h('span', { role: 'group', 'aria-label': `Confirm: ${label}` }, yes, ' ', no));
    no.focus();
  });
  box.append(ask);
  return box;
}

export function focusById(id: string): void {
  const t = document.getElementById(id);
  if (t) {
    t.setAttribute('tabindex', '-1');
    t.focus();
  }
}

/** An instant in UTC, unambiguous whatever the browser's zone: 2030-01-01 00:00:00 UTC. */
export function utc(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Graph writes seven fractional digits; Date.parse is only sure of three. */
export function parseInstant(iso: string | null | undefined): number {
  if (!iso) return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
}

export function remaining(ms: number): string {
  if (ms <= 0) return 'expired';
  let s = Math.floor(ms / 1000);
  const y = Math.floor(s / 31_536_000);
  s -= y * 31_536_000;
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [y && `${y} y`, (y || d) && `${d} d`, `${hh} h`, `${m} min`, `${s} s`].filter(Boolean);
  return `${parts.join(' ')} left`;
}
