#!/usr/bin/env node
// Bundles the server (src/ → dist/): the CLI (dist/cli.js), the programmatic start (dist/index.js) and
// the QR worker (dist/qr-worker.js), with their pure-JavaScript dependencies (Fastify, pino, jose, …),
// split into shared chunks beside them: a start reads a few files rather than one per module
// (docs/performance.md, "Start-up"). Dynamic imports stay separate chunks, so what loaded on first
// use before still does. Left outside: better-sqlite3 (native), and what is loaded only when a
// feature is used (pg, node-forge, prom-client, yaml, qrcode, Fastify's schema compilers).
// tsc writes the type declarations (dist/**/*.d.ts) and checks the types; it emits no JavaScript.
// Every chunk sits in dist/ itself, so paths the code takes from import.meta.url (the QR worker,
// package.json, the console's files) mean the same in every chunk.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');

// Chunks are named by content hash: drop the last build's JavaScript (not the console's, nor tsc's declarations).
if (existsSync(out)) {
  for (const f of readdirSync(out, { withFileTypes: true, recursive: true })) {
    const path = join(f.parentPath ?? f.path, f.name);
    if (f.isFile() && /\.(js|js\.map|LEGAL\.txt)$/.test(f.name) && !path.startsWith(join(out, 'console'))) rmSync(path);
  }
}

/**
 * Maps point at the dependencies' JavaScript as bundled, not at sources a package's own map names
 * and may not ship (ret's TypeScript, say): the package's maps must carry every source they name.
 */
const dependencyJavaScript = {
  name: 'ignore-dependency-source-maps',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/gm, ''),
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['cli', 'index', 'enrollment/qr-worker'].map((e) => join(root, 'src', `${e}.ts`)),
  outdir: out,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'pg', 'node-forge', 'prom-client', 'yaml', 'qrcode'],
  // Bundled CommonJS (Fastify, pino) calls require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  sourcemap: 'linked',
  sourcesContent: true,
  legalComments: 'eof',
  plugins: [dependencyJavaScript],
  logLevel: 'warning',
});
