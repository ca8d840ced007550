/**
 * Test processes log at LOG_LEVEL (vitest.config.ts sets it to "error" unless given): tests
 * provoke many expected warnings. A service a test starts sets the level from its own config.
 */
import { setLogLevel, type LogLevel } from '../kernel/log.js';

setLogLevel((process.env['LOG_LEVEL'] ?? 'error') as LogLevel);
