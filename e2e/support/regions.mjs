// The local two-region stack for the failover specs: us-east-1 and us-west-1 on one store behind
// the local edge, started by `unishop-stack regions` (crates/stack, the same code as
// `cargo xtask dev --two-regions` and `cargo xtask drill`), with its faults driven through its
// standard input.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { startSite } from './stack.mjs';

const stackBin = process.env.UNISHOP_STACK_BIN;
const dist = process.env.UNISHOP_DIST;

/** Starts the stack; resolves once both regions and the edge listen. */
export async function startTwoRegions() {
  if (!stackBin || !dist) {
    throw new Error('set UNISHOP_STACK_BIN (the unishop-stack binary) and UNISHOP_DIST (the release build); `cargo xtask test` does');
  }
  const folder = mkdtempSync(path.join(tmpdir(), 'unishop-regions-'));
  // The API's debug build, as the other specs use (the drill runs the release build).
  const child = spawn(stackBin, ['regions', '--debug', '--dist', dist, '--folder', folder], {
    env: {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      // WebKitGTK's WebDriver runs the specs' scripts under the page's CSP, which allows no eval:
      // there the edge reports the CSP instead of enforcing it (crates/stack/src/regions/edge.rs).
      UNISHOP_STACK_CSP: process.env.UNISHOP_E2E_ENGINE === 'webkit' ? 'report-only' : 'enforce',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answers = [];
  const addresses = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line));
      else if (line === 'ok' || line.startsWith('error: ')) answers.shift()?.(line);
    });
    child.once('exit', (code) => reject(new Error(`unishop-stack regions ended (${code}) before listening`)));
  });
  const info = await addresses;
  // The browser reaches the edge through a recorder, which shows the specs every request it sends.
  const site = await startSite({ upstream: info.site });
  const command = async (text) => {
    const answer = new Promise((resolve) => answers.push(resolve));
    child.stdin.write(`${text}\n`);
    const line = await answer;
    if (line !== 'ok') throw new Error(`unishop-stack regions: ${text}: ${line}`);
  };
  return {
    /** The shop as the browser sees it, through the recorder (`requests`, `waitForRequest`). */
    site,
    /** us-east-1 directly, not through the edge. */
    primary: info.primary,
    standby: info.standby,
    /** Each takes a region, us-east-1 (the primary) when none is given. */
    kill: (region = 'us-east-1') => command(`kill ${region}`),
    restart: (region = 'us-east-1') => command(`restart ${region}`),
    freeze: (region = 'us-east-1') => command(`freeze ${region}`),
    thaw: (region = 'us-east-1') => command(`thaw ${region}`),
    activeRegion: (region) => command(`active ${region}`),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
      await site.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
