/**
 * Test controls, for whoever holds the admin key: the server clock (set, advance, freeze, back to
 * real time), fault rules (add, list, clear), reset, and snapshot download and upload. They call
 * the control API (`/_admin/`); the key is kept in sessionStorage (this tab) like the session.
 */
import { act, announce, button, confirmed, field, focusById, h, select, utc } from './dom.js';
import { Admin, type FaultRule } from './graph.js';
import type { Context } from './profiles.js';

const KEY = 'enrollgraph.console.adminKey';

export function storedAdmin(): Admin | undefined {
  const k = sessionStorage.getItem(KEY);
  return k ? new Admin(k) : undefined;
}

const OPERATIONS = ['list', 'get', 'create', 'update', 'delete', 'createToken', 'revokeToken', 'batch', 'enroll'];
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE'];

function num(input: HTMLInputElement): number | undefined {
  return input.value.trim() === '' ? undefined : Number(input.value);
}

function describeRule(r: FaultRule): { when: string; does: string } {
  const match = [r.method, r.operation, r.path, r.tenant ? `tenant ${String(r.tenant)}` : undefined].filter(Boolean).join(' · ') || 'every call';
  const timing = r.nth !== undefined ? `, only the ${String(r.nth)}th match` : r.probability !== undefined ? `, with probability ${String(r.probability)}` : '';
  const does = [
    r.status !== undefined ? `answer ${String(r.status)}${r.retryAfter !== undefined ? ` (Retry-After ${String(r.retryAfter)})` : ''}` : undefined,
    r.latencyMs !== undefined ? `wait ${String(r.latencyMs)} ms` : undefined,
    r.drop ? 'drop the connection' : undefined,
  ].filter(Boolean).join(', ');
  return { when: match + timing, does: does || '—' };
}

export class AdminView {
  private faults: FaultRule[] = [];
  private untick: (() => void) | undefined;
  private note = '';

  constructor(
    private readonly ctx: Context,
    private readonly onKeyChange: () => void,
  ) {}

  render(main: HTMLElement): void {
    main.append(h('div', { id: 'controls', class: 'stack' }));
    this.draw();
    if (this.ctx.admin()) void act(document.getElementById('faults') ?? undefined, () => this.loadFaults());
  }

  dispose(): void {
    this.untick?.();
  }

  private draw(): void {
    const el = document.getElementById('controls');
    if (!el) return;
    this.untick?.();
    this.untick = undefined;
    el.replaceChildren(this.keySection());
    if (!this.ctx.admin()) return;
    el.append(this.clockSection(), this.faultSection(), this.resetSection(), this.snapshotSection());
    this.drawFaults();
  }

