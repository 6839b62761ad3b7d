import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import vm from 'node:vm';

/** Debian/Ubuntu location of SoftHSM2's PKCS#11 library; SOFTHSM2_MODULE overrides it. */
export const SOFTHSM_MODULE = process.env.SOFTHSM2_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
export const SKIP_LINE = 'PKCS#11 tests skipped: SoftHSM2 not installed (apt-get install softhsm2)';

export function softhsmAvailable(): boolean {
  if (!fs.existsSync(SOFTHSM_MODULE)) return false;
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CI sets ESEAL_TEST_REQUIRE=…,softhsm,… so that a missing SoftHSM2 fails instead of skipping. */
export function softhsmRequired(): boolean {
  return (process.env.ESEAL_TEST_REQUIRE ?? '').split(',').map((s) => s.trim()).includes('softhsm');
}

export interface SoftHsmToken {
  modulePath: string;
  tokenLabel: string;
  pin: string;
  soPin: string;
  /** Directory holding softhsm2.conf and the token files. */
  dir: string;
  /** Removes the token files and restores SOFTHSM2_CONF. Close every provider first. */
  cleanup(): void;
}

/**
 * Sets an environment variable where native code sees it. Jest gives each test file a copy of
 * process.env that does not reach the C environment (getenv) of the worker process; the real
 * process object lives in the main V8 context, which vm.runInThisContext evaluates in. Outside
 * Jest both are the same object.
 */
function setNativeEnv(name: string, value: string | undefined): void {
  const real = vm.runInThisContext('process') as NodeJS.Process;
  for (const env of new Set([process.env, real.env])) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
}

/**
 * A throw-away token in a temporary directory. SoftHSM2 reads SOFTHSM2_CONF at C_Initialize, so
 * the variable is set for this process here, before any provider opens the library.
 */
export function createSoftHsmToken(label = 'eseal-test'): SoftHsmToken {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-softhsm-'));
  const tokendir = path.join(dir, 'tokens');
  fs.mkdirSync(tokendir, { mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(
    conf,
    [`directories.tokendir = ${tokendir}`, 'objectstore.backend = file', 'log.level = ERROR', 'slots.removable = false', ''].join('\n'),
  );
  const pin = randomBytes(6).toString('hex');
  const soPin = randomBytes(6).toString('hex');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: 'ignore',
  });
  const previous = process.env.SOFTHSM2_CONF;
  setNativeEnv('SOFTHSM2_CONF', conf);
  return {
    modulePath: SOFTHSM_MODULE,
    tokenLabel: label,
    pin,
    soPin,
    dir,
    cleanup() {
      setNativeEnv('SOFTHSM2_CONF', previous);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let skipPrinted = false;

/**
 * `describe` for suites that need SoftHSM2. Without it: one line on stderr and the suite is
 * skipped, or — when ESEAL_TEST_REQUIRE includes softhsm — a failing test saying what is missing.
 */
export function describeSoftHsm(name: string, fn: () => void): void {
  if (softhsmAvailable()) {
    describe(name, fn);
    return;
  }
  if (softhsmRequired()) {
    describe(name, () => {
      it('needs SoftHSM2 (ESEAL_TEST_REQUIRE includes softhsm)', () => {
        throw new Error(`SoftHSM2 is required but ${SOFTHSM_MODULE} or softhsm2-util is missing (apt-get install softhsm2)`);
      });
    });
    return;
  }
  if (!skipPrinted) {
    skipPrinted = true;
    process.stderr.write(SKIP_LINE + '\n');
  }
  describe.skip(name, fn);
}
