/**
 * Renders a benchmark JSON (bench-results/latest.json by default) as the Markdown tables
 * used in docs/performance.md.
 *
 *   node --import tsx load-tests/report.ts [bench-results/latest.json]
 */
import fs from 'node:fs';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const file = process.argv[2] ?? 'bench-results/latest.json';
const d = JSON.parse(fs.readFileSync(file, 'utf8')) as J;
const r = d['results'] as J;
const out: string[] = [];
const row = (...c: unknown[]): void => void out.push(`| ${c.map((x) => (x === undefined || x === null ? '–' : String(x))).join(' | ')} |`);

out.push(`Run: ${d['mode']} ${d['startedAt']} (${d['durationSec']} s), commit ${d['host']['commit']}, ${d['host']['cpuModel']} x${d['host']['nproc']}, ${d['host']['memGiB']} GiB, Node ${d['host']['node']}; load average before ${d['host']['loadAvgBefore'].join(' / ')}, after ${d['host']['loadAvgAfter'].join(' / ')}.`);
out.push(`Settings: ${JSON.stringify(d['settings'])}. Models: ${JSON.stringify(d['models'])}.`, '');
out.push('| target | measured | met |', '| --- | --- | --- |');
for (const t of d['targets'] as J[]) row(t['target'], t['measured'], t['met'] === null ? 'n/a (smoke)' : t['met'] ? 'yes' : '**no**');
out.push('');
if (r['capacity']) {
  out.push(`Capacity (detectors ${r['capacity']['detectors'].join(', ')}):`, '');
  out.push('| streams | windows produced | scored | dropped | p50 / p95 / p99 window-to-score ms | max lag ms | main-loop delay p99 ms | CPU cores (service + SFU) | % core per stream | challenge inputs degraded | load avg |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of r['capacity']['steps'] as J[]) row(s['streams'], s['windowsProduced'], s['windowsScored'], s['windowsDropped'] + s['rtpDropped'], `${s['windowToScoreMs']['p50']} / ${s['windowToScoreMs']['p95']} / ${s['windowToScoreMs']['p99']}`, s['maxLagMs'], s['eventLoopDelayMs']['p99'], `${s['cpu']['totalCores']} (${s['cpu']['serviceCores']} + ${s['cpu']['sfuCores']})`, s['cpu']['perStreamPctOfCore'], typeof s['challengeDegraded'] === 'number' ? s['challengeDegraded'] : JSON.stringify(s['challengeDegraded']).replace(/[{}"]/g, '').replace(/,/g, ', ') || 0, s['loadAvg1']);
  out.push('', `Largest N meeting the target: ${r['capacity']['maxStreamsOk']}; marginal CPU ${r['capacity']['marginalPctPerStream']} % of a core per stream, base ${r['capacity']['baseCores']} cores.`, '');
}
if (r['first-verdict']) {
  const f = r['first-verdict'];
  out.push(`First verdict (${f['joins'].length} joins, detectors ${f['detectors'].join(', ')}): speech onset to first verdict p50 ${f['speechToVerdictMs']['p50']} ms, p95 ${f['speechToVerdictMs']['p95']} ms; to first score p50 ${f['speechToFirstScoreMs']['p50']} ms.`, '');
  out.push('| join | join ms | onset to first window end ms | onset to first score ms | onset to verdict ms | verdict |', '| --- | --- | --- | --- | --- | --- |');
  for (const j of f['joins'] as J[]) row(j['join'], j['joinMs'], j['speechToFirstWindowEndMs'], j['speechToFirstScoreMs'], j['speechToVerdictMs'] ?? j['error'], j['verdict']);
  out.push('');
  const v = f['voiceOnly'];
  if (v) {
    out.push(`Voice only (no face on camera, ${v['joins'].length} joins): speech onset to first verdict p50 ${v['speechToVerdictMs']['p50']} ms, p95 ${v['speechToVerdictMs']['p95']} ms; to first score p50 ${v['speechToFirstScoreMs']['p50']} ms.`, '');
    out.push('| join | join ms | onset to first window end ms | onset to first score ms | onset to verdict ms | verdict |', '| --- | --- | --- | --- | --- | --- |');
    for (const j of v['joins'] as J[]) row(j['join'], j['joinMs'], j['speechToFirstWindowEndMs'], j['speechToFirstScoreMs'], j['speechToVerdictMs'] ?? j['error'], j['verdict']);
    out.push('');
  }
}
if (r['media-impact']) {
  out.push('| background streams | delay off p50 / p99 ms | delay on p50 / p99 ms | jitter off / on ms | p99 on - off ms | ratio p50 / p99 | packets off / on | SFU worker CPU off / on ms/s |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of r['media-impact']['conditions'] as J[]) row(c['background'], `${c['off']['delayMs']['p50']} / ${c['off']['delayMs']['p99']}`, `${c['on']['delayMs']['p50']} / ${c['on']['delayMs']['p99']}`, `${c['off']['jitterMs']} / ${c['on']['jitterMs']}`, c['deltaP99Ms'], `${c['ratioP50']} / ${c['ratioP99']}`, `${c['off']['delayMs']['n']} / ${c['on']['delayMs']['n']}`, `${c['off']['sfuCpuMsPerSec'] ?? '-'} / ${c['on']['sfuCpuMsPerSec'] ?? '-'}`);
  out.push('');
}
if (r['memory']) {
  const m = r['memory'];
  out.push(`Memory (${m['streams']} streams, ${m['durationSec']} s, ${m['windowsScored']} windows scored): RSS ${m['start']?.['rssMb']} -> ${m['end']?.['rssMb']} MB, slope ${m['slopeMbPerMin']['rss']} MB/min (r2 ${m['r2']['rss']}); heap ${m['start']?.['heapMb']} -> ${m['end']?.['heapMb']} MB, slope ${m['slopeMbPerMin']['heap']} MB/min; mediasoup worker RSS slope ${m['slopeMbPerMin']['sfuRss']} MB/min.`, '');
}
if (r['stages']) {
  const b = r['stages']['benches'] as J;
  const a = b['audio']?.['result'];
  if (a) out.push(`Audio path, CPU µs per second of audio (one stream): decode ${a['cpuUsPerAudioSecond']['decode']}, resample ${a['cpuUsPerAudioSecond']['resample']}, VAD ${a['cpuUsPerAudioSecond']['vad']}, whole processor ${a['cpuUsPerAudioSecond']['processor']} (${a['cpuUsPerAudioSecond']['processorPerStreamWith8Streams']} per stream with 8 streams sharing VAD batches).`, '');
  out.push('| detector | input | threads | batch | ms per window p50 / p95 |', '| --- | --- | --- | --- | --- |');
  for (const t of r['stages']['detectors'] as J[]) row(`${t['detector']} (${t['source']})`, t['input'], t['threads'], t['batch'], `${t['msPerWindow']['p50']} / ${t['msPerWindow']['p95']}`);
  out.push('');
  const v = b['videoDecode']?.['result'];
  if (v) out.push(`VP8 decode 640x480 30 fps -> 5 fps RGB: ffmpeg ${v['ffmpegCpuMsPerOutputFrame']} ms CPU per analysed frame (${v['ffmpegCoreShareAtRealtime']} of a core per stream at real time).`);
  const fb = b['face']?.['result'];
  if (fb) out.push(`Face (640x480, 1 thread, wall ms): detect ${fb['detectMsPerFrame']['mean']}, landmarks ${fb['landmarksMsPerFace']['mean']}, align ${fb['alignMsPerFace']['mean']}.`);
  const e = b['events']?.['result'];
  if (e) out.push(`Events: ${e['cpuUsPerEventValidateAndSeal']} µs CPU per event (validate + seal), ${e['ackedPublishThroughputPerS']} acknowledged JetStream publishes/s.`);
  out.push('');
}
if (r['video'] && !r['video']['error']) {
  const v = r['video'];
  out.push(`Video: ${v['perFrameCpuMs']['total']} ms CPU per analysed frame (${JSON.stringify(v['perFrameCpuMs'])}) = ${v['analysedFramesPerSecondPerCore']} analysed frames/s per core = ${v['streamsPerCoreAtFps']['streams']} video streams per core at ${v['streamsPerCoreAtFps']['fps']} fps.`, '');
}
if (Object.keys(d['errors'] ?? {}).length) out.push(`Errors: ${JSON.stringify(d['errors'])}`, '');
process.stdout.write(out.join('\n') + '\n');
