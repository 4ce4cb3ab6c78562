/**
 * Vitest setup (vitest.config.ts): the test output is the runner's. Nest's
 * static Logger prints coloured lines until an app installs its own logger
 * (the database's "Applied migration" lines, for instance, are logged before
 * the app exists); silence it, as test apps silence theirs. TEST_LOGS=1
 * shows every log line (test/support/app.ts passes it on to the apps).
 */
import { Logger } from '@nestjs/common';

if (!process.env.TEST_LOGS) Logger.overrideLogger(false);
