/**
 * Sign-in as a single-page app signs in to Entra ID: authorization code with PKCE (S256) against the
 * server's own authority, PKCE made with WebCrypto (needs a secure context: https, or http on
 * localhost / 127.0.0.1). The access token lives in sessionStorage (this tab only) until it expires.
 */

export const CLIENT_ID = 'e7a1c0de-5a1e-4c0a-8d3e-c0a501e00001';
export const SCOPE = 'https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All openid profile';
const AUTHORITY = '/organizations/oauth2/v2.0';
const SESSION = 'enrollgraph.console.session';
const PENDING = 'enrollgraph.console.pkce';

export interface Session {
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  upn: string;
  tenantId: string;
}

const redirectUri = () => `${location.origin}/console/`;

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function claims(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  const bytes = Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

export function currentSession(): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION) ?? 'null') as Session | null;
    if (s && s.expiresAt > Date.now() + 30_000) return s;
  } catch {
    /* a damaged entry is no session */
  }
  sessionStorage.removeItem(SESSION);
  return undefined;
}

/**
 * Swaps the session's access token (one minted on the server clock with the admin key, after the
 * clock moved past the first one); the sign-in itself stands.
 */
export function replaceToken(session: Session, accessToken: string): void {
  const c = claims(accessToken);
  // Its lifetime (exp - iat, on the server clock) counted from now on the browser's, as at sign-in.
  const lifetime = Number(c.exp) - Number(c.iat);
  session.accessToken = accessToken;
  if (Number.isFinite(lifetime) && lifetime > 0) session.expiresAt = Date.now() + lifetime * 1000;
  sessionStorage.setItem(SESSION, JSON.stringify(session));
}

export function signOut(): void {
  sessionStorage.removeItem(SESSION);
}

/** Starts sign-in: to the authority's login page, which comes back to /console/?code=…&state=…. */
export async function signIn(loginHint?: string): Promise<void> {
  if (!window.isSecureContext || !crypto.subtle) {
    throw new Error('Sign-in needs a secure context: open the console over https, or over http on localhost or 127.0.0.1.');
  }
  const verifier = randomString(32);
  const state = randomString(16);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: redirectUri(),
    response_mode: 'query',
    scope: SCOPE,
    state,
    code_challenge: base64url(digest),
    code_challenge_method: 'S256',
  });
  if (loginHint) q.set('login_hint', loginHint);
  location.assign(`${AUTHORITY}/authorize?${q}`);
}

/**
 * After the redirect back: redeems `?code` at the token endpoint (with the PKCE verifier) and
 * removes the parameters from the address bar. Returns undefined when the URL holds no answer.
 */
export async function completeSignIn(): Promise<Session | undefined> {
  const url = new URL(location.href);
  const code = url.searchParams.get('code');
  const error = url.searchParams.get('error');
  if (!code && !error) return undefined;
  history.replaceState(null, '', url.pathname);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PENDING);
  if (error) throw new Error(`Sign-in failed: ${error} ${url.searchParams.get('error_description') ?? ''}`);
  if (!pending || pending.state !== url.searchParams.get('state')) throw new Error('Sign-in failed: the answer does not match this tab’s request (state). Sign in again.');
  const res = await fetch(`${AUTHORITY}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: CLIENT_ID,
      code: code!,
      code_verifier: pending.verifier,
      redirect_uri: redirectUri(),
      scope: SCOPE,
    }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new Error(`Sign-in failed: ${String(body.error ?? res.status)} ${String(body.error_description ?? '')}`.trim());
  }
  const c = claims(body.access_token);
  const session: Session = {
    accessToken: body.access_token,
    expiresAt: Date.now() + Number(body.expires_in ?? 3599) * 1000,
    upn: String(c.upn ?? c.unique_name ?? ''),
    tenantId: String(c.tid ?? ''),
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return session;
}
