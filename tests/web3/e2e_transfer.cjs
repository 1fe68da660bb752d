#!/usr/bin/env node
// massa-web3 5.3.0 against a live weft node, exactly as a dApp uses it: a JsonRpcProvider with
// an Account made from a funded secret key, provider.transfer(), op.waitSpeculativeExecution(),
// op.waitFinalExecution(), then provider.balanceOf() for both addresses with the exact expected
// amounts (final and candidate).  Nothing of weft is used but the node's URL and a devnet's
// funded key: the library is unmodified.
// Usage: node e2e_transfer.cjs WEFT   (starts a one-node `weft devnet --detach`, stops it at the
// end; WEFTD may name the daemon).  Exit 0 pass, 1 fail (every mismatch printed).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const w3 = require('@massalabs/massa-web3');

const weft = process.argv[2];
const failures = [];
let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) {
    failures.push(what);
    console.log('FAIL: ' + what);
  }
  return cond;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function flow(dev) {
  const url = dev.nodes[0].public_api;
  const account = await w3.Account.fromPrivateKey(dev.accounts[0].secret_key);
  const provider = w3.JsonRpcProvider.fromRPCUrl(url, account);
  check(account.address.toString() === dev.accounts[0].address,
    `massa-web3 derives the devnet account's address (${account.address.toString()})`);

  // the chain has started: get_status has a current slot (massa-web3 reads every field)
  let status = null;
  for (let i = 0; i < 150 && !(status && status.lastSlot); i++) {
    try {
      status = await provider.getNodeStatus();
    } catch (e) {
      status = null;
    }
    if (!(status && status.lastSlot)) await sleep(200);
  }
  if (!check(status && status.lastSlot, 'getNodeStatus() with a current slot')) return;
  check(BigInt(status.chainId) === BigInt(dev.chain_id),
    `getNodeStatus().chainId ${status.chainId} is the devnet's ${dev.chain_id}`);
  const info = await provider.networkInfos();
  check(BigInt(info.chainId) === BigInt(dev.chain_id), 'networkInfos().chainId');

  const recipient = await w3.Account.generate(); // a fresh address: balance 0
  const to = recipient.address.toString();
  const sender = account.address.toString();
  const minimalFee = await provider.client.getMinimalFee();
  const amount = w3.Mas.fromString('12.5');
  const [before] = await provider.balanceOf([sender]);
  check(before.address === sender && before.balance > amount, `sender funded: ${before.balance}`);

  // the default options (the node's minimal fee), then an explicit fee
  const op = await provider.transfer(to, amount);
  const fee = w3.Mas.fromString('0.01');
  const op2 = await provider.transfer(to, w3.Mas.fromString('1'), { fee });
  for (const o of [op, op2]) {
    check(/^O1/.test(o.id), `transfer() gives an operation id (${o.id})`);
    const spec = await o.waitSpeculativeExecution(60000, 200);
    check(spec === w3.OperationStatus.SpeculativeSuccess || spec === w3.OperationStatus.Success,
      `waitSpeculativeExecution(): ${w3.OperationStatus[spec]}`);
    const fin = await o.waitFinalExecution(60000, 200);
    if (!check(fin === w3.OperationStatus.Success,
      `waitFinalExecution(): ${w3.OperationStatus[fin]} (wanted Success)`)) return;
    check((await o.getStatus()) === w3.OperationStatus.Success, 'getStatus() after finality');
  }

  const sent = amount + w3.Mas.fromString('1');
  const want = { [sender]: before.balance - sent - minimalFee - fee, [to]: sent };
  for (const final of [true, false]) {
    const bal = await provider.balanceOf([sender, to], final);
    check(bal.length === 2, `balanceOf(${final}) answers both addresses`);
    for (const b of bal) {
      check(b.balance === want[b.address],
        `balanceOf(final=${final}) ${b.address}: ${w3.Mas.toString(b.balance)} MAS ` +
        `(wanted ${w3.Mas.toString(want[b.address])})`);
    }
  }
  console.log(`transfers ${op.id} (12.5 MAS, minimal fee ${w3.Mas.toString(minimalFee)}) and ` +
    `${op2.id} (1 MAS, fee 0.01) to ${to}: speculative then final, balances exact`);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-web3-e2e-'));
  const dn = path.join(dir, 'dn');
  try {
    // 128-period cycles: a starved machine never lives to cycle 3 (tests/e2e/netlib.py)
    execFileSync(weft, ['devnet', '--nodes', '1', '--dir', dn, '--t0', '3200',
      '--periods-per-cycle', '128', '--accounts', '2', '--detach', '--genesis-delay', '1500'],
    { stdio: ['ignore', 'pipe', 'inherit'], timeout: 60000 });
    const dev = JSON.parse(fs.readFileSync(path.join(dn, 'devnet.json'), 'utf8'));
    await flow(dev);
  } catch (e) {
    check(false, `unexpected error: ${e && e.stack ? e.stack : e}`);
  } finally {
    try {
      execFileSync(weft, ['devnet', 'stop', '--dir', dn], { stdio: 'ignore', timeout: 30000 });
    } catch (e) { /* already stopped */ }
    if (failures.length) {
      const log = path.join(dn, 'node0', 'weftd.log');
      if (fs.existsSync(log)) {
        console.log(`--- ${log} (tail)`);
        console.log(fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n'));
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${checks} checks, ${failures.length} failures`);
  process.exit(failures.length ? 1 : 0);
}

main();
