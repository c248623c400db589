/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so that bootstrap results
 * are reproducible from a seed. Not cryptographic.
 */

export interface Prng {
  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform integer in [0, n), for 1 <= n <= 2^32 (multiply-shift; bias at most n / 2^32). */
  nextInt(n: number): number;
  /** Uniform double in [0, 1) with 32 bits of randomness. */
  nextFloat(): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128** seeded from a 32-bit integer seed (any finite number; it is truncated to uint32). */
export function createPrng(seed: number): Prng {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  if ((a | b | c | d) === 0) a = 1;
  const nextUint32 = (): number => {
    const t = b << 9;
    let r = Math.imul(b, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9);
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return r >>> 0;
  };
  return {
    nextUint32,
    nextInt: (n: number) => Math.floor((nextUint32() * n) / 4294967296),
    nextFloat: () => nextUint32() / 4294967296,
  };
}

/** Uniform double in [0, 1) with 53 bits of randomness (two 32-bit draws). */
export function nextDouble53(rng: Prng): number {
  const a = rng.nextUint32() >>> 5;
  const b = rng.nextUint32() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}
