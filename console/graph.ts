/**
 * The calls of the console: the same public Graph API any client uses, with the signed-in user's
 * token; the device enrollment endpoint (no token); and the control API with the admin key.
 */

export type Kind = 'work' | 'owner';

export const COLLECTIONS: Record<Kind, string> = {
  work: '/beta/deviceManagement/androidForWorkEnrollmentProfiles',
  owner: '/beta/deviceManagement/androidDeviceOwnerEnrollmentProfiles',
};
export const BINDING = '/beta/deviceManagement/androidManagedStoreAccountEnterpriseSettings';

export interface Profile {
  id: string;
  displayName: string;
  description: string | null;
  createdDateTime: string;
  lastModifiedDateTime: string;
  tokenValue: string | null;
  tokenExpirationDateTime: string;
  enrolledDeviceCount: number;
  qrCodeContent: string | null;
  qrCodeImage: { type: string; value: string } | null;
  // androidDeviceOwnerEnrollmentProfile only
  enrollmentMode?: string;
  enrollmentTokenType?: string;
  tokenCreationDateTime?: string;
  enrollmentTokenUsageCount?: number;
  configureWifi?: boolean;
  wifiSsid?: string | null;
  wifiPassword?: string | null;
  wifiSecurityType?: string;
  wifiHidden?: boolean;
  deviceNameTemplate?: string | null;
}

export interface Binding {
  bindStatus: string;
  ownerUserPrincipalName: string | null;
  ownerOrganizationName: string | null;
  managedGooglePlayEnterpriseType: string;
  lastAppSyncDateTime: string;
  lastAppSyncStatus: string;
  lastModifiedDateTime: string;
}

export interface Page {
  value: Profile[];
  nextLink: string | undefined;
}

export interface ClockState {
  now: string;
  frozen: boolean;
  offsetSeconds: number;
}

export interface Device {
  deviceId: string;
  tenantId: string;
  profileType?: string;
  profileId: string;
  serialNumber: string | null;
  model: string | null;
  enrolledDateTime: string;
}

export interface FaultRule {
  id: string;
  hits: number;
  [k: string]: unknown;
}

/** A failed call: the Graph error's message and request-id, and Retry-After for a 429 or 503. */
export class GraphFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message);
  }
}

/** Graph's nested refusals (Intune's form) carry their text as JSON inside `message`: show the inner one. */
function innerMessage(message: string): string {
  try {
    const inner = JSON.parse(message) as { Message?: string; message?: string };
    // The rest (operation id, activity id = request-id, Intune's URL) is for support, not for the reader.
    return (inner.Message ?? inner.message ?? message).replace(/ - Operation ID[\s\S]*$/, '');
  } catch {
    return message;
  }
}

async function request<T>(method: string, url: string, opts: { bearer?: string; body?: unknown; raw?: string; onUnauthorized?: (f: GraphFailure) => void } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.bearer) headers.Authorization = `Bearer ${opts.bearer}`;
  const payload = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  } catch (err) {
    throw new GraphFailure(0, 'NetworkError', `The server did not answer (${(err as Error).message}).`, '', undefined);
  }
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = (json?.error ?? {}) as { code?: string; message?: string; innerError?: { 'request-id'?: string } };
    const retry = res.headers.get('Retry-After');
    const failure = new GraphFailure(
      res.status,
      error.code ?? String(res.status),
      innerMessage(error.message ?? res.statusText),
      res.headers.get('request-id') ?? error.innerError?.['request-id'] ?? '',
      retry !== null && /^\d+$/.test(retry) ? Number(retry) : undefined,
    );
    if (res.status === 401) opts.onUnauthorized?.(failure);
    throw failure;
  }
  return json as T;
}

const SELECT = 'id,displayName,description,tokenExpirationDateTime,enrolledDeviceCount,tokenValue';

export class Graph {
  constructor(
    private readonly token: () => string,
    private readonly onUnauthorized: (f: GraphFailure) => void,
    /** A new token when the session's is refused (the server clock moved past it), if one can be had. */
    private readonly renew: () => Promise<boolean> = async () => false,
  ) {}

  private async call<T>(method: string, url: string, body?: unknown): Promise<T> {
    try {
      return await request<T>(method, url, { bearer: this.token(), body });
    } catch (err) {
      if (!(err instanceof GraphFailure) || err.status !== 401) throw err;
      if (await this.renew().catch(() => false)) {
        try {
          return await request<T>(method, url, { bearer: this.token(), body });
        } catch (again) {
          if (again instanceof GraphFailure && again.status === 401) this.onUnauthorized(again);
          throw again;
        }
      }
      this.onUnauthorized(err);
      throw err;
    }
  }

  private key(kind: Kind, id: string): string {
    return `${COLLECTIONS[kind]}/${encodeURIComponent(id)}`;
  }

  /** First page (by name), or the page at a nextLink. */
  async list(kind: Kind, opts: { nextLink?: string; pageSize?: number; select?: string } = {}): Promise<Page> {
    let url: string;
    if (opts.nextLink) {
      const link = new URL(opts.nextLink, location.origin);
      url = link.pathname + link.search; // always this server
    } else {
      const select = opts.select ?? (kind === 'owner' ? `${SELECT},enrollmentMode` : SELECT);
      url = `${COLLECTIONS[kind]}?${new URLSearchParams({ $top: String(opts.pageSize ?? 20), $orderby: 'displayName', $select: select })}`;
    }
    const res = await this.call<{ value: Profile[]; '@odata.nextLink'?: string }>('GET', url);
    return { value: res.value, nextLink: res['@odata.nextLink'] };
  }

