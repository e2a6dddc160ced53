/**
 * The name most likely meant by a misspelt one, among the names there are: the same letters in another
 * case first (`firstname` → `firstName`), else the fewest edits (insertions, deletions, substitutions,
 * swaps of two neighbours: Damerau–Levenshtein, optimal string alignment) within a quarter of the
 * name's length, at least one. Ties go to the name more recipients have, then alphabetical order.
 */
export function closestName(wanted: string, names: ReadonlyMap<string, number>): string | undefined {
  const lower = wanted.toLowerCase();
  const byUse = (a: [string, number], b: [string, number]) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const sameLetters = [...names].filter(([name]) => name !== wanted && name.toLowerCase() === lower).sort(byUse);
  if (sameLetters[0]) return sameLetters[0][0];
  const allowed = Math.max(1, Math.floor([...wanted].length / 4));
  let best: { name: string; distance: number; count: number } | undefined;
  for (const [name, count] of names) {
    if (name === wanted || Math.abs(name.length - wanted.length) > allowed) continue;
    const distance = editDistance(lower, name.toLowerCase(), allowed);
    if (distance > allowed) continue;
    if (!best || distance < best.distance || (distance === best.distance && byUse([name, count], [best.name, best.count]) < 0)) {
      best = { name, distance, count };
    }
  }
  return best?.name;
}

/** Optimal-string-alignment distance, given up (limit + 1) as soon as it must exceed `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  const s = [...a];
  const t = [...b];
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    let rowBest = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) value = Math.min(value, beforePrevious[j - 2]! + 1);
      current.push(value);
      rowBest = Math.min(rowBest, value);
    }
    if (rowBest > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[t.length]!;
}
