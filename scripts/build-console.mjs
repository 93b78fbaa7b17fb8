#!/usr/bin/env node
// Builds the web console (console/ → dist/console/): esbuild bundles and minifies console/main.ts and
// console/style.css into content-hashed files under dist/console/assets/, writes dist/console/index.html
// pointing at them, and prints the JavaScript's gzipped size (the budget is 150 KB gzipped).
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'console');
const out = join(root, 'dist', 'console');
const assets = join(out, 'assets');
export const BUDGET_BYTES = 150 * 1024;

rmSync(assets, { recursive: true, force: true });
rmSync(join(out, 'index.html'), { force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: [join(src, 'main.ts'), join(src, 'style.css')],
  outdir: assets,
  entryNames: 'console-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`console build: unexpected outputs ${outputs.join(', ')}`);
const html = readFileSync(join(src, 'index.html'), 'utf8').replace('{{JS}}', js).replace('{{CSS}}', css);
writeFileSync(join(out, 'index.html'), html);

let total = 0;
for (const f of readdirSync(assets).filter((f) => f.endsWith('.js'))) total += gzipSync(readFileSync(join(assets, f))).length;
console.log(`console: dist/console/assets/${js} — JavaScript ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`);
if (total > BUDGET_BYTES) {
  console.error('console: the JavaScript is over its budget');
  process.exit(1);
}
