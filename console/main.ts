/**
 * Enrollgraph's web console: plain TypeScript and the DOM, no framework (see README, "Console").
 * Views: sign-in; the profile list (search, paging, create) beside the selected profile (edit,
 * delete, enrollment token with QR code, countdown, copy, revoke, simulated enrollment).
 */
import { completeSignIn, currentSession, signIn, signOut, type Session } from './auth.js';
import { Graph, GraphFailure, type Profile } from './graph.js';

// ---------- tiny DOM helpers ----------

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
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

const $ = (id: string) => document.getElementById(id)!;
let uid = 0;
const nextId = (p: string) => `${p}-${++uid}`;

/** A labelled input (label above the field). */
function field(label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  input.id ||= nextId('f');
  const hintEl = hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

// ---------- state ----------

let session: Session | undefined;
let graph: Graph;
let profiles: Profile[] = [];
let nextLink: string | undefined;
let search = '';
let selected: Profile | undefined;
let countdownTimer: number | undefined;

// ---------- status and errors ----------

function announce(text: string): void {
  const s = $('status');
  s.textContent = text;
}

function clearAlert(): void {
  const a = $('alert');
  a.hidden = true;
  a.textContent = '';
}

function showError(err: unknown): void {
  const a = $('alert');
  a.textContent = '';
  if (err instanceof GraphFailure) {
    a.append(h('strong', {}, `${err.status ? `${err.status} ` : ''}${err.code}: `), err.message);
    if (err.status === 429 && err.retryAfterSeconds !== undefined) {
      const at = new Date(Date.now() + err.retryAfterSeconds * 1000);
      a.append(h('div', {}, `Throttled: retry after ${err.retryAfterSeconds} s (at ${at.toLocaleTimeString()}).`));
    }
    if (err.requestId) a.append(h('div', { class: 'rid' }, 'request-id: ', h('code', {}, err.requestId)));
  } else {
    a.append(err instanceof Error ? err.message : String(err));
  }
  a.hidden = false;
}

/** Runs an action with the button busy; errors go to the alert region. */
async function act(button: HTMLButtonElement | undefined, fn: () => Promise<void>): Promise<void> {
  clearAlert();
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    await fn();
  } catch (err) {
    showError(err);
  } finally {
    if (button?.isConnected) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

// ---------- formatting ----------

const NO_TOKEN = '0001-01-01T00:00:00Z';

function hasToken(p: Profile): boolean {
  return !!p.tokenValue && new Date(p.tokenExpirationDateTime).getTime() > Date.now();
}

function remaining(ms: number): string {
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

function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

// ---------- views ----------

function renderWho(): void {
  const who = $('who');
  who.textContent = '';
  if (!session) return;
  who.append(
    h('span', {}, session.upn || 'signed in', h('span', { class: 'tenant' }, ` · tenant ${session.tenantId}`)),
    h('button', { type: 'button', class: 'secondary', onclick: () => (signOut(), location.reload()) }, 'Sign out'),
  );
}

function renderSignIn(message?: string): void {
  const main = $('main');
  main.textContent = '';
  const button = h('button', { type: 'button', class: 'primary' }, 'Sign in') as HTMLButtonElement;
  button.addEventListener('click', () => act(button, () => signIn()));
  main.append(
    h(
      'section',
      { class: 'card signin', 'aria-labelledby': 'signin-title' },
      h('h2', { id: 'signin-title' }, 'Sign in'),
      h('p', {}, 'Sign in with the server’s own authority (authorization code with PKCE). The console then manages Android Enterprise enrollment profiles through the Graph API with your token.'),
      message ? h('p', { class: 'note' }, message) : null,
      button,
    ),
  );
}

function renderApp(): void {
  const main = $('main');
  main.textContent = '';
  main.append(h('div', { class: 'layout' }, listPanel(), h('section', { id: 'detail', class: 'card detail', 'aria-labelledby': 'detail-title' })));
  renderDetail();
}

function listPanel(): HTMLElement {
  const q = h('input', { type: 'search', name: 'q', value: search, autocomplete: 'off' }) as HTMLInputElement;
  const searchForm = h(
    'form',
    { role: 'search', class: 'row', 'aria-label': 'Search profiles' },
    field('Search by name (starts with)', q),
    h('button', { type: 'submit' }, 'Search'),
  );
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    search = q.value;
    void act(searchForm.querySelector('button')!, loadFirstPage);
  });

  const name = h('input', { name: 'displayName', required: true, maxlength: 256, autocomplete: 'off' }) as HTMLInputElement;
  const desc = h('input', { name: 'description', maxlength: 1024, autocomplete: 'off' }) as HTMLInputElement;
  const createForm = h(
    'form',
    { class: 'create', 'aria-labelledby': 'create-title' },
    h('h3', { id: 'create-title' }, 'New profile'),
    field('Name', name),
    field('Description (optional)', desc),
    h('button', { type: 'submit', class: 'primary' }, 'Create profile'),
  );
  createForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void act(createForm.querySelector('button')!, async () => {
      const p = await graph.create(name.value.trim(), desc.value.trim());
      name.value = '';
      desc.value = '';
      announce(`Created profile ${p.displayName}.`);
      selected = p;
      await loadFirstPage();
      renderDetail(true);
    });
  });

  return h(
    'section',
    { class: 'card list', 'aria-labelledby': 'list-title' },
    h('h2', { id: 'list-title' }, 'Enrollment profiles'),
    searchForm,
    h('div', { id: 'rows' }),
    createForm,
  );
}

