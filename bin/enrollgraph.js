#!/usr/bin/env node
// The package bin: runs the compiled CLI (dist/, shipped in the package; in a clone `npm run build`,
// `npm start` and `npm test` make it).
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
