import { test } from 'node:test';
import assert from 'node:assert/strict';
import QRCode from 'qrcode';
import { PNG } from 'pngjs';
import { QR_KEYS, cloudDpcQrContent, renderQrPng } from '../../src/enrollment/qr.js';
import { QrRenderer } from '../../src/enrollment/qr-renderer.js';
import { decodeQrPng } from '../qr-decode.js';

const EXPECTED_ABC =
  '{"android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME":"com.google.android.apps.work.clouddpc/.receivers.CloudDeviceAdminReceiver","android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM":"I5YvS0O5hXY46mb01BlRjq4oJJGs2kuUcHvVkAPEXlg","android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION":"https://play.google.com/managed/downloadManagingApp?identifier=setup","android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE":{"com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN":"ABCDEFGHIJKLMNOPQRST"}}';

const TOKENS = [
  'ABCDEFGHIJKLMNOPQRST',
  'QWERTYUIOPASDFGHJKLZ',
  '0123456789',
  'a'.repeat(64),
  'tok-"quoted"\\back/slash',
  'ünïcødé-トークン-🔑',
];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function modulesFor(content: string): number {
  return QRCode.create([{ mode: 'byte', data: Buffer.from(content, 'utf8') }], { errorCorrectionLevel: 'M' }).modules.size;
}

/** Decodes a PNG (pngjs, which also validates CRCs and zlib data) and reads the QR code in it. */
function decode(png: Buffer): { text: string; width: number; height: number; version: number } {
  const qr = decodeQrPng(png);
  assert.ok(qr, 'jsQR found no QR code in the PNG');
  return qr;
}

test('cloudDpcQrContent is the exact provisioning JSON, keys in order', () => {
  const content = cloudDpcQrContent('ABCDEFGHIJKLMNOPQRST');
  assert.equal(content, EXPECTED_ABC);
  assert.deepEqual(Buffer.from(content, 'utf8'), Buffer.from(EXPECTED_ABC, 'utf8'));
  const parsed = JSON.parse(content) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), [...QR_KEYS]);
  assert.equal(QR_KEYS.length, 4);
  assert.deepEqual(parsed['android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE'], {
    'com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN': 'ABCDEFGHIJKLMNOPQRST',
  });
});

test('cloudDpcQrContent escapes token values through JSON', () => {
  const token = 'a"b\\c\n';
  const parsed = JSON.parse(cloudDpcQrContent(token)) as Record<string, Record<string, string>>;
  assert.equal(parsed['android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE']!['com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN'], token);
});

test('renderQrPng produces a valid 1-bit PNG that decodes to the content', () => {
  for (const token of TOKENS) {
    const content = cloudDpcQrContent(token);
    const png = renderQrPng(content);
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    assert.equal(png.toString('latin1', 12, 16), 'IHDR');
    assert.equal(png[24], 1, 'bit depth 1');
    assert.equal(png[25], 0, 'colour type 0 (grayscale)');
    assert.equal(png.toString('latin1', png.length - 8, png.length - 4), 'IEND');

    const size = modulesFor(content);
    const { text, width, height, version } = decode(png);
    assert.equal(text, content, `round trip of token ${JSON.stringify(token)}`);
    assert.equal(width, (size + 8) * 4);
    assert.equal(height, width);
    assert.equal(size, version * 4 + 17);
    assert.equal(png.readUInt32BE(16), width);
  }
});

test('renderQrPng: quiet zone is white and dark modules are black', () => {
  const content = cloudDpcQrContent('ABCDEFGHIJKLMNOPQRST');
  const img = PNG.sync.read(renderQrPng(content));
  const px = (x: number, y: number) => img.data[(y * img.width + x) * 4]!;
  // Quiet zone: the first/last 16 px rows and columns.
  for (let i = 0; i < img.width; i++) {
    for (const j of [0, 15, img.width - 16, img.width - 1]) {
      assert.equal(px(i, j), 255);
      assert.equal(px(j, i), 255);
    }
  }
  // Top-left finder pattern starts at module (0,0) => pixel (16,16), 7 modules of dark border.
  assert.equal(px(16, 16), 0);
  assert.equal(px(16 + 7 * 4 - 1, 16), 0);
  assert.equal(px(16 + 7 * 4, 16), 255); // separator
});

