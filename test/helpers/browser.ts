/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with
 * fake camera and microphone fed from files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export async function launchBrowser(media: { wav?: string; y4m?: string } = {}): Promise<Browser> {
  if (!fs.existsSync(chromiumPath)) throw new Error(`chromium not found at ${chromiumPath} (run npm run bootstrap -- --test)`);
  const args = [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
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
