/**
 * HTTP/1.1 spoken by hand over a TCP socket, for the tests of what a client may send that fetch and
 * node:http will not: repeated headers, broken framing, bodies that stall or never end.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The first complete response in `buf`, or undefined while it is incomplete. */
export function parseResponse(buf: Buffer): RawResponse | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < end + 4 + length) return undefined;
  const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers, body, json };
}

/** A connection to the server that collects what it answers. */
export class RawConnection {
  readonly socket: Socket;
  private received = Buffer.alloc(0);
  private closedFlag = false;
  private readonly closedPromise: Promise<void>;
  private waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.wake();
    });
    // A reset after the answer is the server closing on a client that was still sending.
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        this.wake();
        resolve();
      }));
  }

  static open(baseUrl: string): Promise<RawConnection> {
    const { hostname, port } = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** True once any byte of an answer arrived. */
  get answered(): boolean {
    return this.received.length > 0;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Writes and resolves once the bytes are handed to the kernel (false: the connection is gone). */
  write(data: string | Buffer): Promise<boolean> {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(data, (err) => resolve(!err)));
  }

  /** The first response, once it is complete; rejects after `timeoutMs` (a hung server). */
  async response(timeoutMs = 20_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = parseResponse(this.received);
      if (r) return r;
      if (this.closedFlag) throw new Error(`connection closed without a complete response: ${JSON.stringify(this.received.toString('latin1').slice(0, 500))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms: ${JSON.stringify(this.received.toString('latin1').slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once the server has closed the connection; rejects after `timeoutMs`. */
  async closedByServer(timeoutMs = 20_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.closedPromise,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the server kept the connection open for ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One request written whole on a fresh connection; its response. */
export async function rawExchange(baseUrl: string, request: string | Buffer): Promise<RawResponse & { connection: RawConnection }> {
  const c = await RawConnection.open(baseUrl);
  try {
    await c.write(request);
    return { ...(await c.response()), connection: c };
  } catch (err) {
    c.close();
    throw err;
  }
}

/** Asserts the Graph error envelope with its request ids in headers and body; returns the error. */
export function assertEnvelope(res: RawResponse, status: number, code: string): { code: string; message: string } {
  const what = `${res.status} ${JSON.stringify(res.headers)} ${res.body}`;
  if (res.status !== status) throw new Error(`expected status ${status}, got ${what}`);
  const e = res.json?.error;
  if (e?.code !== code) throw new Error(`expected code ${code}, got ${what}`);
  if (typeof e.message !== 'string' || e.message === '') throw new Error(`no message: ${what}`);
  const inner = e.innerError;
  if (!res.headers['request-id'] || inner?.['request-id'] !== res.headers['request-id']) throw new Error(`request-id mismatch: ${what}`);
  if (!res.headers['client-request-id'] || inner['client-request-id'] !== res.headers['client-request-id']) throw new Error(`client-request-id mismatch: ${what}`);
  if (typeof inner.date !== 'string' || Number.isNaN(Date.parse(`${inner.date}Z`))) throw new Error(`bad innerError.date: ${what}`);
  if (!res.headers['content-type']?.startsWith('application/json')) throw new Error(`not JSON: ${what}`);
  return e;
}
