/**
 * The single-pass error scan behind `compare`: every elementwise statistic in one loop over
 * two equally long float arrays, with no allocation per element. Kept apart from `compare`
 * so the hot loop stays small and monomorphic in practice (float32 x float32).
 */

/** Everything one pass over the data produces. Sums are float64, accumulated in index order. */
export interface ScanResult {
  count: number;
  finiteCount: number;
  nanActual: number;
  nanReference: number;
  infActual: number;
  infReference: number;
  nonFiniteMismatchCount: number;
  mismatchCount: number;
  sumAbs: number;
  sumSq: number;
  sumA2: number;
  sumR2: number;
  sumAR: number;
  maxAbs: number;
  maxRel: number;
  minPassingAtol: number;
  minPassingRtol: number;
  /** Flat indices of the worst elements, worst first (non-finite mismatches rank first). */
  worstFlat: number[];
  histogram?: { edges: number[]; counts: number[] };
}

export interface ScanParams {
  atol: number;
  rtol: number;
  /** Floor of the max-rel-error denominator. */
  relFloor: number;
  equalNan: boolean;
  worstK: number;
  histogram: boolean;
}

const DEC_OFFSET = 400;
const P10 = Float64Array.from({ length: 2 * DEC_OFFSET + 2 }, (_, j) => Number(`1e${j - DEC_OFFSET}`));
/** Decades counted branch-free per chunk; errors outside the window are binned one by one. */
const WINDOW = 3;

/** The correctly rounded double nearest to 10^k. */
export function pow10(k: number): number {
  return k >= -DEC_OFFSET && k <= DEC_OFFSET + 1 ? (P10[k + DEC_OFFSET] as number) : Number(`1e${k}`);
}

/** The largest k with pow10(k) <= x, for finite x > 0. */
export function decadeOf(x: number): number {
  let k = Math.floor(Math.log10(x));
  while (pow10(k) > x) k--;
  while (pow10(k + 1) <= x) k++;
  return k;
}

/** Min-heap on (key, -flatIndex) over typed arrays; returns the new admission threshold. */
function heapOffer(keys: Float64Array, idx: Float64Array, size: number, k: number, key: number, flat: number): number {
  let pos: number;
  if (size < k) {
    pos = size;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const pk = keys[parent] as number;
      if (pk < key || (pk === key && (idx[parent] as number) > flat)) break;
      keys[pos] = pk;
      idx[pos] = idx[parent] as number;
      pos = parent;
    }
    keys[pos] = key;
    idx[pos] = flat;
    return size + 1 === k ? (keys[0] as number) : 0;
  }
  pos = 0;
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= k) break;
    let c = l;
    const r = l + 1;
    if (r < k) {
      const lk = keys[l] as number;
      const rk = keys[r] as number;
      if (rk < lk || (rk === lk && (idx[r] as number) > (idx[l] as number))) c = r;
    }
    const ck = keys[c] as number;
    if (ck > key || (ck === key && (idx[c] as number) < flat)) break;
    keys[pos] = ck;
    idx[pos] = idx[c] as number;
    pos = c;
  }
  keys[pos] = key;
  idx[pos] = flat;
  return keys[0] as number;
}

const S_NAN_A = 0;
const S_NAN_R = 1;
const S_INF_A = 2;
const S_INF_R = 3;
const S_NF_MISMATCH = 4;
const S_NF_PAIRS = 5;
const S_MISMATCH = 6;
const S_SUM_ABS = 7;
const S_SUM_SQ = 8;
const S_SUM_A2 = 9;
const S_SUM_R2 = 10;
const S_SUM_AR = 11;
const S_MAX_ABS = 12;
const S_MAX_REL = 13;
const S_MIN_ATOL = 14;
const S_MIN_RTOL = 15;
const S_HEAP_SIZE = 16;
const S_THRESHOLD = 17;
const S_ZEROS = 18;
const S_LEN = 19;
const CHUNK = 1 << 16;

/**
 * The fast pass over [start, end): the five sums, the histogram, and the indices of the
 * elements whose |a - r| is above `gate` (or NaN), whose |a - r| - rtol*|r| is above
 * `slackGate`, or whose |a - r| / |r| is above `relGate`: the only ones that can change any
 * max/min/count statistic. Returns how many indices it wrote into `pending`.
 */