function renderRows(): void {
  const rows = $('rows');
  rows.textContent = '';
  if (profiles.length === 0) {
    rows.append(h('p', { class: 'empty' }, search ? `No profile’s name starts with “${search}”.` : 'No profiles yet: create one below.'));
    return;
  }
  const list = h('ul', { class: 'profiles', 'aria-label': 'Profiles' });
  for (const p of profiles) {
    const current = selected?.id === p.id;
    list.append(
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: `profile${current ? ' current' : ''}`,
            'aria-current': current ? 'true' : undefined,
            onclick: () => void act(undefined, () => select(p.id)),
          },
          h('span', { class: 'name' }, p.displayName),
          h(
            'span',
            { class: 'meta' },
            `${p.enrolledDeviceCount} device${p.enrolledDeviceCount === 1 ? '' : 's'} · ${hasToken(p) ? `token until ${when(p.tokenExpirationDateTime)}` : 'no token'}`,
          ),
        ),
      ),
    );
  }
  rows.append(list);
  if (nextLink) {
    const more = h('button', { type: 'button', class: 'secondary' }, 'Load more') as HTMLButtonElement;
    more.addEventListener('click', () =>
      act(more, async () => {
        const page = await graph.list({ nextLink });
        profiles = [...profiles, ...page.value];
        nextLink = page.nextLink;
        renderRows();
        announce(`${page.value.length} more profiles loaded.`);
      }),
    );
    rows.append(more);
  }
}

async function loadFirstPage(): Promise<void> {
  const page = await graph.list({ prefix: search });
  profiles = page.value;
  nextLink = page.nextLink;
  renderRows();
}

async function select(id: string): Promise<void> {
  selected = await graph.get(id);
  renderRows();
  renderDetail(true);
}

async function refreshSelected(): Promise<void> {
  if (!selected) return;
  selected = await graph.get(selected.id);
  const i = profiles.findIndex((p) => p.id === selected!.id);
  if (i >= 0) profiles[i] = selected;
  renderRows();
  renderDetail();
}

function copyButton(label: string, text: () => string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'secondary' }, label) as HTMLButtonElement;
  b.addEventListener('click', () =>
    act(b, async () => {
      try {
        await navigator.clipboard.writeText(text());
      } catch {
        // No clipboard permission (e.g. headless): fall back to a selection copy.
        const t = h('textarea', { 'aria-hidden': 'true', class: 'offscreen' }, text());
        document.body.append(t);
        t.select();
        document.execCommand('copy');
        t.remove();
      }
      announce(`${label}: copied.`);
    }),
  );
  return b;
}

