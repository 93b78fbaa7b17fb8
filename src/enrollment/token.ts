import { randomBytes } from 'node:crypto';

export const TOKEN_LENGTH = 20;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Largest multiple of 26 below 256: bytes at or above it are rejected so every letter is equally likely. */
const LIMIT = 256 - (256 % ALPHABET.length);

/** A new enrollment token: 20 upper-case letters from the CSPRNG, without modulo bias (≈ 94 bits). */
export function newTokenValue(): string {
  let out = '';
  while (out.length < TOKEN_LENGTH) {
    for (const b of randomBytes(TOKEN_LENGTH * 2)) {
      if (b >= LIMIT) continue;
      out += ALPHABET[b % ALPHABET.length];
      if (out.length === TOKEN_LENGTH) break;
    }
  }
  return out;
}
