/**
 * Android Enterprise (Intune "corporate-owned" / dedicated / fully managed)
 * enrollment QR code: the provisioning payload and its PNG rendering.
 */
import { deflateSync } from 'node:zlib';
import { createRequire } from 'node:module';

// qrcode is required with the first render (in the QR worker thread), not when the server starts.
const require = createRequire(import.meta.url);

/** The four provisioning keys of the QR payload, in the order they are emitted. */
export const QR_KEYS: readonly string[] = Object.freeze([
  'android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME',
  'android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM',
  'android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION',
  'android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE',
]);

/**
 * The QR code content for an enrollment token: compact JSON with the keys in
 * QR_KEYS order. Built with JSON.stringify from an object literal (insertion
 * order is preserved for string keys) so the token value is escaped correctly.
 */
export function cloudDpcQrContent(tokenValue: string): string {
  // The fixed part is serialised once; only the token is escaped per call (this runs on every read).
  return QR_PREFIX + JSON.stringify(tokenValue) + QR_SUFFIX;
}

const QR_TEMPLATE = JSON.stringify({
  'android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME':
    'com.google.android.apps.work.clouddpc/.receivers.CloudDeviceAdminReceiver',
  'android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM': 'I5YvS0O5hXY46mb01BlRjq4oJJGs2kuUcHvVkAPEXlg',
  'android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION':
    'https://play.google.com/managed/downloadManagingApp?identifier=setup',
  'android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE': {
    'com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN': '\u0000',
  },
});
const QR_PREFIX = QR_TEMPLATE.slice(0, QR_TEMPLATE.indexOf('"\\u0000"'));
const QR_SUFFIX = QR_TEMPLATE.slice(QR_TEMPLATE.indexOf('"\\u0000"') + '"\\u0000"'.length);

/** Quiet zone around the symbol, in modules (the QR spec minimum). */
export const QR_MARGIN_MODULES = 4;
/** Pixels per module (must stay 4: the row packing below relies on one module = one nibble). */
export const QR_PIXELS_PER_MODULE = 4;

/** The QR module matrix (true = dark) for `content`: error correction M, one byte-mode segment of its UTF-8 bytes. */
export function qrMatrix(content: string): { size: number; data: Uint8Array } {
  // An explicit byte segment (rather than passing the string) keeps qrcode from
  // splitting the text into numeric/alphanumeric runs: the payload is always
  // encoded as plain UTF-8 bytes, which is what Android's provisioning reader expects.
  const qr = (require('qrcode') as typeof import('qrcode')).create([{ mode: 'byte', data: Buffer.from(content, 'utf8') }], { errorCorrectionLevel: 'M' });
  return { size: qr.modules.size, data: qr.modules.data };
}

/*
 * PNG writer.
 *
 * Why hand-written: qrcode's own PNG path (QRCode.toBuffer / toDataURL) paints
 * an RGBA 8-bit bitmap (4 bytes per pixel) and encodes it through pngjs, which
 * filters and deflates ~32x more raw data than needed and costs several times
 * more CPU per image (see bench/qr.ts). A QR code is strictly black and white,
 * so we emit a 1-bit grayscale PNG (colour type 0, bit depth 1): one bit per
 * pixel, every row built once per module row and copied for the other
 * pixel rows, then a single zlib.deflateSync call. qrcode is used only to
 * build the module matrix. This keeps QR rendering cheap enough to run on
 * every enrollment-profile read that asks for the image.
 */

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) table; Node 20 has no zlib.crc32.
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32(buf: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Writes one chunk (length, type, data, CRC over type+data) into `out` at `pos`; returns the new position. */
function writeChunk(out: Buffer, pos: number, type: string, data: Uint8Array): number {
  out.writeUInt32BE(data.length, pos);
  out.write(type, pos + 4, 4, 'latin1');
  out.set(data, pos + 8);
  out.writeUInt32BE(crc32(out, pos + 4, pos + 8 + data.length), pos + 8 + data.length);
  return pos + 12 + data.length;
}

/**
 * Synchronous PNG of the QR code for `content`: error correction M, byte mode,
 * 4-module quiet zone, 4 px per module, 1-bit grayscale (dark modules black = 0,
 * light modules and quiet zone white = 1).
 */
export function renderQrPng(content: string): Buffer {
  return qrMatrixToPng(qrMatrix(content));
}

/** The PNG encoding step of renderQrPng, for a module matrix from qrMatrix (exposed for the benchmark). */
export function qrMatrixToPng(matrix: { size: number; data: Uint8Array }): Buffer {
  const { size, data } = matrix;
  const modulesWide = size + 2 * QR_MARGIN_MODULES;
  const px = modulesWide * QR_PIXELS_PER_MODULE;
  const rowBytes = (px + 7) >> 3;
  const stride = rowBytes + 1; // filter-type byte + packed pixels

  // Raw (pre-deflate) image: every row starts with filter byte 0 (None); all
  // pixels start white (bits set, including the unused padding bits of the last byte).
  const raw = Buffer.alloc(stride * px, 0xff);
  for (let y = 0; y < px; y++) raw[y * stride] = 0;

  const marginPx = QR_MARGIN_MODULES * QR_PIXELS_PER_MODULE;
  for (let r = 0; r < size; r++) {
    const firstRow = (marginPx + r * QR_PIXELS_PER_MODULE) * stride;
    const rowData = firstRow + 1;
    const base = r * size;
    for (let c = 0; c < size; c++) {
      if (data[base + c]) {
        // A module is 4 px starting at a multiple of 4, i.e. exactly one nibble.
        const x = marginPx + c * QR_PIXELS_PER_MODULE;
        raw[rowData + (x >> 3)]! &= x & 4 ? 0xf0 : 0x0f;
      }
    }
    // Copy the finished pixel row to the other rows of this module row.
    for (let k = 1; k < QR_PIXELS_PER_MODULE; k++) raw.copy(raw, firstRow + k * stride, firstRow, firstRow + stride);
  }

  const idat = deflateSync(raw);

  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(px, 0); // width
  ihdr.writeUInt32BE(px, 4); // height
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // colour type: grayscale
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace

  const out = Buffer.allocUnsafe(PNG_SIGNATURE.length + (12 + ihdr.length) + (12 + idat.length) + 12);
  PNG_SIGNATURE.copy(out, 0);
  let pos = PNG_SIGNATURE.length;
  pos = writeChunk(out, pos, 'IHDR', ihdr);
  pos = writeChunk(out, pos, 'IDAT', idat);
  pos = writeChunk(out, pos, 'IEND', new Uint8Array(0));
  return out;
}