function renderDetail(focus = false): void {
  const el = document.getElementById('detail');
  if (!el) return;
  if (countdownTimer !== undefined) clearInterval(countdownTimer);
  countdownTimer = undefined;
  el.textContent = '';
  const p = selected;
  if (!p) {
    el.append(h('h2', { id: 'detail-title' }, 'Profile'), h('p', { class: 'empty' }, 'Select a profile to edit it and manage its enrollment token.'));
    return;
  }
  const title = h('h2', { id: 'detail-title', tabindex: -1 }, p.displayName);
  el.append(title, h('p', { class: 'meta' }, 'id ', h('code', {}, p.id), ` · created ${when(p.createdDateTime)}`));

  // Edit / delete
  const name = h('input', { name: 'displayName', required: true, maxlength: 256, value: p.displayName, autocomplete: 'off' }) as HTMLInputElement;
  const desc = h('input', { name: 'description', maxlength: 1024, value: p.description ?? '', autocomplete: 'off' }) as HTMLInputElement;
  const edit = h(
    'form',
    { class: 'edit', 'aria-label': 'Edit profile' },
    field('Name', name),
    field('Description', desc),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save changes'), deleteControl(p)),
  );
  edit.addEventListener('submit', (e) => {
    e.preventDefault();
    void act(edit.querySelector('button[type=submit]') as HTMLButtonElement, async () => {
      await graph.update(p.id, name.value.trim(), desc.value.trim());
      announce('Profile saved.');
      await refreshSelected();
    });
  });
  el.append(edit);

  // Token
  const token = h('section', { class: 'token', 'aria-labelledby': 'token-title' }, h('h3', { id: 'token-title' }, 'Enrollment token'));
  el.append(token);
  if (hasToken(p)) {
    const expires = new Date(p.tokenExpirationDateTime).getTime();
    const countdown = h('span', { class: 'countdown' }, remaining(expires - Date.now()));
    countdownTimer = window.setInterval(() => {
      countdown.textContent = remaining(expires - Date.now());
      if (expires <= Date.now()) void act(undefined, refreshSelected);
    }, 1000);
    const img = p.qrCodeImage
      ? h('img', { class: 'qr', src: `data:${p.qrCodeImage.type || 'image/png'};base64,${p.qrCodeImage.value}`, alt: `QR code for enrollment token ${p.tokenValue}` })
      : h('p', {}, 'No QR code image.');
    const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke token') as HTMLButtonElement;
    revoke.addEventListener('click', () =>
      act(revoke, async () => {
        await graph.revokeToken(p.id);
        announce('Token revoked.');
        await refreshSelected();
        focusById('token-title');
      }),
    );
    const enroll = h('button', { type: 'button' }, 'Enroll a simulated device') as HTMLButtonElement;
    enroll.addEventListener('click', () =>
      act(enroll, async () => {
        const r = await graph.enroll(p.tokenValue!);
        announce(`Device enrolled: ${r.enrolledDeviceCount} device${r.enrolledDeviceCount === 1 ? '' : 's'} now.`);
        await refreshSelected();
      }),
    );
    token.append(
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Token'),
        h('dd', {}, h('code', { class: 'tokenvalue' }, p.tokenValue!), ' ', copyButton('Copy token', () => p.tokenValue!)),
        h('dt', {}, 'Expires'),
        h('dd', {}, h('time', { datetime: p.tokenExpirationDateTime }, when(p.tokenExpirationDateTime)), ' · ', countdown),
        h('dt', {}, 'Enrolled devices'),
        h('dd', { class: 'count' }, String(p.enrolledDeviceCount)),
      ),
      h('figure', { class: 'qrbox' }, img, h('figcaption', {}, 'Scan on the device’s setup screen (tap six times on the welcome screen).')),
      h('div', { class: 'row' }, copyButton('Copy QR JSON', () => p.qrCodeContent ?? ''), enroll, revoke),
    );
  } else {
    token.append(
      h(
        'p',
        {},
        p.tokenExpirationDateTime && p.tokenExpirationDateTime !== NO_TOKEN && p.tokenExpirationDateTime.slice(0, 4) !== '0001'
          ? `No valid token (last one ended ${when(p.tokenExpirationDateTime)}).`
          : 'No token yet.',
        ` Enrolled devices: ${p.enrolledDeviceCount}.`,
      ),
    );
  }
  token.append(tokenForm(p));
  if (focus) title.focus();
}

