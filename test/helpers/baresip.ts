/**
 * A real SIP phone for tests: Debian's `baresip` (installed by the bootstrap's test step),
 * headless. It calls a SIP URI, speaks a WAV file as its microphone (aufile) and writes what it
 * hears into WAV files (sndfile dumps the decoded far-end audio into `dumpDir`); the player is
 * an aubridge device, so no sound card is needed. Digest credentials come from the account line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const baresipBin = '/usr/bin/baresip';

export interface BaresipCall {
  /** The SIP URI to call, e.g. sip:screen@127.0.0.1:5062. */
  target: string;
  /** Digest user and password (omitted: no credentials). */
  user?: string;
  password?: string;
  /** Mono 16-bit WAV spoken into the call, at `sampleRate`. */
  wav: string;
  /** Sample rate of the WAV and of baresip's audio devices (default 8000; 48000 for Opus). */
  sampleRate?: number;
  /** Codecs offered, in order (default PCMU). */
  codecs?: string[];
  /** Transport of the account (default udp). */
  transport?: 'udp' | 'tcp';
}

export interface BaresipPhone {
  child: ChildProcess;
  dir: string;
  /** Everything baresip printed. */
  output(): string;
  /** WAV files baresip wrote of the audio it received (sndfile "dec" dumps). */
  receivedWavs(): string[];
  /** Hangs up (BYE) and quits; resolves when the process exited. */
  stop(): Promise<void>;
}

export function startBaresip(call: BaresipCall): BaresipPhone {
  if (!fs.existsSync(baresipBin)) throw new Error('baresip is not installed (run: bash scripts/bootstrap.sh --test; or as root: apt-get install baresip-core)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-baresip-'));
  const dump = path.join(dir, 'dump');
  fs.mkdirSync(dump);
  const host = /@([^;>]+)/.exec(call.target)?.[1] ?? '127.0.0.1';
  const transport = call.transport ?? 'udp';
  fs.writeFileSync(
    path.join(dir, 'config'),
    [
      'poll_method\t\tepoll',
      'sip_listen\t\t127.0.0.1:0',
      'audio_player\t\taubridge,dfd-test',
      `audio_source\t\taufile,${path.resolve(call.wav)}`,
      'audio_alert\t\taubridge,dfd-alert',
      `ausrc_srate\t\t${call.sampleRate ?? 8000}`,
      `auplay_srate\t\t${call.sampleRate ?? 8000}`,
      'ausrc_channels\t\t1',
      'auplay_channels\t\t1',
      'audio_level\t\tno',
      'rtp_stats\t\tno',
      'module_path\t\t/usr/lib/baresip/modules',
      'module\t\t\tg711.so',
      'module\t\t\topus.so',
      'module\t\t\tg722.so',
      'module\t\t\taufile.so',
      'module\t\t\taubridge.so',
      'module\t\t\tsndfile.so',
      'module_app\t\taccount.so',
      'module_app\t\tmenu.so',
      `snd_path\t\t${dump}`,
      '',
    ].join('\n'),
  );
  const creds = call.user ? `;auth_user=${call.user};auth_pass=${call.password ?? ''}` : '';
  const codecs = (call.codecs ?? ['PCMU']).join(',');
  fs.writeFileSync(path.join(dir, 'accounts'), `<sip:${call.user ?? 'tester'}@${host};transport=${transport}>${creds};regint=0;audio_codecs=${codecs};answermode=manual\n`);
  let out = '';
  const child = spawn(baresipBin, ['-f', dir, '-e', `/dial ${call.target}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    dir,
    output: () => out,
    receivedWavs: () => fs.readdirSync(dump).filter((f) => f.includes('dec')).map((f) => path.join(dump, f)),
    stop: async () => {
      if (child.exitCode === null) {
        // baresip hangs up every call (BYE) and quits on SIGINT.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