function sweepChunk(
  a: Float32Array | Float64Array,
  r: Float32Array | Float64Array,
  start: number,
  end: number,
  gate: number,
  rtol: number,
  slackGate: number,
  relGate: number,
  st: Float64Array,
  pending: Int32Array,
  histogram: boolean,
  t: Float64Array,
  cnt: Float64Array,
  outliers: Int32Array,
): number {
  let sumAbs = st[S_SUM_ABS] as number;
  let sumSq = st[S_SUM_SQ] as number;
  let sumA2 = st[S_SUM_A2] as number;
  let sumR2 = st[S_SUM_R2] as number;
  let sumAR = st[S_SUM_AR] as number;
  let zeros = st[S_ZEROS] as number;
  let np = 0;
  let no = 0;
  const t0 = t[0] as number;
  const t1 = t[1] as number;
  const t2 = t[2] as number;
  const t3 = t[3] as number;
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  for (let i = start; i < end; i++) {
    const x = a[i] as number;
    const y = r[i] as number;
    const d = x - y;
    const ad = Math.abs(d);
    sumAbs += ad;
    sumSq += d * d;
    sumA2 += x * x;
    sumR2 += y * y;
    sumAR += x * y;
    const ar = Math.abs(y);
    if (!(ad <= gate) || ad - rtol * ar > slackGate || ad > relGate * ar) pending[np++] = i;
    if (histogram) {
      zeros += +(ad === 0);
      c0 += +(ad >= t0);
      c1 += +(ad >= t1);
      c2 += +(ad >= t2);
      c3 += +(ad >= t3);
      if (ad < t0 ? ad > 0 : ad >= t3) outliers[no++] = i;
    }
  }
  cnt[0] = c0;
  cnt[1] = c1;
  cnt[2] = c2;
  cnt[3] = c3;
  cnt[4] = no;
  st[S_SUM_ABS] = sumAbs;
  st[S_SUM_SQ] = sumSq;
  st[S_SUM_A2] = sumA2;
  st[S_SUM_R2] = sumR2;
  st[S_SUM_AR] = sumAR;
  st[S_ZEROS] = zeros;
  return np;
}

/** The sums of [start, end) over finite pairs only, added to `st`; for chunks holding a NaN or Inf. */
function finiteSums(a: Float32Array | Float64Array, r: Float32Array | Float64Array, start: number, end: number, st: Float64Array): void {
  for (let i = start; i < end; i++) {
    const x = a[i] as number;
    const y = r[i] as number;
    if (x - x !== 0 || y - y !== 0) continue;
    const d = x - y;
    st[S_SUM_ABS] = (st[S_SUM_ABS] as number) + (d < 0 ? -d : d);
    st[S_SUM_SQ] = (st[S_SUM_SQ] as number) + d * d;
    st[S_SUM_A2] = (st[S_SUM_A2] as number) + x * x;
    st[S_SUM_R2] = (st[S_SUM_R2] as number) + y * y;
    st[S_SUM_AR] = (st[S_SUM_AR] as number) + x * y;
  }
}

