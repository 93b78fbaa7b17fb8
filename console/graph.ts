/** The Graph calls of the console: the same public API any client uses, with the signed-in user's token. */

export const PROFILES = '/beta/deviceManagement/androidForWorkEnrollmentProfiles';

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
}

export interface Page {
  value: Profile[];
  nextLink: string | undefined;
}

/** A failed call: the Graph error's message and request-id, and Retry-After for a 429. */
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

export class Graph {
  constructor(
    private readonly token: () => string,
    private readonly onUnauthorized: (f: GraphFailure) => void,
  ) {}

  private async call<T>(method: string, url: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (auth) headers.Authorization = `Bearer ${this.token()}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      throw new GraphFailure(0, 'NetworkError', `The server did not answer (${(err as Error).message}).`, '', undefined);
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    if (!res.ok) {
      const error = (json?.error ?? {}) as { code?: string; message?: string; innerError?: { 'request-id'?: string } };
      const retry = res.headers.get('Retry-After');
      const failure = new GraphFailure(
        res.status,
        error.code ?? String(res.status),
        error.message ?? res.statusText,
        res.headers.get('request-id') ?? error.innerError?.['request-id'] ?? '',
        retry !== null && /^\d+$/.test(retry) ? Number(retry) : undefined,
      );
      if (res.status === 401 && auth) this.onUnauthorized(failure);
      throw failure;
    }
    return json as T;
  }

  /** First page (search by name prefix), or the page at a nextLink. */
  async list(opts: { prefix?: string; nextLink?: string; pageSize?: number }): Promise<Page> {
    let url: string;
    if (opts.nextLink) {
      const link = new URL(opts.nextLink, location.origin);
      url = link.pathname + link.search; // always this server
    } else {
      const q = new URLSearchParams({ $top: String(opts.pageSize ?? 20), $orderby: 'displayName',
        $select: 'id,displayName,description,tokenExpirationDateTime,enrolledDeviceCount,tokenValue',
      });
      if (opts.prefix) q.set('$filter', `startswith(displayName,'${opts.prefix.replace(/'/g, "''")}')`);
      url = `${PROFILES}?${q}`;
    }
    const res = await this.call<{ value: Profile[]; '@odata.nextLink'?: string }>('GET', url);
    return { value: res.value, nextLink: res['@odata.nextLink'] };
  }

  get(id: string): Promise<Profile> {
    return this.call('GET', `${PROFILES}/${encodeURIComponent(id)}`);
  }

  create(displayName: string, description: string): Promise<Profile> {
    return this.call('POST', PROFILES, { displayName, description: description || null });
  }

  update(id: string, displayName: string, description: string): Promise<Profile> {
    return this.call('PATCH', `${PROFILES}/${encodeURIComponent(id)}`, { displayName, description: description || null });
  }

  remove(id: string): Promise<void> {
    return this.call('DELETE', `${PROFILES}/${encodeURIComponent(id)}`);
  }

  createToken(id: string, seconds: number): Promise<void> {
    return this.call('POST', `${PROFILES}/${encodeURIComponent(id)}/createToken`, { tokenValidityInSeconds: seconds });
  }

  revokeToken(id: string): Promise<void> {
    return this.call('POST', `${PROFILES}/${encodeURIComponent(id)}/revokeToken`);
  }

  /** What a device sends after scanning the QR code (no Graph token). */
  enroll(token: string): Promise<{ enrolledDeviceCount: number; deviceId: string }> {
    return this.call('POST', '/enrollment/android/enroll', { enrollmentToken: token, model: 'Simulated device (console)' }, false);
  }
}