  private keySection(): HTMLElement {
    const sec = h('section', { class: 'card', 'aria-labelledby': 'key-title' }, h('h2', { id: 'key-title', tabindex: -1 }, 'Test controls'));
    if (this.ctx.admin()) {
      const forget = button('Forget the key', 'secondary');
      forget.addEventListener('click', () => {
        sessionStorage.removeItem(KEY);
        this.onKeyChange();
        this.draw();
        focusById('key-title');
      });
      sec.append(h('p', {}, 'The admin key is in use in this tab: these controls change the whole server, for every tenant.'), h('div', { class: 'actions' }, forget));
      return sec;
    }
    const key = h('input', { type: 'password', name: 'adminKey', required: true, autocomplete: 'off' });
    const use = button('Use this key', 'primary', 'submit');
    const form = h('form', { class: 'row', 'aria-label': 'Admin key' }, field('Admin key', key, 'The server prints it at first start; `enrollgraph admin-key` prints it later.'), use);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(use, async () => {
        const admin = new Admin(key.value.trim());
        this.ctx.clock.apply(await admin.clock()); // a wrong key is a 401 here, shown beside the form
        sessionStorage.setItem(KEY, admin.key);
        this.onKeyChange();
        this.draw();
        await this.loadFaults();
        announce('Admin key accepted.');
        focusById('clock-title');
      });
    });
    sec.append(h('p', {}, 'The control API moves the server clock, injects faults, resets and takes snapshots. It needs the server’s admin key.'), form);
    return sec;
  }

  private admin(): Admin {
    const a = this.ctx.admin();
    if (!a) throw new Error('No admin key: enter it first.');
    return a;
  }

  private clockSection(): HTMLElement {
    const clock = this.ctx.clock;
    const now = h('span', { id: 'clock-now', class: 'countdown' }, utc(clock.now()));
    const state = h('span', { id: 'clock-state' }, clock.frozen ? 'frozen' : 'running');
    const offset = h('span', {}, `${clock.offsetSeconds} s`);
    this.untick = clock.onTick(() => {
      now.textContent = utc(clock.now());
      state.textContent = clock.frozen ? 'frozen' : 'running';
      offset.textContent = `${clock.offsetSeconds} s`;
    });
    const applied = async (p: Promise<Parameters<typeof clock.apply>[0]>, what: string) => {
      clock.apply(await p);
      announce(`${what}: server clock ${utc(clock.now())}${clock.frozen ? ', frozen' : ''}.`);
      this.draw();
      focusById('clock-title');
    };

    const at = h('input', { type: 'datetime-local', name: 'now', step: 1, required: true, value: new Date(clock.now()).toISOString().slice(0, 19) });
    const freezeAt = h('input', { type: 'checkbox', name: 'frozen', checked: clock.frozen });
    const set = button('Set the clock', '', 'submit');
    const setForm = h('form', { class: 'row', 'aria-label': 'Set the clock' }, field('Date and time (UTC)', at), field('Frozen', freezeAt), set);
    setForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(set, () => {
        const v = at.value.length === 16 ? `${at.value}:00` : at.value;
        return applied(this.admin().setClock({ now: `${v}Z`, frozen: freezeAt.checked }), 'Set');
      });
    });

    const seconds = h('input', { type: 'number', name: 'seconds', step: 'any', required: true, value: '3600' });
    const adv = button('Advance', '', 'submit');
    const advForm = h('form', { class: 'row', 'aria-label': 'Advance the clock' }, field('Advance by (seconds; negative goes back)', seconds), adv);
    advForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(adv, () => applied(this.admin().advance(Number(seconds.value)), `Advanced ${seconds.value} s`));
    });
    const quick = ([['+1 min', 60], ['+1 hour', 3600], ['+1 day', 86_400]] as const).map(([label, s]) => {
      const b = button(label, 'secondary');
      b.setAttribute('aria-label', `Advance ${label.slice(1)}`);
      b.addEventListener('click', () => act(b, () => applied(this.admin().advance(s), `Advanced ${label.slice(1)}`)));
      return b;
    });
    const toggle = button(clock.frozen ? 'Unfreeze' : 'Freeze');
    toggle.addEventListener('click', () => act(toggle, () => applied(this.admin().setClock({ frozen: !clock.frozen }), clock.frozen ? 'Unfrozen' : 'Frozen')));
    const real = button('Back to real time', 'secondary');
    real.addEventListener('click', () => act(real, () => applied(this.admin().realTime(), 'Back to real time')));

    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'clock-title' },
      h('h2', { id: 'clock-title', tabindex: -1 }, 'Server clock'),
      h('dl', { class: 'facts' }, h('dt', {}, 'Now'), h('dd', {}, now), h('dt', {}, 'State'), h('dd', {}, state), h('dt', {}, 'Ahead of machine time'), h('dd', {}, offset)),
      setForm,
      advForm,
      h('div', { class: 'actions' }, ...quick, toggle, real),
    );
  }

  private async loadFaults(): Promise<void> {
    this.faults = await this.admin().faults();
    this.drawFaults();
  }

  private drawFaults(): void {
    const box = document.getElementById('fault-list');
    if (!box) return;
    box.textContent = '';
    if (this.faults.length === 0) {
      box.append(h('p', { class: 'empty' }, 'No fault rules.'));
      return;
    }
    const rows = this.faults.map((r) => {
      const d = describeRule(r);
      const del = button('Delete', 'danger');
      del.setAttribute('aria-label', `Delete rule ${r.id}`);
      del.addEventListener('click', () =>
        act(del, async () => {
          await this.admin().removeFault(r.id);
          announce('Rule deleted.');
          await this.loadFaults();
          focusById('faults-title');
        }),
      );
      return h('tr', {}, h('td', {}, d.when), h('td', {}, d.does), h('td', { class: 'hits' }, String(r.hits)), h('td', { class: 'actions' }, del));
    });
    box.append(
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { 'aria-label': 'Fault rules' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'Does'), h('th', { scope: 'col' }, 'Hits'), h('th', { scope: 'col' }, ''))),
          h('tbody', {}, ...rows),
        ),
      ),
    );
  }

  private faultSection(): HTMLElement {
    const operation = select('operation', [['', 'Any'], ...OPERATIONS.map((o) => [o, o] as const)]);
    const method = select('method', [['', 'Any'], ...METHODS.map((m) => [m, m] as const)]);
    const path = h('input', { name: 'path', autocomplete: 'off', placeholder: '/beta/deviceManagement/*' });
    const status = h('input', { type: 'number', name: 'status', min: 400, max: 599, value: '503' });
    const retryAfter = h('input', { type: 'number', name: 'retryAfter', min: 0 });
    const latency = h('input', { type: 'number', name: 'latencyMs', min: 0 });
    const nth = h('input', { type: 'number', name: 'nth', min: 1 });
    const drop = h('input', { type: 'checkbox', name: 'drop' });
    const mine = h('input', { type: 'checkbox', name: 'tenantOnly', checked: true });
    const add = button('Add rule', 'primary', 'submit');
    const form = h(
      'form',
      { class: 'faultform', 'aria-label': 'Add a fault rule' },
      h('div', { class: 'row' }, field('Operation', operation), field('Method', method), field('Path (glob)', path)),
      h('div', { class: 'row' }, field('Answer with status', status, '400–599; empty: none.'), field('Retry-After (s)', retryAfter), field('Latency (ms)', latency)),
      h('div', { class: 'row' }, field('Only the n-th match', nth, 'Empty: every match.'), field('Drop the connection', drop), field('This tenant only', mine)),
      add,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(add, async () => {
        const rule: Record<string, unknown> = {};
        if (operation.value) rule.operation = operation.value;
        if (method.value) rule.method = method.value;
        if (path.value.trim()) rule.path = path.value.trim();
        if (mine.checked) rule.tenant = this.ctx.session.tenantId;
        const n = { status: num(status), retryAfter: num(retryAfter), latencyMs: num(latency), nth: num(nth) };
        for (const [k, v] of Object.entries(n)) if (v !== undefined) rule[k] = v;
        if (drop.checked) rule.drop = true;
        await this.admin().addFault(rule);
        announce('Fault rule added.');
        await this.loadFaults();
      });
    });
    const refresh = button('Refresh', 'secondary');
    refresh.addEventListener('click', () => act(refresh, () => this.loadFaults()));
    return h(
      'section',
      { id: 'faults', class: 'card', 'aria-labelledby': 'faults-title' },
      h('h2', { id: 'faults-title', tabindex: -1 }, 'Fault rules'),
      form,
      h('h3', {}, 'Rules, in the order they are checked'),
      h('div', { id: 'fault-list' }),
      h(
        'div',
        { class: 'actions' },
        refresh,
        confirmed('Clear all rules', 'Yes, delete every rule', async () => {
          const r = await this.admin().clearFaults();
          announce(`${r.deleted} rules deleted.`);
          await this.loadFaults();
          focusById('faults-title');
        }),
      ),
    );
  }

  private resetSection(): HTMLElement {
    const done = async (what: string) => {
      await this.ctx.clock.sync();
      this.note = `${what} at ${utc(this.ctx.clock.now())}.`;
      announce(this.note);
      await this.loadFaults();
      const n = document.getElementById('reset-note');
      if (n) n.textContent = this.note;
    };
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'reset-title' },
      h('h2', { id: 'reset-title' }, 'Reset'),
      h('p', {}, 'Back to the seed (or empty): profiles, devices, licence flags and counters; "everything" also fault rules and the clock. Signing keys and the admin key stay, so you stay signed in.'),
      h(
        'div',
        { class: 'actions' },
        confirmed('Reset this tenant', 'Yes, reset this tenant', async () => {
          await this.admin().reset(this.ctx.session.tenantId);
          await done('This tenant was reset');
        }),
        confirmed('Reset everything', 'Yes, reset the whole server', async () => {
          await this.admin().reset();
          await done('The server was reset');
        }),
      ),
      h('p', { id: 'reset-note', role: 'status' }, this.note),
    );
  }

  private snapshotSection(): HTMLElement {
    const download = button('Download snapshot');
    download.addEventListener('click', () =>
      act(download, async () => {
        const blob = await this.admin().snapshot();
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: `enrollgraph-snapshot-${new Date(this.ctx.clock.now()).toISOString().slice(0, 19).replace(/:/g, '')}Z.json`, class: 'offscreen' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        announce('Snapshot downloaded.');
      }),
    );
    const file = h('input', { type: 'file', name: 'snapshot', accept: '.json,.yaml,.yml,application/json' });
    const result = h('p', { id: 'import-result', role: 'status' });
    const upload = h(
      'form',
      { class: 'row', 'aria-label': 'Upload a snapshot' },
      field('Snapshot file', file),
      h(
        'div',
        { class: 'actions' },
        confirmed('Upload snapshot', 'Yes, replace all state with this file', async () => {
          const f = file.files?.[0];
          if (!f) throw new Error('Choose a snapshot file first.');
          const r = await this.admin().importSnapshot(await f.text());
          await this.ctx.clock.sync();
          result.textContent = `Imported: ${Object.entries(r.imported).map(([k, v]) => `${v} ${k}`).join(', ')}.`;
          announce(result.textContent);
        }),
      ),
    );
    upload.addEventListener('submit', (e) => e.preventDefault());
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'snapshot-title' },
      h('h2', { id: 'snapshot-title' }, 'Snapshot'),
      h('p', {}, 'All state as one JSON file (no signing keys, no admin key): save it, and load it back to replace everything.'),
      h('div', { class: 'actions' }, download),
      upload,
      result,
    );
  }
}
