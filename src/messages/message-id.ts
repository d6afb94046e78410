// Message ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that
// keeps ids from one process increasing within a millisecond (method 1 of section 6.2), then
// random bits. Made here rather than in the database so a batch insert needs no RETURNING to
// tell each caller its id.
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const randomPool = Buffer.alloc(8192);
let randomOffset = randomPool.length;
let lastMs = -1;
let counter = 0;

function randomBytes(n: number): Buffer {
  if (randomOffset + n > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  randomOffset += n;
  return randomPool.subarray(randomOffset - n, randomOffset);
}

export function uuidv7(now = Date.now()): string {
  let ms = now;
  if (ms > lastMs) {
    lastMs = ms;
    counter = randomBytes(2).readUInt16BE(0) & 0x3ff; // start low, leaving room to count up
  } else {
    ms = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1; // borrow the next millisecond rather than repeat
      ms = lastMs;
      counter = 0;
    }
  }
  const r = randomBytes(8);
  const b = [
    Math.floor(ms / 2 ** 40) & 0xff, Math.floor(ms / 2 ** 32) & 0xff, (ms >>> 24) & 0xff, (ms >>> 16) & 0xff,
    (ms >>> 8) & 0xff, ms & 0xff, 0x70 | (counter >>> 8), counter & 0xff,
    0x80 | (r[0]! & 0x3f), r[1]!, r[2]!, r[3]!, r[4]!, r[5]!, r[6]!, r[7]!,
  ];
  const h = b.map((byte) => HEX[byte]!);
  return `${h[0]}${h[1]}${h[2]}${h[3]}-${h[4]}${h[5]}-${h[6]}${h[7]}-${h[8]}${h[9]}-${h[10]}${h[11]}${h[12]}${h[13]}${h[14]}${h[15]}`;
}