function focusById(id: string): void {
  const t = document.getElementById(id);
  if (t) {
    t.setAttribute('tabindex', '-1');
    t.focus();
  }
}

const PRESETS: [string, number][] = [
  ['1 hour', 3600],
  ['1 day', 86_400],
  ['90 days', 7_776_000],
  ['65 years (the maximum)', 2_051_244_000],
];

function tokenForm(p: Profile): HTMLElement {
  const preset = h('select', { name: 'preset' }, ...PRESETS.map(([l, s]) => h('option', { value: String(s) }, l)), h('option', { value: 'custom' }, 'Number of seconds…')) as HTMLSelectElement;
  const seconds = h('input', { type: 'number', name: 'seconds', min: 1, max: 2_051_244_000, step: 1, value: '3600', inputmode: 'numeric' }) as HTMLInputElement;
  const secondsField = field('Seconds', seconds, 'From 1 to 2051244000.');
  secondsField.hidden = true;
  preset.addEventListener('change', () => {
    secondsField.hidden = preset.value !== 'custom';
  });
  const form = h(
    'form',
    { class: 'tokenform', 'aria-label': 'Create token' },
    h('div', { class: 'row' }, field('Validity', preset), secondsField),
    h('button', { type: 'submit', class: 'primary' }, hasToken(p) ? 'Replace token' : 'Create token'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void act(form.querySelector('button[type=submit]') as HTMLButtonElement, async () => {
      const s = preset.value === 'custom' ? Number(seconds.value) : Number(preset.value);
      if (!Number.isInteger(s) || s < 1 || s > 2_051_244_000) throw new Error('Validity must be a whole number of seconds from 1 to 2051244000.');
      await graph.createToken(p.id, s);
      announce('Token created.');
      await refreshSelected();
      focusById('token-title');
    });
  });
  return form;
}

function deleteControl(p: Profile): HTMLElement {
  const box = h('span', { class: 'delete' });
  const ask = h('button', { type: 'button', class: 'danger' }, 'Delete profile') as HTMLButtonElement;
  ask.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger' }, `Yes, delete “${p.displayName}”`) as HTMLButtonElement;
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel') as HTMLButtonElement;
    yes.addEventListener('click', () =>
      act(yes, async () => {
        await graph.remove(p.id);
        announce(`Deleted profile ${p.displayName}.`);
        selected = undefined;
        await loadFirstPage();
        renderDetail();
        focusById('list-title');
      }),
    );
    no.addEventListener('click', () => {
      box.textContent = '';
      box.append(ask);
      ask.focus();
    });
    box.textContent = '';
    box.append(h('span', { role: 'group', 'aria-label': 'Confirm deletion' }, yes, no));
    no.focus();
  });
  box.append(ask);
  return box;
}

// ---------- start ----------

async function start(): Promise<void> {
  let signInError: string | undefined;
  try {
    session = (await completeSignIn()) ?? currentSession();
  } catch (err) {
    signInError = (err as Error).message;
    session = currentSession();
  }
  if (!session) {
    renderWho();
    renderSignIn(signInError);
    return;
  }
  graph = new Graph(
    () => session!.accessToken,
    () => {
      signOut();
      session = undefined;
      renderWho();
      renderSignIn('Your session has ended: sign in again.');
    },
  );
  renderWho();
  renderApp();
  await act(undefined, loadFirstPage);
}

void start();
