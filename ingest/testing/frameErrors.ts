import { exposition } from '../../kernel/metrics.js';

/** `dfd_ingest_frame_errors_total` for one platform, error code and fatality (0 when never counted). */
export async function ingestFrameErrors(platform: 'twilio' | 'audiohook', code: string, fatal: boolean): Promise<number> {
  const text = (await exposition()).text;
  const m = new RegExp(`^dfd_ingest_frame_errors_total\\{platform="${platform}",code="${code}",fatal="${fatal}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
