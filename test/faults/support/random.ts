/** The seed of this run's random choices: FAULTS_SEED repeats a run, otherwise a new one (printed by the case). */
export function runSeed(): number {
  const given = Number(process.env.FAULTS_SEED);
  return Number.isInteger(given) && given > 0 ? given : Math.floor(Math.random() * 2 ** 31) + 1;
}

/** A small seeded generator (mulberry32): the same seed gives the same kill points. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct whole numbers in [low, high], ascending. */
export function distinctPoints(random: () => number, count: number, low: number, high: number): number[] {
  const points = new Set<number>();
  while (points.size < count) points.add(low + Math.floor(random() * (high - low + 1)));
  return [...points].sort((a, b) => a - b);
}
