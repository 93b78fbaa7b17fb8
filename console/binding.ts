/**
 * The Managed Google Play binding (androidManagedStoreAccountEnterpriseSettings): its status, app
 * sync, unbind, and binding again through the stand-in signup page, as Intune's admin does it:
 * requestSignupUrl → the signup page (a new tab) → it returns to https://{host}/?enterpriseToken=T →
 * completeSignup(T).
 */
import { act, announce, button, confirmed, field, focusById, h, parseInstant, utc } from './dom.js';
import type { Binding } from './graph.js';
import type { Context } from './profiles.js';

/** Where the signup page returns to: a reserved name (RFC 2606) that resolves nowhere, so the enterprise token never leaves this machine. */
const RETURN_HOST = 'enrollgraph.invalid';

export class BindingView {
  private binding: Binding | undefined;
  private signupUrl: string | undefined;

  constructor(private readonly ctx: Context) {}

  render(main: HTMLElement): void {
    main.append(h('section', { id: 'binding', class: 'card wide', 'aria-labelledby': 'binding-title' }, h('h2', { id: 'binding-title' }, 'Managed Google Play')));
    void act(document.getElementById('binding') ?? undefined, () => this.load());
  }

  dispose(): void {}

  private async load(focus?: string): Promise<void> {
    this.binding = await this.ctx.graph.binding();
    this.draw();
    if (focus) focusById(focus);
  }

  private draw(): void {
    const el = document.getElementById('binding');
    const b = this.binding;
    if (!el || !b) return;
    el.replaceChildren(h('h2', { id: 'binding-title', tabindex: -1 }, 'Managed Google Play'));
    const bound = b.bindStatus !== 'notBound';
    const sync = parseInstant(b.lastAppSyncDateTime);
    el.append(
      h('p', {}, 'The tenant’s binding to Managed Google Play. Tokens of the GMS modes (dedicated, fully managed, work profile) need it.'),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Status'),
        h('dd', {}, h('strong', { class: `bind ${bound ? 'ok' : 'off'}`, id: 'bind-status' }, b.bindStatus)),
        h('dt', {}, 'Owner'),
        h('dd', {}, b.ownerUserPrincipalName ?? '—'),
        h('dt', {}, 'Organisation'),
        h('dd', {}, b.ownerOrganizationName ?? '—'),
        h('dt', {}, 'Enterprise type'),
        h('dd', {}, b.managedGooglePlayEnterpriseType),
        h('dt', {}, 'Last app sync'),
        h('dd', { id: 'app-sync' }, `${sync > 0 ? utc(sync) : 'never'} · ${b.lastAppSyncStatus}`),
      ),
    );
    const syncButton = button('Sync apps');
    syncButton.addEventListener('click', () =>
      act(syncButton, async () => {
        await this.ctx.graph.bindingAction('syncApps');
        announce('Apps synchronised.');
        await this.load('binding-title');
      }),
    );
    el.append(
      h(
        'div',
        { class: 'actions' },
        syncButton,
        bound
          ? confirmed('Unbind', 'Yes, unbind Managed Google Play', async () => {
              await this.ctx.graph.bindingAction('unbind');
              announce('Unbound.');
              await this.load('binding-title');
            })
          : null,
      ),
      this.bindSection(bound),
    );
  }

  private bindSection(bound: boolean): HTMLElement {
    const sec = h(
      'section',
      { class: 'bindagain', 'aria-labelledby': 'bind-title' },
      h('h3', { id: 'bind-title' }, bound ? 'Bind again' : 'Bind'),
      h('p', { class: 'hint' }, `1. Get a signup link and open it. 2. Submit the signup page: it returns to https://${RETURN_HOST}/?enterpriseToken=… (a page that cannot load). 3. Paste that address here.`),
    );
    const get = button('Get a signup link');
    get.addEventListener('click', () =>
      act(get, async () => {
        const r = await this.ctx.graph.bindingAction<{ value: string }>('requestSignupUrl', { hostName: RETURN_HOST });
        this.signupUrl = r.value;
        this.draw();
        focusById('signup-link');
      }),
    );
    sec.append(h('div', { class: 'actions' }, get));
    if (this.signupUrl) {
      sec.append(h('p', {}, h('a', { id: 'signup-link', href: this.signupUrl, target: '_blank', rel: 'noopener' }, 'Open the signup page (new tab)')));
    }
    const answer = h('input', { name: 'enterpriseToken', autocomplete: 'off', required: true });
    const complete = button('Complete binding', 'primary', 'submit');
    const form = h('form', { class: 'row', 'aria-label': 'Complete binding' }, field('Address the signup returned to, or its enterprise token', answer), complete);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(complete, async () => {
        const text = answer.value.trim();
        let token = text;
        try {
          token = new URL(text).searchParams.get('enterpriseToken') ?? text;
        } catch {
          /* not an address: the token itself */
        }
        await this.ctx.graph.bindingAction('completeSignup', { enterpriseToken: token });
        this.signupUrl = undefined;
        announce('Bound to Managed Google Play.');
        await this.load('binding-title');
      });
    });
    sec.append(form);
    return sec;
  }
}
