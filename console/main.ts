/**
 * Enrollgraph's web console: plain TypeScript and the DOM, no framework (docs/console.md).
 * Sections (the address's #fragment): Android for Work profiles, device-owner profiles, the Managed
 * Google Play binding, and test controls for whoever holds the admin key. The header shows the
 * server clock, by which every countdown runs.
 */
import { AdminView, storedAdmin } from './admin.js';
import { completeSignIn, currentSession, replaceToken, signIn, signOut, type Session } from './auth.js';
import { BindingView } from './binding.js';
import { ServerClock } from './clock.js';
import { $, act, button, h, showPageError, utc } from './dom.js';
import { Graph, type Admin } from './graph.js';
import { ProfilesView, type Context } from './profiles.js';

interface View {
  render(main: HTMLElement): void;
  dispose(): void;
}

const SECTIONS = [
  ['work', 'Android for Work'],
  ['owner', 'Device owner'],
  ['play', 'Managed Google Play'],
  ['test', 'Test controls'],
] as const;
type Section = (typeof SECTIONS)[number][0];

let session: Session | undefined;
let admin: Admin | undefined = storedAdmin();
const clock = new ServerClock(() => admin);
let ctx: Context;
let view: View | undefined;

function renderWho(): void {
  const who = $('who');
  who.textContent = '';
  if (!session) return;
  const out = button('Sign out', 'secondary');
  out.addEventListener('click', () => {
    signOut();
    location.reload();
  });
  who.append(h('span', {}, session.upn || 'signed in', h('span', { class: 'tenant' }, ` · tenant ${session.tenantId}`)), out);
}

function renderClock(): void {
  const el = $('server-clock');
  const text = `Server clock ${utc(clock.now())}${clock.frozen ? ' · frozen' : ''}`;
  if (el.textContent !== text) el.textContent = text;
}

function renderSignIn(message?: string): void {
  const main = $('main');
  main.textContent = '';
  const b = button('Sign in', 'primary');
  b.addEventListener('click', () => act(b, () => signIn()));
  main.append(
    h(
      'section',
      { class: 'card signin', 'aria-labelledby': 'signin-title' },
      h('h2', { id: 'signin-title' }, 'Sign in'),
      h('p', {}, 'Sign in with the server’s own authority (authorization code with PKCE). The console then manages Android Enterprise enrollment through the Graph API with your token.'),
      message ? h('p', { class: 'note' }, message) : null,
      h('div', { class: 'actions' }, b),
    ),
  );
}

function current(): Section {
  const s = location.hash.replace(/^#\/?/, '');
  return (SECTIONS.find(([k]) => k === s)?.[0] ?? 'work') as Section;
}

function renderNav(): void {
  const nav = $('nav');
  nav.hidden = !session;
  nav.replaceChildren(
    h(
      'ul',
      {},
      ...SECTIONS.map(([k, label]) => h('li', {}, h('a', { href: `#/${k}`, 'aria-current': current() === k ? 'page' : undefined }, label))),
    ),
  );
}

function route(focus: boolean): void {
  if (!session) return;
  view?.dispose();
  const main = $('main');
  main.textContent = '';
  const s = current();
  view =
    s === 'owner' ? new ProfilesView('owner', ctx)
    : s === 'play' ? new BindingView(ctx)
    : s === 'test' ? new AdminView(ctx, () => {
        admin = storedAdmin();
        void clock.sync().catch(() => undefined);
      })
    : new ProfilesView('work', ctx);
  renderNav();
  view.render(main);
  document.title = `${SECTIONS.find(([k]) => k === s)![1]} · Enrollgraph console`;
  if (focus) main.focus();
}

async function start(): Promise<void> {
  let signInError: string | undefined;
  try {
    session = (await completeSignIn()) ?? currentSession();
  } catch (err) {
    signInError = (err as Error).message;
    session = currentSession();
  }
  clock.onTick(renderClock);
  clock.start();
  void clock.sync().catch(() => undefined);
  if (!session) {
    renderWho();
    renderNav();
    renderSignIn(signInError);
    return;
  }
  const graph = new Graph(
    () => session!.accessToken,
    (failure) => {
      signOut();
      session = undefined;
      view?.dispose();
      view = undefined;
      renderWho();
      renderNav();
      renderSignIn('Your session has ended: sign in again.');
      showPageError(failure);
    },
    // Test controls move the server clock past (or before) the session's token; with the admin key,
    // the console mints the same user a token on the server's clock instead of signing them out.
    async () => {
      if (!admin || !session) return false;
      replaceToken(session, await admin.mintToken(session.tenantId, session.upn));
      return true;
    },
  );
  ctx = { graph, clock, session, admin: () => admin };
  renderWho();
  try {
    await clock.sync();
  } catch (err) {
    showPageError(err);
  }
  window.addEventListener('hashchange', () => route(true));
  route(false);
}

void start();