  /**
   * Every profile whose name contains `text` in any case. Graph's `contains` compares case-sensitively
   * and has no `tolower`, so the names are read (1,000 a page, few properties) and matched here.
   */
  async search(kind: Kind, text: string, progress: (read: number) => void): Promise<Profile[]> {
    const needle = text.toLocaleLowerCase();
    const out: Profile[] = [];
    let page = await this.list(kind, { pageSize: 1000 });
    let read = 0;
    for (;;) {
      read += page.value.length;
      progress(read);
      for (const p of page.value) if (p.displayName.toLocaleLowerCase().includes(needle)) out.push(p);
      if (!page.nextLink) return out;
      page = await this.list(kind, { nextLink: page.nextLink });
    }
  }

  get(kind: Kind, id: string): Promise<Profile> {
    return this.call('GET', this.key(kind, id));
  }

  create(kind: Kind, body: Record<string, unknown>): Promise<Profile> {
    return this.call('POST', COLLECTIONS[kind], body);
  }

  update(kind: Kind, id: string, body: Record<string, unknown>): Promise<void> {
    return this.call('PATCH', this.key(kind, id), body);
  }

  remove(kind: Kind, id: string): Promise<void> {
    return this.call('DELETE', this.key(kind, id));
  }

  createToken(kind: Kind, id: string, seconds: number): Promise<void> {
    return this.call('POST', `${this.key(kind, id)}/createToken`, { tokenValidityInSeconds: seconds });
  }

  revokeToken(kind: Kind, id: string): Promise<void> {
    return this.call('POST', `${this.key(kind, id)}/revokeToken`);
  }

  binding(): Promise<Binding> {
    return this.call('GET', BINDING);
  }

  bindingAction<T = void>(action: 'unbind' | 'syncApps' | 'requestSignupUrl' | 'completeSignup', body?: unknown): Promise<T> {
    return this.call('POST', `${BINDING}/${action}`, body);
  }
}

/** What a device sends after scanning the QR code (no Graph token). */
export function enroll(token: string, serialNumber: string): Promise<{ enrolledDeviceCount: number; deviceId: string }> {
  return request('POST', '/enrollment/android/enroll', { body: { enrollmentToken: token, serialNumber, model: 'Simulated device (console)' } });
}

/** The server's clock, readable without the admin key (read-only). */
export function publicClock(): Promise<ClockState> {
  return request('GET', '/clock');
}

/** The control API (`/_admin/`), for whoever holds the admin key. */
export class Admin {
  constructor(readonly key: string) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return request<T>(method, `/_admin${path}`, { bearer: this.key, body });
  }

  clock(): Promise<ClockState> {
    return this.call('GET', '/clock');
  }
  /** A delegated token for the signed-in user, minted on the server's clock. */
  async mintToken(tenant: string, upn: string): Promise<string> {
    return (await this.call<{ accessToken: string }>('POST', '/tokens', { tenant, ...(upn ? { upn } : {}) })).accessToken;
  }
  setClock(change: { now?: string; frozen?: boolean }): Promise<ClockState> {
    return this.call('PUT', '/clock', change);
  }
  advance(seconds: number): Promise<ClockState> {
    return this.call('POST', '/clock/advance', { seconds });
  }
  realTime(): Promise<ClockState> {
    return this.call('DELETE', '/clock');
  }
  async faults(): Promise<FaultRule[]> {
    return (await this.call<{ value: FaultRule[] }>('GET', '/faults')).value;
  }
  addFault(rule: Record<string, unknown>): Promise<FaultRule> {
    return this.call('POST', '/faults', rule);
  }
  clearFaults(): Promise<{ deleted: number }> {
    return this.call('DELETE', '/faults');
  }
  removeFault(id: string): Promise<void> {
    return this.call('DELETE', `/faults/${encodeURIComponent(id)}`);
  }
  reset(tenant?: string): Promise<unknown> {
    return this.call('POST', '/reset', tenant ? { tenant } : undefined);
  }
  async devices(tenant: string): Promise<Device[]> {
    return (await this.call<{ value: Device[] }>('GET', `/devices?tenant=${encodeURIComponent(tenant)}`)).value;
  }
  /** The snapshot as the server streams it, as a file to save. */
  async snapshot(): Promise<Blob> {
    let res: Response;
    try {
      res = await fetch('/_admin/snapshot', { headers: { Authorization: `Bearer ${this.key}` } });
    } catch (err) {
      throw new GraphFailure(0, 'NetworkError', `The server did not answer (${(err as Error).message}).`, '', undefined);
    }
    if (!res.ok) {
      const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new GraphFailure(res.status, json.error?.code ?? String(res.status), json.error?.message ?? res.statusText, res.headers.get('request-id') ?? '', undefined);
    }
    return res.blob();
  }
  importSnapshot(text: string): Promise<{ imported: Record<string, number> }> {
    return request('PUT', '/_admin/snapshot', { bearer: this.key, raw: text });
  }
}
