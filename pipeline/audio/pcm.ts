/** PCM sample formats: 16-bit integers <-> floats in [-1, 1). */

/** Int16 samples as floats (x / 32768): a new array. */
export function int16ToFloat(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}
