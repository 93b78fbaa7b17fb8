/**
 * The profiles views, one per kind (androidForWork, device owner): the list (search by any part of
 * the name, paging, create) beside the selected profile (edit, delete, token with its QR code and a
 * countdown by the server clock, copy, revoke, simulated enrollment, enrolled devices).
 */
import type { Session } from './auth.js';
import type { ServerClock } from './clock.js';
import { act, announce, button, confirmed, field, focusById, h, parseInstant, remaining, select, utc } from './dom.js';
import { enroll, type Admin, type Graph, type Kind, type Profile } from './graph.js';
import { qrFigure } from './qr.js';

export interface Context {
  graph: Graph;
  clock: ServerClock;
  session: Session;
  admin(): Admin | undefined;
}

export const MODES: readonly (readonly [string, string])[] = [
  ['corporateOwnedDedicatedDevice', 'Dedicated device'],
  ['corporateOwnedFullyManaged', 'Fully managed'],
  ['corporateOwnedWorkProfile', 'Corporate-owned work profile'],
  ['corporateOwnedAOSPUserlessDevice', 'AOSP userless'],
  ['corporateOwnedAOSPUserAssociatedDevice', 'AOSP user-associated'],
];
const TOKEN_TYPES: readonly (readonly [string, string])[] = [
  ['default', 'Default'],
  ['corporateOwnedDedicatedDeviceWithAzureADSharedMode', 'Dedicated, Microsoft Entra shared mode'],
  ['deviceStaging', 'Device staging'],
];
const WIFI_SECURITY: readonly (readonly [string, string])[] = [
  ['none', 'None (open)'],
  ['wpa', 'WPA'],
  ['wep', 'WEP'],
];
const modeLabel = (m: string | undefined) => MODES.find(([v]) => v === m)?.[1] ?? m ?? '';
const isAosp = (p: Profile) => !!p.enrollmentMode?.includes('AOSP');
/** The longest token a profile takes: 90 days for AOSP userless, else 65 years (Intune's limits). */
const maxValidity = (p: Profile) => (p.enrollmentMode === 'corporateOwnedAOSPUserlessDevice' ? 7_776_000 : 2_051_244_000);

const PRESETS: [string, number][] = [
  ['1 hour', 3600],
  ['1 day', 86_400],
  ['90 days', 7_776_000],
  ['65 years (the maximum)', 2_051_244_000],
];
const LIST_PAGE = 20;

export class ProfilesView {
  private profiles: Profile[] = [];
  private nextLink: string | undefined;
  private search = '';
  /** Search results (matched here), shown LIST_PAGE at a time. */
  private matches: Profile[] | undefined;
  private shown = LIST_PAGE;
  private selected: Profile | undefined;
  private untick: (() => void) | undefined;
  private devices = new Map<string, Awaited<ReturnType<Admin['devices']>>>();

  constructor(
    private readonly kind: Kind,
    private readonly ctx: Context,
  ) {}

  private get title(): string {
    return this.kind === 'work' ? 'Android for Work profiles' : 'Device-owner profiles';
  }

  render(main: HTMLElement): void {
    main.append(h('div', { class: 'layout' }, this.listPanel(), h('section', { id: 'detail', class: 'card detail', 'aria-labelledby': 'detail-title' })));
    this.renderDetail();
    void act(document.getElementById('rows') ?? undefined, () => this.loadFirstPage());
  }

  dispose(): void {
    this.untick?.();
  }

  private hasToken(p: Profile): boolean {
    return !!p.tokenValue && parseInstant(p.tokenExpirationDateTime) > this.ctx.clock.now();
  }

