/** A 110 Hz sawtooth with a slow amplitude wobble at `rate`: voiced-like but clearly not speech (model tests). */
export function buzz(seconds: number, rate = 16000): Float32Array {
  const n = Math.round(seconds * rate);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    x[i] = 0.3 * (2 * ((110 * t) % 1) - 1) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t));
  }
  return x;
}
