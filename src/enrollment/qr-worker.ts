/**
 * Worker thread for QrRenderer: answers `{ id, content }` with
 * `{ id, base64 }` (the PNG from renderQrPng, base64-encoded here so that
 * encoding also stays off the main thread) or `{ id, error }`.
 */
import { parentPort } from 'node:worker_threads';
import { renderQrPng } from './qr.js';

export interface QrWorkerRequest {
  id: number;
  content: string;
}

export type QrWorkerReply = { id: number; base64: string } | { id: number; error: string };

const port = parentPort;
if (port) {
  port.on('message', (msg: QrWorkerRequest) => {
    let reply: QrWorkerReply;
    try {
      reply = { id: msg.id, base64: renderQrPng(msg.content).toString('base64') };
    } catch (err) {
      reply = { id: msg.id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}