  private listPanel(): HTMLElement {
    const q = h('input', { type: 'search', name: 'q', value: this.search, autocomplete: 'off' });
    const searchForm = h('form', { role: 'search', class: 'row', 'aria-label': 'Search profiles' }, field('Search by name', q, 'Any part of the name, in any case.'), button('Search', '', 'submit'));
    searchForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.search = q.value.trim();
      void act(searchForm.querySelector('button')!, () => this.loadFirstPage());
    });

    const name = h('input', { name: 'displayName', required: true, maxlength: 256, autocomplete: 'off' });
    const desc = h('input', { name: 'description', maxlength: 1024, autocomplete: 'off' });
    const mode = this.kind === 'owner' ? select('enrollmentMode', MODES) : undefined;
    const createForm = h(
      'form',
      { class: 'create', 'aria-labelledby': 'create-title' },
      h('h3', { id: 'create-title' }, 'New profile'),
      field('Name', name),
      field('Description (optional)', desc),
      mode ? field('Enrollment mode', mode, 'Set at creation, as in Intune.') : null,
      button('Create profile', 'primary', 'submit'),
    );
    createForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(createForm.querySelector('button')!, async () => {
        const body: Record<string, unknown> = { displayName: name.value.trim(), description: desc.value.trim() || null };
        if (mode) body.enrollmentMode = mode.value;
        const p = await this.ctx.graph.create(this.kind, body);
        name.value = '';
        desc.value = '';
        announce(`Created profile ${p.displayName}.`);
        this.selected = p;
        await this.loadFirstPage();
        this.renderDetail(true);
      });
    });

    return h(
      'section',
      { class: 'card list', 'aria-labelledby': 'list-title' },
      h('h2', { id: 'list-title' }, this.title),
      searchForm,
      h('div', { id: 'rows' }),
      createForm,
    );
  }

  private renderRows(): void {
    const rows = document.getElementById('rows');
    if (!rows) return;
    rows.textContent = '';
    const items = this.matches ? this.matches.slice(0, this.shown) : this.profiles;
    if (this.matches) rows.append(h('p', { class: 'note', id: 'search-result' }, `${this.matches.length} profile${this.matches.length === 1 ? '' : 's'} match “${this.search}”.`));
    if (items.length === 0) {
      if (!this.matches) rows.append(h('p', { class: 'empty' }, 'No profiles yet: create one below.'));
      return;
    }
    const list = h('ul', { class: 'profiles', 'aria-label': 'Profiles' });
    for (const p of items) {
      const current = this.selected?.id === p.id;
      const open = h(
        'button',
        { type: 'button', class: `profile${current ? ' current' : ''}`, 'aria-current': current ? 'true' : undefined },
        h('span', { class: 'name' }, p.displayName),
        h(
          'span',
          { class: 'meta' },
          [
            this.kind === 'owner' ? modeLabel(p.enrollmentMode) : '',
            `${p.enrolledDeviceCount} device${p.enrolledDeviceCount === 1 ? '' : 's'}`,
            this.hasToken(p) ? `token until ${utc(parseInstant(p.tokenExpirationDateTime))}` : 'no token',
          ].filter(Boolean).join(' · '),
        ),
      );
      open.addEventListener('click', () => act(open, () => this.select(p.id)));
      list.append(h('li', {}, open));
    }
    rows.append(list);
    const more = this.matches ? this.matches.length > this.shown : !!this.nextLink;
    if (more) {
      const b = button('Load more', 'secondary');
      b.addEventListener('click', () =>
        act(b, async () => {
          if (this.matches) {
            this.shown += LIST_PAGE;
          } else {
            const page = await this.ctx.graph.list(this.kind, { nextLink: this.nextLink });
            this.profiles = [...this.profiles, ...page.value];
            this.nextLink = page.nextLink;
          }
          this.renderRows();
          announce('More profiles loaded.');
        }),
      );
      rows.append(h('div', { class: 'actions' }, b));
    }
  }

  private async loadFirstPage(): Promise<void> {
    this.shown = LIST_PAGE;
    if (this.search) {
      this.matches = await this.ctx.graph.search(this.kind, this.search, (n) => announce(`Searching: ${n} profiles read.`));
      announce(`${this.matches.length} profiles match.`);
    } else {
      this.matches = undefined;
      const page = await this.ctx.graph.list(this.kind);
      this.profiles = page.value;
      this.nextLink = page.nextLink;
    }
    this.renderRows();
  }

  private async select(id: string): Promise<void> {
    // The panel shows what was there until the profile arrives: nothing in it may be used meanwhile
    // (a choice made in its forms would be lost when the profile is drawn).
    const el = document.getElementById('detail');
    if (el) {
      this.untick?.();
      this.untick = undefined;
      el.setAttribute('aria-busy', 'true');
      el.replaceChildren(h('h2', { id: 'detail-title' }, 'Loading…'));
    }
    try {
      this.selected = await this.ctx.graph.get(this.kind, id);
      await this.loadDevices();
    } catch (err) {
      this.renderDetail(); // the profile shown before, usable again
      throw err;
    }
    this.renderRows();
    this.renderDetail(true);
  }

  private async loadDevices(): Promise<void> {
    const admin = this.ctx.admin();
    if (!admin || !this.selected) return;
    const all = await admin.devices(this.ctx.session.tenantId);
    this.devices.set(this.selected.id, all.filter((d) => d.profileId === this.selected!.id));
  }

  private async refreshSelected(): Promise<void> {
    if (!this.selected) return;
    const [p] = await Promise.all([this.ctx.graph.get(this.kind, this.selected.id), this.ctx.clock.sync().catch(() => undefined)]);
    this.selected = p;
    await this.loadDevices();
    for (const list of [this.profiles, this.matches ?? []]) {
      const i = list.findIndex((x) => x.id === p.id);
      if (i >= 0) list[i] = { ...list[i]!, ...p };
    }
    this.renderRows();
    this.renderDetail();
  }

  private copyButton(label: string, text: () => string): HTMLButtonElement {
    const b = button(label, 'secondary');
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

  private renderDetail(focus = false): void {
    const el = document.getElementById('detail');
    if (!el) return;
    this.untick?.();
    this.untick = undefined;
    el.removeAttribute('aria-busy');
    el.textContent = '';
    const p = this.selected;
    if (!p) {
      el.append(h('h2', { id: 'detail-title' }, 'Profile'), h('p', { class: 'empty' }, 'Select a profile to edit it and manage its enrollment token.'));
      return;
    }
    const title = h('h2', { id: 'detail-title', tabindex: -1 }, p.displayName);
    el.append(
      title,
      h('p', { class: 'meta' }, this.kind === 'owner' ? `${modeLabel(p.enrollmentMode)} · ` : '', 'id ', h('code', {}, p.id), ` · created ${utc(parseInstant(p.createdDateTime))}`),
      this.editForm(p),
      this.tokenSection(p),
      this.devicesSection(p),
    );
    if (focus) title.focus();
  }

  private editForm(p: Profile): HTMLElement {
    const name = h('input', { name: 'displayName', required: true, maxlength: 256, value: p.displayName, autocomplete: 'off' });
    const desc = h('input', { name: 'description', maxlength: 1024, value: p.description ?? '', autocomplete: 'off' });
    const extra: HTMLElement[] = [];
    let collect = (): Record<string, unknown> => ({});
    if (this.kind === 'owner') {
      const tokenType = select('enrollmentTokenType', TOKEN_TYPES, p.enrollmentTokenType ?? 'default');
      const template = h('input', { name: 'deviceNameTemplate', maxlength: 63, value: p.deviceNameTemplate ?? '', autocomplete: 'off' });
      const configure = h('input', { type: 'checkbox', name: 'configureWifi', checked: p.configureWifi ?? true });
      const ssid = h('input', { name: 'wifiSsid', maxlength: 32, value: p.wifiSsid ?? '', autocomplete: 'off' });
      const security = select('wifiSecurityType', WIFI_SECURITY, p.wifiSecurityType ?? 'none');
      const password = h('input', { type: 'password', name: 'wifiPassword', maxlength: 63, value: p.wifiPassword ?? '', autocomplete: 'new-password' });
      const hidden = h('input', { type: 'checkbox', name: 'wifiHidden', checked: p.wifiHidden ?? false });
      extra.push(
        h('div', { class: 'row' }, field('Token type', tokenType), field('Device name template', template, 'Up to 63 characters, e.g. KIOSK-{{SERIAL}}.')),
        h(
          'fieldset',
          { class: 'wifi' },
          h('legend', {}, 'Wi-Fi'),
          field('Configure Wi-Fi', configure, isAosp(p) ? 'Carried in this profile’s QR code.' : 'Carried in the QR code of AOSP modes.'),
          h('div', { class: 'row' }, field('Network name (SSID)', ssid), field('Security', security)),
          h('div', { class: 'row' }, field('Password', password), field('Hidden network', hidden)),
        ),
      );
      collect = () => ({
        enrollmentTokenType: tokenType.value,
        deviceNameTemplate: template.value.trim() || null,
        configureWifi: configure.checked,
        wifiSsid: ssid.value || null,
        wifiSecurityType: security.value,
        wifiPassword: password.value || null,
        wifiHidden: hidden.checked,
      });
    }
    const save = button('Save changes', '', 'submit');
    const edit = h(
      'form',
      { class: 'edit', 'aria-label': 'Edit profile' },
      h('div', { class: 'row' }, field('Name', name), field('Description', desc)),
      ...extra,
      h(
        'div',
        { class: 'row' },
        save,
        confirmed('Delete profile', `Yes, delete “${p.displayName}”`, async () => {
          await this.ctx.graph.remove(this.kind, p.id);
          announce(`Deleted profile ${p.displayName}.`);
          this.selected = undefined;
          await this.loadFirstPage();
          this.renderDetail();
          focusById('list-title');
        }),
      ),
    );
    edit.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(save, async () => {
        await this.ctx.graph.update(this.kind, p.id, { displayName: name.value.trim(), description: desc.value.trim() || null, ...collect() });
        announce('Profile saved.');
        await this.refreshSelected();
      });
    });
    return edit;
  }

  private tokenSection(p: Profile): HTMLElement {
    const token = h('section', { class: 'token', 'aria-labelledby': 'token-title' }, h('h3', { id: 'token-title' }, 'Enrollment token'));
    if (this.hasToken(p)) {
      const expires = parseInstant(p.tokenExpirationDateTime);
      const countdown = h('span', { class: 'countdown', 'data-expires': p.tokenExpirationDateTime }, remaining(expires - this.ctx.clock.now()));
      let ended = false;
      this.untick = this.ctx.clock.onTick(() => {
        const left = expires - this.ctx.clock.now();
        countdown.textContent = remaining(left);
        if (left <= 0 && !ended) {
          // Expired by the server clock: show what the server now says of this profile.
          ended = true;
          void act(undefined, () => this.refreshSelected());
        }
      });
      const revoke = h(
        'div',
        { class: 'actions' },
        this.copyButton('Copy token', () => p.tokenValue!),
        this.copyButton('Copy QR content', () => p.qrCodeContent ?? ''),
        this.enrollButton(p),
        confirmed('Revoke token', 'Yes, revoke the token', async () => {
          await this.ctx.graph.revokeToken(this.kind, p.id);
          announce('Token revoked.');
          await this.refreshSelected();
          focusById('token-title');
        }),
      );
      const facts: (Node | string)[] = [h('dt', {}, 'Token'), h('dd', {}, h('code', { class: 'tokenvalue' }, p.tokenValue!))];
      if (p.tokenCreationDateTime) facts.push(h('dt', {}, 'Created'), h('dd', {}, utc(parseInstant(p.tokenCreationDateTime))));
      facts.push(h('dt', {}, 'Expires'), h('dd', {}, h('time', { datetime: p.tokenExpirationDateTime }, utc(expires)), ' · ', countdown));
      if (p.enrollmentTokenUsageCount !== undefined) facts.push(h('dt', {}, 'Devices with this token'), h('dd', { class: 'usage' }, String(p.enrollmentTokenUsageCount)));
      token.append(
        h('dl', { class: 'facts' }, ...facts),
        p.qrCodeImage
          ? qrFigure(
              p.qrCodeImage,
              `QR code for enrollment token ${p.tokenValue}`,
              `${p.displayName.replace(/[^\w.-]+/g, '-').slice(0, 60) || 'profile'}-qr.png`,
              isAosp(p) ? 'Scan on the AOSP device’s setup screen.' : 'Scan on the device’s setup screen (tap six times on the welcome screen).',
            )
          : h('p', {}, 'No QR code image.'),
        revoke,
      );
    } else {
      const ended = parseInstant(p.tokenExpirationDateTime);
      token.append(h('p', { class: 'notoken' }, ended > 0 ? `No valid token (the last one ended ${utc(ended)}).` : 'No token yet.'));
      // The server clock moved back before the expiry: the token is valid again.
      if (p.tokenValue) this.untick = this.ctx.clock.onTick(() => this.hasToken(p) && this.renderDetail());
    }
    token.append(this.tokenForm(p));
    return token;
  }

  private enrollButton(p: Profile): HTMLButtonElement {
    const b = button('Enroll a simulated device');
    b.addEventListener('click', () =>
      act(b, async () => {
        const serial = `SIM${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
        const r = await enroll(p.tokenValue!, serial);
        announce(`Device ${serial} enrolled: ${r.enrolledDeviceCount} device${r.enrolledDeviceCount === 1 ? '' : 's'} now.`);
        await this.refreshSelected();
      }),
    );
    return b;
  }

  private tokenForm(p: Profile): HTMLElement {
    const max = maxValidity(p);
    const preset = h(
      'select',
      { name: 'preset' },
      ...PRESETS.map(([l, s]) => h('option', { value: String(s) }, l)),
      h('option', { value: 'custom' }, 'Number of seconds…'),
    );
    const seconds = h('input', { type: 'number', name: 'seconds', min: 1, max, step: 1, value: '3600', inputmode: 'numeric' });
    const secondsField = field('Seconds', seconds, `From 1 to ${max}.`);
    secondsField.hidden = true;
    preset.addEventListener('change', () => {
      secondsField.hidden = preset.value !== 'custom';
    });
    const submit = button(this.hasToken(p) ? 'Replace token' : 'Create token', 'primary', 'submit');
    const form = h(
      'form',
      { class: 'tokenform', 'aria-label': 'Create token' },
      h('div', { class: 'row' }, field('Validity', preset, max < 2_051_244_000 ? 'At most 90 days for AOSP userless profiles.' : undefined), secondsField),
      submit,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(submit, async () => {
        const s = preset.value === 'custom' ? Number(seconds.value) : Number(preset.value);
        if (!Number.isInteger(s) || s < 1) throw new Error('Validity must be a whole number of seconds, at least 1.');
        await this.ctx.graph.createToken(this.kind, p.id, s);
        announce('Token created.');
        await this.refreshSelected();
        focusById('token-title');
      });
    });
    return form;
  }

  private devicesSection(p: Profile): HTMLElement {
    const sec = h(
      'section',
      { class: 'devices', 'aria-labelledby': 'devices-title' },
      h('h3', { id: 'devices-title' }, 'Enrolled devices'),
      h('p', {}, 'Devices enrolled with this profile: ', h('strong', { class: 'count' }, String(p.enrolledDeviceCount)), '.'),
    );
    const list = this.devices.get(p.id);
    if (!this.ctx.admin()) {
      sec.append(h('p', { class: 'hint' }, 'The list of devices comes from the control API: enter the admin key under Test controls to see it.'));
    } else if (list && list.length) {
      sec.append(
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { 'aria-label': 'Enrolled devices' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Serial number'), h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col' }, 'Enrolled'), h('th', { scope: 'col' }, 'Device id'))),
            h(
              'tbody',
              {},
              ...list.map((d) => h('tr', {}, h('td', {}, d.serialNumber ?? '—'), h('td', {}, d.model ?? '—'), h('td', {}, utc(parseInstant(d.enrolledDateTime))), h('td', {}, h('code', {}, d.deviceId)))),
            ),
          ),
        ),
      );
    } else {
      sec.append(h('p', { class: 'empty' }, 'No device has enrolled with this profile yet.'));
    }
    return sec;
  }
}
