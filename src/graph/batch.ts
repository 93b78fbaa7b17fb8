/**
 * JSON batching (`POST /{version}/$batch`): up to 20 requests, each run through the same pipeline as
 * a direct call (authentication with the batch's token, permissions, validation), honouring
 * `dependsOn` (a failed dependency gives its dependents 424).
 */
import { errors, GraphError } from './errors.js';
import { parseJson } from './json.js';
import { parseGraphPath, type ApiVersion, type Target } from './path.js';
import type { GraphRequest, GraphResponse } from './service.js';

export const MAX_BATCH_REQUESTS = 20;
const METHODS = new Set(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']);

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  dependsOn: string[];
}

export interface BatchItemResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the whole batch up front; any fault is a 400 for the batch and nothing runs. */
export function parseBatch(body: unknown): BatchItem[] {
  if (!isObject(body) || !Array.isArray(body.requests)) {
    throw errors.badRequest("Invalid batch payload: the body must be a JSON object with a 'requests' array.");
  }
  const raw = body.requests as unknown[];
  if (raw.length === 0) throw errors.badRequest('Invalid batch payload: the batch contains no requests.');
  if (raw.length > MAX_BATCH_REQUESTS) {
    throw errors.badRequest(`Invalid batch payload: the number of requests (${raw.length}) exceeds the limit of ${MAX_BATCH_REQUESTS}.`);
  }
  const items: BatchItem[] = [];
  const ids = new Map<string, string>();
  raw.forEach((r, index) => {
    const where = `request ${index + 1}`;
    if (!isObject(r)) throw errors.badRequest(`Invalid batch payload: ${where} is not a JSON object.`);
    if (typeof r.id !== 'string' || r.id === '') throw errors.badRequest(`Invalid batch payload: ${where} has no 'id'.`);
    if (ids.has(r.id.toLowerCase())) throw errors.badRequest(`Invalid batch payload: the request id '${r.id}' is used more than once.`);
    if (typeof r.method !== 'string' || !METHODS.has(r.method.toUpperCase())) {
      throw errors.badRequest(`Invalid batch payload: request '${r.id}' has no valid 'method'.`);
    }
    if (typeof r.url !== 'string' || r.url === '') throw errors.badRequest(`Invalid batch payload: request '${r.id}' has no 'url'.`);
    if (/^[a-z][a-z0-9+.-]*:/i.test(r.url)) {
      throw errors.badRequest(`Invalid batch payload: request '${r.id}' must use a relative URL, not '${r.url}'.`);
    }
    const headers: Record<string, string> = {};
    if (r.headers !== undefined) {
      if (!isObject(r.headers)) throw errors.badRequest(`Invalid batch payload: the 'headers' of request '${r.id}' must be an object.`);
      for (const [k, v] of Object.entries(r.headers)) {
        if (typeof v !== 'string') throw errors.badRequest(`Invalid batch payload: header '${k}' of request '${r.id}' must be a string.`);
        headers[k.toLowerCase()] = v;
      }
    }
    if (r.body !== undefined && headers['content-type'] === undefined) {
      throw errors.badRequest(`Invalid batch payload: request '${r.id}' has a body but no Content-Type header.`);
    }
    let dependsOn: string[] = [];
    if (r.dependsOn !== undefined) {
      if (!Array.isArray(r.dependsOn) || !r.dependsOn.every((d) => typeof d === 'string')) {
        throw errors.badRequest(`Invalid batch payload: the 'dependsOn' of request '${r.id}' must be an array of request ids.`);
      }
      dependsOn = r.dependsOn as string[];
    }
    ids.set(r.id.toLowerCase(), r.id);
    items.push({ id: r.id, method: r.method.toUpperCase(), url: r.url, headers, body: r.body, dependsOn });
  });
  // Dependencies must name other requests of the batch and form no cycle.
  const byId = new Map(items.map((i) => [i.id.toLowerCase(), i]));
  for (const item of items) {
    for (const d of item.dependsOn) {
      if (!byId.has(d.toLowerCase())) throw errors.badRequest(`Invalid batch payload: request '${item.id}' depends on unknown request '${d}'.`);
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (item: BatchItem): void => {
    const key = item.id.toLowerCase();
    if (state.get(key) === 'done') return;
    if (state.get(key) === 'visiting') throw errors.badRequest(`Invalid batch payload: the dependencies of request '${item.id}' form a cycle.`);
    state.set(key, 'visiting');
    for (const d of item.dependsOn) visit(byId.get(d.toLowerCase())!);
    state.set(key, 'done');
  };
  items.forEach(visit);
  return items;
}

/** Runs the items (independent ones concurrently) and answers them in request order. */
export async function runBatch(
  items: BatchItem[],
  outer: GraphRequest,
  version: ApiVersion,
  run: (req: GraphRequest) => Promise<GraphResponse>,
  errorResponse: (err: GraphError) => GraphResponse,
): Promise<BatchItemResponse[]> {
  const started = new Map<string, Promise<BatchItemResponse>>();
  const start = (item: BatchItem): Promise<BatchItemResponse> => {
    const key = item.id.toLowerCase();
    let p = started.get(key);
    if (!p) {
      p = (async () => {
        const deps = await Promise.all(item.dependsOn.map((d) => start(items.find((i) => i.id.toLowerCase() === d.toLowerCase())!)));
        const failed = deps.find((d) => d.status < 200 || d.status > 299);
        if (failed) {
          const err = new GraphError(424, 'FailedDependency', `The request depends on request '${failed.id}', which failed with status ${failed.status}.`);
          return toItem(item.id, errorResponse(err));
        }
        return toItem(item.id, await execute(item));
      })();
      started.set(key, p);
    }
    return p;
  };

  const execute = async (item: BatchItem): Promise<GraphResponse> => {
    const rel = item.url.startsWith('/') ? item.url : `/${item.url}`;
    const q = rel.indexOf('?');
    const path = `/${version}${q < 0 ? rel : rel.slice(0, q)}`;
    // Asked of the parser that routes the item, so no spelling (`%24batch`, any case, a trailing
    // slash) gets a batch run inside a batch: the answer stays at most 20 items of one page each.
    if (isBatch(path)) return errorResponse(errors.badRequest('A batch request cannot contain another $batch.'));
    const headers: Record<string, string | undefined> = { ...item.headers, authorization: outer.headers.authorization };
    let body = item.body;
    try {
      // A body given as a JSON text is parsed as a request body is (the same depth limit).
      if (typeof body === 'string' && /json/i.test(item.headers['content-type'] ?? '')) body = parseJson(body);
      return await run({
        method: item.method, path, query: new URLSearchParams(q < 0 ? '' : rel.slice(q + 1)), headers, body,
        baseUrl: outer.baseUrl, requestId: outer.requestId, clientRequestId: outer.clientRequestId,
      });
    } catch (err) {
      if (err instanceof GraphError) return errorResponse(err);
      throw err;
    }
  };

  return Promise.all(items.map(start));
}

function isBatch(path: string): boolean {
  let target: Target | undefined;
  try {
    // Only `$batch` is looked for: no entity set is needed (the item's own errors are answered when it runs).
    target = parseGraphPath(path, [])?.target;
  } catch {
    return false;
  }
  return target?.kind === 'batch';
}

function toItem(id: string, res: GraphResponse): BatchItemResponse {
  const out: BatchItemResponse = { id, status: res.status, headers: res.headers };
  if (res.body !== undefined) {
    const ct = res.headers['Content-Type'] ?? '';
    const text = typeof res.body === 'string' ? res.body : res.body.toString('utf8');
    out.body = ct.startsWith('application/json') ? JSON.parse(text) : text;
  }
  return out;
}
