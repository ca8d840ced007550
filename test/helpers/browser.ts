/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with
 * fake camera and microphone fed from files. `fakeDevices: false` launches it with no
 * camera or microphone at all (getUserMedia fails with NotFoundError, as on a machine
 * without devices); `autoAllow: false` leaves permission prompts to the page's context
 * (headless denies them unless `context.grantPermissions` allowed the kind).
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export interface LaunchOptions {
  wav?: string;
  y4m?: string;
  /** Fake camera and microphone (default true). */
  fakeDevices?: boolean;
  /** Grant every permission prompt (default true). */
  autoAllow?: boolean;
}

export async function launchBrowser(media: LaunchOptions = {}): Promise<Browser> {
  if (!fs.existsSync(chromiumPath)) throw new Error(`chromium not found at ${chromiumPath} (run npm run bootstrap -- --test)`);
  const args = [
    ...(media.autoAllow === false ? [] : ['--use-fake-ui-for-media-stream']),
    ...(media.fakeDevices === false ? [] : ['--use-fake-device-for-media-stream']),
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--autoplay-policy=no-user-gesture-required',
  ];
  if (media.wav) args.push(`--use-file-for-fake-audio-capture=${path.resolve(media.wav)}`);
  if (media.y4m) args.push(`--use-file-for-fake-video-capture=${path.resolve(media.y4m)}`);
  return chromium.launch({ executablePath: chromiumPath, headless: true, args });
}

export const artifactsDir = path.resolve('test-artifacts');
