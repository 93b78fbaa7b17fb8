import { randomFillSync } from 'node:crypto';

export const TOKEN_LENGTH = 20;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Largest multiple of 26 below 256: bytes at or above it are rejected so every letter is equally likely. */
const LIMIT = 256 - (256 % ALPHABET.length);

/** CSPRNG bytes drawn 4 KiB at a time (one system call per ~180 tokens instead of one per token); each byte is used once. */
const pool = Buffer.alloc(4096);
let next = pool.length;

function randomByte(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]!;
}

/** A new enrollment token: upper-case letters from the CSPRNG, without modulo bias (20 letters ≈ 94 bits). */
export function newTokenValue(length = TOKEN_LENGTH): string {
  let out = '';
  while (out.length < length) {
    const b = randomByte();
    if (b < LIMIT) out += ALPHABET[b % ALPHABET.length];
  }
  return out;
}
