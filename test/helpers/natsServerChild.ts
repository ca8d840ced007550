/**
 * Stands in for the service in tests of orphaned nats-servers: a Node process that starts an
 * embedded nats-server (events/NatsServerProcess.ts) on the store directory given as its first
 * argument, prints one line `{"natsServerPid":…,"port":…}` and waits to be killed.
 * A second argument `orphan-on-death` turns off `exitWithParent`, so that killing this process
 * leaves the server running as an orphan (what happens where setpriv --pdeathsig is missing).
 *
 *   node --import tsx test/helpers/natsServerChild.ts STORE_DIR [orphan-on-death]
 */
import { NatsServerProcess } from '../../events/NatsServerProcess.js';

const [storeDir, mode] = process.argv.slice(2);
if (!storeDir) throw new Error('usage: natsServerChild.ts STORE_DIR [orphan-on-death]');
const server = await NatsServerProcess.start({ storeDir, exitWithParent: mode !== 'orphan-on-death' });
process.stdout.write(JSON.stringify({ natsServerPid: server.pid, port: server.port }) + '\n');
// Keeps running until killed; the test kills it with SIGKILL, so close() never runs.
setInterval(() => undefined, 60_000);