/** Everything but the sums for one element that passed the gate; returns true if a side is NaN/Inf. */
function visit(
  i: number,
  x: number,
  y: number,
  p: ScanParams,
  k: number,
  st: Float64Array,
  heapKeys: Float64Array,
  heapIdx: Float64Array,
): boolean {
  const xNan = x !== x;
  const yNan = y !== y;
  const xInf = x === Infinity || x === -Infinity;
  const yInf = y === Infinity || y === -Infinity;
  let key: number;
  if (xNan || yNan || xInf || yInf) {
    st[S_NF_PAIRS] = (st[S_NF_PAIRS] as number) + 1;
    if (xNan) st[S_NAN_A] = (st[S_NAN_A] as number) + 1;
    if (yNan) st[S_NAN_R] = (st[S_NAN_R] as number) + 1;
    if (xInf) st[S_INF_A] = (st[S_INF_A] as number) + 1;
    if (yInf) st[S_INF_R] = (st[S_INF_R] as number) + 1;
    const same = xNan && yNan ? p.equalNan : !xNan && !yNan && x === y;
    if (same) return true;
    st[S_NF_MISMATCH] = (st[S_NF_MISMATCH] as number) + 1;
    st[S_MISMATCH] = (st[S_MISMATCH] as number) + 1;
    key = Infinity;
  } else {
    const ad = Math.abs(x - y);
    const ar = Math.abs(y);
    if (ad > (st[S_MAX_ABS] as number)) st[S_MAX_ABS] = ad;
    const den = ar > p.relFloor ? ar : p.relFloor;
    if (ad > (st[S_MAX_REL] as number) * den) st[S_MAX_REL] = ad / den;
    const slack = ad - p.rtol * ar;
    if (slack > (st[S_MIN_ATOL] as number)) st[S_MIN_ATOL] = slack;
    if (ad > p.atol + p.rtol * ar) st[S_MISMATCH] = (st[S_MISMATCH] as number) + 1;
    const excess = ad - p.atol;
    if (excess > (st[S_MIN_RTOL] as number) * ar) st[S_MIN_RTOL] = excess / ar;
    key = ad;
  }
  if (key > (st[S_THRESHOLD] as number)) {
    const size = st[S_HEAP_SIZE] as number;
    st[S_THRESHOLD] = heapOffer(heapKeys, heapIdx, size, k, key, i);
    if (size < k) st[S_HEAP_SIZE] = size + 1;
  }
  return xNan || yNan || xInf || yInf;
}

/**
 * One pass over `a` (actual) and `r` (reference), same length. A pair where either side is
 * NaN or +-Inf is counted, matched (NaN==NaN under `equalNan`, Inf only against the same
 * Inf) and kept out of the error sums; every other statistic is over finite pairs. Sums are
 * float64, accumulated in index order.
 *
 * Speed: one cheap loop per chunk does the sums and the histogram and collects the few
 * elements that can change a max/min/count: |a - r| above min(atol, max abs error, worst-k
 * threshold), |a - r| - rtol*|r| above the min passing atol, or |a - r| above max rel * |r|
 * (necessary for a new max rel error since its denominator is >= |r|).
 */
