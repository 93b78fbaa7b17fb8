/** `enrollgraph enroll`: a simulated device — sends what a device that scanned the QR code sends. */
import { ENROLL_PATH } from './devices.js';

export const ENROLL_OPTIONS = {
  token: { type: 'string' },
  url: { type: 'string' },
  serial: { type: 'string' },
  model: { type: 'string' },
} as const;

export const ENROLL_USAGE = 'enrollgraph enroll --token T [--url URL] [--serial S] [--model M]';

const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Prints the server's answer (JSON) on stdout and returns 0 when enrolled; else the error on stderr and 1 (2 for usage). */
export async function runEnroll(v: Record<string, string | boolean | undefined>): Promise<number> {
  const token = typeof v.token === 'string' ? v.token : undefined;
  if (!token) {
    console.error(`enrollgraph enroll: --token is required\nusage: ${ENROLL_USAGE}`);
    return 2;
  }
  const base = (typeof v.url === 'string' ? v.url : DEFAULT_URL).replace(/\/+$/, '');
  const body: Record<string, string> = { enrollmentToken: token };
  if (typeof v.serial === 'string') body.serialNumber = v.serial;
  if (typeof v.model === 'string') body.model = v.model;
  let res: Response;
  try {
    res = await fetch(`${base}${ENROLL_PATH}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    console.error(`enrollgraph enroll: cannot reach ${base}: ${cause ?? (err as Error).message}`);
    return 1;
  }
  const text = await res.text();
  if (res.ok) {
    console.log(text);
    return 0;
  }
  let detail = text;
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e) detail = `${e.code}: ${e.message}`;
  } catch {
    // not JSON: print as is
  }
  const retry = res.headers.get('retry-after');
  console.error(`enrollgraph enroll: ${res.status} ${detail}${retry ? ` (Retry-After: ${retry})` : ''}`);
  return 1;
}
