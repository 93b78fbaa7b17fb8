/** Reads the QR code in a PNG, as a phone camera would: pngjs (which validates CRCs and zlib data) + jsQR. */
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';

// jsqr is a CommonJS (webpack UMD) bundle: under NodeNext the default import is its module.exports,
// whose `.default` is the decoder function.
const jsQR = jsQRModule.default;

export interface DecodedQr {
  text: string;
  width: number;
  height: number;
  version: number;
}

export function decodeQrPng(png: Buffer | string): DecodedQr | undefined {
  const img = PNG.sync.read(typeof png === 'string' ? Buffer.from(png, 'base64') : png);
  const rgba = new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length);
  const qr = jsQR(rgba, img.width, img.height, { inversionAttempts: 'dontInvert' });
  return qr ? { text: qr.data, width: img.width, height: img.height, version: qr.version } : undefined;
}