export function scan(a: Float32Array | Float64Array, r: Float32Array | Float64Array, p: ScanParams): ScanResult {
  const n = a.length;
  const { histogram } = p;
  const k = Math.max(0, Math.floor(p.worstK));
  const heapKeys = new Float64Array(k);
  const heapIdx = new Float64Array(k);
  const decCounts = new Float64Array(P10.length);
  const thresholds = new Float64Array(WINDOW + 1);
  const cnt = new Float64Array(WINDOW + 2);
  const outliers = new Int32Array(histogram ? Math.min(n, CHUNK) : 0);
  const pending = new Int32Array(Math.min(n, CHUNK));
  const st = new Float64Array(S_LEN);
  const saved = new Float64Array(S_LEN);
  st[S_THRESHOLD] = k > 0 ? 0 : Infinity;
  let gate = 0;
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    saved.set(st);
    const lo = histogram ? windowStart(a, r, start, end, st[S_MAX_ABS] as number) : 0;
    for (let j = 0; j <= WINDOW; j++) thresholds[j] = pow10(lo + j);
    const np = sweepChunk(a, r, start, end, gate, p.rtol, st[S_MIN_ATOL] as number, st[S_MAX_REL] as number, st, pending, histogram, thresholds, cnt, outliers);
    if (histogram) {
      for (let j = 0; j < WINDOW; j++) {
        const at = lo + j + DEC_OFFSET;
        decCounts[at] = (decCounts[at] as number) + (cnt[j] as number) - (cnt[j + 1] as number);
      }
      const no = cnt[WINDOW + 1] as number;
      for (let j = 0; j < no; j++) {
        const i = outliers[j] as number;
        const ad = Math.abs((a[i] as number) - (r[i] as number));
        if (ad < Infinity) {
          const at = decadeOf(ad) + DEC_OFFSET;
          decCounts[at] = (decCounts[at] as number) + 1;
        }
      }
    }
    let nonFinite = false;
    for (let j = 0; j < np; j++) {
      const i = pending[j] as number;
      if (visit(i, a[i] as number, r[i] as number, p, k, st, heapKeys, heapIdx)) nonFinite = true;
    }
    if (nonFinite) {
      for (const s of [S_SUM_ABS, S_SUM_SQ, S_SUM_A2, S_SUM_R2, S_SUM_AR]) st[s] = saved[s] as number;
      finiteSums(a, r, start, end, st);
    }
    gate = Math.min(
      p.atol,
      st[S_MAX_ABS] as number,
      st[S_THRESHOLD] as number,
    );
  }
  const heapSize = st[S_HEAP_SIZE] as number;
  const nonFiniteMismatch = st[S_NF_MISMATCH] as number;

  const order: number[] = [];
  for (let j = 0; j < heapSize; j++) order.push(j);
  order.sort((u, v) => {
    const ku = heapKeys[u] as number;
    const kv = heapKeys[v] as number;
    if (ku !== kv) return ku > kv ? -1 : 1;
    return (heapIdx[u] as number) - (heapIdx[v] as number);
  });

  const result: ScanResult = {
    count: n,
    finiteCount: n - (st[S_NF_PAIRS] as number),
    nanActual: st[S_NAN_A] as number,
    nanReference: st[S_NAN_R] as number,
    infActual: st[S_INF_A] as number,
    infReference: st[S_INF_R] as number,
    nonFiniteMismatchCount: nonFiniteMismatch,
    mismatchCount: st[S_MISMATCH] as number,
    sumAbs: st[S_SUM_ABS] as number,
    sumSq: st[S_SUM_SQ] as number,
    sumA2: st[S_SUM_A2] as number,
    sumR2: st[S_SUM_R2] as number,
    sumAR: st[S_SUM_AR] as number,
    maxAbs: st[S_MAX_ABS] as number,
    maxRel: st[S_MAX_REL] as number,
    minPassingAtol: nonFiniteMismatch > 0 ? Infinity : (st[S_MIN_ATOL] as number),
    minPassingRtol: nonFiniteMismatch > 0 ? Infinity : (st[S_MIN_RTOL] as number),
    worstFlat: order.map((j) => heapIdx[j] as number),
  };
  if (histogram) result.histogram = buildHistogram(decCounts, st[S_ZEROS] as number);
  return result;
}

/** First decade of the branch-free window: the window's top edge is above the largest error seen. */
function windowStart(a: Float32Array | Float64Array, r: Float32Array | Float64Array, start: number, end: number, maxAbs: number): number {
  let m = maxAbs;
  const probeEnd = Math.min(end, start + 256);
  for (let i = start; i < probeEnd; i++) {
    const ad = Math.abs((a[i] as number) - (r[i] as number));
    if (ad > m && ad < Infinity) m = ad;
  }
  return (m > 0 ? decadeOf(m) : -30) - (WINDOW - 1);
}

function buildHistogram(decCounts: Float64Array, zeros: number): { edges: number[]; counts: number[] } {
  let lo = -1;
  let hi = -1;
  for (let j = 0; j < decCounts.length; j++) {
    if ((decCounts[j] as number) > 0) {
      if (lo < 0) lo = j;
      hi = j;
    }
  }
  if (lo < 0) return { edges: [0, 0], counts: [zeros] };
  const edges = [0];
  const counts = [zeros];
  for (let j = lo; j <= hi; j++) {
    edges.push(pow10(j - DEC_OFFSET));
    counts.push(decCounts[j] as number);
  }
  edges.push(pow10(hi + 1 - DEC_OFFSET));
  return { edges, counts };
}

function prewarm(): void {
  const x = new Float32Array([0, 1, -2, NaN, NaN, Infinity, -Infinity, 3, 0.5, 1e-3, 1e-30, 5, 0]);
  const y = new Float32Array([0, 1.5, -2, NaN, 1, Infinity, Infinity, 0, 0.25, 2e-3, 0, 5, 1]);
  for (let rep = 0; rep < 40; rep++) {
    const h = rep % 2 === 0;
    scan(x, y, { atol: 1e-3, rtol: 1e-3, relFloor: 1e-6, equalNan: true, worstK: 3, histogram: h });
    scan(x, y, { atol: 1e-3, rtol: 1e-3, relFloor: 1e-6, equalNan: false, worstK: 20, histogram: h });
  }
}
prewarm();
