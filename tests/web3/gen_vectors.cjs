#!/usr/bin/env node
// Makes fresh format vectors with massa-web3 itself (the real client), in the shape of
// shared/vectors/massa-formats.json: keys (secret/public key strings and bytes, address) and
// signed operations of every type (serialized content, signed digest, id, signature).
// Usage: node gen_vectors.cjs SEED COUNT CHAIN_ID > vectors.json   (deterministic for a seed)
'use strict';
const w3 = require('@massalabs/massa-web3');
const { blake3 } = require('@noble/hashes/blake3');
const bs58check = require('bs58check').default || require('bs58check');

const [seedArg, countArg, chainArg] = process.argv.slice(2);
let state = BigInt(seedArg || '1') & ((1n << 64n) - 1n);
const count = Number(countArg || '20');
const chainId = BigInt(chainArg || '77658366');

// splitmix64: a tiny deterministic generator, so that a failing seed can be replayed
function next() {
  state = (state + 0x9e3779b97f4a7c15n) & ((1n << 64n) - 1n);
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & ((1n << 64n) - 1n);
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & ((1n << 64n) - 1n);
  return z ^ (z >> 31n);
}
const below = (n) => Number(next() % BigInt(n));
const bytes = (n) => Uint8Array.from({ length: n }, () => below(256));
const hex = (b) => Buffer.from(b).toString('hex');
const u64 = () => next() >> BigInt(below(64));

async function main() {
  const keys = [];
  for (let i = 0; i < Math.max(2, Math.ceil(count / 5)); i++) {
    const seed = bytes(32);
    const sk = w3.PrivateKey.fromBytes(Uint8Array.from([0, ...seed]));
    const pk = await sk.getPublicKey();
    const addr = pk.getAddress();
    keys.push({ sk, pk, addr, out: {
      seed: hex(seed), secret_key: sk.toString(), public_key: pk.toString(),
      public_key_bytes: hex(pk.toBytes()), address: addr.toString(),
      address_bytes: hex(addr.toBytes()) } });
  }
  const ops = [];
  for (let i = 0; i < count; i++) {
    const k = keys[below(keys.length)];
    const other = keys[below(keys.length)];
    const type = i % 5;
    const op = { fee: u64(), expirePeriod: below(2 ** 31), type };
    const out = { type };
    if (type === 0) {
      op.recipientAddress = other.addr;
      op.amount = u64();
      out.recipient = other.addr.toString();
      out.amount = w3.Mas.toString(op.amount);
    } else if (type === 1 || type === 2) {
      op.amount = u64();
      out.roll_count = op.amount.toString();
    } else if (type === 3) {
      op.maxGas = u64();
      op.maxCoins = u64();
      op.contractDataBinary = bytes(below(200));
      op.datastore = new Map();
      const n = below(4);
      for (let d = 0; d < n; d++) op.datastore.set(Uint8Array.from([d, ...bytes(below(20))]), bytes(below(40)));
    } else {
      op.maxGas = u64();
      op.coins = u64();
      op.address = 'AS' + other.addr.toString().slice(2);
      op.func = 'fn_' + hex(bytes(below(8)));
      op.parameter = bytes(below(60));
    }
    const content = w3.OperationManager.serialize(op);
    const canon = w3.OperationManager.canonicalize(chainId, op, k.pk);
    const sig = await k.sk.sign(canon);
    const digest = blake3(canon);
    ops.push(Object.assign(out, {
      creator_public_key: k.pk.toString(), serialized_content: hex(content),
      signed_digest: hex(digest),
      operation_id: 'O' + bs58check.encode(Uint8Array.from([0, ...digest])),
      signature: sig.toString(), signature_bytes: hex(sig.toBytes()),
      fee: op.fee.toString(), expire_period: op.expirePeriod }));
  }
  process.stdout.write(JSON.stringify({
    source: 'massa-web3 (generated at test time)', chain_id: Number(chainId),
    keys: keys.map((k) => k.out), operations: ops }, null, 1) + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