for (const threads of [1, 0]) {
  test(`QrRenderer threads=${threads}: decodes, caches, shares concurrent renders`, async () => {
    const renderer = new QrRenderer({ threads, cacheSize: 2 });
    try {
      const a = cloudDpcQrContent('ABCDEFGHIJKLMNOPQRST');
      const b = cloudDpcQrContent('QWERTYUIOPASDFGHJKLZ');
      const c = cloudDpcQrContent('0123456789');

      assert.equal(renderer.peek(a), undefined);
      const first = await renderer.render(a);
      assert.equal(decode(Buffer.from(first, 'base64')).text, a);
      assert.equal(first, renderQrPng(a).toString('base64'));
      assert.equal(renderer.peek(a), first, 'cached after the first render');
      assert.equal(await renderer.render(a), first, 'second call is a cache hit');

      // Concurrent calls for one content share one render.
      const p1 = renderer.render(b);
      const p2 = renderer.render(b);
      assert.equal(p1, p2, 'same in-flight promise');
      const [r1, r2, r3] = await Promise.all([p1, p2, renderer.render(b)]);
      assert.equal(r1, r2);
      assert.equal(r1, r3);
      assert.equal(decode(Buffer.from(r1, 'base64')).text, b);

      // LRU with cacheSize 2: touching a then adding c evicts b.
      assert.ok(renderer.peek(a));
      await renderer.render(c);
      assert.equal(renderer.peek(b), undefined);
      assert.ok(renderer.peek(a));
      assert.ok(renderer.peek(c));

      // Many distinct renders at once.
      const contents = Array.from({ length: 8 }, (_, i) => cloudDpcQrContent(`TOKEN-${i}-${'x'.repeat(i * 7)}`));
      const all = await Promise.all(contents.map((s) => renderer.render(s)));
      all.forEach((b64, i) => assert.equal(decode(Buffer.from(b64, 'base64')).text, contents[i]));
    } finally {
      await renderer.close();
    }
    await assert.rejects(renderer.render('after close'), /closed/);
    await renderer.close(); // idempotent
  });
}

test('QrRenderer: a render error rejects and is not cached', async () => {
  const renderer = new QrRenderer({ threads: 1, cacheSize: 4 });
  try {
    const tooLong = 'x'.repeat(5000); // beyond QR capacity
    await assert.rejects(renderer.render(tooLong), Error);
    assert.equal(renderer.peek(tooLong), undefined);
    const ok = cloudDpcQrContent('ABCDEFGHIJKLMNOPQRST');
    assert.equal(decode(Buffer.from(await renderer.render(ok), 'base64')).text, ok);
  } finally {
    await renderer.close();
  }
});

test('QrRenderer: a crashed worker rejects its pending requests and is replaced', async () => {
  const renderer = new QrRenderer({ threads: 1, cacheSize: 4 });
  try {
    const a = cloudDpcQrContent('ABCDEFGHIJKLMNOPQRST');
    await renderer.render(a);
    // Reach into the pool to kill the worker while a request is pending.
    const slots = (renderer as unknown as { slots: ({ worker: { terminate(): Promise<number> } } | undefined)[] }).slots;
    const pending = renderer.render(cloudDpcQrContent('CRASH-ME'));
    void slots[0]!.worker.terminate();
    await assert.rejects(pending, Error);
    const b = cloudDpcQrContent('AFTER-CRASH');
    assert.equal(decode(Buffer.from(await renderer.render(b), 'base64')).text, b);
  } finally {
    await renderer.close();
  }
});

test('QrRenderer rejects invalid options', () => {
  assert.throws(() => new QrRenderer({ threads: -1, cacheSize: 1 }), RangeError);
  assert.throws(() => new QrRenderer({ threads: 1, cacheSize: 1.5 }), RangeError);
});
